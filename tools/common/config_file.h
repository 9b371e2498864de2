#pragma once
// `--config FILE` for a server's subcommand (docs/cli.md): a TOML file whose top-level keys are the subcommand's
// option names, with '-' or '_'; flags given on the command line override the file; unknown keys are errors.

#include <CLI/CLI.hpp>

#include <istream>
#include <string>
#include <vector>

namespace fdo::tool {

/// CLI11 reads a config file on the main app only; this formatter files every top-level key under one subcommand,
/// so `TOOL serve --config FILE` reads FILE's keys as serve's options. '_' in a key is read as '-', so both
/// `session_ttl` and `session-ttl` name --session-ttl. A key that names no option of the subcommand is a
/// CLI::ConfigError "config FILE: unknown key 'KEY' (TOML)", the key as written.
class SubcommandScopedToml final : public CLI::ConfigTOML {
 public:
  /// `app` is the main app (it holds the --config option, hence the file name), `cmd` its subcommand.
  SubcommandScopedToml(const CLI::App& app, const CLI::App& cmd) : m_app(app), m_cmd(cmd) {}

  /// The items of `input`, each moved under the subcommand.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  const CLI::App& m_app;
  const CLI::App& m_cmd;
};

/// Registers `--config FILE` (described by `help`) on `app` and on its subcommand `cmd` (so `cmd --help` shows
/// it), read as the options of `cmd`; unknown keys are errors. `cmd` falls through to `app`.
void add_config_file(CLI::App& app, CLI::App& cmd, const std::string& help);

}  // namespace fdo::tool
