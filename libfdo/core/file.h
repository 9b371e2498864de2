#pragma once
// File I/O helpers, including the atomic write used for keys, credentials and vouchers (docs/style.md §6).

#include <filesystem>
#include <optional>

#include "libfdo/core/bytes.h"

namespace fdo {

/// Reads a whole file; throws Error(InternalServerError) naming the path if it cannot.
Bytes read_file(const std::filesystem::path& path);
/// Reads a whole file, or nullopt if it does not exist.
std::optional<Bytes> read_file_if_exists(const std::filesystem::path& path);
/// Writes atomically: temp file in the same directory with `mode`, fsync, rename, fsync dir.
/// A crash leaves either the old file or the new one, never a half file.
void write_file_atomic(const std::filesystem::path& path, ByteView data, unsigned mode = 0600);

}  // namespace fdo
