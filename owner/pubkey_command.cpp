// `fdo-owner pubkey`: the owner public key as PEM, what `fdo-reseller extend --next-owner` takes (docs/cli.md).

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "libfdo/core/error.h"

#include "owner/commands.h"
#include "owner/config.h"
#include "tools/common/key_files.h"

namespace fdo::owner_tool {
namespace {

struct PubkeyConfig {
  std::filesystem::path dir;
  std::filesystem::path out;
  std::string key_type;
};

int run_pubkey(const PubkeyConfig& config) {
  // The owner key of that type (owner.key.pem or owner-TYPE.key.pem), or the first one.
  std::string pem;
  const std::vector<crypto::PrivateKey> keys = load_owner_keys(OwnerDir{config.dir});
  for (const crypto::PrivateKey& key : keys) {
    if (config.key_type.empty() || crypto::key_type_name(key.type()) == config.key_type) {
      pem = key.public_key().to_pem();
      break;
    }
  }
  if (pem.empty()) {
    throw_invalid(config.dir.string() + " holds no owner key of type " + config.key_type + " (it has " +
                  OwnerKeyRing(keys).describe() + "; `fdo-owner init --key-type " + config.key_type + "` adds one)");
  }
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
  cmd.add_option("--key-type", config->key_type, "The owner key of this type, when the directory holds several")
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  cmd.footer("Example: fdo-owner pubkey --dir owner -o owner.pub.pem");
}

}  // namespace fdo::owner_tool
