#include "libfdo/core/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "libfdo/core/error.h"

namespace fdo {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void bad_url(std::string_view text, const std::string& why, std::string_view what = "url") {
  throw_body_error(std::string(what) + " '" + std::string(text) + "': " + why);
}

bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(host[i]);
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    if (!std::isalnum(c) && c != '-' && c != '_') {
      return false;
    }
    if (++label > 63) {
      return false;
    }
  }
  return label > 0 || host.size() > 1;  // a single trailing dot is allowed ("example.com.")
}

bool is_prefix_char(unsigned char c) {
  return std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~';
}

// Decimal port without sign or leading zeros; `allow_zero` for listening addresses.
bool parse_port(std::string_view digits, bool allow_zero, std::uint16_t& out) {
  if (digits.empty() || digits.size() > 5 || (digits.size() > 1 && digits[0] == '0')) {
    return false;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value > 65535 ||
      (value == 0 && !allow_zero)) {
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

// Splits "host[:port]" or "[v6][:port]"; returns false on a malformed shape.
bool split_authority(std::string_view authority, std::string& host,
                     std::optional<std::string_view>& port) {
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    std::string inner(authority.substr(1, close - 1));
    // RFC 6874 writes the zone separator as "%25".
    const std::size_t zone = inner.find("%25");
    if (zone != std::string::npos) {
      inner.erase(zone + 1, 2);
    }
    host = inner;
    const std::string_view rest = authority.substr(close + 1);
    if (rest.empty()) {
      return true;
    }
    if (rest.front() != ':') {
      return false;
    }
    port = rest.substr(1);
    return true;
  }
  const std::size_t colon = authority.find(':');
  if (colon == std::string_view::npos) {
    host = std::string(authority);
    return true;
  }
  host = std::string(authority.substr(0, colon));
  port = authority.substr(colon + 1);
  return true;
}

std::string normalize_prefix(std::string_view text, std::string_view prefix, std::string_view what = "url") {
  if (prefix.empty()) {
    return {};
  }
  if (prefix.front() != '/') {
    bad_url(text, "path prefix must start with '/'", what);
  }
  if (!std::all_of(prefix.begin(), prefix.end(),
                   [](char c) { return is_prefix_char(static_cast<unsigned char>(c)); })) {
    bad_url(text, "path prefix may only hold letters, digits and - . _ ~ /", what);
  }
  std::string out(prefix);
  while (!out.empty() && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

void check_host(std::string_view text, std::string_view host, std::string_view what = "url") {
  if (!is_ipv4_literal(host) && !is_ipv6_literal(host) && !is_dns_name(host)) {
    bad_url(text, "host '" + std::string(host) + "' is neither an IP address nor a DNS name", what);
  }
}

}  // namespace

bool is_ipv4_literal(std::string_view host) {
  in_addr addr{};
  const std::string s(host);
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

bool is_ipv6_literal(std::string_view host) {
  std::string s(host);
  const std::size_t zone = s.find('%');
  if (zone != std::string::npos) {
    const std::string_view name = std::string_view(s).substr(zone + 1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        })) {
      return false;
    }
    s.resize(zone);
  }
  in6_addr addr{};
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

bool is_loopback_host(std::string_view host) {
  if (lower(host) == "localhost") {
    return true;
  }
  if (is_ipv4_literal(host)) {
    return host.substr(0, 4) == "127.";
  }
  if (is_ipv6_literal(host) && host.find('%') == std::string_view::npos) {
    in6_addr addr{};
    const std::string s(host);
    inet_pton(AF_INET6, s.c_str(), &addr);
    return IN6_IS_ADDR_LOOPBACK(&addr);
  }
  return false;
}

Url parse_url(std::string_view text, const UrlRules& rules) {
  const std::string_view what = rules.what;
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    bad_url(text, rules.allow_path_prefix ? "expected scheme://host[:port][/prefix]" : "expected http(s)://HOST[:PORT]",
            what);
  }
  Url url;
  url.scheme = lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    bad_url(text, "scheme must be http or https", what);
  }
  std::string_view rest = text.substr(sep + 3);
  if (rules.allow_query) {
    if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
      url.query = std::string(rest.substr(q + 1));
      rest = rest.substr(0, q);
    }
  }
  if (rest.find_first_of("?#") != std::string_view::npos || url.query.find('#') != std::string::npos) {
    bad_url(text, rules.allow_query ? "a fragment is not allowed" : "query and fragment are not allowed", what);
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view prefix =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    bad_url(text, "user information is not allowed", what);
  }
  std::optional<std::string_view> port;
  if (!split_authority(authority, url.host, port)) {
    bad_url(text, "malformed host or IPv6 brackets", what);
  }
  const bool bracketed = !authority.empty() && authority.front() == '[';
  if (bracketed ? !is_ipv6_literal(url.host) : (url.host.find(':') != std::string::npos)) {
    bad_url(text, "IPv6 addresses must be written in brackets, e.g. http://[::1]:8080", what);
  }
  check_host(text, url.host, what);
  if (port) {
    if (!parse_port(*port, false, url.port)) {
      bad_url(text, "port must be 1..65535, got '" + std::string(*port) + "'", what);
    }
  } else {
    url.port = url.scheme == "https" ? 443 : 80;
  }
  url.path_prefix = normalize_prefix(text, prefix, what);
  if (!rules.allow_path_prefix && !url.path_prefix.empty()) {
    bad_url(text, "expected no path after HOST:PORT", what);
  }
  return url;
}

Url make_url(std::string_view scheme, std::string_view host, std::uint16_t port,
             std::string_view path_prefix) {
  Url url;
  url.scheme = lower(scheme);
  url.host = std::string(host);
  url.port = port;
  const std::string text =
      url.scheme + "://" + format_host_port(host, port) + std::string(path_prefix);
  if (url.scheme != "http" && url.scheme != "https") {
    bad_url(text, "scheme must be http or https");
  }
  check_host(text, host);
  if (port == 0) {
    bad_url(text, "port 0 is not allowed");
  }
  url.path_prefix = normalize_prefix(text, path_prefix);
  return url;
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    const std::size_t zone = host.find('%');
    out = "[" + std::string(host.substr(0, zone));
    if (zone != std::string_view::npos) {
      out += "%25" + std::string(host.substr(zone + 1));
    }
    out += "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

std::string format_url(const Url& url) {
  return url.scheme + "://" + format_host_port(url.host, url.port) + url.path_prefix;
}

HostPort parse_listen_address(std::string_view text) {
  HostPort out;
  std::optional<std::string_view> port;
  if (!split_authority(text, out.host, port) || !port) {
    throw_body_error("listen address '" + std::string(text) +
                     "': expected IPv4:port or [IPv6]:port");
  }
  const bool bracketed = !text.empty() && text.front() == '[';
  if (!bracketed && out.host == "localhost") {
    out.host = "127.0.0.1";  // one address, so that the printed URL is the one bound
  } else if (bracketed ? !is_ipv6_literal(out.host) : !is_ipv4_literal(out.host)) {
    throw_body_error("listen address '" + std::string(text) + "': expected IPv4:PORT, [IPv6]:PORT or localhost:PORT");
  }
  if (!parse_port(*port, true, out.port)) {
    throw_body_error("listen address '" + std::string(text) + "': invalid port");
  }
  return out;
}

}  // namespace fdo
