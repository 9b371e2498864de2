// fdo-tpm-provisioner: the TPM maker's and board maker's tool (docs/tpm-credentials.md "Provisioning"): puts the FDO keys
// and NV indices into a TPM before the device exists, shows what FDO state a TPM holds, and removes it.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <vector>
#include <memory>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/tpm/tpm_attest.h"
#include "libfdo/types/json.h"
#include "tools/common/cli.h"
#include "tools/common/key_files.h"
#include "tools/common/commands.h"

namespace fdo::tpm_tool {
namespace {

struct Config {
  std::string tcti;
  bool json = false;
  std::string curve = "p256";
  std::string device_info = "TPM";
  bool yes = false;
  std::filesystem::path ca_key;
  std::filesystem::path ca_cert;
  std::string subject = "FDO TPM attestation key";
  int days = 3650;
  std::filesystem::path out;
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

// The TPM maker certifies the attestation key TPM-Attest quotes with (docs/tpm-credentials.md "Attestation"): the
// owner's plan can then require an AK certificate from this CA (ak-ca).
int certify_ak(const Config& config) {
  const std::unique_ptr<tpm::Tpm> t = open_tpm(config);
  const crypto::PrivateKey ca_key = tool::read_private_key(config.ca_key);
  const std::vector<crypto::Certificate> ca = crypto::Certificate::from_pem_all(to_string(read_file(config.ca_cert)));
  if (ca.empty()) {
    throw_internal(config.ca_cert.string() + " holds no certificate");
  }
  const tpm::ObjectPublic ak = t->ensure_attestation_key(tpm::kAttestKeyHandle);
  const crypto::Certificate cert = crypto::issue_certificate(
      ca_key, ca.front(), crypto::PublicKey::from_ec_point(crypto::KeyType::P256, ak.x, ak.y),
      crypto::CertificateProfile{.common_name = config.subject, .organization = "", .validity_days = config.days,
                                 .is_ca = false});
  tpm::store_ak_certificate(*t, cert.der());
  if (!config.out.empty()) {
    write_file_atomic(config.out, to_bytes(cert.to_pem()), 0644);
  }
  std::cout << "attestation key at " << tpm::handle_text(tpm::kAttestKeyHandle) << " certified by "
            << ca.front().subject() << "; certificate in NV " << tpm::handle_text(tpm::kAkCertIndex)
            << (config.out.empty() ? std::string() : " and " + config.out.string()) << "\n";
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
    CLI::App& ak = commands.add("certify-ak", "Certify the TPM's attestation key (TPM-Attest) with a CA, into NV",
                                [config] { return fdo::tpm_tool::certify_ak(*config); });
    add_common(ak);
    ak.add_option("--ca-key", config->ca_key, "The CA's private key (PEM)")->required();
    ak.add_option("--ca-cert", config->ca_cert, "The CA's certificate (PEM)")->required();
    ak.add_option("--subject", config->subject, "The certificate's CN")->capture_default_str();
    ak.add_option("--days", config->days, "Validity in days")->capture_default_str();
    ak.add_option("-o", config->out, "Also write the certificate (PEM) here");
    ak.footer("Example: fdo-tpm-provisioner certify-ak --tcti swtpm:host=127.0.0.1,port=2321 --ca-key ca.key.pem "
              "--ca-cert ca.pem");
    CLI::App& cl = commands.add("clear", "Remove the FDO keys and NV indices (asks unless --yes)",
                                [config] { return fdo::tpm_tool::clear(*config); });
    add_common(cl);
    cl.add_flag("--yes", config->yes, "Do not ask for confirmation");
    cl.footer("Example: fdo-tpm-provisioner clear --tcti swtpm:host=127.0.0.1,port=2321 --yes");
    return commands.run(argc, argv);
  });
}
