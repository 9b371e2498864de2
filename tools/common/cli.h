#pragma once
// What every tool's main does the same way (docs/cli.md): exit statuses, parsing, --version, --log-level, usage
// errors that suggest the nearest option or subcommand, and turning exceptions into "PROGRAM: message" on stderr.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <ios>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "libfdo/core/error.h"

namespace fdo::tool {

/// Exit statuses (docs/cli.md): 0 success, 1 the operation failed, 2 usage error.
inline constexpr int kFailure = 1;
inline constexpr int kUsageError = 2;

/// The "format" field of every --json document (docs/cli.md): bumped when a field changes meaning or goes away.
inline constexpr std::int64_t kJsonFormat = 1;

/// How a client's failed exchange is named in output and --json "error" (docs/cli.md): "peer" (the server sent an
/// ErrorMessage; its code is "error_code"), "transport" (no connection or no FDO answer), "refused" (a check here).
std::string_view error_kind(ErrorSource source);

/// The version every tool prints: the CMake project version ("0.1.0").
std::string_view version();

/// Names the main app `name` ("fdo-owner") and adds `--version` printing "NAME VERSION".
void setup_app(CLI::App& app, const std::string& name);

/// Prints a parse error (or the help or version that CLI11 raises as one) and returns the exit status: 0 after
/// --help or --version, kUsageError otherwise. A mistyped option or subcommand names the nearest one ("unknown
/// option --jsn; did you mean --json?"), a missing subcommand lists the subcommands, a bad config file names the
/// file and key. A config file that cannot be read is kFailure (a missing input file, not a usage error).
int parse_error_status(CLI::App& app, const CLI::ParseError& e);

/// Parses the command line: nullopt to go on, or the exit status when parsing ended the run (see
/// parse_error_status).
std::optional<int> parse(CLI::App& app, int argc, const char* const* argv);

/// Adds `--log-level` (error|warn|info|debug|trace) bound to `level`, and `--log-format text|json`, which installs its
/// formatter (use_log_format in tools/common/log_format.h) as soon as it is parsed.
CLI::Option* add_log_level(CLI::App& cmd, std::string& level);

/// Adds serve's `--trusted-proxy ADDR` (repeatable, IP literals) bound to `proxies`: the reverse proxies whose
/// X-Forwarded-For names the client address (transport::client_address, docs/security.md "Behind a reverse proxy").
CLI::Option* add_trusted_proxy(CLI::App& cmd, std::vector<std::string>& proxies);

/// The candidate nearest to `word` by edit distance, if it is near enough to be a likely typo.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

/// A CLI11 validator for an option or argument holding a GUID in either text form (libfdo/core/guid_text.h).
CLI::Validator guid_validator();

/// One line saying what `e` is: the message, with a std::filesystem error as "PATH: reason" and line breaks
/// folded, so that every failure prints as one line.
std::string describe_exception(const std::exception& e);

/// Runs `body` (returning an exit status); any exception it throws (fdo::Error, std::filesystem and I/O errors,
/// any std::exception or other) is printed as one line "<prefix>: <message>" on stderr and gives kFailure.
template <typename Body>
int run_reporting_errors(std::string_view prefix, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << prefix << ": " << describe_exception(e) << "\n";
  } catch (...) {
    std::cerr << prefix << ": unexpected error\n";
  }
  return kFailure;
}

/// Checks options at start-up with `convert` (e.g. ServeSettings::from): an Error(MessageBodyError) names a bad
/// option, a usage error, printed as "<prefix>: <message>" on stderr; nullopt then (exit with kUsageError). Other
/// errors (a missing or unreadable file an option names) propagate, to be reported as failures (exit 1).
template <typename Convert>
auto check_options(std::string_view prefix, Convert&& convert) -> std::optional<std::invoke_result_t<Convert&>> {
  try {
    return convert();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::MessageBodyError) {
      throw;
    }
    std::cerr << prefix << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace fdo::tool
