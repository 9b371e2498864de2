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
  std::mutex mutex;
  std::string role = "fdo";
};

State& state() {
  static State s;
  return s;
}

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

}  // namespace

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
  std::string line;
  {
    const std::lock_guard lock(s.mutex);
    line = std::string(stamp) + " " + std::string(level_name(level)) + " " + s.role;
  }
  if (!guid_hex.empty()) {
    line += " guid=" + std::string(guid_hex);
  }
  line += " ";
  line += message;
  line += "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace fdo::log
