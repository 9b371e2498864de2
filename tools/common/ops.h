#pragma once
// What a load balancer and a monitoring system see of every server (docs/operations.md): GET /health and GET /ready
// on the protocol listener, GET /metrics (Prometheus text format) on the admin listener.

#include <functional>
#include <memory>
#include <string>

#include "libfdo/core/metrics.h"
#include "libfdo/storage/store.h"
#include "libfdo/transport/http_server.h"

namespace fdo::tool {

/// GET /health: 200 "ok" while the process serves. GET /ready: 200 "ready" when a short read transaction on `store`
/// succeeds, else 503 "not ready". No token; on the protocol listener, so they pass the same connection gate and
/// limits as FDO messages. Other paths below them are 404. `store` must outlive `server`'s serving.
void add_health_routes(transport::HttpServer& server, storage::Store& store);

/// GET /metrics: `registry` in the Prometheus text format 0.0.4, for the bearer `token` of DIR/admin-token only
/// (401 without it, as every admin route). `registry` must outlive `admin`'s serving.
void add_metrics_route(transport::HttpServer& admin, const metrics::Registry& registry, const std::string& token);

/// A server's admin listener (docs/operations.md): an HttpServer on `listen` whose FDO answers come from
/// `no_protocol`, with the routes `add_routes` registers and GET /metrics, started; a warning is logged when `listen`
/// is not on loopback. nullptr when `listen` is empty (no admin listener). `no_protocol` and `registry` must outlive it.
[[nodiscard]] std::unique_ptr<transport::HttpServer> start_admin_listener(
    const std::string& listen, transport::Responder& no_protocol, metrics::Registry& registry, const std::string& token,
    const std::function<void(transport::HttpServer&)>& add_routes);

}  // namespace fdo::tool
