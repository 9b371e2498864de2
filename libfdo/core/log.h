#pragma once
// One-line-per-event logging to stderr: time, level, role, GUID where known, message (docs/cli.md,
// docs/operations.md "Logs"). Lines are text by default; a tool may install another formatter (its JSON lines,
// tools/common/log_format.h). Never pass secrets or raw bodies here; trace-level CBOR dumps mask secrets before
// logging.

#include <array>
#include <string>
#include <string_view>

namespace fdo::log {

/// Levels in increasing verbosity.
enum class Level : int { Error = 0, Warn = 1, Info = 2, Debug = 3, Trace = 4 };

/// Parses "error|warn|info|debug|trace"; throws Error(MessageBodyError) otherwise.
Level parse_level(std::string_view name);
/// "ERROR", "WARN", "INFO", "DEBUG", "TRACE".
std::string_view level_name(Level level);
/// Sets the process-wide level (default Info) and role name printed in each line.
void configure(Level level, std::string_view role);
/// Whether events of `level` are printed.
bool enabled(Level level);

/// What one line says, as a formatter receives it; empty views are fields not known.
struct Record {
  /// RFC 3339 UTC with milliseconds: "2026-11-24T22:00:00.123Z".
  std::string_view time{};
  Level level = Level::Info;
  std::string_view role{};
  /// The device GUID, hex.
  std::string_view guid{};
  /// The FDO message being handled: "TO1.HelloRV".
  std::string_view msg_type{};
  /// Names every line of one protocol run: a prefix of the hash of its session token, never the token.
  std::string_view run_id{};
  /// The correlation id the peer got in an ErrorMessage (FDO 1.1 §5.1, EMErrorCID).
  std::string_view correlation_id{};
  std::string_view message{};
};

/// Turns a record into one line, without the newline.
using Formatter = std::string (*)(const Record&);
/// The default format: "2026-11-24T22:00:00.123Z INFO manufacturer guid=… message".
std::string format_text(const Record& record);
/// Formats every later line with `formatter` (nullptr: format_text). Set once at start-up.
void set_formatter(Formatter formatter);

/// Writes one line. `guid_hex`, when given, wins over the Scope's GUID.
void write(Level level, std::string_view message, std::string_view guid_hex = {});

inline void error(std::string_view m, std::string_view guid = {}) { write(Level::Error, m, guid); }
inline void warn(std::string_view m, std::string_view guid = {}) { write(Level::Warn, m, guid); }
inline void info(std::string_view m, std::string_view guid = {}) { write(Level::Info, m, guid); }
inline void debug(std::string_view m, std::string_view guid = {}) { write(Level::Debug, m, guid); }
inline void trace(std::string_view m, std::string_view guid = {}) { write(Level::Trace, m, guid); }

/// The request fields of a Record that a Scope carries.
enum class Field { Guid, MsgType, RunId, CorrelationId };

/// The request this thread is handling: while it lives, every line the thread writes carries the fields set with
/// annotate() (the dispatcher opens one per FDO message). Scopes nest; the innermost one is annotated.
class Scope {
 public:
  Scope();
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  friend void annotate(Field field, std::string value);
  friend void write(Level level, std::string_view message, std::string_view guid_hex);
  std::array<std::string, 4> m_fields;
  Scope* m_outer;
};

/// Sets `field` on this thread's innermost Scope; does nothing when none is open.
void annotate(Field field, std::string value);

}  // namespace fdo::log
