#pragma once
// IPAddress = ip4 / ip6, FDO 1.1 §3.3.14: used by RVIPAddress and RVTO2AddrEntry.

#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"

namespace fdo {

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address in network byte order.
///   IPAddress = ip4 / ip6;  ip4 = bstr .size 4;  ip6 = bstr .size 16
class IpAddress {
 public:
  /// From 4 or 16 raw bytes; nullopt for any other length.
  static std::optional<IpAddress> from_bytes(ByteView bytes);
  /// From dotted IPv4 or IPv6 text without brackets ("192.168.1.10", "::1"); nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  /// The address of a URL's host as parse_url() gives it (libfdo/core/url.h: IPv6 without brackets); nullopt for a
  /// DNS name. Error(MessageBodyError) "<what> '<url>': …" for an IPv6 zone ("fe80::1%eth0"), which an FDO
  /// IPAddress (4 or 16 bytes) cannot carry.
  static std::optional<IpAddress> from_url_host(std::string_view host, std::string_view what, std::string_view url);

  [[nodiscard]] bool is_v4() const { return m_bytes.size() == 4; }
  /// Whether this is an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
  [[nodiscard]] bool is_v4_mapped() const;
  /// The IPv4 address of an IPv4-mapped one (docs/interop.md "ipv4-mapped-addresses"); otherwise the
  /// address itself.
  [[nodiscard]] IpAddress unmapped() const;
  [[nodiscard]] ByteView bytes() const { return m_bytes; }
  /// Text form: dotted IPv4, or RFC 5952 IPv6.
  [[nodiscard]] std::string to_string() const;
  /// The form used as a URL host: IPv6 in brackets (docs/interop.md "ipv6-url-brackets").
  [[nodiscard]] std::string url_host() const;

  bool operator==(const IpAddress&) const = default;

 private:
  explicit IpAddress(Bytes bytes) : m_bytes(std::move(bytes)) {}
  Bytes m_bytes;
};

}  // namespace fdo
