#pragma once
// fdo-manufacturer's configuration (docs/cli.md): one typed struct per subcommand, filled by CLI11 from flags and,
// for `serve`, an optional TOML file whose keys are the option names; unknown keys are errors.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/crypto/keys.h"
#include "libfdo/protocol/di_manufacturer.h"
#include "libfdo/types/rendezvous_info.h"
#include "tools/common/tls_options.h"

namespace fdo::manufacturer {

/// The default listening address of `serve` (docs/cli.md: 127.0.0.1 unless --listen says otherwise).
inline constexpr std::string_view kDefaultListen = "127.0.0.1:8038";
/// The default address of the admin listener (docs/manufacturer.md "Admin API"); empty disables it.
inline constexpr std::string_view kDefaultAdminListen = "127.0.0.1:8039";
/// The database file inside --dir when --db is not given.
inline constexpr std::string_view kDefaultDbName = "manufacturer.db";

/// `fdo-manufacturer init`.
struct InitConfig {
  std::filesystem::path dir;
  /// Manufacturer key types to create (one key each); the first is the default at `serve`.
  std::vector<std::string> key_types = {"p256"};
  /// Key type of the device CA.
  std::string ca_key_type = "p256";
};

/// `fdo-manufacturer serve`: every option, as given (validated by ServeSettings::from).
struct ServeConfig {
  std::filesystem::path dir;
  std::string listen = std::string(kDefaultListen);
  /// SQLite file or postgresql:// URI; default DIR/manufacturer.db.
  std::filesystem::path db;
  /// PostgreSQL: the password file (docs/scaling.md "Passwords") and the most connections.
  std::filesystem::path db_password_file;
  std::size_t db_pool_size = 8;
  /// `--rv URL…`: OVRVInfo of every voucher (docs/cli.md human form).
  std::vector<std::string> rv;
  /// `--rv-info FILE`: OVRVInfo of every voucher in the full JSON form (docs/cli.md "Rendezvous info"); excludes --rv.
  std::filesystem::path rv_info;
  /// PEM public key or certificate: extend every voucher at once to this owner.
  std::filesystem::path first_owner;
  /// Idle lifetime of a DI session, seconds.
  std::int64_t session_ttl = 300;
  /// DI runs in progress at once (0: unlimited).
  std::size_t max_sessions = 10000;
  /// DI runs in progress per client address; a new one reclaims the address's least recently used (0: unlimited).
  std::size_t max_sessions_per_source = 64;
  std::string log_level = "info";
  /// Manufacturer key used when none fits the device's keyType; empty: p256 if held, else the first held.
  std::string default_key_type;
  /// Character class allowed in serialNo and deviceInfo.
  std::string device_info_chars = std::string(protocol::DeviceInfoPolicy::kDefaultCharacters);
  std::size_t device_info_max_length = protocol::DeviceInfoPolicy::kDefaultMaxLength;
  /// O= of issued device certificates.
  std::string organization = "fdo-cpp manufacturer";
  /// Where GET /admin/vouchers is served, with the bearer token of DIR/admin-token; empty: nowhere.
  std::string admin_listen = std::string(kDefaultAdminListen);
  /// `--no-admin`: the same as `--admin-listen ""`.
  bool no_admin = false;
  /// HTTP worker threads.
  int threads = 0;
  /// --trusted-proxy: reverse proxies whose X-Forwarded-For names the client (docs/security.md).
  std::vector<std::string> trusted_proxies;
  /// --tls-cert / --tls-key: DI over HTTPS.
  tool::ServerTls tls;
};

/// `fdo-manufacturer vouchers list|export`.
struct VouchersConfig {
  std::filesystem::path dir;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  bool json = false;
  /// export: the GUID (hex) or --serial; exactly one.
  std::string guid;
  std::string serial;
  /// export: output file; stdout when empty.
  std::filesystem::path out;
};

/// Registers the options of `serve` on `cmd` and the `--config FILE` option on `app` (read for `serve`:
/// top-level TOML keys are serve's option names, with '-' or '_'; flags override the file).
void add_serve_options(CLI::App& app, CLI::App& cmd, ServeConfig& config);

/// The database path: `db`, or DIR/manufacturer.db.
std::filesystem::path database_path(const std::filesystem::path& dir, const std::filesystem::path& db);

/// ServeConfig checked and converted at start-up. Throws Error(MessageBodyError) naming the bad option (a
/// usage error: exit 2), and Error(InternalServerError) when the --first-owner file is missing or unreadable (exit 1).
struct ServeSettings {
  std::filesystem::path dir;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  std::size_t db_pool_size = 8;
  std::string listen;
  RendezvousInfo rv_info;
  std::optional<crypto::PublicKey> first_owner;
  std::optional<crypto::KeyType> default_key_type;
  protocol::DeviceInfoPolicy policy;
  std::string organization;
  std::int64_t session_ttl = 300;
  std::size_t max_sessions = 10000;
  std::size_t max_sessions_per_source = 64;
  int threads = 0;
  /// --trusted-proxy: reverse proxies whose X-Forwarded-For names the client (docs/security.md).
  std::vector<std::string> trusted_proxies;
  /// The admin listener's address; empty: no admin listener.
  std::string admin_listen;
  /// --tls-cert / --tls-key: DI over HTTPS.
  tool::ServerTls tls;

  /// Validates `config` (listen address, URLs, key files, character class) and converts it.
  static ServeSettings from(const ServeConfig& config);
};

}  // namespace fdo::manufacturer
