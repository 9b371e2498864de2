#include "libfdo/core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "libfdo/core/error.h"

namespace fdo::log {
namespace {

struct State {
  std::atomic<int> level{static_cast<int>(Level::Info)};
  std::atomic<Formatter> formatter{nullptr};
  std::mutex mutex;
  std::string role = "fdo";
};

State& state() {
  static State s;
  return s;
}

thread_local Scope* t_scope = nullptr;

std::size_t index(Field field) { return static_cast<std::size_t>(field); }

}  // namespace

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Error: return "ERROR";
    case Level::Warn: return "WARN";
    case Level::Info: return "INFO";
    case Level::Debug: return "DEBUG";
    case Level::Trace: return "TRACE";
  }
  return "?";
}

Level parse_level(std::string_view name) {
  if (name == "error") {
    return Level::Error;
  }
  if (name == "warn") {
    return Level::Warn;
  }
  if (name == "info") {
    return Level::Info;
  }
  if (name == "debug") {
    return Level::Debug;
  }
  if (name == "trace") {
    return Level::Trace;
  }
  throw_body_error("unknown log level '" + std::string(name) + "' (error|warn|info|debug|trace)");
}

void configure(Level level, std::string_view role) {
  State& s = state();
  s.level = static_cast<int>(level);
  const std::lock_guard lock(s.mutex);
  s.role = std::string(role);
}

bool enabled(Level level) { return static_cast<int>(level) <= state().level.load(); }

std::string format_text(const Record& record) {
  std::string line = std::string(record.time) + " " + std::string(level_name(record.level)) + " " +
                     std::string(record.role);
  if (!record.guid.empty()) {
    line += " guid=" + std::string(record.guid);
  }
  line += " ";
  line += record.message;
  return line;
}

void set_formatter(Formatter formatter) { state().formatter = formatter; }

Scope::Scope() : m_outer(t_scope) { t_scope = this; }

Scope::~Scope() { t_scope = m_outer; }

void annotate(Field field, std::string value) {
  if (t_scope != nullptr) {
    t_scope->m_fields[index(field)] = std::move(value);
  }
}

void write(Level level, std::string_view message, std::string_view guid_hex) {
  if (!enabled(level)) {
    return;
  }
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  State& s = state();
  std::string role;
  {
    const std::lock_guard lock(s.mutex);
    role = s.role;
  }
  Record record{.time = stamp, .level = level, .role = role, .guid = guid_hex, .message = message};
  if (const Scope* scope = t_scope) {
    if (record.guid.empty()) {
      record.guid = scope->m_fields[index(Field::Guid)];
    }
    record.msg_type = scope->m_fields[index(Field::MsgType)];
    record.run_id = scope->m_fields[index(Field::RunId)];
    record.correlation_id = scope->m_fields[index(Field::CorrelationId)];
  }
  const Formatter formatter = s.formatter.load();
  std::string line = formatter != nullptr ? formatter(record) : format_text(record);
  line += "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace fdo::log
