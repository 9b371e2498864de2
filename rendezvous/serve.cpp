#include "rendezvous/serve.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/to0_rendezvous.h"
#include "libfdo/protocol/to1_rendezvous.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/storage/sqlite_store.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/core/url.h"
#include "tools/common/key_files.h"
#include "tools/common/stop_signals.h"
#include "tools/common/systemd.h"
#include "tools/common/tls_options.h"

namespace fdo::rendezvous {
namespace {

// FDO 1.1 §5.3.4: the RV forgets the mapping when the granted time runs out. Look-ups already ignore expired
// registrations; the sweep keeps the database small.
void purge(storage::Store& store) {
  try {
    const std::size_t n = protocol::purge_expired_registrations(store, protocol::unix_now());
    if (n > 0) {
      log::info("purged " + std::to_string(n) + " expired registration(s)");
    }
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
  tool::create_private_directory(settings.dir);
  const std::unique_ptr<storage::Store> store = storage::open_store(storage::StoreSpec{
      .db = settings.db.string(), .password_file = settings.db_password_file, .pool_size = settings.db_pool_size});

  protocol::RendezvousLimits limits(settings.policy);
  protocol::To0Rendezvous to0(settings.policy);
  protocol::To1Rendezvous to1(settings.policy);
  protocol::DispatcherOptions options;
  options.session_ttl = settings.session_ttl;
  options.admit = [&limits](const protocol::Context& ctx, MessageType type) { return limits.admit(ctx, type); };
  options.max_live_sessions = settings.policy.max_live_sessions;
  options.max_sessions_per_source = settings.max_sessions_per_source;
  protocol::Dispatcher dispatcher(*store, options);
  dispatcher.add(to0);
  dispatcher.add(to1);

  transport::HttpServerOptions http;
  http.listen = settings.listen;
  http.threads = settings.threads;
  http.leniency = settings.policy.leniency;  // --lenient bearer-scheme-case reaches the HTTP binding
  tool::apply_server_tls(settings.tls, http);
  transport::HttpServer server(dispatcher, http);
  server.start();
  const protocol::PolicySummary summary = protocol::summarize(settings.policy);
  for (const std::string& line : summary.warnings) {
    log::warn(line);
  }
  for (const std::string& line : summary.info) {
    log::info(line);
  }
  log::info("database " + settings.db.string());
  purge(*store);
  if (!is_loopback_host(parse_listen_address(settings.listen).host)) {
    log::warn("listening on " + settings.listen +
              ", not on loopback: for untrusted clients put a reverse proxy in front (docs/security.md)");
  }
  std::cout << "listening on " << server.url() << std::endl;
  tool::notify_ready("listening on " + server.url());  // a Type=notify unit is started now (docs/deploy.md)

  stop_signals.wait(std::chrono::seconds(settings.purge_interval), [&store] { purge(*store); });
  tool::notify_stopping();
  server.stop();
  const storage::SqliteSyncCounts counts = storage::sqlite_sync_counts(*store);
  log::info("stopped: " + std::to_string(counts.commits) + " commits, " + std::to_string(counts.syncs) +
            " fdatasync (group commit)");
  return 0;
}

}  // namespace fdo::rendezvous
