#include "tools/common/log_format.h"

#include <cctype>

#include "libfdo/core/error.h"
#include "libfdo/types/json.h"

namespace fdo::tool {
namespace {

void member(JsonWriter& j, std::string_view key, std::string_view value) {
  if (!value.empty()) {
    j.key(key).string(value);
  }
}

}  // namespace

std::string json_log_line(const log::Record& record) {
  std::string level(log::level_name(record.level));
  for (char& c : level) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  JsonWriter j;
  j.begin_object();
  member(j, "time", record.time);
  member(j, "level", level);
  member(j, "role", record.role);
  member(j, "guid", record.guid);
  member(j, "msg_type", record.msg_type);
  member(j, "run_id", record.run_id);
  member(j, "correlation_id", record.correlation_id);
  j.key("message").string(record.message);  // always there, even when empty
  j.end_object();
  return j.str();
}

void use_log_format(std::string_view format) {
  if (format == "text") {
    log::set_formatter(nullptr);
  } else if (format == "json") {
    log::set_formatter(&json_log_line);
  } else {
    throw_body_error("unknown log format '" + std::string(format) + "' (text|json)");
  }
}

}  // namespace fdo::tool
