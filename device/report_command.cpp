// `fdo-device report`: what onboarding is for (docs/owner.md "Platform endpoint"). The onboarded device opens a
// mutual-TLS connection to its owner's platform with the certificate AsymKey enrolled during TO2 (its key in
// key.pem, or in the TPM when the slot holds key.tpm) and posts a reading. It trusts the platform through the
// CA chain the same enrolment installed: onboarding gave both sides what they need to trust each other.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/app_key.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/tpm/tpm_app_key.h"
#include "libfdo/transport/http_fetch.h"
#include "libfdo/types/json.h"
#include "tools/common/cli.h"
#include "tools/common/tls_options.h"

namespace fdo::device_tool {
namespace {

// The path of the platform's readings (owner/platform.h) when --url names only the host.
constexpr std::string_view kDefaultReadingsPath = "/platform/v1/readings";

struct ReportConfig {
  std::filesystem::path root;
  std::uint64_t slot = 0;
  std::string url;
  std::string reading;
  std::string tpm;
  std::string ca_file;
  bool json = false;
};

/// A small reading taken from the OS, when none is given: the host name, the uptime and the load.
std::string os_reading() {
  std::string host(256, '\0');
  if (::gethostname(host.data(), host.size() - 1) != 0) {
    host = "unknown";
  }
  host.resize(host.find('\0'));
  double uptime = 0;
  double load = 0;
  std::ifstream("/proc/uptime") >> uptime;
  std::ifstream("/proc/loadavg") >> load;
  JsonWriter j;
  j.begin_object()
      .key("kind")
      .string("first-reading")
      .key("hostname")
      .string(host)
      .key("uptime_seconds")
      .integer(static_cast<std::int64_t>(uptime))
      .key("load_1m_milli")
      .integer(static_cast<std::int64_t>(load * 1000))
      .end_object();
  return j.str();
}

/// The identity of the slot: its certificate and chain, and its key (a file, or the TPM's persistent key).
std::shared_ptr<transport::TlsClientIdentity> slot_identity(const std::filesystem::path& slot_dir,
                                                            const std::string& tcti,
                                                            std::unique_ptr<tpm::Tpm>& tpm_out) {
  if (!std::filesystem::exists(slot_dir / "cert.pem")) {
    throw_internal("no certificate in " + slot_dir.string() +
                   ": onboard first, with an owner plan that runs AsymKey for this slot (docs/service-info.md)");
  }
  auto id = std::make_shared<transport::TlsClientIdentity>();
  id->cert_chain_pem = to_string(read_file(slot_dir / "cert.pem"));
  if (std::filesystem::exists(slot_dir / "chain.pem")) {
    id->cert_chain_pem += to_string(read_file(slot_dir / "chain.pem"));
  }
  if (std::filesystem::exists(slot_dir / "key.pem")) {
    id->key_pem = SecretBytes(read_file(slot_dir / "key.pem"));
    return id;
  }
  if (!std::filesystem::exists(slot_dir / "key.tpm")) {
    throw_internal("no key.pem or key.tpm in " + slot_dir.string());
  }
  const fsim::StoredKey stored{.file = "key.tpm", .data = SecretBytes(read_file(slot_dir / "key.tpm")), .mode = 0644};
  const std::optional<std::uint32_t> handle = tpm::TpmAppKeys::handle_of(stored);
  if (!handle) {
    throw_internal(slot_dir.string() + "/key.tpm names no application key handle");
  }
  if (tcti.empty()) {
    throw_invalid("the key of " + slot_dir.string() + " is in a TPM: give --tpm TCTI");
  }
  tpm_out = tpm::Tpm::open(tcti);
  const crypto::Certificate leaf = crypto::Certificate::from_pem_all(id->cert_chain_pem).at(0);
  const std::size_t field = leaf.public_key().type() == crypto::KeyType::P384 ? 48 : 32;
  tpm::Tpm* tpm = tpm_out.get();
  const std::uint32_t h = *handle;
  // The handshake's signature is made in the TPM; the key never leaves it (docs/tpm-credentials.md).
  id->sign_digest = [tpm, h, field](ByteView digest) { return tpm->sign_digest(h, tpm::KeyAuth{}, digest, field); };
  return id;
}

int run_report(const ReportConfig& config) {
  const std::filesystem::path root = config.root.empty() ? std::filesystem::current_path() : config.root;
  const std::filesystem::path slot_dir = root / "asymkey" / std::to_string(config.slot);
  std::unique_ptr<tpm::Tpm> tpm;
  transport::HttpClientOptions http;
  http.identity = slot_identity(slot_dir, config.tpm, tpm);
  // The platform's certificate comes from the owner's device-application CA, which the enrolment installed.
  http.ca_file = !config.ca_file.empty() ? config.ca_file : (slot_dir / "chain.pem").string();
  if (config.ca_file.empty() && !std::filesystem::exists(slot_dir / "chain.pem")) {
    throw_invalid("no chain.pem in " + slot_dir.string() + " to trust the platform with: give --ca-file");
  }
  std::string url = config.url;
  if (url.find("://") != std::string::npos && url.find('/', url.find("://") + 3) == std::string::npos) {
    url += kDefaultReadingsPath;
  }
  const std::string reading = config.reading.empty() ? os_reading() : config.reading;
  const transport::PostAnswer answer = transport::http_post(url, "application/json", reading, http);
  const bool accepted = answer.status == 201 || answer.status == 200;
  if (config.json) {
    JsonWriter j;
    j.begin_object()
        .key("format")
        .integer(tool::kJsonFormat)
        .key("accepted")
        .boolean(accepted)
        .key("status")
        .integer(answer.status)
        .key("url")
        .string(url)
        .key("answer")
        .string(answer.body)
        .end_object();
    std::cout << j.str() << "\n";
  } else if (accepted) {
    std::cout << "reported to the platform at " << url << " (mutual TLS with the certificate of slot " << config.slot
              << (tpm ? ", key in the TPM" : "") << ")\n";
  }
  if (!accepted) {
    std::cerr << "fdo-device report: the platform answered HTTP " << answer.status << ": " << answer.body << "\n";
    return kFailure;
  }
  return 0;
}

}  // namespace

void register_report(Commands& commands) {
  const auto config = std::make_shared<ReportConfig>();
  CLI::App& cmd = commands.add("report",
                               "After onboarding: post a reading to the owner's platform over mutual TLS, with the "
                               "certificate AsymKey enrolled",
                               [config] { return run_report(*config); });
  cmd.add_option("--url", config->url, "The platform, https://HOST:PORT[/path] (path default /platform/v1/readings)")
      ->required();
  cmd.add_option("--root", config->root, "The device root onboarding wrote into (default: the current directory)");
  cmd.add_option("--slot", config->slot, "The AsymKey slot whose certificate to use")->capture_default_str();
  cmd.add_option("--reading", config->reading, "The reading, one JSON object (default: host name, uptime and load)");
  cmd.add_option("--tpm", config->tpm, "The TPM holding the slot's key (when the slot keeps key.tpm)");
  cmd.add_option("--ca-file", config->ca_file, "Trust the platform through this PEM file (default: the slot's chain)");
  cmd.add_flag("--json", config->json, "One JSON document on stdout (accepted, status, url, answer)");
  cmd.footer("Example: fdo-device report --root device-root --url https://127.0.0.1:8044 --reading '{\"t\":21.5}'");
}

}  // namespace fdo::device_tool
