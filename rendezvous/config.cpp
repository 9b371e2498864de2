#include "rendezvous/config.h"

#include <algorithm>
#include <system_error>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/core/url.h"
#include "tools/common/cli.h"
#include "tools/common/config_file.h"
#include "tools/common/db_options.h"

namespace fdo::rendezvous {

void add_serve_options(CLI::App& app, CLI::App& cmd, ServeConfig& config) {
  tool::add_config_file(app, cmd, "TOML file with serve's options as keys (listen = \"127.0.0.1:0\", …)");

  cmd.add_option("--dir", config.dir, "State directory (created if absent; holds rendezvous.db)")->required();
  cmd.add_option("--listen", config.listen, "IPv4:PORT, [IPv6]:PORT or localhost:PORT; port 0 picks a free port")
      ->capture_default_str();
  tool::add_db_options(cmd, config.db, config.db_password_file, kDefaultDbName, &config.db_pool_size);
  cmd.add_option("--admin-listen", config.admin_listen,
                 "Admin address (GET /metrics, bearer token of DIR/admin-token; empty: none)")
      ->capture_default_str();
  cmd.add_flag("--no-admin", config.no_admin, "No admin listener (the same as --admin-listen \"\")");
  cmd.add_option("--max-wait-seconds", config.max_wait_seconds,
                 "Longest registration granted in TO0.AcceptOwner, seconds")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{4294967295u}));
  cmd.add_option("--trust-owner-keys", config.trust_owner_keys,
                 "Directory of PEM owner public keys/certificates allowed to register (default: any owner)");
  cmd.add_option("--trust-manufacturer-keys", config.trust_manufacturer_keys,
                 "Directory of PEM manufacturer public keys/certificates whose vouchers are accepted (default: any)");
  cmd.add_flag("--check-device-chain", config.check_device_chain,
               "Verify each voucher's device certificate chain up to a self-signed root");
  cmd.add_option("--session-ttl", config.session_ttl, "Idle lifetime of a TO0/TO1 session, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  cmd.add_option("--rate-limit", config.rate_limit, "New TO0/TO1 runs per second per client address (0: unlimited)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd.add_option("--max-sessions", config.max_sessions, "TO0/TO1 runs in progress at once (0: unlimited)")
      ->capture_default_str();
  cmd.add_option("--max-sessions-per-source", config.max_sessions_per_source,
                 "TO0/TO1 runs in progress per client address; a new one reclaims the address's least recently "
                 "used (0: unlimited)")
      ->capture_default_str();
  cmd.add_option("--purge-interval", config.purge_interval, "Seconds between sweeps of expired registrations")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  cmd.add_option("--lenient", config.lenient,
                 "Accept a named peer deviation (untagged-cose, bare-to0d, eat-ueid-claim-11), repeatable");
  tool::add_trusted_proxy(cmd, config.trusted_proxies);
  cmd.add_option("--threads", config.threads, "HTTP worker threads (0: 4 per core, at least 8)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  tool::add_server_tls_options(cmd, config.tls);
  tool::add_log_level(cmd, config.log_level)->capture_default_str();
}

std::vector<TrustedKeyFile> load_trusted_key_files(const std::filesystem::path& dir, std::string_view option) {
  const std::string what = std::string(option) + " " + dir.string();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw_internal(what + ": no such directory");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".pem") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<TrustedKeyFile> keys;
  for (const std::filesystem::path& file : files) {
    const std::string pem = to_string(read_file(file));
    try {
      const std::vector<crypto::Certificate> certs = crypto::Certificate::from_pem_all(pem);
      if (certs.empty()) {
        keys.push_back(TrustedKeyFile{file, crypto::PublicKey::from_pem(pem)});
      }
      for (const crypto::Certificate& cert : certs) {
        keys.push_back(TrustedKeyFile{file, cert.public_key()});
      }
    } catch (const Error& e) {
      throw_internal(std::string(option) + " " + file.string() + ": " + e.what());
    }
  }
  if (keys.empty()) {
    throw_internal(what + ": no *.pem public key or certificate (an empty list would refuse every owner)");
  }
  return keys;
}

namespace {

// The keys of a trust list, for the policy, and the list itself, for GET /admin/trust.
std::vector<crypto::PublicKey> trust_list(const std::filesystem::path& dir, std::string_view option,
                                          std::optional<TrustList>& shown) {
  shown = TrustList{.directory = dir, .keys = load_trusted_key_files(dir, option)};
  std::vector<crypto::PublicKey> keys;
  for (const TrustedKeyFile& k : shown->keys) {
    keys.push_back(k.key);
  }
  return keys;
}

}  // namespace

ServeSettings ServeSettings::from(const ServeConfig& config) {
  ServeSettings s;
  s.dir = config.dir;
  s.db = config.db.empty() ? config.dir / kDefaultDbName : config.db;
  s.db_password_file = config.db_password_file;
  s.db_pool_size = config.db_pool_size;
  static_cast<void>(parse_listen_address(config.listen));
  s.listen = config.listen;
  s.admin_listen = config.no_admin ? std::string() : config.admin_listen;
  if (!s.admin_listen.empty()) {
    try {
      static_cast<void>(parse_listen_address(s.admin_listen));
    } catch (const Error& e) {
      throw_body_error("--admin-listen: " + std::string(e.what()));
    }
  }
  transport::HttpServerOptions tls_check;
  tool::apply_server_tls(config.tls, tls_check);
  s.tls = config.tls;
  s.policy.max_wait_seconds = config.max_wait_seconds;
  if (!config.trust_owner_keys.empty()) {
    s.policy.trusted_owner_keys = trust_list(config.trust_owner_keys, "--trust-owner-keys", s.trust.owner_keys);
  }
  if (!config.trust_manufacturer_keys.empty()) {
    s.policy.trusted_manufacturer_keys =
        trust_list(config.trust_manufacturer_keys, "--trust-manufacturer-keys", s.trust.manufacturer_keys);
  }
  s.policy.check_device_chain = config.check_device_chain;
  s.trust.check_device_chain = config.check_device_chain;
  s.policy.max_live_sessions = config.max_sessions;
  s.max_sessions_per_source = config.max_sessions_per_source;
  s.policy.rate_limit = config.rate_limit;
  s.policy.leniency = Leniency::from_names(config.lenient);
  s.session_ttl = config.session_ttl;
  s.purge_interval = config.purge_interval;
  s.threads = config.threads;
  s.trusted_proxies = config.trusted_proxies;
  return s;
}

}  // namespace fdo::rendezvous
