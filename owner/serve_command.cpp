// `fdo-owner serve`: the owner service (docs/owner.md "Running the owner service"): TO2 for the devices whose
// vouchers this owner holds (FDO 1.1 §5.5), automatic TO0 for them (§5.3), and the admin API on its own listener.

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/log.h"
#include "libfdo/core/metrics.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/to2_owner.h"
#include "libfdo/protocol/trace_file.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/tpm/tpm_attest.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/core/url.h"
#include "libfdo/types/rvto2addr.h"
#include "owner/admin_api.h"
#include "owner/commands.h"
#include "owner/config.h"
#include "owner/plan.h"
#include "owner/platform.h"
#include "owner/to0_scheduler.h"
#include "tools/common/admin.h"
#include "tools/common/cli.h"
#include "tools/common/config_file.h"
#include "tools/common/db_options.h"
#include "tools/common/key_files.h"
#include "tools/common/ops.h"
#include "tools/common/stop_signals.h"
#include "tools/common/systemd.h"
#include "tools/common/tls_options.h"

namespace fdo::owner_tool {
namespace {

struct ServeConfig {
  std::filesystem::path dir;
  std::string listen = "127.0.0.1:8042";
  std::vector<std::string> to2_urls;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  std::size_t db_pool_size = 8;
  std::filesystem::path plan;
  std::string admin_listen = "127.0.0.1:8043";
  std::vector<std::string> kex;
  std::vector<std::string> cipher;
  bool reuse = false;
  std::vector<std::string> rendezvous;
  std::uint32_t wait_seconds = 3600;
  std::int64_t session_ttl = 300;
  std::size_t max_sessions = 10000;
  std::vector<std::string> lenient;
  int threads = 0;
  /// --trusted-proxy: reverse proxies whose X-Forwarded-For names the client (docs/security.md).
  std::vector<std::string> trusted_proxies;
  std::filesystem::path trace;
  /// --tls-cert / --tls-key: TO2 over HTTPS.
  tool::ServerTls tls;
  /// --ca-file / --insecure-tls: how TO0 trusts https rendezvous servers.
  tool::ClientTls rv_tls;
  /// --platform-listen: the platform endpoint (docs/owner.md "Platform endpoint"); empty: none.
  std::string platform_listen;
  tool::ServerTls platform_tls;
};

// What `serve` runs with, checked before anything starts (a bad option is a usage error, exit 2).
struct ServeSettings {
  OwnerDir dir;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  std::size_t db_pool_size = 8;
  protocol::To2OwnerPolicy policy;
  PlanEntry flags;
  std::optional<OwnerPlans> plans;
  /// What the owner modules use: the device-application CA (docs/owner.md "The owner directory").
  std::optional<crypto::PrivateKey> ca_key;
  fsim::OwnerContext module_context;
  serviceinfo::OwnerRegistry modules;
};

void check_listen_option(const std::string& listen, std::string_view option) {
  try {
    static_cast<void>(parse_listen_address(listen));
  } catch (const Error& e) {
    throw_body_error(std::string(option) + ": " + e.what());
  }
}

std::unique_ptr<ServeSettings> settings_from(const ServeConfig& config) {
  auto s = std::make_unique<ServeSettings>();
  s->dir = OwnerDir{config.dir};
  s->db = s->dir.db(config.db);
  s->db_password_file = config.db_password_file;
  s->db_pool_size = config.db_pool_size;
  check_listen_option(config.listen, "--listen");
  if (!config.admin_listen.empty()) {
    check_listen_option(config.admin_listen, "--admin-listen");
  }
  if (!config.platform_listen.empty()) {
    check_listen_option(config.platform_listen, "--platform-listen");
  }
  {
    transport::HttpServerOptions tls_check;
    tool::apply_server_tls(config.tls, tls_check);
    if (config.platform_tls.cert.empty() != config.platform_tls.key.empty()) {
      throw_body_error("--platform-tls-cert and --platform-tls-key go together");
    }
  }
  for (const std::string& name : config.kex) {
    const std::optional<crypto::KexSuite> kex = crypto::parse_kex_suite(name);
    if (!kex) {
      throw_body_error("--kex: unknown key exchange \"" + name +
                       "\" (ECDH256, ECDH384, DHKEXid14, DHKEXid15, ASYMKEX2048, ASYMKEX3072)");
    }
    s->policy.kex_suites.insert(*kex);
  }
  for (const std::string& name : config.cipher) {
    const std::optional<crypto::CipherSuite> cipher = crypto::parse_cipher_suite(name);
    if (!cipher) {
      throw_body_error("--cipher: unknown cipher suite \"" + name + "\" (A128GCM, A256GCM, AES-CCM-64-128-128, …)");
    }
    s->policy.cipher_suites.insert(*cipher);
  }
  s->flags.reuse = config.reuse;
  if (!config.rendezvous.empty()) {
    s->flags.rendezvous = RendezvousInfo::from_urls(std::span<const std::string>(config.rendezvous));
  }
  // The ServiceInfo modules (libfdo/fsim) with the owner's CA; plans are checked against them.
  if (std::filesystem::exists(s->dir.ca_key()) && std::filesystem::exists(s->dir.ca_cert())) {
    s->ca_key = tool::read_private_key(s->dir.ca_key());
    s->module_context.ca_key = &*s->ca_key;
    s->module_context.ca_cert = crypto::Certificate::from_pem_all(to_string(read_file(s->dir.ca_cert()))).at(0);
  }
  s->module_context.plan_dir = config.plan.empty() ? s->dir.dir : config.plan.parent_path();
  fsim::register_owner_modules(s->modules, s->module_context);
  tpm::register_tpm_attest_owner(s->modules, s->module_context.plan_dir);
  if (!config.plan.empty()) {
    s->plans = OwnerPlans::load(config.plan, s->modules);
  }
  s->policy.leniency = Leniency::from_names(config.lenient);
  for (const std::string& url : config.to2_urls) {
    static_cast<void>(RVTO2Addr::from_urls(std::vector<std::string>{url}));
  }
  return s;
}

int serve(const ServeConfig& config, ServeSettings& settings) {
  const tool::StopSignals stop_signals;
  transport::check_listen(config.listen);
  if (!config.admin_listen.empty()) {
    transport::check_listen(config.admin_listen);
  }
  if (!config.platform_listen.empty()) {
    transport::check_listen(config.platform_listen);
    if (!settings.ca_key || !settings.module_context.ca_cert) {
      throw_internal("--platform-listen: the device-application CA is missing (" + settings.dir.ca_cert().string() +
                     "): run `fdo-owner init --dir " + settings.dir.dir.string() + "`");
    }
  }
  const std::vector<crypto::PrivateKey> owner_keys = load_owner_keys(settings.dir);
  const OwnerKeyRing ring(owner_keys);
  const std::string admin_token = tool::load_admin_token(settings.dir.dir, "fdo-owner");
  // docs/operations.md "Metrics": made before the store and the servers, so it outlives what samples it.
  metrics::Registry metrics({{"role", "owner"}});
  const std::unique_ptr<storage::Store> store = open_owner_store(
      settings.dir,
      storage::StoreSpec{
          .db = settings.db.string(), .password_file = settings.db_password_file, .pool_size = settings.db_pool_size},
      true);
  storage::register_store_metrics(metrics, *store);

  protocol::To2OwnerPolicy& policy = settings.policy;
  policy.owner_key_for = [&ring](const PublicKey& key) { return ring.find(key.key()); };
  policy.plan_for = [&settings](const Guid& guid, std::string_view model) {
    return settings.plans ? settings.plans->resolve(guid, model, settings.flags)
                          : OwnerPlans{}.resolve(guid, model, settings.flags);
  };
  policy.modules = &settings.modules;
  protocol::To2Owner to2(policy);
  protocol::DispatcherOptions options;
  options.session_ttl = config.session_ttl;
  options.max_live_sessions = config.max_sessions;
  options.metrics = &metrics;
  protocol::Dispatcher dispatcher(*store, options);
  dispatcher.add(to2);

  transport::HttpServerOptions http;
  http.listen = config.listen;
  http.threads = config.threads;
  http.trusted_proxies = config.trusted_proxies;
  http.leniency = policy.leniency;
  http.metrics = &metrics;
  tool::apply_server_tls(config.tls, http);
  transport::HttpServer server(dispatcher, http);
  tool::add_health_routes(server, *store);
  server.start();

  // FDO 1.1 §5.3: TO0 advertises where this owner waits for TO2: --to2-url, or the address it listens on.
  const std::vector<std::string> to2_urls = config.to2_urls.empty() ? std::vector<std::string>{server.url()}
                                                                    : config.to2_urls;
  To0SchedulerOptions to0_options;
  to0_options.wait_seconds = config.wait_seconds;
  // --trace: the automatic TO0 exchanges with the rendezvous servers, one file per message (protocol/trace_file.h).
  std::optional<protocol::TraceDir> trace;
  if (!config.trace.empty()) {
    trace.emplace(config.trace);
  }
  const transport::HttpClientOptions rv_http = tool::client_options(config.rv_tls);
  to0_options.make_transport = [&trace, rv_http](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
    auto client = std::make_unique<transport::HttpTransport>(url, rv_http);
    if (trace) {
      return std::make_unique<protocol::TracingTransport>(std::move(client), *trace);
    }
    return client;
  };
  To0Scheduler scheduler(*store, ring, RVTO2Addr::from_urls(to2_urls), to0_options);

  tool::NoProtocol no_protocol("this is the owner's admin listener; FDO messages go to its TO2 address");
  AdminContext admin_ctx{.store = *store,
                         .owner_keys = ring,
                         .token = admin_token,
                         .clock = {},
                         .on_import = [&scheduler] { scheduler.wake(); }};
  const std::unique_ptr<transport::HttpServer> admin =
      tool::start_admin_listener(config.admin_listen, no_protocol, metrics, admin_token,
                                 [&](transport::HttpServer& s) { add_admin_routes(s, admin_ctx); });
  if (!is_loopback_host(parse_listen_address(config.listen).host)) {
    log::warn("TO2 listens on " + config.listen +
              ", not on loopback: for untrusted clients put a reverse proxy in front (docs/security.md)");
  }
  scheduler.start();

  log::info("database " + settings.db.string() + "; owner keys " + ring.describe());
  std::string advertised;
  for (const std::string& url : to2_urls) {
    advertised += (advertised.empty() ? "" : ", ") + url;
  }
  log::info("TO0 advertises " + advertised + "; plans " +
            (config.plan.empty() ? std::string("from the command line") : config.plan.string()) +
            (settings.flags.reuse.value_or(false) ? " (credential reuse)" : " (credential replacement)"));
  std::unique_ptr<Platform> platform;
  if (!config.platform_listen.empty()) {
    platform = std::make_unique<Platform>(
        settings.dir, *settings.ca_key, *settings.module_context.ca_cert,
        PlatformOptions{.listen = config.platform_listen, .tls_cert = config.platform_tls.cert,
                        .tls_key = config.platform_tls.key});
    platform->start();
    log::info("platform endpoint: devices post readings to " + platform->url() + std::string(kReadingsPath) +
              " with a certificate from the device-application CA; accepted ones go to " +
              readings_file(settings.dir).string());
  }
  std::cout << "listening on " << server.url() << std::endl;
  if (admin) {
    std::cout << "admin listening on " << admin->url() << std::endl;
  }
  if (platform) {
    std::cout << "platform listening on " << platform->url() << std::endl;
  }
  tool::notify_ready("listening on " + server.url());  // a Type=notify unit is started now (docs/deploy.md)

  stop_signals.wait();
  tool::notify_stopping();
  if (platform) {
    platform->stop();
  }
  scheduler.stop();
  if (admin) {
    admin->stop();
  }
  server.stop();
  log::info("stopped: " + storage::store_activity(*store));
  return 0;
}

}  // namespace

void register_serve(Commands& commands) {
  const auto config = std::make_shared<ServeConfig>();
  CLI::App& cmd = commands.add("serve", "Serve TO2, keep the devices registered (TO0) and answer the admin API",
                               [config]() -> int {
                                 std::unique_ptr<ServeSettings> settings;
                                 try {
                                   settings = settings_from(*config);
                                 } catch (const Error& e) {
                                   if (e.code() != ErrorCode::MessageBodyError) {
                                     throw;
                                   }
                                   std::cerr << "fdo-owner serve: " << e.what() << "\n";
                                   return tool::kUsageError;
                                 }
                                 return serve(*config, *settings);
                               });
  tool::add_config_file(commands.app(), cmd, "TOML file with serve's options as keys (listen = \"127.0.0.1:0\", …)");
  cmd.add_option("--dir", config->dir, "The owner directory (fdo-owner init)")->required();
  cmd.add_option("--listen", config->listen, "TO2 address: IPv4:PORT, [IPv6]:PORT or localhost:PORT; port 0 picks one")
      ->capture_default_str();
  cmd.add_option("--to2-url", config->to2_urls,
                 "Where devices reach this owner, advertised in TO0: http(s)://HOST:PORT, repeatable "
                 "(default: the --listen address)");
  tool::add_db_options(cmd, config->db, config->db_password_file, "owner.db", &config->db_pool_size);
  cmd.add_option("--plan", config->plan, "TOML plan file: reuse or replacement, rendezvous, modules, overrides");
  cmd.add_option("--admin-listen", config->admin_listen, "Admin API address (empty: no admin listener)")
      ->capture_default_str();
  cmd.add_option("--kex", config->kex, "Allow only these key exchanges (default: all six), repeatable");
  cmd.add_option("--cipher", config->cipher, "Allow only these cipher suites (default: all), repeatable");
  cmd.add_flag("--reuse", config->reuse, "Default plan: credential reuse instead of replacement");
  cmd.add_option("--rendezvous", config->rendezvous,
                 "Default plan: RendezvousInfo of replaced credentials, URL[,URL…] (default: the voucher's)");
  cmd.add_option("--trace", config->trace,
                 "Write every TO0 message of the automatic registration into DIR, one field-named file each");
  cmd.add_option("--wait-seconds", config->wait_seconds, "TO0 registration time asked for, seconds")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{4294967295u}));
  cmd.add_option("--session-ttl", config->session_ttl, "Idle lifetime of a TO2 session, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  cmd.add_option("--max-sessions", config->max_sessions, "TO2 runs in progress at once (0: unlimited)")
      ->capture_default_str();
  cmd.add_option("--lenient", config->lenient,
                 "Accept a named device deviation (untagged-cose, eat-ueid-claim-11, go-fdo-a256gcm-id), repeatable");
  tool::add_trusted_proxy(cmd, config->trusted_proxies);
  cmd.add_option("--threads", config->threads, "HTTP worker threads (0: 4 per core, at least 8)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  tool::add_server_tls_options(cmd, config->tls);
  tool::add_client_tls_options(cmd, config->rv_tls);
  cmd.add_option("--platform-listen", config->platform_listen,
                 "Platform endpoint (mutual TLS, devices post readings with their enrolled certificate); empty: none");
  cmd.add_option("--platform-tls-cert", config->platform_tls.cert,
                 "The platform's PEM certificate chain (default: issued by the device-application CA at start)");
  cmd.add_option("--platform-tls-key", config->platform_tls.key, "The PEM key of --platform-tls-cert");
  cmd.footer(
      "Example: fdo-owner serve --dir owner --listen 127.0.0.1:8042 --admin-listen 127.0.0.1:8043\n"
      "         fdo-owner serve --dir owner --plan plan.toml --to2-url http://owner.example:8042");
}

}  // namespace fdo::owner_tool
