// fdo-tpm-provisioner: the TPM maker's and board maker's tool (docs/tpm-credentials.md "Provisioning"): puts the FDO keys
// and NV indices into a TPM before the device exists, shows what FDO state a TPM holds, and removes it.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/types/json.h"
#include "tools/common/cli.h"
#include "tools/common/commands.h"

namespace fdo::tpm_tool {
namespace {

struct Config {
  std::string tcti;
  bool json = false;
  std::string curve = "p256";
  std::string device_info = "TPM";
  bool yes = false;
};

std::unique_ptr<tpm::Tpm> open_tpm(const Config& config) {
  std::unique_ptr<tpm::Tpm> t = tpm::Tpm::open(config.tcti);
  if (t->in_lockout()) {
    throw_internal("the TPM at " + config.tcti + " is in dictionary-attack lockout; nothing was changed");
  }
  return t;
}

void print_status(const Config& config, tpm::FdoTpm& fdo) {
  const tpm::TpmStatus status = fdo.status();
  if (config.json) {
    JsonWriter j(true);
    status.to_json(j);
    std::cout << j.str() << "\n";
  } else {
    std::cout << status.text();
  }
}

int provision(const Config& config) {
  const std::unique_ptr<tpm::Tpm> t = open_tpm(config);
  tpm::FdoTpm fdo(*t);
  fdo.provision({.curve = *crypto::parse_key_type(config.curve), .device_info = config.device_info});
  if (!config.json) {
    std::cout << "provisioned: " << config.curve << " device key at " << tpm::handle_text(tpm::handle::kDeviceKey)
              << ", HMAC key at " << tpm::handle_text(tpm::handle::kHmacKey)
              << ", DCActive false until DI; device public key:\n";
    std::cout << fdo.public_key().to_pem();
    return 0;
  }
  print_status(config, fdo);
  return 0;
}

int show(const Config& config) {
  const std::unique_ptr<tpm::Tpm> t = tpm::Tpm::open(config.tcti);
  tpm::FdoTpm fdo(*t);
  print_status(config, fdo);
  return 0;
}

int clear(const Config& config) {
  const std::unique_ptr<tpm::Tpm> t = open_tpm(config);
  tpm::FdoTpm fdo(*t);
  if (!config.yes) {
    if (isatty(STDIN_FILENO) == 0) {
      throw_internal("clear destroys the device's FDO identity; pass --yes to confirm (stdin is not a terminal)");
    }
    std::cerr << "Remove every FDO key and NV index from the TPM at " << config.tcti
              << "? Vouchers for this device become useless. Type 'yes': ";
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      std::cerr << "not cleared\n";
      return tool::kFailure;
    }
  }
  fdo.clear();
  std::cout << "cleared the FDO keys and NV indices from the TPM at " << config.tcti << "\n";
  return 0;
}

}  // namespace
}  // namespace fdo::tpm_tool

int main(int argc, char** argv) {
  using fdo::tpm_tool::Config;
  CLI::App app{"fdo-tpm-provisioner: FDO keys and credential indices in a TPM (FDO-in-TPM)", "fdo-tpm-provisioner"};
  fdo::tool::setup_app(app, "fdo-tpm-provisioner");
  app.footer("Example: fdo-tpm-provisioner provision --tcti swtpm:host=127.0.0.1,port=2321 --curve p384");
  return fdo::tool::run_reporting_errors("fdo-tpm-provisioner", [&app, argc, argv] {
    fdo::tool::Commands commands(app, "tpm-provisioner");
    const auto config = std::make_shared<Config>();
    auto add_common = [&config](CLI::App& cmd) {
      cmd.add_option("--tcti", config->tcti, "The TPM: swtpm:host=H,port=P, device:/dev/tpmrm0, mssim:…, tabrmd")
          ->required();
      cmd.add_flag("--json", config->json, "One JSON document on stdout");
    };
    CLI::App& prov = commands.add("provision", "Create the FDO keys and NV indices (DCActive false until DI)",
                                  [config] { return fdo::tpm_tool::provision(*config); });
    add_common(prov);
    prov.add_option("--curve", config->curve, "Device key curve, and SHA-256/SHA-384 for the rest: p256|p384")
        ->capture_default_str()
        ->check(CLI::IsMember({"p256", "p384"}));
    prov.add_option("--device-info", config->device_info, "DCTPM DeviceInfo until DI replaces it")
        ->capture_default_str();
    prov.footer("Example: fdo-tpm-provisioner provision --tcti swtpm:host=127.0.0.1,port=2321");
    CLI::App& sh = commands.add("show", "What FDO state the TPM holds (public parts only)",
                                [config] { return fdo::tpm_tool::show(*config); });
    add_common(sh);
    sh.footer("Example: fdo-tpm-provisioner show --tcti device:/dev/tpmrm0 --json");
    CLI::App& cl = commands.add("clear", "Remove the FDO keys and NV indices (asks unless --yes)",
                                [config] { return fdo::tpm_tool::clear(*config); });
    add_common(cl);
    cl.add_flag("--yes", config->yes, "Do not ask for confirmation");
    cl.footer("Example: fdo-tpm-provisioner clear --tcti swtpm:host=127.0.0.1,port=2321 --yes");
    return commands.run(argc, argv);
  });
}
