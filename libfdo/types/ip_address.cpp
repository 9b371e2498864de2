#include "libfdo/types/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <string>

#include "libfdo/core/error.h"

namespace fdo {

std::optional<IpAddress> IpAddress::from_bytes(ByteView bytes) {
  if (bytes.size() != 4 && bytes.size() != 16) {
    return std::nullopt;
  }
  return IpAddress(Bytes(bytes.begin(), bytes.end()));
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  const std::string s(text);
  std::array<std::uint8_t, 16> buf{};
  if (inet_pton(AF_INET, s.c_str(), buf.data()) == 1) {
    return IpAddress(Bytes(buf.begin(), buf.begin() + 4));
  }
  if (inet_pton(AF_INET6, s.c_str(), buf.data()) == 1) {
    return IpAddress(Bytes(buf.begin(), buf.end()));
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::from_url_host(std::string_view host, std::string_view what,
                                                  std::string_view url) {
  std::optional<IpAddress> ip = parse(host);
  if (!ip && host.find(':') != std::string_view::npos) {
    throw_body_error(std::string(what) + " '" + std::string(url) + "': an IPv6 zone cannot be written in FDO's IPAddress");
  }
  return ip;
}

bool IpAddress::is_v4_mapped() const {
  static constexpr std::array<std::uint8_t, 12> kPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return m_bytes.size() == 16 && std::equal(kPrefix.begin(), kPrefix.end(), m_bytes.begin());
}

IpAddress IpAddress::unmapped() const {
  if (!is_v4_mapped()) {
    return *this;
  }
  return IpAddress(Bytes(m_bytes.begin() + 12, m_bytes.end()));
}

std::string IpAddress::to_string() const {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const int family = is_v4() ? AF_INET : AF_INET6;
  if (inet_ntop(family, m_bytes.data(), text.data(), text.size()) == nullptr) {
    return "?";
  }
  return std::string(text.data());
}

std::string IpAddress::url_host() const {
  return is_v4() ? to_string() : "[" + to_string() + "]";
}

}  // namespace fdo
