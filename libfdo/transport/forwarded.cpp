#include "libfdo/transport/forwarded.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

namespace fdo::transport {
namespace {

// An address in a comparable form: 16 bytes, IPv4 as IPv4-mapped IPv6 (so "::ffff:10.0.0.1" equals "10.0.0.1").
std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) {
  const std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v4.s_addr);
    std::copy(b, b + 4, out.begin() + 12);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::copy(v6.s6_addr, v6.s6_addr + 16, out.begin());
    return out;
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

bool is_ip_address(std::string_view text) { return parse_ip(text).has_value(); }

std::string client_address(std::string_view peer, const HeaderList& headers,
                           const std::vector<std::string>& trusted_proxies) {
  const auto trusted = [&](std::string_view address) {
    const auto ip = parse_ip(address);
    return ip && std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                             [&](const std::string& t) { return parse_ip(t) == ip; });
  };
  if (trusted_proxies.empty() || !trusted(peer)) {
    return std::string(peer);
  }
  // Every X-Forwarded-For field, in order, is one comma-separated list (RFC 9110 §5.3).
  std::vector<std::string_view> hops;
  for (const std::string_view field : header_values(headers, "X-Forwarded-For")) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = field.find(',', start);
      hops.push_back(trim(field.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                               : comma - start)));
      if (comma == std::string_view::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (trusted(*it)) {
      continue;
    }
    return parse_ip(*it) ? std::string(*it) : std::string(peer);
  }
  return std::string(peer);
}

}  // namespace fdo::transport
