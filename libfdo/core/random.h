#pragma once
// Secure random bytes from the kernel CSPRNG (getrandom(2)).

#include <span>
#include <cstdint>

#include "libfdo/core/bytes.h"

namespace fdo {

/// Fills `out` with CSPRNG bytes; throws Error(InternalServerError) if the kernel refuses.
void fill_random(std::span<std::uint8_t> out);
/// n CSPRNG bytes.
Bytes random_bytes(std::size_t n);

}  // namespace fdo
