#pragma once
// The subcommand scaffold of the tools built from one file per subcommand (fdo-device, fdo-owner; docs/cli.md): each
// <name>_command.cpp defines a register_<name>() that adds its subcommand, options and action to a Commands, and
// main.cpp is the list of registrations.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tools/common/cli.h"

namespace fdo::tool {

/// A subcommand's work after parsing: returns the exit status, throws fdo::Error when the operation fails.
using Action = std::function<int()>;

/// A tool's subcommands and their actions.
class Commands {
 public:
  /// `role` names the tool in its log lines ("device", "owner").
  Commands(CLI::App& app, std::string role) : m_app(app), m_role(std::move(role)) {}

  /// Adds subcommand `name` with `--log-level`; `action` runs when it is chosen.
  CLI::App& add(const std::string& name, const std::string& description, Action action);

  /// Parses the command line and runs the chosen subcommand. Returns its exit status, kUsageError after a usage
  /// error, and kFailure when it throws (printed as "<tool> <subcommand>: <message>" on stderr).
  int run(int argc, char** argv);

  /// The tool's top-level app (for options such as --config that live on both levels).
  [[nodiscard]] CLI::App& app() { return m_app; }

 private:
  CLI::App& m_app;
  std::string m_role;
  std::string m_log_level = "info";
  std::vector<std::pair<CLI::App*, Action>> m_commands;
};

}  // namespace fdo::tool
