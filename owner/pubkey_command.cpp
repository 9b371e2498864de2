// `fdo-owner pubkey`: the owner public key as PEM, what `fdo-reseller extend --next-owner` takes (docs/cli.md).

#include <iostream>
#include <memory>
#include <string>

#include "owner/commands.h"
#include "owner/config.h"
#include "tools/common/key_files.h"

namespace fdo::owner_tool {
namespace {

struct PubkeyConfig {
  std::filesystem::path dir;
  std::filesystem::path out;
};

int run_pubkey(const PubkeyConfig& config) {
  const std::string pem = load_owner_key(OwnerDir{config.dir}).public_key().to_pem();
  if (config.out.empty()) {
    std::cout << pem;
  } else {
    tool::write_public_file(config.out, pem);
  }
  return 0;
}

}  // namespace

void register_pubkey(Commands& commands) {
  const auto config = std::make_shared<PubkeyConfig>();
  CLI::App& cmd = commands.add("pubkey", "Print the owner public key (PEM)", [config] { return run_pubkey(*config); });
  cmd.add_option("--dir", config->dir, "The owner directory")->required();
  cmd.add_option("-o,--out", config->out, "Write the PEM to this file instead of stdout");
  cmd.footer("Example: fdo-owner pubkey --dir owner -o owner.pub.pem");
}

}  // namespace fdo::owner_tool
