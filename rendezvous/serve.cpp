#include "rendezvous/serve.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/core/metrics.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/to0_rendezvous.h"
#include "libfdo/protocol/to1_rendezvous.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/core/url.h"
#include "rendezvous/admin_api.h"
#include "tools/common/admin.h"
#include "tools/common/key_files.h"
#include "tools/common/ops.h"
#include "tools/common/stop_signals.h"
#include "tools/common/systemd.h"
#include "tools/common/tls_options.h"

namespace fdo::rendezvous {
namespace {

// FDO 1.1 §5.3.4: the RV forgets the mapping when the granted time runs out. Look-ups already ignore expired
// registrations; the sweep keeps the database small.
// The rate limit's buckets that are full again go too (a source without one starts full).
void purge(storage::Store& store, protocol::RendezvousLimits& limits) {
  try {
    const std::size_t n = protocol::purge_expired_registrations(store, protocol::unix_now());
    if (n > 0) {
      log::info("purged " + std::to_string(n) + " expired registration(s)");
    }
    static_cast<void>(limits.purge(protocol::unix_now()));
  } catch (const Error& e) {
    log::error(std::string("cannot purge expired registrations: ") + e.what());
  }
}

}  // namespace

int serve(const ServeSettings& settings) {
  // Blocked before any server thread exists, so the threads inherit the mask and only the wait below sees them.
  const tool::StopSignals stop_signals;
  // A busy or unusable address is found before anything is written: a failed start leaves no directory or database.
  transport::check_listen(settings.listen);
  if (!settings.admin_listen.empty()) {
    transport::check_listen(settings.admin_listen);
  }
  tool::create_private_directory(settings.dir);
  // The rendezvous server has no `init`: its admin token is made at the first serve that needs it, 0600.
  std::string admin_token;
  if (!settings.admin_listen.empty()) {
    std::vector<tool::InitStep> steps;
    tool::admin_token_at(tool::admin_token_path(settings.dir), steps);
    if (steps.at(0).created) {
      log::info("created the admin token " + steps.at(0).path.string());
    }
    admin_token = tool::load_admin_token(settings.dir, "fdo-rendezvous");
  }
  // docs/operations.md "Metrics": made before the store and the servers, so it outlives what samples it.
  metrics::Registry metrics({{"role", "rendezvous"}});
  const std::unique_ptr<storage::Store> store = storage::open_store(storage::StoreSpec{
      .db = settings.db.string(), .password_file = settings.db_password_file, .pool_size = settings.db_pool_size});
  storage::register_store_metrics(metrics, *store);
  metrics.sampled_gauge("fdo_to0_registrations_live", "TO0 registrations whose WaitSeconds have not run out",
                        [&store] {
                          return static_cast<double>(storage::read_only(*store, [](storage::Transaction& tx) {
                            return tx.count_rv_registrations(protocol::unix_now());
                          }));
                        });

  protocol::RendezvousLimits limits(settings.policy, *store);
  protocol::To0Rendezvous to0(settings.policy);
  protocol::To1Rendezvous to1(settings.policy);
  protocol::DispatcherOptions options;
  options.session_ttl = settings.session_ttl;
  options.admit = [&limits](const protocol::Context& ctx, MessageType type) { return limits.admit(ctx, type); };
  options.max_live_sessions = settings.policy.max_live_sessions;
  options.max_sessions_per_source = settings.max_sessions_per_source;
  options.metrics = &metrics;
  protocol::Dispatcher dispatcher(*store, options);
  dispatcher.add(to0);
  dispatcher.add(to1);

  transport::HttpServerOptions http;
  http.listen = settings.listen;
  http.threads = settings.threads;
  http.trusted_proxies = settings.trusted_proxies;
  http.leniency = settings.policy.leniency;  // --lenient bearer-scheme-case reaches the HTTP binding
  http.metrics = &metrics;
  tool::apply_server_tls(settings.tls, http);
  transport::HttpServer server(dispatcher, http);
  tool::add_health_routes(server, *store);
  server.start();

  // GET /metrics has its own listener, never the protocol port (docs/rendezvous.md "Admin listener").
  tool::NoProtocol no_protocol("this is the rendezvous server's admin listener; TO0 and TO1 go to its main address");
  const std::unique_ptr<transport::HttpServer> admin = tool::start_admin_listener(
      settings.admin_listen, no_protocol, metrics, admin_token,
      [&](transport::HttpServer& s) { add_admin_routes(s, *store, settings.trust, admin_token); });
  const protocol::PolicySummary summary = protocol::summarize(settings.policy);
  for (const std::string& line : summary.warnings) {
    log::warn(line);
  }
  for (const std::string& line : summary.info) {
    log::info(line);
  }
  log::info("database " + settings.db.string());
  purge(*store, limits);
  if (!is_loopback_host(parse_listen_address(settings.listen).host)) {
    log::warn("listening on " + settings.listen +
              ", not on loopback: for untrusted clients put a reverse proxy in front (docs/security.md)");
  }
  std::cout << "listening on " << server.url() << std::endl;
  if (admin) {
    std::cout << "admin listening on " << admin->url() << std::endl;
  }
  tool::notify_ready("listening on " + server.url());  // a Type=notify unit is started now (docs/deploy.md)

  stop_signals.wait(std::chrono::seconds(settings.purge_interval), [&store, &limits] { purge(*store, limits); });
  tool::notify_stopping();
  if (admin) {
    admin->stop();
  }
  server.stop();
  log::info("stopped: " + storage::store_activity(*store));
  return 0;
}

}  // namespace fdo::rendezvous
