#pragma once
// What every tool's main does the same way (CLI.md): exit statuses, parsing, --log-level, and turning exceptions
// into "PROGRAM: message" on stderr.

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "libfdo/core/error.h"

namespace fdo::tool {

/// Exit statuses (CLI.md): 0 success, 1 the operation failed, 2 usage error.
inline constexpr int kFailure = 1;
inline constexpr int kUsageError = 2;

/// Prints a parse error (or the help that CLI11 raises as one) the CLI11 way and returns the exit status: 0 after
/// --help, kUsageError otherwise.
int parse_error_status(CLI::App& app, const CLI::ParseError& e);

/// Parses the command line: nullopt to go on, or the exit status when parsing ended the run (see
/// parse_error_status).
std::optional<int> parse(CLI::App& app, int argc, const char* const* argv);

/// Adds `--log-level` (error|warn|info|debug|trace) bound to `level`.
CLI::Option* add_log_level(CLI::App& cmd, std::string& level);

/// Runs `body` (returning an exit status); an exception it throws (fdo::Error, and filesystem or allocation
/// failures) is printed as "<prefix>: <message>" on stderr and gives kFailure.
template <typename Body>
int run_reporting_errors(std::string_view prefix, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << prefix << ": " << e.what() << "\n";
    return kFailure;
  }
}

/// Checks options at start-up with `convert` (e.g. ServeSettings::from): an fdo::Error it throws names a bad option,
/// a usage error, printed as "<prefix>: <message>" on stderr; nullopt then (exit with kUsageError).
template <typename Convert>
auto check_options(std::string_view prefix, Convert&& convert) -> std::optional<std::invoke_result_t<Convert&>> {
  try {
    return convert();
  } catch (const Error& e) {
    std::cerr << prefix << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace fdo::tool
