#include "tools/common/config_file.h"

#include <algorithm>
#include <memory>

namespace fdo::tool {

std::vector<CLI::ConfigItem> SubcommandScopedToml::from_config(std::istream& input) const {
  std::vector<CLI::ConfigItem> read = CLI::ConfigTOML::from_config(input);
  for (CLI::ConfigItem& item : read) {
    item.parents.insert(item.parents.begin(), m_subcommand);
    std::replace(item.name.begin(), item.name.end(), '_', '-');
  }
  return read;
}

void add_config_file(CLI::App& app, CLI::App& cmd, const std::string& help) {
  app.set_config("--config", "", help);
  app.config_formatter(std::make_shared<SubcommandScopedToml>(cmd.get_name()));
  app.allow_config_extras(CLI::config_extras_mode::error);
  cmd.fallthrough();  // `serve --config FILE`: the option lives on the main app
}

}  // namespace fdo::tool
