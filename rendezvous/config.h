#pragma once
// fdo-rendezvous's configuration (docs/cli.md): the typed options of `serve`, filled by CLI11 from flags and an optional
// TOML file whose keys are the option names (unknown keys are errors), then checked into ServeSettings.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/protocol/to0_rendezvous.h"
#include "rendezvous/admin_api.h"
#include "tools/common/tls_options.h"

namespace fdo::rendezvous {

/// The default listening address of `serve` (docs/cli.md: 127.0.0.1 unless --listen says otherwise).
inline constexpr std::string_view kDefaultListen = "127.0.0.1:8041";
/// The default address of the admin listener (GET /metrics, docs/rendezvous.md "Admin listener"); empty disables it.
inline constexpr std::string_view kDefaultAdminListen = "127.0.0.1:8040";
/// The database file inside --dir when --db is not given.
inline constexpr std::string_view kDefaultDbName = "rendezvous.db";

/// `fdo-rendezvous serve`: every option, as given.
struct ServeConfig {
  std::filesystem::path dir;
  std::string listen = std::string(kDefaultListen);
  /// Where GET /metrics is served, with the bearer token of DIR/admin-token (made at the first serve); empty: nowhere.
  std::string admin_listen = std::string(kDefaultAdminListen);
  /// `--no-admin`: the same as `--admin-listen ""`.
  bool no_admin = false;
  /// SQLite file or postgresql:// URI; default DIR/rendezvous.db.
  std::filesystem::path db;
  /// PostgreSQL: the password file (docs/scaling.md "Passwords") and the most connections.
  std::filesystem::path db_password_file;
  std::size_t db_pool_size = 8;
  /// The longest registration granted, seconds (FDO 1.1 §5.3.4: WaitSeconds = min(requested, this)).
  std::uint32_t max_wait_seconds = 86400;
  /// Directory of PEM public keys or certificates: the owner keys allowed to register; empty: any.
  std::filesystem::path trust_owner_keys;
  /// Directory of PEM public keys or certificates: the manufacturer keys (OVPubKey) accepted; empty: any.
  std::filesystem::path trust_manufacturer_keys;
  /// Verify device certificate chains up to a self-signed root (docs/voucher.md `device cert chain signatures`).
  bool check_device_chain = false;
  /// Idle lifetime of a TO0/TO1 session, seconds.
  std::int64_t session_ttl = 300;
  /// New runs per second per client address; 0: unlimited.
  double rate_limit = 0;
  /// Runs in progress at once; 0: unlimited.
  std::size_t max_sessions = 10000;
  /// Runs in progress per client address; a new one reclaims that address's least recently used (0: unlimited).
  std::size_t max_sessions_per_source = 64;
  /// Seconds between sweeps of expired registrations.
  std::int64_t purge_interval = 60;
  /// Peer deviations to accept by name (untagged-cose, bare-to0d, eat-ueid-claim-11, …).
  std::vector<std::string> lenient;
  int threads = 0;
  /// --trusted-proxy: reverse proxies whose X-Forwarded-For names the client (docs/security.md).
  std::vector<std::string> trusted_proxies;
  std::string log_level = "info";
  /// --tls-cert / --tls-key: HTTPS.
  tool::ServerTls tls;
};

/// Registers the options of `serve` on `cmd` and `--config FILE` on `app` (top-level TOML keys are serve's option
/// names, with '-' or '_'; flags override the file).
void add_serve_options(CLI::App& app, CLI::App& cmd, ServeConfig& config);

/// ServeConfig checked and converted at start-up. Throws Error(MessageBodyError) naming the bad option (a usage
/// error: exit 2), and Error(InternalServerError) for a trust directory that is missing or unreadable (exit 1).
struct ServeSettings {
  std::filesystem::path dir;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  std::size_t db_pool_size = 8;
  std::string listen;
  /// The admin listener's address; empty: no admin listener.
  std::string admin_listen;
  protocol::RendezvousPolicy policy;
  std::size_t max_sessions_per_source = 64;
  std::int64_t session_ttl = 300;
  std::int64_t purge_interval = 60;
  int threads = 0;
  /// --trusted-proxy: reverse proxies whose X-Forwarded-For names the client (docs/security.md).
  std::vector<std::string> trusted_proxies;
  tool::ServerTls tls;
  /// The trust lists with their files, for GET /admin/trust.
  TrustPolicy trust;

  static ServeSettings from(const ServeConfig& config);
};

/// Every public key in the PEM files of `dir` (`*.pem`: PUBLIC KEY blocks or certificates), for a trust list.
/// Throws Error(InternalServerError) naming `option` when the directory is missing, a file does not parse, or it
/// holds no key at all (an empty list would refuse every registration).
std::vector<TrustedKeyFile> load_trusted_key_files(const std::filesystem::path& dir, std::string_view option);

}  // namespace fdo::rendezvous
