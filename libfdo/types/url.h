#pragma once
// The `http(s)://HOST[:PORT]` URLs the tools take for rendezvous and owner addresses (docs/cli.md), parsed
// into the parts RendezvousInfo and RVTO2Addr are built from.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/types/ip_address.h"

namespace fdo {

/// A parsed `http://HOST[:PORT][/][?QUERY]` or `https://…` URL.
struct HttpUrl {
  /// "http" or "https".
  std::string scheme;
  /// DNS name, or the text of `ip` (IPv6 without brackets).
  std::string host;
  /// Set when HOST is an IP address ("[…]" for IPv6).
  std::optional<IpAddress> ip;
  /// The port given, or 80 / 443 by scheme.
  std::uint16_t port = 0;
  /// Whether the URL named the port.
  bool explicit_port = false;
  /// The text after '?', without it.
  std::string query;
};

/// Parses `url`; Error(MessageBodyError) "<what> '<url>': <reason>" for another scheme, a path, a bad port
/// (0 or above 65535), an unbracketed IPv6 address or a host that is neither an IP address nor a DNS name.
HttpUrl parse_http_url(std::string_view url, std::string_view what = "URL");

}  // namespace fdo
