#include "rendezvous/serve.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <system_error>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/to0_rendezvous.h"
#include "libfdo/protocol/to1_rendezvous.h"
#include "libfdo/storage/sqlite_store.h"
#include "libfdo/transport/http_server.h"

namespace fdo::rendezvous {
namespace {

// SIGTERM and SIGINT, blocked in every thread so that the main thread can wait for them.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

void ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    throw_internal("cannot create directory " + dir.string() + ": " + ec.message());
  }
}

// transport.md §9: "The RV must forget the mapping when the granted time runs out." Look-ups already ignore expired
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
  // Blocked before any server thread exists, so the threads inherit the mask and only sigtimedwait sees them.
  const sigset_t signals = stop_signals();
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
    throw_internal("cannot block SIGTERM/SIGINT");
  }
  ensure_directory(settings.dir);
  const std::unique_ptr<storage::Store> store = storage::open_sqlite_store(settings.db);

  protocol::RendezvousLimits limits(settings.policy, settings.session_ttl);
  protocol::To0Rendezvous to0(settings.policy, &limits);
  protocol::To1Rendezvous to1(settings.policy, &limits);
  protocol::DispatcherOptions options;
  options.session_ttl = settings.session_ttl;
  options.admit = [&limits](const protocol::Context& ctx, MessageType type) { return limits.admit(ctx, type); };
  protocol::Dispatcher dispatcher(*store, options);
  dispatcher.add(to0);
  dispatcher.add(to1);

  transport::HttpServerOptions http;
  http.listen = settings.listen;
  http.threads = settings.threads;
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
  std::cout << "listening on " << server.url() << std::endl;

  const timespec interval{static_cast<time_t>(settings.purge_interval), 0};
  int signal_number = -1;
  while (signal_number < 0) {
    signal_number = sigtimedwait(&signals, nullptr, &interval);
    if (signal_number < 0 && errno == EAGAIN) {
      purge(*store);
    }
  }
  log::info(std::string("stopping on ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  server.stop();
  return 0;
}

}  // namespace fdo::rendezvous
