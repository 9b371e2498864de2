// `fdo-device di`: Device Initialize (FDO 1.1 §5.2) against a manufacturer over HTTP. The protocol is
// libfdo/protocol/di_device; this file makes the identity, runs it and saves the credential after DI.Done.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/protocol/di_device.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/transport/http_transport.h"

namespace fdo::device_tool {
namespace {

struct DiConfig {
  std::string url;
  std::filesystem::path credential;
  std::string key_type = "p256";
  std::string serial;
  std::string model = "fdo-cpp-device";
  std::string key_enc = "x509";
  bool insecure_tls = false;
  std::string ca_file;
  bool force = false;
};

PkEnc parse_key_enc(const std::string& name) {
  if (name == "x509") {
    return PkEnc::X509;
  }
  if (name == "x5chain") {
    return PkEnc::X5Chain;
  }
  return PkEnc::CoseKey;
}

int run_di_command(const DiConfig& config) {
  const crypto::KeyType key_type = *crypto::parse_key_type(config.key_type);
  // Checked before the run: a manufacturer must not store a voucher for a credential we cannot write.
  const std::filesystem::path parent = std::filesystem::absolute(config.credential).parent_path();
  if (!std::filesystem::is_directory(parent)) {
    throw_internal("no directory " + parent.string() + " for the credential");
  }
  protocol::FileCredentialStore store(config.credential);
  if (std::filesystem::exists(config.credential)) {
    // Replacing a credential loses the device's identity: only when asked, and then only once DI succeeds.
    if (!config.force) {
      throw_internal(config.credential.string() + " exists; pass --force to replace it (only once DI succeeds)");
    }
    log::warn("a credential exists at " + config.credential.string() + "; it is replaced only if DI succeeds");
  }

  protocol::DiDeviceOptions options;
  options.serial_no = config.serial.empty() ? "fdo-" + to_hex(random_bytes(6)) : config.serial;
  options.device_info = config.model;
  options.key_enc = parse_key_enc(config.key_enc);

  const protocol::SoftwareDeviceIdentity identity = protocol::SoftwareDeviceIdentity::generate(key_type);
  transport::HttpClientOptions http;
  http.insecure_tls = config.insecure_tls;
  http.ca_file = config.ca_file;
  transport::HttpTransport transport(config.url, http);
  protocol::DiResult result = protocol::run_di(transport, options, identity.signer(), identity.hmac());
  const std::string guid = result.credential.dc_guid.hex();
  // FDO 1.1 §5.2.4: DI is done only when DI.Done arrives, so the credential is written after it.
  store.save(identity.credential(std::move(result)));
  std::cout << "device initialized: guid " << guid << ", serial " << options.serial_no << ", credential "
            << config.credential.string() << "\n";
  return 0;
}

}  // namespace

void register_di(Commands& commands) {
  const auto config = std::make_shared<DiConfig>();
  CLI::App& cmd = commands.add("di", "Device Initialize against a manufacturer; writes the credential (0600)",
                               [config] { return run_di_command(*config); });
  cmd.add_option("--url", config->url, "The manufacturer's base URL, http(s)://HOST:PORT")->required();
  cmd.add_option("--credential", config->credential, "Where to write the device credential")->required();
  cmd.add_option("--key-type", config->key_type, "Device attestation key: p256|p384|rsa2048|rsa3072")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  cmd.add_option("--serial", config->serial, "Serial number sent to the manufacturer (default: random)");
  cmd.add_option("--model", config->model, "Model (MfgInfo deviceInfo, becomes OVDeviceInfo)")->capture_default_str();
  cmd.add_option("--key-enc", config->key_enc, "OVPubKey encoding to ask for: x509|x5chain|cosekey")
      ->capture_default_str()
      ->check(CLI::IsMember({"x509", "x5chain", "cosekey"}));
  cmd.add_flag("--insecure-tls", config->insecure_tls, "https: skip certificate verification (labs only)");
  cmd.add_option("--ca-file", config->ca_file, "https: PEM file of trusted CA certificates");
  cmd.add_flag("--force", config->force, "Replace an existing credential file (once DI succeeds)");
  cmd.footer("Example: fdo-device di --url http://127.0.0.1:8038 --credential cred.bin --key-type p384 --serial SN1");
}

}  // namespace fdo::device_tool
