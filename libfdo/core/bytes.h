#pragma once
// Byte containers used by every layer (docs/style.md §5): Bytes owns, ByteView borrows.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fdo {

/// Owned byte string; the return type of every function producing bytes.
using Bytes = std::vector<std::uint8_t>;
/// Borrowed read-only bytes; the parameter type of every function consuming bytes.
using ByteView = std::span<const std::uint8_t>;

/// The bytes of a string, without terminator.
Bytes to_bytes(std::string_view s);
/// The bytes as a string (no validation).
std::string to_string(ByteView b);
/// Appends `tail` to `out`.
void append(Bytes& out, ByteView tail);
/// a ‖ b.
Bytes concat(ByteView a, ByteView b);
/// Whether two views hold the same bytes (not constant time; use SecretBytes for secrets).
bool equal(ByteView a, ByteView b);

}  // namespace fdo
