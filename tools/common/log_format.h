#pragma once
// `--log-format text|json` (docs/cli.md, docs/operations.md "Logs"): the JSON line formatter the tools install into
// libfdo/core/log.h, one object per line, written with the project's JSON writer (libfdo/types/json.h).

#include <string>
#include <string_view>

#include "libfdo/core/log.h"

namespace fdo::tool {

/// One JSON object: {"time":…,"level":"info","role":…,"guid":…,"msg_type":…,"run_id":…,"correlation_id":…,
/// "message":…}; fields that are not known are left out. Levels are lower case, as --log-level spells them.
std::string json_log_line(const log::Record& record);

/// Installs the formatter of `format`: "text" (the default) or "json". Throws Error(MessageBodyError) otherwise.
void use_log_format(std::string_view format);

}  // namespace fdo::tool
