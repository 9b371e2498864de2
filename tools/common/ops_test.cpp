// tools/common/ops.h: /health, /ready and /metrics over a real listener on 127.0.0.1:0.

#include "tools/common/ops.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "integration-tests/harness.h"
#include "libfdo/core/error.h"
#include "libfdo/storage/memory_store.h"
#include "tools/common/admin.h"

namespace fdo::tool {
namespace {

using integration::http_request;

// A store that answers or, once told to, fails every transaction (a database that went away).
class SwitchableStore final : public storage::Store {
 public:
  std::unique_ptr<storage::Transaction> begin() override {
    if (down) {
      throw_internal("database is locked");
    }
    return m_inner->begin();
  }
  std::atomic<bool> down{false};

 private:
  std::unique_ptr<storage::Store> m_inner = storage::make_memory_store();
};

std::string body_of(const integration::HttpResponse& r) { return std::string(r.body.begin(), r.body.end()); }

TEST(Health, HealthIsAlwaysUpAndReadyFollowsTheStore) {
  SwitchableStore store;
  NoProtocol responder("test");
  transport::HttpServer server(responder);
  add_health_routes(server, store);
  server.start();
  EXPECT_EQ(http_request(server.url(), "GET", "/health").status, 200);
  EXPECT_EQ(body_of(http_request(server.url(), "GET", "/health")), "ok\n");
  EXPECT_EQ(http_request(server.url(), "GET", "/ready").status, 200);
  EXPECT_EQ(http_request(server.url(), "GET", "/health/more").status, 404);
  EXPECT_EQ(http_request(server.url(), "GET", "/ready/more").status, 404);
  EXPECT_EQ(http_request(server.url(), "GET", "/metrics").status, 404);  // not on a protocol listener
  store.down = true;
  const integration::HttpResponse r = http_request(server.url(), "GET", "/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r), "not ready\n");
  EXPECT_EQ(http_request(server.url(), "GET", "/health").status, 200);
  store.down = false;
  EXPECT_EQ(http_request(server.url(), "GET", "/ready").status, 200);
}

TEST(Metrics, TheAdminRouteNeedsTheTokenAndServesTheTextFormat) {
  metrics::Registry registry({{"role", "test"}});
  registry.counter("fdo_things_total", "Things").with({}).inc(3);
  NoProtocol responder("admin");
  transport::HttpServer admin(responder);
  add_metrics_route(admin, registry, "secret-token");
  admin.start();
  const integration::HttpResponse none = http_request(admin.url(), "GET", "/metrics");
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(none.body.empty());
  EXPECT_EQ(http_request(admin.url(), "GET", "/metrics", {{"Authorization", "Bearer wrong"}}).status, 401);
  const integration::HttpResponse ok =
      http_request(admin.url(), "GET", "/metrics", {{"Authorization", "Bearer secret-token"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(body_of(ok),
            "# HELP fdo_things_total Things\n# TYPE fdo_things_total counter\nfdo_things_total{role=\"test\"} 3\n");
}

}  // namespace
}  // namespace fdo::tool
