// Every role over HTTPS (docs/security.md "TLS"): the manufacturer, the rendezvous server and the owner started
// with --tls-cert/--tls-key, the device trusting them through --ca-file, and the RendezvousInfo pins (FDO 1.1 §3.7
// RVSvCertHash, RVClCertHash) enforced by the device: a matching pin needs no CA file, a mismatching one fails TO1.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/x509.h"

namespace fdo::integration {
namespace {

class Https : public ::testing::Test {
 protected:
  void SetUp() override {
    // One CA, and a leaf for 127.0.0.1 that every server presents with the CA behind it.
    run_ok({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=IT TLS CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign", "-keyout", path("ca.key"), "-out", path("ca.pem")});
    run_ok({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
            "/CN=127.0.0.1", "-keyout", path("server.key"), "-out", path("server.csr")});
    write_file_atomic(path("san.ext"), to_bytes("subjectAltName=IP:127.0.0.1\n"), 0644);
    run_ok({"openssl", "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-days", "1", "-extfile", path("san.ext"), "-out", path("server.pem")});
    write_file_atomic(path("chain.pem"), concat(read_file(path("server.pem")), read_file(path("ca.pem"))), 0644);
    m_rv = std::make_unique<ServerProcess>("fdo-rendezvous", std::vector<std::string>{
        "serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--tls-cert", path("chain.pem"),
        "--tls-key", path("server.key")});
    ASSERT_EQ(m_rv->url().rfind("https://127.0.0.1:", 0), 0U) << m_rv->url();
    ASSERT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")}).exit_code, 0);
  }

  void run_ok(const std::vector<std::string>& argv) {
    const RunResult r = run_command(argv);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  /// SHA-256 of a PEM certificate's DER, as hex.
  [[nodiscard]] std::string pin(const std::string& pem_file) const {
    const crypto::Certificate c = crypto::Certificate::from_pem_all(to_string(read_file(pem_file))).at(0);
    return to_hex(crypto::hash(crypto::HashAlg::Sha256, c.der()));
  }

  /// A manufacturer over HTTPS whose devices get `rv` as their RendezvousInfo.
  std::unique_ptr<ServerProcess> manufacturer(const std::string& rv) {
    return std::make_unique<ServerProcess>("fdo-manufacturer", std::vector<std::string>{
        "serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--rv", rv, "--tls-cert",
        path("chain.pem"), "--tls-key", path("server.key")});
  }

  /// DI over HTTPS; returns the device's GUID.
  std::string device(const ServerProcess& mfg, const std::string& credential) {
    const RunResult di = run_tool("fdo-device", {"di", "--url", mfg.url(), "--credential", credential, "--ca-file",
                                                 path("ca.pem")});
    EXPECT_EQ(di.exit_code, 0) << di.describe();
    const RunResult shown = run_tool("fdo-device", {"show", "--credential", credential, "--json"});
    return Json::parse(shown.out)["guid"].str();
  }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_rv;
};

TEST_F(Https, DiNeedsTheCaFileOrRefusesTheCertificate) {
  const auto mfg = manufacturer(m_rv->url());
  ASSERT_EQ(mfg->url().rfind("https://", 0), 0U);
  const RunResult untrusted = run_tool("fdo-device", {"di", "--url", mfg->url(), "--credential", path("a.cred")});
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.describe();
  EXPECT_NE(untrusted.err.find("TLS handshake failed"), std::string::npos) << untrusted.err;
  EXPECT_FALSE(std::filesystem::exists(path("a.cred")));
  EXPECT_FALSE(device(*mfg, path("b.cred")).empty());
}

TEST_F(Https, TheWholeChainOverHttpsWithARendezvousPin) {
  // The device's RendezvousInfo pins the rendezvous server's leaf: TO1 needs no CA file for it.
  const auto mfg = manufacturer(m_rv->url() + "?sv-cert-hash=" + pin(path("server.pem")));
  const std::string credential = path("device.cred");
  const std::string guid = device(*mfg, credential);
  const RunResult shown = run_tool("fdo-device", {"show", "--credential", credential, "--json"});
  EXPECT_NE(shown.out.find("\"RVSvCertHash\""), std::string::npos) << shown.out;

  ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", path("owner")}).exit_code, 0);
  const std::string voucher = path("voucher.pem");
  ASSERT_EQ(run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), guid, "-o", voucher}).exit_code,
            0);
  ASSERT_EQ(run_tool("fdo-owner", {"pubkey", "--dir", path("owner"), "-o", path("owner.pub")}).exit_code, 0);
  ASSERT_EQ(run_tool("fdo-reseller", {"extend", voucher, "--owner-key", path("mfg/manufacturer-p256.key.pem"),
                                      "--next-owner", path("owner.pub"), "-o", path("owned.pem")})
                .exit_code,
            0);
  ASSERT_EQ(run_tool("fdo-owner", {"vouchers", "import", "--dir", path("owner"), path("owned.pem")}).exit_code, 0);
  // The owner serves TO2 over HTTPS and registers that address with the https rendezvous server (its TO0 trusts
  // the CA file).
  ServerProcess owner("fdo-owner", {"serve", "--dir", path("owner"), "--listen", "127.0.0.1:0", "--admin-listen", "",
                                    "--tls-cert", path("chain.pem"), "--tls-key", path("server.key"), "--ca-file",
                                    path("ca.pem")});
  ASSERT_EQ(owner.url().rfind("https://", 0), 0U);
  RunResult to1;
  for (int i = 0; i < 100; ++i) {
    to1 = run_tool("fdo-device", {"to1", "--credential", credential, "--json"});
    if (to1.exit_code == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(to1.exit_code, 0) << to1.describe() << owner.log();
  EXPECT_EQ(Json::parse(to1.out)["to2_urls"].at(0).str(), owner.url());

  // TO2 at an https owner: refused without trust, onboarded with the CA file.
  const RunResult untrusted = run_tool("fdo-device", {"onboard", "--credential", credential, "--root", path("root")});
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.describe();
  EXPECT_NE(untrusted.out.find("TLS handshake failed") + untrusted.err.find("TLS handshake failed"), 2 * std::string::npos)
      << untrusted.describe();
  const RunResult onboarded = run_tool("fdo-device", {"onboard", "--credential", credential, "--root", path("root"),
                                                      "--ca-file", path("ca.pem"), "--json"});
  ASSERT_EQ(onboarded.exit_code, 0) << onboarded.describe() << owner.log();
  EXPECT_TRUE(Json::parse(onboarded.out)["onboarded"].boolean());
}

TEST_F(Https, AMismatchingPinFailsTheRendezvousTarget) {
  // Pins of another certificate: the leaf pin, then the CA pin.
  const std::string other = pin(path("ca.pem"));
  for (const std::string flag : {"sv-cert-hash=", "cl-cert-hash="}) {
    const std::string wrong = flag == "sv-cert-hash=" ? other : pin(path("server.pem"));
    const auto mfg = manufacturer(m_rv->url() + "?" + flag + wrong);
    const std::string credential = path(flag + "device.cred");
    (void)device(*mfg, credential);
    const RunResult to1 = run_tool("fdo-device", {"to1", "--credential", credential});
    EXPECT_EQ(to1.exit_code, 1) << to1.describe();
    EXPECT_NE(to1.err.find(flag == "sv-cert-hash=" ? "RVSvCertHash" : "RVClCertHash"), std::string::npos) << to1.err;
    const auto stopped = mfg->stop();
    EXPECT_EQ(stopped, 0);
  }
  // The right CA pin: the chain verifies up to it.
  const auto mfg = manufacturer(m_rv->url() + "?cl-cert-hash=" + pin(path("ca.pem")));
  const std::string credential = path("ca-pinned.cred");
  (void)device(*mfg, credential);
  const RunResult to1 = run_tool("fdo-device", {"to1", "--credential", credential});
  // No owner registered: the rendezvous server answers (the pin held) with "not found" (FDO 1.1 §5.4: 6).
  EXPECT_EQ(to1.err.find("RVClCertHash"), std::string::npos) << to1.err;
  EXPECT_EQ(to1.err.find("TLS"), std::string::npos) << to1.err;
}

TEST_F(Https, HalfATlsConfigurationIsAUsageError) {
  const RunResult r = run_tool("fdo-rendezvous", {"serve", "--dir", path("rv2"), "--listen", "127.0.0.1:0",
                                                  "--tls-cert", path("chain.pem")});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--tls-cert and --tls-key go together"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fdo::integration
