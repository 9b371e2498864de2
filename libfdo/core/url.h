#pragma once
// The one URL parser of the tree: base URLs of FDO servers, http(s)://host[:port][/prefix], IPv6 in brackets
// (FDO 1.1 §4.3), for transport/, and the tools' rendezvous and owner addresses (`--rv`, `--to2-url`, docs/cli.md)
// that types/ turns into RendezvousInfo and RVTO2Addr; plus listening addresses.

#include <cstdint>
#include <string>
#include <string_view>

namespace fdo {

/// A parsed base URL: scheme, host, port and an optional path prefix (go-fdo allows one).
struct Url {
  /// "http" or "https", lower case.
  std::string scheme;
  /// DNS name, IPv4 literal, or IPv6 literal without brackets (zone as "fe80::1%eth0").
  std::string host;
  /// TCP port; 80 or 443 when the text gave none.
  std::uint16_t port = 0;
  /// "" or "/a/b": no trailing slash, no query or fragment.
  std::string path_prefix;
  /// The text after '?' (only where UrlRules::allow_query), without it.
  std::string query;

  bool operator==(const Url&) const = default;
};

/// A host and port, as in a listening address.
struct HostPort {
  /// IP literal (IPv6 without brackets) or DNS name.
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

/// What parse_url() accepts beyond scheme://host[:port], and how its errors name the URL.
struct UrlRules {
  /// Errors read "<what> '<text>': <reason>" ("--rv 'ftp://x': scheme must be http or https").
  std::string_view what = "url";
  /// A path prefix ("/api/fdo"); otherwise only a trailing "/" may follow the authority.
  bool allow_path_prefix = true;
  /// A "?query" after the authority (and path), kept in Url::query; a fragment is never allowed.
  bool allow_query = false;
};

/// Parses "http://host:port/prefix" (FDO 1.1 §4.3; IPv6 in brackets, docs/interop.md "ipv6-url-brackets"): the
/// scheme in any case, a DNS name or IP literal (an IPv6 zone as "%25"), a port 1..65535 without leading zeros
/// (default 80 / 443), no user information. Throws Error(MessageBodyError) naming the problem for anything else.
Url parse_url(std::string_view text, const UrlRules& rules = {});

/// Builds a Url from parts, validating each as parse_url does.
Url make_url(std::string_view scheme, std::string_view host, std::uint16_t port,
             std::string_view path_prefix = {});

/// "scheme://host:port/prefix", with brackets around IPv6 hosts and always an explicit port.
std::string format_url(const Url& url);

/// "host:port", or "[v6]:port" for an IPv6 host.
std::string format_host_port(std::string_view host, std::uint16_t port);

/// Parses a listening address "IPv4:port", "[IPv6]:port" or "localhost:port" (read as 127.0.0.1); port 0 means
/// any free port. Other names are not accepted. Throws Error(MessageBodyError) otherwise.
HostPort parse_listen_address(std::string_view text);

/// Whether `host` is an IPv4 literal (dotted quad).
bool is_ipv4_literal(std::string_view host);

/// Whether `host` is an IPv6 literal without brackets (an optional "%zone" is allowed).
bool is_ipv6_literal(std::string_view host);

/// Whether `host` names this machine: "localhost", 127.0.0.0/8 or ::1 (guard for tests).
bool is_loopback_host(std::string_view host);

}  // namespace fdo
