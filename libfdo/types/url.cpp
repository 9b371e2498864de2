#include "libfdo/types/url.h"

#include <algorithm>
#include <charconv>

#include "libfdo/core/error.h"

namespace fdo {
namespace {

bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
  });
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 0xFFFF) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(v);
}

}  // namespace

HttpUrl parse_http_url(std::string_view url, std::string_view what) {
  const auto bad = [&](const std::string& why) {
    throw_body_error(std::string(what) + " '" + std::string(url) + "': " + why);
  };
  HttpUrl out;
  std::string_view rest = url;
  if (rest.substr(0, 7) == "http://") {
    out.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.substr(0, 8) == "https://") {
    out.scheme = "https";
    rest.remove_prefix(8);
  } else {
    bad("expected http://HOST:PORT or https://HOST:PORT");
  }
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    out.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find('/') != std::string_view::npos) {
    bad("expected no path after HOST:PORT");
  }
  const bool bracketed = !rest.empty() && rest.front() == '[';
  std::string_view host;
  std::optional<std::string_view> port_text;
  if (bracketed) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      bad("unclosed [ in IPv6 host");
    }
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        bad("expected :PORT after ]");
      }
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
    }
    if (host.find(':') != std::string_view::npos) {
      bad("an IPv6 host must be written in brackets, e.g. http://[::1]:8080");
    }
  }
  out.port = out.scheme == "http" ? 80 : 443;
  if (port_text) {
    const std::optional<std::uint16_t> port = parse_port(*port_text);
    if (!port) {
      bad("port must be 1..65535");
    }
    out.port = port.value_or(0);
    out.explicit_port = true;
  }
  out.ip = IpAddress::parse(host);
  if (bracketed && (!out.ip || out.ip->is_v4())) {
    bad("not an IPv6 address in brackets: " + std::string(host));
  }
  if (!out.ip && !is_dns_name(host)) {
    bad("host is neither an IP address nor a DNS name");
  }
  out.host = out.ip ? out.ip->to_string() : std::string(host);
  return out;
}

}  // namespace fdo
