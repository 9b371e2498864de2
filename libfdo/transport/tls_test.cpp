// Certificate pins (FDO 1.1 §3.7 RVSvCertHash, RVClCertHash) and mutual TLS (docs/security.md "TLS").

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/transport/http_fetch.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/transport/transport_test_util.h"

namespace fdo::transport {
namespace {

using testing::ScriptedResponder;

// Two CAs, each with a leaf for 127.0.0.1 (the server's) and a client leaf, made with the openssl command
// (scripts/setup.sh installs it).
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() / ("fdo-tls-" + to_hex(random_bytes(4)));
    std::filesystem::create_directories(m_dir);
    for (const std::string ca : {"ca", "other"}) {
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=" + ca +
          " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -keyout " + path(ca + ".key") +
          " -out " + path(ca + ".pem"));
      for (const std::string leaf : {"server", "client"}) {
        const std::string name = ca + "-" + leaf;
        run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name + " -keyout " +
            path(name + ".key") + " -out " + path(name + ".csr"));
        std::filesystem::path ext = m_dir / (name + ".ext");
        write_file_atomic(ext, to_bytes(leaf == "server" ? "subjectAltName=IP:127.0.0.1\n" : "extendedKeyUsage=clientAuth\n"));
        run("openssl x509 -req -in " + path(name + ".csr") + " -CA " + path(ca + ".pem") + " -CAkey " +
            path(ca + ".key") + " -CAcreateserial -days 1 -extfile " + ext.string() + " -out " + path(name + ".pem"));
        // The chain a server or client presents: its leaf, then the CA.
        write_file_atomic(m_dir / (name + ".chain.pem"),
                   concat(read_file(m_dir / (name + ".pem")), read_file(m_dir / (ca + ".pem"))));
      }
    }
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  static void run(const std::string& cmd) {
    ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << "the openssl command failed: " << cmd;
  }
  [[nodiscard]] std::string path(const std::string& name) const { return (m_dir / name).string(); }
  [[nodiscard]] std::string text(const std::string& name) const { return to_string(read_file(m_dir / name)); }

  /// The DER of a PEM certificate file.
  [[nodiscard]] Bytes der(const std::string& name) const {
    const std::string pem = text(name);
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EXPECT_NE(cert, nullptr);
    const int n = i2d_X509(cert, nullptr);
    Bytes out(static_cast<std::size_t>(n));
    unsigned char* p = out.data();
    (void)i2d_X509(cert, &p);
    X509_free(cert);
    return out;
  }

  [[nodiscard]] CertPin pin(const std::string& name, CertPin::Alg alg = CertPin::Alg::Sha256) const {
    const Bytes d = der(name);
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(d.data(), d.size(), md.data(), &len, alg == CertPin::Alg::Sha384 ? EVP_sha384() : EVP_sha256(),
               nullptr);
    return CertPin{.alg = alg, .digest = Bytes(md.begin(), md.begin() + len)};
  }

  [[nodiscard]] HttpServerOptions tls_server(const std::string& chain, const std::string& key) const {
    HttpServerOptions o;
    o.tls_cert_file = path(chain);
    o.tls_key_file = path(key);
    return o;
  }

 private:
  std::filesystem::path m_dir;
};

