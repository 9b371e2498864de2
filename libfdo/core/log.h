#pragma once
// One-line-per-event logging to stderr: time, level, role, GUID where known, message (docs/cli.md).
// Never pass secrets or raw bodies here; trace-level CBOR dumps mask secrets before logging.

#include <string>
#include <string_view>

namespace fdo::log {

/// Levels in increasing verbosity.
enum class Level : int { Error = 0, Warn = 1, Info = 2, Debug = 3, Trace = 4 };

/// Parses "error|warn|info|debug|trace"; throws Error(MessageBodyError) otherwise.
Level parse_level(std::string_view name);
/// Sets the process-wide level (default Info) and role name printed in each line.
void configure(Level level, std::string_view role);
/// Whether events of `level` are printed.
bool enabled(Level level);
/// Writes one line: "2026-11-24T22:00:00.123Z INFO manufacturer guid=… message".
void write(Level level, std::string_view message, std::string_view guid_hex = {});

inline void error(std::string_view m, std::string_view guid = {}) { write(Level::Error, m, guid); }
inline void warn(std::string_view m, std::string_view guid = {}) { write(Level::Warn, m, guid); }
inline void info(std::string_view m, std::string_view guid = {}) { write(Level::Info, m, guid); }
inline void debug(std::string_view m, std::string_view guid = {}) { write(Level::Debug, m, guid); }
inline void trace(std::string_view m, std::string_view guid = {}) { write(Level::Trace, m, guid); }

}  // namespace fdo::log
