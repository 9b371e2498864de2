#pragma once
// Secret material (HMAC secrets, private keys, shared secrets): wiped on destruction,
// compared in constant time, never printed (docs/style.md §5).

#include <cstdint>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo {

/// Owned secret bytes. Move-only copies are explicit via clone().
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteView b) : m_data(b.begin(), b.end()) {}
  explicit SecretBytes(Bytes&& b) : m_data(std::move(b)) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  /// An explicit copy.
  [[nodiscard]] SecretBytes clone() const { return SecretBytes(view()); }
  [[nodiscard]] ByteView view() const { return m_data; }
  [[nodiscard]] std::size_t size() const { return m_data.size(); }
  [[nodiscard]] bool empty() const { return m_data.empty(); }
  /// Constant-time comparison (length is not secret).
  [[nodiscard]] bool equals(ByteView other) const;

 private:
  void wipe();
  std::vector<std::uint8_t> m_data;
};

/// Constant-time equality of two byte strings of possibly different length.
[[nodiscard]] bool constant_time_equal(ByteView a, ByteView b);

}  // namespace fdo
