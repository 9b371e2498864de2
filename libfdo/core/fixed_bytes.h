#pragma once
// Fixed-size wire values as distinct strong types (docs/style.md §5): a Nonce is never a Guid.

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"

namespace fdo {

/// N bytes with a tag type; defaulted comparison, hex printing, checked construction.
template <std::size_t N, typename Tag>
struct FixedBytes {
  static constexpr std::size_t kSize = N;
  std::array<std::uint8_t, N> bytes{};

  /// Copies exactly N bytes; throws Error(MessageBodyError) naming `what` on a length mismatch.
  static FixedBytes from(ByteView b, std::string_view what = Tag::kName) {
    if (b.size() != N) {
      throw_body_error(std::string(what) + ": expected " + std::to_string(N) + " bytes, got " +
                       std::to_string(b.size()));
    }
    FixedBytes out;
    std::copy(b.begin(), b.end(), out.bytes.begin());
    return out;
  }
  /// A fresh value from the kernel CSPRNG.
  static FixedBytes random() {
    FixedBytes out;
    fill_random(out.bytes);
    return out;
  }
  [[nodiscard]] ByteView view() const { return bytes; }
  [[nodiscard]] Bytes to_bytes() const { return Bytes(bytes.begin(), bytes.end()); }
  [[nodiscard]] std::string hex() const { return to_hex(bytes); }
  auto operator<=>(const FixedBytes&) const = default;
};

struct GuidTag {
  static constexpr std::string_view kName = "Guid";
};
struct NonceTag {
  static constexpr std::string_view kName = "Nonce";
};

/// Guid = bstr .size 16, FDO 1.1 §3.3.1: names a device during onboarding.
using Guid = FixedBytes<16, GuidTag>;
/// Nonce = bstr .size 16, FDO 1.1 §3.3.1: NonceTO0Sign, NonceTO1Proof, NonceTO2*.
using Nonce = FixedBytes<16, NonceTag>;

}  // namespace fdo
