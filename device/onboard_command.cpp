// `fdo-device onboard`: find the owner (TO1, unless --owner-url names it) and onboard to it (TO2), then replace the
// credential atomically (FDO 1.1 §5.4-§5.5; docs/cli.md, docs/protocols/to2.md). The protocols are
// libfdo/protocol/to1_device and to2_device; this file chooses, prints and stores.

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/onboard.h"
#include "libfdo/protocol/to1_device.h"
#include "libfdo/protocol/to2_device.h"
#include "libfdo/protocol/trace_file.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/tpm/tpm_app_key.h"
#include "libfdo/tpm/tpm_attest.h"
#include "libfdo/serviceinfo/devmod.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/json.h"
#include "tools/common/cli.h"
#include "tools/common/tls_options.h"

namespace fdo::device_tool {
namespace {

struct OnboardConfig {
  std::filesystem::path credential;
  std::string tpm;
  std::filesystem::path trace;
  std::string owner_url;
  std::string kex;
  std::string cipher;
  bool json = false;
  bool no_reuse = false;
  bool reactivate = false;
  bool strict_modules = false;
  std::size_t rounds = 1;
  std::uint32_t retry_delay = kRvRetryDelaySec;
  std::uint32_t max_rv_delay = 0;
  std::vector<std::string> lenient;
  std::filesystem::path root;
  std::string run_as;
  std::filesystem::path shadow_file = "/etc/shadow";
  std::vector<std::string> modules;
  std::uint32_t command_timeout = 600;
  tool::ClientTls tls;
};

// Where TPM-Attest keeps the owner's verdict, under --root (docs/tpm-credentials.md "Attestation").
constexpr std::string_view kAttestationVerdict = "var/lib/fdo/attestation";

// Progress goes to stdout, or to stderr when stdout carries the JSON document.
std::ostream& progress_stream(const OnboardConfig& config) { return config.json ? std::cerr : std::cout; }

void print_json(const OnboardConfig& config, const DeviceCredential& before, const protocol::To2Result* result,
                const std::string& owner_url, const std::string& rendezvous, const std::string& error) {
  JsonWriter j(true);
  j.begin_object().key("format").integer(tool::kJsonFormat).key("onboarded").boolean(result != nullptr);
  j.key("guid").string(before.dc_guid.hex());
  j.key("new_guid");
  if (result != nullptr) {
    j.string(result->credential.dc_guid.hex());
  } else {
    j.null();
  }
  j.key("reused").boolean(result != nullptr && result->reused);
  j.key("owner_url");
  owner_url.empty() ? j.null() : j.string(owner_url);
  j.key("rendezvous");
  rendezvous.empty() ? j.null() : j.string(rendezvous);
  j.key("kex");
  result != nullptr ? j.string(crypto::kex_suite_name(result->suites.kex)) : j.null();
  j.key("cipher");
  result != nullptr ? j.string(crypto::cipher_suite_name(result->suites.cipher)) : j.null();
  j.key("modules").begin_array();
  if (result != nullptr) {
    for (const serviceinfo::DeviceModuleReport& m : result->modules) {
      j.begin_object().key("name").string(m.name).key("active").boolean(m.active).key("failed").boolean(m.failed);
      j.key("error");
      m.error.empty() ? j.null() : j.string(m.error);
      j.end_object();
    }
  }
  j.end_array().key("error");
  error.empty() ? j.null() : j.string(error);
  j.end_object();
  (void)config;
  std::cout << j.str() << "\n";
}

int run_onboard(const OnboardConfig& config) {
  DeviceState device = open_device(config.credential, config.tpm);
  const DeviceCredential& credential = device.credential;
  if (!credential.dc_active && !config.reactivate) {
    throw_invalid("the credential is not active (DCActive is false): this device has completed onboarding; "
                  "--reactivate onboards it again (a resale)");
  }
  const std::unique_ptr<protocol::DeviceSigner>& signer = device.signer;
  const std::unique_ptr<protocol::DeviceHmac>& hmac = device.hmac;
  std::ostream& out = progress_stream(config);
  std::optional<protocol::TraceDir> trace;
  if (!config.trace.empty()) {
    trace.emplace(config.trace);
  }

  const protocol::SuitePair defaults = protocol::default_suites(signer->key_type());
  std::optional<crypto::KexSuite> kex;
  std::optional<crypto::CipherSuite> cipher;
  if (!config.kex.empty()) {
    kex = crypto::parse_kex_suite(config.kex);
  }
  if (!config.cipher.empty()) {
    cipher = crypto::parse_cipher_suite(config.cipher);
  }
  if (config.kex.empty() || config.cipher.empty()) {
    out << "TO2: suites " << crypto::kex_suite_name(kex.value_or(defaults.kex)) << " + "
        << crypto::cipher_suite_name(cipher.value_or(defaults.cipher)) << " (the strongest pair for a "
        << crypto::key_type_name(signer->key_type()) << " device key"
        << (config.kex.empty() && config.cipher.empty() ? "" : ", with the one given") << ")" << std::endl;
  }

  fsim::DeviceContext module_context;
  // With a TPM, AsymKey and fdo.csr make their keys inside it (docs/tpm-credentials.md "Application keys").
  std::optional<tpm::TpmAppKeys> tpm_app_keys;
  if (device.tpm) {
    tpm_app_keys.emplace(device.tpm->tpm());
    module_context.app_keys = &*tpm_app_keys;
  }
  module_context.root = config.root.empty() ? std::filesystem::current_path() : std::filesystem::absolute(config.root);
  std::filesystem::create_directories(module_context.root);
  if (!config.run_as.empty()) {
    module_context.run_as = config.run_as;
  }
  module_context.shadow_file = config.shadow_file;
  module_context.command_timeout = std::chrono::seconds(config.command_timeout);

  // TO1 (unless --owner-url) then TO2, round after round until onboarded or out of --rounds
  // (libfdo/protocol/onboard.h; FDO 1.1 §3.7, §5.4, §5.5).
  protocol::OnboardOptions onboard;
  onboard.max_rounds = config.rounds;
  onboard.retry_delay_sec = config.retry_delay;
  if (!config.owner_url.empty()) {
    onboard.owner_urls.push_back(config.owner_url);
  }
  onboard.find.max_delay_sec = config.max_rv_delay;
  onboard.find.http = tool::client_options(config.tls);
  if (trace) {
    onboard.find.wrap = [&trace](std::unique_ptr<transport::MessageTransport> t)
        -> std::unique_ptr<transport::MessageTransport> {
      return std::make_unique<protocol::TracingTransport>(std::move(t), *trace);
    };
  }
  // An https owner is trusted through --ca-file or the system store (docs/security.md "TLS").
  onboard.make_to2_transport = [&](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
    auto http = std::make_unique<transport::HttpTransport>(url, tool::client_options(config.tls));
    if (trace) {
      return std::make_unique<protocol::TracingTransport>(std::move(http), *trace);
    }
    return http;
  };
  // A TPM renews the HMAC secret in every replacement (FDO-in-TPM §6); the file keeps it.
  const std::unique_ptr<protocol::DeviceHmac> next_hmac = device.store->next_hmac();
  onboard.to2_options = [&]() {
    serviceinfo::DeviceRegistry registry;
    protocol::To2DeviceOptions options;
    options.kex = kex;
    options.cipher = cipher;
    options.allow_reuse = !config.no_reuse;
    options.strict_modules = config.strict_modules;
    options.leniency = Leniency::from_names(config.lenient);
    // The ServiceInfo modules this device runs (docs/service-info.md "Device configuration"): all by default.
    fsim::register_device_modules(registry, module_context);
    if (device.tpm) {
      // TPM-Attest answers with the TPM's quote; the owner's verdict is kept for the management agent.
      tpm::register_tpm_attest_device(registry, device.tpm->tpm(), module_context.root / kAttestationVerdict);
    }
    options.modules = config.modules.empty() ? registry.create_all() : registry.create(config.modules);
    options.devmod = serviceinfo::devmod_from_os();
    options.devmod.device = credential.dc_device_info;
    options.replacement_hmac = next_hmac.get();
    options.trace = trace ? &*trace : nullptr;
    return options;
  };
  onboard.progress = [&out](std::string_view line) { out << line << std::endl; };

  const protocol::OnboardResult result = protocol::onboard_device(credential, *signer, *hmac, onboard);
  if (result.to2) {
    // FDO 1.1 §5.5.13: the new credential replaces the old one only now, after a verified TO2.Done2, atomically.
    // Credential reuse leaves it as it is.
    if (!result.to2->reused) {
      device.store->save(result.to2->credential);
    }
    out << "onboarded: "
        << (result.to2->reused ? "credential reuse, GUID " + credential.dc_guid.hex() + " kept; credential unchanged in "
                               : "new GUID " + result.to2->credential.dc_guid.hex() + "; credential saved to ")
        << device.store->describe()
        << (result.rounds > 1 ? " (round " + std::to_string(result.rounds) + ")" : std::string()) << std::endl;
    if (config.json) {
      print_json(config, credential, &*result.to2, result.owner_url, result.rendezvous, {});
    }
    return 0;
  }
  std::string last_error;
  if (!result.failures.empty()) {
    const protocol::OnboardFailure& f = result.failures.back();
    last_error = f.url.empty() ? "TO1 " + f.error : f.url + ": " + f.error;
  }
  if (config.json) {
    print_json(config, credential, nullptr, result.to2_urls.empty() ? std::string() : result.to2_urls.front(),
               result.rendezvous, last_error);
  }
  std::cerr << "fdo-device onboard: " << (last_error.empty() ? std::string("no owner") : last_error) << "\n";
  std::cerr << "fdo-device onboard: not onboarded after " << result.rounds << " round" << (result.rounds == 1 ? "" : "s")
            << "; the credential is unchanged\n";
  return kFailure;
}

}  // namespace

void register_onboard(Commands& commands) {
  const auto config = std::make_shared<OnboardConfig>();
  CLI::App& cmd = commands.add("onboard", "Find the owner (TO1) and onboard to it (TO2, FDO 1.1 §5.5)",
                               [config] { return run_onboard(*config); });
  add_credential_options(cmd, config->credential, config->tpm, "The credential file (replaced atomically on success)");
  add_trace_option(cmd, config->trace);
  tool::add_client_tls_options(cmd, config->tls);
  cmd.add_option("--owner-url", config->owner_url, "Skip TO1: run TO2 at this owner, http(s)://HOST:PORT");
  cmd.add_option("--kex", config->kex, "Key exchange: ECDH256, ECDH384, DHKEXid14, DHKEXid15, ASYMKEX2048, ASYMKEX3072")
      ->check(CLI::IsMember({"ECDH256", "ECDH384", "DHKEXid14", "DHKEXid15", "ASYMKEX2048", "ASYMKEX3072"}));
  cmd.add_option("--cipher", config->cipher,
                 "Cipher suite: A128GCM, A256GCM, AES-CCM-64-128-128, AES-CCM-64-128-256, AES128/CTR/HMAC-SHA256, "
                 "AES128/CBC/HMAC-SHA256, AES256/CTR/HMAC-SHA384, AES256/CBC/HMAC-SHA384")
      ->check(CLI::IsMember({"A128GCM", "A256GCM", "AES-CCM-64-128-128", "AES-CCM-64-128-256", "AES128/CTR/HMAC-SHA256",
                             "AES128/CBC/HMAC-SHA256", "AES256/CTR/HMAC-SHA384", "AES256/CBC/HMAC-SHA384"}));
  cmd.add_flag("--json", config->json, "One JSON document on stdout (onboarded, new_guid, owner_url, modules)");
  cmd.add_flag("--no-reuse", config->no_reuse, "Refuse credential reuse (the owner gets error 102)");
  cmd.add_flag("--reactivate", config->reactivate, "Onboard a credential that already completed onboarding");
  cmd.add_flag("--strict-modules", config->strict_modules,
               "Fail TO2 on messages for modules this device lacks instead of skipping them");
  cmd.add_option("--rounds", config->rounds,
                 "Rounds of TO1 then TO2 before giving up; a failed TO2 starts again from TO1 (0: until onboarded)")
      ->capture_default_str();
  cmd.add_option("--retry-delay", config->retry_delay, "Seconds between rounds (±25 %)")->capture_default_str();
  cmd.add_option("--max-rv-delay", config->max_rv_delay, "TO1: upper bound on one directive's RVDelaysec (0: none)")
      ->capture_default_str();
  cmd.add_option("--lenient", config->lenient, "Accept a named owner deviation (untagged-cose, …), repeatable");
  cmd.add_option("--root", config->root,
                 "Directory the ServiceInfo modules write files into and run commands in (default: the current one)");
  cmd.add_option("--run-as", config->run_as, "User the ServiceInfo commands run as (default: this process's user)");
  cmd.add_option("--shadow-file", config->shadow_file, "Shadow-format password file Password-Manager edits")
      ->capture_default_str();
  cmd.add_option("--modules", config->modules, "Only these ServiceInfo modules (default: every one), repeatable");
  cmd.add_option("--command-timeout", config->command_timeout, "Seconds a ServiceInfo command may run")
      ->capture_default_str();
  cmd.footer(
      "Example: fdo-device onboard --credential cred.bin\n"
      "         fdo-device onboard --tpm swtpm:host=127.0.0.1,port=2321 --root /\n"
      "         fdo-device onboard --credential cred.bin --owner-url http://127.0.0.1:8042 --kex ECDH384 --json");
}

}  // namespace fdo::device_tool
