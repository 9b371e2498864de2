#include "tools/common/config_file.h"

#include <algorithm>
#include <memory>
#include <sstream>

#include "libfdo/core/bytes.h"
#include "libfdo/core/file.h"

namespace fdo::tool {

std::vector<CLI::ConfigItem> SubcommandScopedToml::from_config(std::istream& input) const {
  // docs/cli.md "Input files": CLI11 hands over the file as an open stream, which it would read to the end
  // whatever the file is (/dev/zero never ends). Read the named file through the bounded reader instead;
  // --config takes at most one file.
  const std::vector<std::string> files = m_app.get_config_ptr()->as<std::vector<std::string>>();
  std::istringstream bounded;
  if (files.size() == 1) {
    const FileRead file = read_file_checked(files.front());
    if (!file.data) {
      throw CLI::FileError(files.front() + ": " + file.problem);
    }
    bounded.str(to_string(*file.data));
  }
  std::vector<CLI::ConfigItem> read = CLI::ConfigTOML::from_config(files.size() == 1 ? bounded : input);
  for (CLI::ConfigItem& item : read) {
    std::string name = item.name;
    std::replace(name.begin(), name.end(), '_', '-');
    const CLI::Option* option = m_cmd.get_option_no_throw("--" + name);
    if (!item.parents.empty() || option == nullptr || name == "config") {
      const std::string key = item.parents.empty() ? item.name : item.fullname();
      throw CLI::ConfigError("config " + (files.empty() ? std::string("file") : files.front()) + ": unknown key '" +
                             key + "' (TOML)");
    }
    item.parents.insert(item.parents.begin(), m_cmd.get_name());
    item.name = name;
  }
  return read;
}

namespace {

// docs/security.md "Local files": a --config that is not a readable regular file fails as a missing input file
// (exit 1) before CLI11 opens it with a plain ifstream, which would block on a FIFO without a writer.
void require_readable_config(const std::string& file) {
  const FileRead checked = read_file_checked(file);
  if (!checked.data) {
    throw CLI::FileError(file + ": " + checked.problem);
  }
}

}  // namespace

void add_config_file(CLI::App& app, CLI::App& cmd, const std::string& help) {
  CLI::Option* config = app.set_config("--config", "", help);
  config->check(CLI::Validator(
      [](std::string& file) {
        require_readable_config(file);
        return std::string();
      },
      "FILE"));
  app.config_formatter(std::make_shared<SubcommandScopedToml>(app, cmd));
  app.allow_config_extras(CLI::config_extras_mode::error);
  cmd.fallthrough();
  // The same option on the subcommand, for `cmd --help`; its value is handed to the app's, which reads the file
  // after the whole command line is parsed (so flags still override the file).
  cmd.add_option_function<std::string>(
         "--config",
         [config](const std::string& file) {
           require_readable_config(file);
           config->add_result(file);
         },
         help)
      ->trigger_on_parse();
}

}  // namespace fdo::tool
