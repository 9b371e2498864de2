#include "tools/common/cli.h"

namespace fdo::tool {

int parse_error_status(CLI::App& app, const CLI::ParseError& e) { return app.exit(e) == 0 ? 0 : kUsageError; }

std::optional<int> parse(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error_status(app, e);
  }
  return std::nullopt;
}

CLI::Option* add_log_level(CLI::App& cmd, std::string& level) {
  return cmd.add_option("--log-level", level, "error|warn|info|debug|trace (logs go to stderr)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
}

}  // namespace fdo::tool
