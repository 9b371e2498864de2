#pragma once
// fdo-owner's subcommands (CLI.md). Each <name>_command.cpp defines one register_<name>() that adds its subcommand,
// options and action to a Commands; main.cpp is the list of registrations, so `serve`, `vouchers` and `devices` are
// added later as further files.

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::owner_tool {

/// Exit statuses (CLI.md): 0 success, 1 the operation failed, 2 usage error.
inline constexpr int kFailure = 1;
inline constexpr int kUsageError = 2;

/// A subcommand's work after parsing: returns the exit status, throws fdo::Error when the operation fails.
using Action = std::function<int()>;

/// The tool's subcommands and their actions.
class Commands {
 public:
  explicit Commands(CLI::App& app) : m_app(app) {}

  /// Adds subcommand `name` with `--log-level`; `action` runs when it is chosen.
  CLI::App& add(const std::string& name, const std::string& description, Action action) {
    CLI::App* cmd = m_app.add_subcommand(name, description);
    cmd->add_option("--log-level", m_log_level, "error|warn|info|debug|trace (logs go to stderr)")
        ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
    m_commands.emplace_back(cmd, std::move(action));
    return *cmd;
  }

  /// Parses the command line and runs the chosen subcommand; prints errors on stderr.
  int run(int argc, char** argv) {
    m_app.require_subcommand(1);
    try {
      m_app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return m_app.exit(e) == 0 ? 0 : kUsageError;
    }
    log::configure(log::parse_level(m_log_level), "owner");
    for (auto& [cmd, action] : m_commands) {
      if (cmd->parsed()) {
        try {
          return action();
        } catch (const Error& e) {
          std::cerr << m_app.get_name() << " " << cmd->get_name() << ": " << e.what() << "\n";
          return kFailure;
        }
      }
    }
    return kUsageError;
  }

 private:
  CLI::App& m_app;
  std::string m_log_level = "info";
  std::vector<std::pair<CLI::App*, Action>> m_commands;
};

/// `fdo-owner init`: the owner key and the device-application CA.
void register_init(Commands& commands);
/// `fdo-owner pubkey`: the owner public key, what a reseller extends vouchers to.
void register_pubkey(Commands& commands);
/// `fdo-owner to0`: register vouchers with their rendezvous servers by hand (FDO 1.1 §5.3).
void register_to0(Commands& commands);

}  // namespace fdo::owner_tool