std::string failure_of(HttpTransport& transport) {
  try {
    (void)transport.exchange(20, Bytes{0x80});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(TlsTest, ServerCertificatePinTrustsTheLeafWithoutACaFile) {
  ScriptedResponder responder;
  HttpServer server(responder, tls_server("ca-server.pem", "ca-server.key"));
  server.start();

  HttpClientOptions pinned;
  pinned.server_cert_pin = pin("ca-server.pem");
  HttpTransport good(server.url(), pinned);
  EXPECT_EQ(good.exchange(20, Bytes{0x80}).msg_type, 21);

  HttpClientOptions wrong;
  wrong.server_cert_pin = pin("other-server.pem");
  HttpTransport bad(server.url(), wrong);
  EXPECT_NE(failure_of(bad).find("does not match its pin (RVSvCertHash)"), std::string::npos) << failure_of(bad);
  EXPECT_EQ(responder.requests().size(), 1u);
}

TEST_F(TlsTest, CaPinNeedsTheChainToVerifyUpToThePinnedCa) {
  ScriptedResponder responder;
  HttpServer server(responder, tls_server("ca-server.chain.pem", "ca-server.key"));
  server.start();

  for (const CertPin::Alg alg : {CertPin::Alg::Sha256, CertPin::Alg::Sha384}) {
    HttpClientOptions pinned;
    pinned.ca_cert_pin = pin("ca.pem", alg);
    HttpTransport good(server.url(), pinned);
    EXPECT_EQ(good.exchange(20, Bytes{0x80}).msg_type, 21);
  }
  HttpClientOptions other;
  other.ca_cert_pin = pin("other.pem");
  HttpTransport bad(server.url(), other);
  EXPECT_NE(failure_of(bad).find("matches its pin (RVClCertHash)"), std::string::npos) << failure_of(bad);

  // Both pins: both must hold.
  HttpClientOptions both;
  both.ca_cert_pin = pin("ca.pem");
  both.server_cert_pin = pin("other-server.pem");
  HttpTransport mixed(server.url(), both);
  EXPECT_NE(failure_of(mixed).find("RVSvCertHash"), std::string::npos);
  EXPECT_EQ(responder.requests().size(), 2u);
}

TEST_F(TlsTest, CaPinRefusesALeafTheCaDidNotSign) {
  // The server presents the other CA's leaf beside our CA: the pinned CA is there, but the leaf is not its.
  write_file_atomic(path("mixed.pem"), concat(read_file(path("other-server.pem")), read_file(path("ca.pem"))));
  ScriptedResponder responder;
  HttpServer server(responder, tls_server("mixed.pem", "other-server.key"));
  server.start();
  HttpClientOptions pinned;
  pinned.ca_cert_pin = pin("ca.pem");
  HttpTransport bad(server.url(), pinned);
  EXPECT_NE(failure_of(bad).find("does not verify up to the pinned CA"), std::string::npos) << failure_of(bad);
  EXPECT_TRUE(responder.requests().empty());
}

// The platform's listener (docs/owner.md "Platform endpoint"): a client certificate that chains to the CA, or no
// handshake; the handler sees the certificate.
class MutualTlsTest : public TlsTest {
 protected:
  void SetUp() override {
    TlsTest::SetUp();
    HttpServerOptions o = tls_server("ca-server.pem", "ca-server.key");
    o.tls_client_ca_file = path("ca.pem");
    m_server = std::make_unique<HttpServer>(m_responder, o);
    m_server->add_admin_post("/readings", [this](const AdminRequest& r) {
      m_seen = r.peer_certificate;
      return AdminResponse{.status = 201, .content_type = "application/json", .body = "{}"};
    });
    m_server->start();
    m_url = m_server->url() + "/readings";
    m_trust.ca_file = path("ca.pem");
  }

  [[nodiscard]] HttpClientOptions as(std::shared_ptr<TlsClientIdentity> id) const {
    HttpClientOptions o = m_trust;
    o.identity = std::move(id);
    return o;
  }

  ScriptedResponder m_responder;
  std::unique_ptr<HttpServer> m_server;
  std::string m_url;
  HttpClientOptions m_trust;
  Bytes m_seen;
};

TEST_F(MutualTlsTest, ASoftwareKeyClientIsAcceptedAndSeen) {
  auto id = std::make_shared<TlsClientIdentity>();
  id->cert_chain_pem = text("ca-client.chain.pem");
  id->key_pem = SecretBytes(read_file(path("ca-client.key")));
  const PostAnswer a = http_post(m_url, "application/json", "{\"t\":1}", as(id));
  EXPECT_EQ(a.status, 201);
  EXPECT_EQ(m_seen, der("ca-client.pem"));
}

TEST_F(MutualTlsTest, AHardwareKeySignsThroughItsCallback) {
  // The "hardware": the client key in OpenSSL, reached only through sign_digest, as the TPM is.
  const std::string key_pem = text("ca-client.key");
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr);
  int calls = 0;
  auto id = std::make_shared<TlsClientIdentity>();
  id->cert_chain_pem = text("ca-client.pem");
  id->sign_digest = [&](ByteView digest) {
    ++calls;
    EXPECT_EQ(digest.size(), 32u);  // P-256 signs SHA-256 only
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    EVP_PKEY_sign_init(ctx);
    std::size_t len = 0;
    EVP_PKEY_sign(ctx, nullptr, &len, digest.data(), digest.size());
    Bytes sig(len);
    EVP_PKEY_sign(ctx, sig.data(), &len, digest.data(), digest.size());
    EVP_PKEY_CTX_free(ctx);
    const unsigned char* p = sig.data();
    ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    Bytes rs(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), rs.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), rs.data() + 32, 32);
    ECDSA_SIG_free(s);
    return rs;
  };
  const PostAnswer a = http_post(m_url, "application/json", "{}", as(id));
  EVP_PKEY_free(key);
  EXPECT_EQ(a.status, 201);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(m_seen, der("ca-client.pem"));
}

TEST_F(MutualTlsTest, NoCertificateOrAnotherCasIsRefusedInTheHandshake) {
  try {
    (void)http_post(m_url, "application/json", "{}", m_trust);
    ADD_FAILURE() << "accepted without a client certificate";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refused the client certificate"), std::string::npos) << e.what();
    EXPECT_EQ(e.source(), ErrorSource::Transport);
  }
  auto other = std::make_shared<TlsClientIdentity>();
  other->cert_chain_pem = text("other-client.pem");
  other->key_pem = SecretBytes(read_file(path("other-client.key")));
  EXPECT_THROW((void)http_post(m_url, "application/json", "{}", as(other)), Error);
  // A key that is not the certificate's is refused before any connection.
  auto mismatched = std::make_shared<TlsClientIdentity>();
  mismatched->cert_chain_pem = text("ca-client.pem");
  mismatched->key_pem = SecretBytes(read_file(path("other-client.key")));
  try {
    (void)http_post(m_url, "application/json", "{}", as(mismatched));
    ADD_FAILURE() << "a mismatched key was used";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the certificate"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(m_seen.empty());
}

TEST(TlsServerOptions, AClientCaNeedsTls) {
  ScriptedResponder responder;
  HttpServerOptions o;
  o.tls_client_ca_file = "/etc/hostname";
  HttpServer server(responder, o);
  EXPECT_THROW(server.start(), Error);
}

}  // namespace
}  // namespace fdo::transport
