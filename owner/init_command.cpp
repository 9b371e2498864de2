// `fdo-owner init`: the owner key and the device-application CA (docs/cli.md).

#include <memory>
#include <string>
#include <vector>

#include "owner/commands.h"
#include "owner/config.h"
#include "tools/common/key_files.h"

namespace fdo::owner_tool {
namespace {

struct InitConfig {
  std::filesystem::path dir;
  std::vector<std::string> key_types{"p256"};
  std::string ca_key_type = "p256";
};

int run_init(const InitConfig& config) {
  tool::print_init_steps(init_owner_dir(OwnerDir{config.dir}, config.key_types, config.ca_key_type));
  return 0;
}

}  // namespace

void register_init(Commands& commands) {
  const auto config = std::make_shared<InitConfig>();
  CLI::App& cmd = commands.add("init", "Create the owner key and the device-application CA (0600, only when absent)",
                               [config] { return run_init(*config); });
  cmd.add_option("--dir", config->dir, "The owner directory")->required();
  cmd.add_option("--key-type", config->key_types,
                 "Owner key type: p256|p384|rsa2048|rsa3072; repeat for further keys (owner-TYPE.key.pem)")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  cmd.add_option("--ca-key-type", config->ca_key_type, "Key type of the device-application CA")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  cmd.footer("Example: fdo-owner init --dir owner --key-type p384");
}

}  // namespace fdo::owner_tool
