#include "tools/common/ops.h"

#include <chrono>
#include <exception>

#include "libfdo/core/log.h"
#include "tools/common/admin.h"

namespace fdo::tool {
namespace {

transport::AdminResponse plain(int status, std::string body) {
  return transport::AdminResponse{.status = status, .content_type = "text/plain", .body = std::move(body)};
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void add_health_routes(transport::HttpServer& server, storage::Store& store) {
  server.add_admin_route("GET", "/health", [](const transport::AdminRequest&) { return plain(200, "ok\n"); });
  server.add_admin_route("GET", "/ready", [&store](const transport::AdminRequest&) {
    try {
      // The lightest read of the Store interface; it opens, reads and rolls back a transaction.
      static_cast<void>(storage::read_only(store, [](storage::Transaction& tx) {
        return tx.count_sessions(unix_seconds());
      }));
      return plain(200, "ready\n");
    } catch (const std::exception& e) {
      log::debug(std::string("GET /ready: the store does not answer: ") + e.what());
      return plain(503, "not ready\n");
    }
  });
}

void add_metrics_route(transport::HttpServer& admin, const metrics::Registry& registry, const std::string& token) {
  admin.add_admin_route("GET", "/metrics", [&registry, token](const transport::AdminRequest& request) {
    if (!admin_authorized(request.headers, token)) {
      return admin_unauthorized();
    }
    return transport::AdminResponse{
        .status = 200, .content_type = std::string(metrics::kContentType), .body = registry.expose()};
  });
}

}  // namespace fdo::tool
