#pragma once
// `--config FILE` for a server's subcommand (CLI.md): a TOML file whose top-level keys are the subcommand's option
// names, with '-' or '_'; flags given on the command line override the file; unknown keys are errors.

#include <CLI/CLI.hpp>

#include <istream>
#include <string>
#include <vector>

namespace fdo::tool {

/// CLI11 reads a config file on the main app only; this formatter files every top-level key under one subcommand,
/// so `TOOL serve --config FILE` reads FILE's keys as serve's options. '_' in a key is read as '-', so both
/// `session_ttl` and `session-ttl` name --session-ttl.
class SubcommandScopedToml final : public CLI::ConfigTOML {
 public:
  explicit SubcommandScopedToml(std::string subcommand) : m_subcommand(std::move(subcommand)) {}

  /// The items of `input`, each moved under the subcommand.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  std::string m_subcommand;
};

/// Registers `--config FILE` (described by `help`) on `app`, read as the options of its subcommand `cmd`; unknown
/// keys are errors. `cmd` falls through to `app`, so the option may follow the subcommand.
void add_config_file(CLI::App& app, CLI::App& cmd, const std::string& help);

}  // namespace fdo::tool
