#include "tools/common/commands.h"

#include <optional>

#include "libfdo/core/log.h"

namespace fdo::tool {

CLI::App& Commands::add(const std::string& name, const std::string& description, Action action) {
  CLI::App* cmd = m_app.add_subcommand(name, description);
  add_log_level(*cmd, m_log_level);
  m_commands.emplace_back(cmd, std::move(action));
  return *cmd;
}

int Commands::run(int argc, char** argv) {
  m_app.require_subcommand(1);
  if (const std::optional<int> status = parse(m_app, argc, argv)) {
    return *status;
  }
  log::configure(log::parse_level(m_log_level), m_role);
  for (const auto& [cmd, action] : m_commands) {
    if (cmd->parsed()) {
      return run_reporting_errors(m_app.get_name() + " " + cmd->get_name(), action);
    }
  }
  return kUsageError;
}

}  // namespace fdo::tool
