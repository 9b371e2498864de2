// The platform endpoint (owner/platform.h) on a real HTTPS listener at 127.0.0.1:0: only a client certificate from
// the device-application CA gets a reading in, each accepted reading is one durable line naming its certificate.

#include "owner/platform.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/transport/http_fetch.h"

namespace fdo::owner_tool {
namespace {

using integration::Json;

class PlatformTest : public ::testing::Test {
 protected:
  PlatformTest()
      : m_ca_key(crypto::PrivateKey::generate(crypto::KeyType::P256)),
        m_ca(crypto::make_self_signed(m_ca_key, {.common_name = "owner CA", .organization = "", .validity_days = 30,
                                                 .is_ca = true})),
        m_platform(OwnerDir{m_dir.path()}, m_ca_key, m_ca, PlatformOptions{.listen = "127.0.0.1:0", .tls_cert = "", .tls_key = ""}) {
    m_platform.start();
    m_url = m_platform.url() + std::string(kReadingsPath);
  }

  /// A device identity as AsymKey leaves it: a leaf from `ca`, its key, and the chain.
  std::shared_ptr<transport::TlsClientIdentity> device(const crypto::PrivateKey& ca_key, const crypto::Certificate& ca,
                                                       const std::string& cn) {
    const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
    m_leaf = crypto::issue_certificate(ca_key, ca, key.public_key(),
                                       {.common_name = cn, .organization = "", .validity_days = 30, .is_ca = false});
    auto id = std::make_shared<transport::TlsClientIdentity>();
    id->cert_chain_pem = m_leaf->to_pem() + ca.to_pem();
    id->key_pem = key.to_pem();
    return id;
  }

  /// Trusts the platform through the device-application CA, as a device does with its enrolled chain.
  transport::HttpClientOptions as(std::shared_ptr<transport::TlsClientIdentity> id) {
    write_file_atomic(m_dir.path() / "trust.pem", to_bytes(m_ca.to_pem()), 0644);
    transport::HttpClientOptions o;
    o.ca_file = (m_dir.path() / "trust.pem").string();
    o.identity = std::move(id);
    return o;
  }

  integration::TempDir m_dir;
  crypto::PrivateKey m_ca_key;
  crypto::Certificate m_ca;
  Platform m_platform;
  std::string m_url;
  std::optional<crypto::Certificate> m_leaf;
};

TEST_F(PlatformTest, AcceptsAReadingFromAnEnrolledDeviceAndRecordsIt) {
  const transport::PostAnswer a =
      transport::http_post(m_url, "application/json", R"({"temperature_c": 21.5})", as(device(m_ca_key, m_ca, "sensor-7")));
  EXPECT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(Json::parse(a.body)["accepted"].boolean(), true);
  const std::string log = to_string(read_file(readings_file(OwnerDir{m_dir.path()})));
  const Json line = Json::parse(log.substr(0, log.find('\n')));
  EXPECT_EQ(line["subject"].str(), "CN=sensor-7");
  EXPECT_EQ(line["issuer"].str(), "CN=owner CA");
  EXPECT_EQ(line["certificate_sha256"].str(), to_hex(crypto::hash(crypto::HashAlg::Sha256, m_leaf->der())));
  EXPECT_EQ(line["reading"].str(), R"({"temperature_c": 21.5})");
  EXPECT_EQ(line["peer"].str(), "127.0.0.1");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1);
}

TEST_F(PlatformTest, RefusesADeviceOfAnotherCaInTheHandshake) {
  const crypto::PrivateKey other_key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::Certificate other = crypto::make_self_signed(
      other_key, {.common_name = "other CA", .organization = "", .validity_days = 30, .is_ca = true});
  EXPECT_THROW((void)transport::http_post(m_url, "application/json", "{}", as(device(other_key, other, "intruder"))),
               Error);
  transport::HttpClientOptions no_cert = as(nullptr);
  EXPECT_THROW((void)transport::http_post(m_url, "application/json", "{}", no_cert), Error);
  EXPECT_FALSE(std::filesystem::exists(readings_file(OwnerDir{m_dir.path()})));
}

TEST_F(PlatformTest, RefusesWhatIsNotAJsonReading) {
  const auto id = device(m_ca_key, m_ca, "sensor-8");
  EXPECT_EQ(transport::http_post(m_url, "text/plain", "{}", as(id)).status, 415);
  EXPECT_EQ(transport::http_post(m_url, "application/json", "[1,2]", as(id)).status, 400);
  EXPECT_EQ(transport::http_post(m_url, "application/json", std::string(kMaxReading + 1, ' '), as(id)).status, 413);
  EXPECT_EQ(transport::http_post(m_platform.url() + "/platform/v1/other", "application/json", "{}", as(id)).status,
            404);
  EXPECT_FALSE(std::filesystem::exists(readings_file(OwnerDir{m_dir.path()})));
}

// The handler itself, as the TLS layer hands it a request: a certificate the CA did not sign is refused even if a
// listener were set up wrongly.
TEST_F(PlatformTest, TheHandlerChecksTheIssuerItself) {
  const crypto::PrivateKey other_key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::Certificate other = crypto::make_self_signed(
      other_key, {.common_name = "other CA", .organization = "", .validity_days = 30, .is_ca = true});
  (void)device(other_key, other, "intruder");
  transport::AdminRequest r{.method = "POST", .path = std::string(kReadingsPath), .query = "",
                            .headers = {{"Content-Type", "application/json"}}, .body = to_bytes("{}"),
                            .peer = "127.0.0.1", .peer_certificate = m_leaf->der()};
  EXPECT_EQ(m_platform.reading(r).status, 403);
  r.peer_certificate.clear();
  EXPECT_EQ(m_platform.reading(r).status, 401);
}

}  // namespace
}  // namespace fdo::owner_tool
