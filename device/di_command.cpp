// `fdo-device di`: Device Initialize (FDO 1.1 §5.2) against a manufacturer over HTTP. The protocol is
// libfdo/protocol/di_device; this file makes the identity, runs it and saves the credential after DI.Done.

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/protocol/di_device.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/trace_file.h"
#include "libfdo/transport/http_transport.h"
#include "tools/common/tls_options.h"

namespace fdo::device_tool {
namespace {

struct DiConfig {
  std::string url;
  std::filesystem::path credential;
  std::string tpm;
  std::filesystem::path trace;
  std::string key_type;
  std::string serial;
  std::string model = "fdo-cpp-device";
  std::string key_enc = "x509";
  tool::ClientTls tls;
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

protocol::DiDeviceOptions di_options(const DiConfig& config) {
  protocol::DiDeviceOptions options;
  options.serial_no = config.serial.empty() ? "fdo-" + to_hex(random_bytes(6)) : config.serial;
  options.device_info = config.model;
  options.key_enc = parse_key_enc(config.key_enc);
  return options;
}

protocol::DiResult run_di_over_http(const DiConfig& config, const protocol::DiDeviceOptions& options,
                                    const protocol::DeviceSigner& signer, const protocol::DeviceHmac& hmac) {
  transport::HttpTransport transport(config.url, tool::client_options(config.tls));
  if (!config.trace.empty()) {
    protocol::TraceDir trace(config.trace);
    protocol::TracingTransport traced(transport, trace);
    return protocol::run_di(traced, options, signer, hmac);
  }
  return protocol::run_di(transport, options, signer, hmac);
}

// DI with the keys in a TPM (docs/tpm-credentials.md "DI"): an empty TPM is provisioned first; a TPM provisioned in advance
// (fdo-tpm-provisioner) keeps its keys. The credential goes into the TPM's NV through the journal after DI.Done.
int run_di_tpm(const DiConfig& config) {
  const std::unique_ptr<tpm::TpmDevice> device = tpm::TpmDevice::open(config.tpm);
  tpm::FdoTpm& fdo = device->fdo();
  if (!fdo.provisioned()) {
    const crypto::KeyType curve = *crypto::parse_key_type(config.key_type.empty() ? "p256" : config.key_type);
    fdo.provision({.curve = curve, .device_info = config.model});
    std::cout << "provisioned the TPM at " << config.tpm << ": " << crypto::key_type_name(curve)
              << " device key and HMAC key created inside it\n";
  } else if (!config.key_type.empty() && *crypto::parse_key_type(config.key_type) != fdo.key_type()) {
    throw_internal("the TPM's device key is " + std::string(crypto::key_type_name(fdo.key_type())) + ", not " +
                   config.key_type + " (fdo-tpm-provisioner clear, or leave out --key-type)");
  }
  if (const std::optional<DeviceCredential> existing = fdo.load()) {
    if (!config.force) {
      throw_internal("the TPM at " + config.tpm + " already holds the credential of GUID " + existing->dc_guid.hex() +
                     "; pass --force to replace it (only once DI succeeds)");
    }
    log::warn("the TPM holds a credential (GUID " + existing->dc_guid.hex() + "); it is replaced only if DI succeeds");
  }
  const protocol::DiDeviceOptions options = di_options(config);
  const tpm::TpmSigner signer(fdo);
  const tpm::TpmHmac hmac(fdo);
  protocol::DiResult result = run_di_over_http(config, options, signer, hmac);
  DeviceCredential credential = std::move(result.credential);
  credential.key_type = signer.key_type();
  credential.storage = CredentialStorage::Tpm;
  credential.tpm = TpmKeyRef{.device_key_handle = tpm::handle::kDeviceKey, .hmac_key_handle = tpm::handle::kHmacKey};
  std::optional<std::filesystem::path> cache;
  if (!config.credential.empty()) {
    cache = config.credential;
  }
  tpm::TpmCredentialStore(fdo, config.tpm, cache).save(credential);
  std::cout << "device initialized: guid " << credential.dc_guid.hex() << ", serial " << options.serial_no
            << ", credential in the TPM at " << config.tpm
            << (config.credential.empty() ? std::string() : " (public copy " + config.credential.string() + ")")
            << "\n";
  return 0;
}

int run_di_command(const DiConfig& config) {
  if (!config.tpm.empty()) {
    return run_di_tpm(config);
  }
  const crypto::KeyType key_type = *crypto::parse_key_type(config.key_type.empty() ? "p256" : config.key_type);
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

  const protocol::DiDeviceOptions options = di_options(config);
  const protocol::SoftwareDeviceIdentity identity = protocol::SoftwareDeviceIdentity::generate(key_type);
  protocol::DiResult result = run_di_over_http(config, options, identity.signer(), identity.hmac());
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
  add_credential_options(cmd, config->credential, config->tpm, "Where to write the device credential");
  add_trace_option(cmd, config->trace);
  cmd.add_option("--key-type", config->key_type,
                 "Device attestation key: p256|p384|rsa2048|rsa3072 (default p256; a TPM holds p256 or p384)")
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  cmd.add_option("--serial", config->serial, "Serial number sent to the manufacturer (default: random)");
  cmd.add_option("--model", config->model, "Model (MfgInfo deviceInfo, becomes OVDeviceInfo)")->capture_default_str();
  cmd.add_option("--key-enc", config->key_enc, "OVPubKey encoding to ask for: x509|x5chain|cosekey")
      ->capture_default_str()
      ->check(CLI::IsMember({"x509", "x5chain", "cosekey"}));
  tool::add_client_tls_options(cmd, config->tls);
  cmd.add_flag("--force", config->force, "Replace an existing credential file (once DI succeeds)");
  cmd.footer("Example: fdo-device di --url http://127.0.0.1:8038 --credential cred.bin --key-type p384 --serial SN1\n"
             "         fdo-device di --url http://127.0.0.1:8038 --tpm swtpm:host=127.0.0.1,port=2321");
}

}  // namespace fdo::device_tool
