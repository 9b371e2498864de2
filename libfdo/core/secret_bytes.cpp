#include "libfdo/core/secret_bytes.h"

#include <string.h>

namespace fdo {

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : m_data(std::move(other.m_data)) {
  other.m_data.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    m_data = std::move(other.m_data);
    other.m_data.clear();
  }
  return *this;
}

SecretBytes::~SecretBytes() { wipe(); }

void SecretBytes::wipe() {
  if (!m_data.empty()) {
    explicit_bzero(m_data.data(), m_data.size());
  }
  m_data.clear();
}

bool SecretBytes::equals(ByteView other) const { return constant_time_equal(m_data, other); }

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) {
    return false;
  }
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  }
  return diff == 0;
}

}  // namespace fdo
