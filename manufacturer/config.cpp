#include "manufacturer/config.h"

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/url.h"
#include "tools/common/cli.h"
#include "tools/common/config_file.h"
#include "tools/common/db_options.h"

namespace fdo::manufacturer {
namespace {

// OVRVInfo from exactly one of `--rv URL…` (human form) and `--rv-info FILE` (full form), docs/cli.md
// "Rendezvous info". A bad URL or file content is a usage error (exit 2); an unreadable file is exit 1.
RendezvousInfo rendezvous_info_option(const std::vector<std::string>& rv, const std::filesystem::path& rv_info) {
  if (!rv.empty() && !rv_info.empty()) {
    throw_body_error("--rv and --rv-info exclude each other: give the rendezvous servers one way");
  }
  if (rv_info.empty()) {
    if (rv.empty()) {
      throw_body_error("--rv or --rv-info is required: at least one rendezvous server is needed");
    }
    return RendezvousInfo::from_urls(rv);
  }
  const Bytes text = read_file(rv_info);
  return RendezvousInfo::from_json(to_string(text), "--rv-info " + rv_info.string());
}

}  // namespace

void add_serve_options(CLI::App& app, CLI::App& cmd, ServeConfig& config) {
  tool::add_config_file(app, cmd, "TOML file with serve's options as keys (listen = \"127.0.0.1:0\", rv = [...])");

  cmd.add_option("--dir", config.dir, "Directory made by `init` (keys and device CA)")->required();
  cmd.add_option("--listen", config.listen, "IPv4:PORT, [IPv6]:PORT or localhost:PORT; port 0 picks a free port")
      ->capture_default_str();
  tool::add_db_options(cmd, config.db, config.db_password_file, kDefaultDbName, &config.db_pool_size);
  cmd.add_option("--rv", config.rv,
                 "Rendezvous URL(s) for OVRVInfo: http(s)://HOST:PORT[?dev-only|owner-only|bypass|delay=S]");
  cmd.add_option("--rv-info", config.rv_info,
                 "OVRVInfo in full, a JSON file mirroring RendezvousInfo (docs/cli.md); instead of --rv");
  cmd.add_option("--first-owner", config.first_owner,
                 "PEM public key or certificate: extend every voucher to this owner at once");
  cmd.add_option("--session-ttl", config.session_ttl, "Idle lifetime of a DI session, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  cmd.add_option("--max-sessions", config.max_sessions,
                 "DI runs in progress at once, across every process on the database (0: unlimited)")
      ->capture_default_str();
  cmd.add_option("--max-sessions-per-source", config.max_sessions_per_source,
                 "DI runs in progress per client address; a new one reclaims the address's least recently used "
                 "(0: unlimited)")
      ->capture_default_str();
  cmd.add_option("--default-key-type", config.default_key_type,
                 "Manufacturer key used when none matches the device key type (default p256 if held)")
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  cmd.add_option("--device-info-chars", config.device_info_chars,
                 "Characters allowed in serialNo and deviceInfo, as a class: A-Za-z0-9_.:-")
      ->capture_default_str();
  cmd.add_option("--device-info-max-length", config.device_info_max_length,
                 "Longest serialNo or deviceInfo accepted")
      ->capture_default_str()
      ->check(CLI::Range(1, 255));
  cmd.add_option("--organization", config.organization, "O= of issued device certificates")->capture_default_str();
  cmd.add_option("--admin-listen", config.admin_listen,
                 "Admin API address (GET /admin/vouchers, bearer token of DIR/admin-token; empty: none)")
      ->capture_default_str();
  cmd.add_flag("--no-admin", config.no_admin, "No admin listener (the same as --admin-listen \"\")");
  tool::add_trusted_proxy(cmd, config.trusted_proxies);
  cmd.add_option("--threads", config.threads, "HTTP worker threads (0: 4 per core, at least 8)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  tool::add_server_tls_options(cmd, config.tls);
  tool::add_log_level(cmd, config.log_level)->capture_default_str();
}

std::filesystem::path database_path(const std::filesystem::path& dir, const std::filesystem::path& db) {
  return db.empty() ? dir / kDefaultDbName : db;
}

ServeSettings ServeSettings::from(const ServeConfig& config) {
  ServeSettings s;
  s.dir = config.dir;
  s.db = database_path(config.dir, config.db);
  s.db_password_file = config.db_password_file;
  s.db_pool_size = config.db_pool_size;
  static_cast<void>(parse_listen_address(config.listen));
  s.listen = config.listen;
  transport::HttpServerOptions tls_check;
  tool::apply_server_tls(config.tls, tls_check);
  s.tls = config.tls;
  s.admin_listen = config.no_admin ? std::string() : config.admin_listen;
  if (!s.admin_listen.empty()) {
    try {
      static_cast<void>(parse_listen_address(s.admin_listen));
    } catch (const Error& e) {
      throw_body_error("--admin-listen: " + std::string(e.what()));
    }
  }
  s.rv_info = rendezvous_info_option(config.rv, config.rv_info);
  if (!config.first_owner.empty()) {
    // A missing or unreadable file is a failure (exit 1), not a usage error.
    const Bytes pem = read_file(config.first_owner);
    try {
      s.first_owner = crypto::PublicKey::from_pem(to_string(pem));
    } catch (const Error& e) {
      throw_internal("--first-owner " + config.first_owner.string() + ": " + e.what());
    }
  }
  if (!config.default_key_type.empty()) {
    s.default_key_type = crypto::parse_key_type(config.default_key_type);
    if (!s.default_key_type) {
      throw_body_error("--default-key-type: unknown key type " + config.default_key_type);
    }
  }
  s.policy = protocol::DeviceInfoPolicy(config.device_info_chars, config.device_info_max_length);
  s.organization = config.organization;
  s.session_ttl = config.session_ttl;
  s.max_sessions = config.max_sessions;
  s.max_sessions_per_source = config.max_sessions_per_source;
  s.threads = config.threads;
  s.trusted_proxies = config.trusted_proxies;
  return s;
}

}  // namespace fdo::manufacturer
