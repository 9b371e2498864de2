#pragma once
// File I/O helpers, including the atomic write used for keys, credentials and vouchers (docs/style.md §6).

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "libfdo/core/bytes.h"

namespace fdo {

/// Largest input file the tools read: vouchers, device credentials, keys, certificates, config files
/// (docs/cli.md "Input files", docs/security.md "Local files").
inline constexpr std::size_t kMaxInputFile = std::size_t{16} << 20;

/// The outcome of read_file_checked().
struct FileRead {
  /// The whole file, when it could be read.
  std::optional<Bytes> data;
  /// The file does not exist (ENOENT).
  bool missing = false;
  /// Why it could not be read, when it could not: "no such file", "not a regular file",
  /// "larger than N bytes" or the system's reason ("Input/output error").
  std::string problem;
};

/// The one bounded reader of input files (docs/security.md "Local files"): opens `path` without blocking
/// (a FIFO or device does not hang the open), refuses anything but a regular file, and reads at most
/// `max_size` + 1 bytes, so /dev/zero, /proc files and oversize files fail at once. Never throws for a
/// file's own failures.
FileRead read_file_checked(const std::filesystem::path& path, std::size_t max_size = kMaxInputFile);
/// Reads a whole regular file of at most `max_size` bytes; throws Error(InternalServerError)
/// "cannot read PATH: PROBLEM" (read_file_checked()'s problem) if it cannot.
Bytes read_file(const std::filesystem::path& path, std::size_t max_size = kMaxInputFile);
/// As read_file(), but nullopt if the file does not exist.
std::optional<Bytes> read_file_if_exists(const std::filesystem::path& path, std::size_t max_size = kMaxInputFile);
/// Writes atomically: temp file in the same directory with `mode`, fsync, rename, fsync dir.
/// A crash leaves either the old file or the new one, never a half file.
void write_file_atomic(const std::filesystem::path& path, ByteView data, unsigned mode = 0600);

}  // namespace fdo
