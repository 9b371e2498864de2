// `fdo-device show`: the stored DeviceCredential (FDO 1.1 §3.4.1; docs/cli.md lists the JSON fields).

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/json.h"

namespace fdo::device_tool {
namespace {

struct ShowConfig {
  std::filesystem::path credential;
  std::string tpm;
  bool json = false;
  bool reveal = false;
};

void print_text(const DeviceCredential& c, bool reveal) {
  std::cout << "guid:                  " << c.dc_guid.hex() << "\n"
            << "active:                " << (c.dc_active ? "true" : "false") << "\n"
            << "protocol version:      " << c.dc_prot_ver << "\n"
            << "device info:           " << c.dc_device_info << "\n";
  for (const std::string& line : c.dc_rv_info.describe()) {
    std::cout << "rendezvous:            " << line << "\n";
  }
  std::cout << "manufacturer key hash: " << hash_type_name(c.dc_pub_key_hash.type()) << " " << c.dc_pub_key_hash.hex()
            << "\n"
            << "key type:              " << crypto::key_type_name(c.key_type) << "\n"
            << "storage:               " << storage_name(c.storage) << "\n";
  if (reveal && c.storage == CredentialStorage::File) {
    std::cout << "hmac secret:           " << to_hex(c.dc_hmac_secret.view()) << "\n";
  }
}

// With --tpm: what the TPM holds (public parts only, docs/tpm-credentials.md), then the credential if DI has run.
int run_show_tpm(const ShowConfig& config) {
  const std::unique_ptr<tpm::TpmDevice> device = tpm::TpmDevice::open(config.tpm);
  const tpm::TpmStatus status = device->fdo().status();
  std::optional<DeviceCredential> credential;
  std::string credential_error;
  try {
    credential = device->fdo().load();
  } catch (const Error& e) {
    credential_error = e.what();
  }
  if (config.json) {
    JsonWriter j(true);
    j.begin_object().key("format").integer(tool::kJsonFormat);
    if (credential) {
      credential->to_json_fields(j, false);
    } else {
      j.key("credential").null();
    }
    j.key("tpm");
    status.to_json(j);
    j.end_object();
    std::cout << j.str() << "\n";
  } else {
    if (credential) {
      print_text(*credential, false);
    } else {
      std::cout << "credential:            none in this TPM"
                << (credential_error.empty() ? std::string() : " (" + credential_error + ")") << "\n";
    }
    std::cout << status.text();
  }
  return credential ? 0 : kFailure;
}

int run_show_command(const ShowConfig& config) {
  if (!config.tpm.empty()) {
    return run_show_tpm(config);
  }
  const DeviceCredential credential = load_credential(config.credential);
  if (config.json) {
    JsonWriter j(true);
    j.begin_object().key("format").integer(tool::kJsonFormat);
    credential.to_json_fields(j, config.reveal);
    j.end_object();
    std::cout << j.str() << "\n";
  } else {
    print_text(credential, config.reveal);
  }
  return 0;
}

}  // namespace

void register_show(Commands& commands) {
  const auto config = std::make_shared<ShowConfig>();
  CLI::App& cmd = commands.add("show", "Show the device credential", [config] { return run_show_command(*config); });
  add_credential_options(cmd, config->credential, config->tpm, "The credential file");
  cmd.add_flag("--json", config->json, "One JSON document on stdout");
  cmd.add_flag("--reveal", config->reveal, "Also print the HMAC secret (file-backed credentials only)");
  cmd.footer("Example: fdo-device show --credential cred.bin --json\n"
             "         fdo-device show --tpm swtpm:host=127.0.0.1,port=2321");
}

}  // namespace fdo::device_tool
