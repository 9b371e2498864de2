// The owner's admin API (owner/admin_api.h) on a real HttpServer at 127.0.0.1:0: the bearer token on every route,
// voucher import by POST, the device list and one device as JSON, a voucher as PEM.

#include "owner/admin_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/voucher/pem.h"

namespace fdo::owner_tool {
namespace {

using integration::http_request;
using integration::HttpResponse;
using integration::Json;
using protocol::testing::make_test_voucher;
using protocol::testing::TestVoucher;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class AdminApi : public ::testing::Test {
 protected:
  AdminApi()
      : m_tv(make_test_voucher("p256", "p256", 1, Guid::random())),
        m_ctx{.store = *m_store,
              .owner_keys = *m_tv->owner,
              .token = kToken,
              .clock = [] { return kNow; },
              .on_import = [this] { ++m_imports; }} {
    add_admin_routes(m_server, m_ctx);
    m_server.start();
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& body = {},
                    const std::string& authorization = "Bearer " + kToken) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization.empty()) {
      headers.emplace_back("Authorization", authorization);
    }
    return http_request(m_server.url(), method, path, headers, to_bytes(body));
  }

  std::unique_ptr<storage::Store> m_store = storage::make_memory_store();
  std::unique_ptr<TestVoucher> m_tv;
  int m_imports = 0;
  AdminContext m_ctx;
  protocol::testing::ScriptedResponder m_responder;
  transport::HttpServer m_server{m_responder};
};

TEST_F(AdminApi, EveryRouteNeedsTheBearerTokenAndSaysNothingWithoutIt) {
  const std::vector<std::string> wrong = {"", "Bearer wrong", "Bearer " + kToken + "x", "Basic " + kToken, "Bearer "};
  for (const std::string& auth : wrong) {
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/devices"},
                                                          {"GET", "/api/v1/devices/" + m_tv->guid().hex()},
                                                          {"GET", "/api/v1/vouchers/" + m_tv->guid().hex()},
                                                          {"POST", "/api/v1/vouchers"}}) {
      const HttpResponse r = call(method, path, method == "POST" ? voucher::to_pem(m_tv->bytes) : "", auth);
      EXPECT_EQ(r.status, 401) << method << " " << path << " with '" << auth << "'";
      EXPECT_TRUE(r.body.empty());
    }
  }
  EXPECT_TRUE(m_store->begin()->list_vouchers().empty());
  // The scheme is case-insensitive (RFC 9110 §11.1).
  EXPECT_EQ(call("GET", "/api/v1/devices", "", "bearer " + kToken).status, 200);
}

TEST_F(AdminApi, ImportThenListAndShowTheDeviceAndFetchItsVoucher) {
  const HttpResponse posted = call("POST", "/api/v1/vouchers", voucher::to_pem(m_tv->bytes));
  ASSERT_EQ(posted.status, 200) << to_string(posted.body);
  EXPECT_EQ(posted.header("Content-Type").value_or(""), "application/json");
  const Json outcome = Json::parse(to_string(posted.body));
  EXPECT_EQ(outcome["imported"].integer(), 1);
  EXPECT_EQ(outcome["vouchers"].at(0)["guid"].str(), m_tv->guid().hex());
  EXPECT_TRUE(outcome["vouchers"].at(0)["file"].is_null());
  EXPECT_EQ(m_imports, 1);

  const HttpResponse list = call("GET", "/api/v1/devices");
  ASSERT_EQ(list.status, 200);
  const Json devices = Json::parse(to_string(list.body));
  EXPECT_EQ(devices["format"].integer(), 1);
  ASSERT_EQ(devices["devices"].size(), 1u);
  EXPECT_EQ(devices["devices"].at(0)["state"].str(), "imported");
  EXPECT_TRUE(devices["devices"].at(0)["voucher"].boolean());

  const HttpResponse one = call("GET", "/api/v1/devices/" + m_tv->guid().hex());
  ASSERT_EQ(one.status, 200);
  const Json device = Json::parse(to_string(one.body))["device"];
  EXPECT_EQ(device["guid"].str(), m_tv->guid().hex());
  EXPECT_EQ(device["updated_at"].integer(), kNow);
  EXPECT_TRUE(device["to0_expires_at"].is_null());
  EXPECT_EQ(call("GET", "/api/v1/devices/" + Guid::random().hex()).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/devices/not-a-guid").status, 400);

  const HttpResponse pem = call("GET", "/api/v1/vouchers/" + m_tv->guid().hex());
  ASSERT_EQ(pem.status, 200);
  EXPECT_EQ(to_string(pem.body), voucher::to_pem(m_tv->bytes));
  EXPECT_EQ(call("GET", "/api/v1/vouchers/" + Guid::random().hex()).status, 404);
  const Json vouchers = Json::parse(to_string(call("GET", "/api/v1/vouchers").body));
  EXPECT_EQ(vouchers["vouchers"].at(0)["state"].str(), "imported");
}

TEST_F(AdminApi, ARefusedVoucherIs422WithTheFailedCheck) {
  const std::unique_ptr<TestVoucher> foreign = make_test_voucher("p256", "p256", 2, Guid::random());
  const HttpResponse r =
      call("POST", "/api/v1/vouchers", voucher::to_pem(m_tv->bytes) + voucher::to_pem(foreign->bytes));
  EXPECT_EQ(r.status, 422);
  const Json j = Json::parse(to_string(r.body));
  EXPECT_EQ(j["imported"].integer(), 1);
  EXPECT_EQ(j["refused"].integer(), 1);
  EXPECT_FALSE(j["vouchers"].at(1)["ok"].boolean());
  EXPECT_EQ(j["vouchers"].at(1)["detail"].str().rfind("owner key: ", 0), 0u);
  EXPECT_EQ(call("POST", "/api/v1/vouchers", "not a voucher").status, 422);
}

}  // namespace
}  // namespace fdo::owner_tool
