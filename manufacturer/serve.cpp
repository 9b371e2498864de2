#include "manufacturer/serve.h"

#include <iostream>
#include <memory>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/core/metrics.h"
#include "libfdo/protocol/di_manufacturer.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/core/url.h"
#include "manufacturer/keys.h"
#include "manufacturer/vouchers.h"
#include "tools/common/admin.h"
#include "tools/common/ops.h"
#include "tools/common/stop_signals.h"
#include "tools/common/systemd.h"
#include "tools/common/tls_options.h"

namespace fdo::manufacturer {

int serve(const ServeSettings& settings) {
  // Blocked before any server thread exists, so the threads inherit the mask and only the wait below sees them.
  const tool::StopSignals stop_signals;
  // A busy or unusable address is found before anything is written: a failed start leaves no database behind.
  transport::check_listen(settings.listen);
  if (!settings.admin_listen.empty()) {
    transport::check_listen(settings.admin_listen);
  }

  protocol::ManufacturerKeys keys = load_keys(settings.dir, settings.default_key_type);
  std::string key_names;
  for (const protocol::ManufacturerKey& k : keys.signing_keys) {
    key_names += (key_names.empty() ? "" : ", ") + std::string(crypto::key_type_name(k.private_key.type()));
  }
  // Read before the database is opened: a directory without a token fails to start (docs/manufacturer.md).
  const std::string admin_token =
      settings.admin_listen.empty() ? std::string() : tool::load_admin_token(settings.dir, "fdo-manufacturer");
  // docs/operations.md "Metrics": made before the store and the servers, so it outlives what samples it.
  metrics::Registry metrics({{"role", "manufacturer"}});
  const std::unique_ptr<storage::Store> store = storage::open_store(storage::StoreSpec{
      .db = settings.db.string(), .password_file = settings.db_password_file, .pool_size = settings.db_pool_size});
  storage::register_store_metrics(metrics, *store);

  protocol::DiManufacturerOptions options;
  options.rv_info = settings.rv_info;
  options.first_owner = settings.first_owner;
  options.policy = settings.policy;
  options.organization = settings.organization;
  protocol::DiManufacturer endpoint(std::move(keys), std::move(options));

  protocol::DispatcherOptions dispatcher_options;
  dispatcher_options.session_ttl = settings.session_ttl;
  dispatcher_options.max_live_sessions = settings.max_sessions;
  dispatcher_options.max_sessions_per_source = settings.max_sessions_per_source;
  dispatcher_options.metrics = &metrics;
  protocol::Dispatcher dispatcher(*store, dispatcher_options);
  dispatcher.add(endpoint);

  transport::HttpServerOptions http;
  http.listen = settings.listen;
  http.threads = settings.threads;
  http.trusted_proxies = settings.trusted_proxies;
  http.metrics = &metrics;
  tool::apply_server_tls(settings.tls, http);
  transport::HttpServer server(dispatcher, http);
  tool::add_health_routes(server, *store);
  server.start();

  // The admin endpoints have their own listener, never the DI port (docs/security.md "Listeners and admin
  // endpoints").
  tool::NoProtocol no_protocol("this is the manufacturer's admin listener; DI messages go to its DI address");
  const std::unique_ptr<transport::HttpServer> admin =
      tool::start_admin_listener(settings.admin_listen, no_protocol, metrics, admin_token,
                                 [&](transport::HttpServer& s) { add_admin_routes(s, *store, admin_token); });
  std::string rendezvous;
  for (const std::string& directive : settings.rv_info.describe()) {
    rendezvous += (rendezvous.empty() ? "" : " | ") + directive;
  }
  log::info("manufacturer keys: " + key_names + "; database " + settings.db.string() + "; rendezvous " + rendezvous);
  if (!is_loopback_host(parse_listen_address(settings.listen).host)) {
    log::warn("listening on " + settings.listen +
              ", not on loopback: for untrusted clients put a reverse proxy in front (docs/security.md)");
  }
  std::cout << "listening on " << server.url() << std::endl;
  if (admin) {
    std::cout << "admin listening on " << admin->url() << std::endl;
  }
  tool::notify_ready("listening on " + server.url());  // a Type=notify unit is started now (docs/deploy.md)

  stop_signals.wait();
  tool::notify_stopping();
  if (admin) {
    admin->stop();
  }
  server.stop();
  log::info("stopped: " + storage::store_activity(*store));
  return 0;
}

}  // namespace fdo::manufacturer
