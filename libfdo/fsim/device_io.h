#pragma once
// What device modules do to the device, in one place (docs/service-info.md "Device configuration"): resolve a path the
// owner names inside the device root (never outside it), write files atomically, and run a command in the root as
// the configured user with a deadline.

#include <chrono>
#include <cstdint>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/fsim/registry.h"

namespace fdo::fsim {

/// `name` (relative, as the owner sent it) resolved inside `context.root`. Error(InvalidMessageError) naming it for an
/// absolute path, an empty name, a NUL byte, or one whose `..` parts or symlinks lead outside the root.
std::filesystem::path path_in_root(const DeviceContext& context, std::string_view name);

/// Writes `data` to `path` (already resolved by path_in_root) atomically: a temporary file in the same directory,
/// fsync, rename; parent directories are made. `mode` as for open(2). Error(InternalServerError) with the reason.
void write_in_root(const std::filesystem::path& path, ByteView data, unsigned mode = 0644);

/// How a command ended.
struct CommandResult {
  /// The exit status, or 128 + signal for a killed process; -1 when it could not be started.
  int exit_code = -1;
  /// Killed at the deadline.
  bool timed_out = false;
  /// What it wrote to stdout and stderr, each cut at `max_output` bytes.
  Bytes out;
  Bytes err;
  /// Why it could not start, or empty.
  std::string error;
};

/// Runs `argv` (argv[0] looked up in PATH) with the root as working directory, as `context.run_as` when set, with an
/// empty stdin, and kills it (SIGKILL to its process group) after `context.command_timeout`. Never throws for the
/// command's own failure; that is in the result.
/// `on_start`, when given, gets the child's pid (also its process group) once it runs.
CommandResult run_in_root(const DeviceContext& context, const std::vector<std::string>& argv,
                          std::size_t max_output = 64 * 1024, const std::function<void(pid_t)>& on_start = {});

}  // namespace fdo::fsim
