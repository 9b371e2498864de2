#include "libfdo/fsim/fdo_csr.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/core/random.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/transfer_test_support.h"

namespace fdo::fsim {
namespace {

namespace fs = std::filesystem;

class FdoCsrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("fdo-csr-" + to_hex(random_bytes(6)));
    fs::create_directories(m_dir / "root");
    m_device.root = m_dir / "root";
    m_ca_key = std::make_unique<crypto::PrivateKey>(crypto::PrivateKey::generate(crypto::KeyType::P256));
    m_owner.ca_key = m_ca_key.get();
    m_owner.ca_cert = crypto::make_self_signed(
        *m_ca_key, crypto::CertificateProfile{.common_name = "Device CA", .organization = "Test", .is_ca = true});
    m_owner.plan_dir = m_dir;
  }
  void TearDown() override { fs::remove_all(m_dir); }

  testing::Exchange run(serviceinfo::ModuleParams::Values params, std::size_t mtu = serviceinfo::kDefaultMtu) {
    serviceinfo::OwnerRegistry registry;
    register_owner_modules(registry, m_owner);
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::make_unique<FdoCsrDevice>(m_device));
    const serviceinfo::Plan plan{{testing::step(std::string(kFdoCsr), std::move(params))}};
    return testing::exchange(std::move(modules), registry, plan, mtu, mtu);
  }
  [[nodiscard]] std::string text(const fs::path& p) const {
    const Bytes b = read_file(p);
    return {b.begin(), b.end()};
  }
  /// The owner's answers to one device request, straight through the owner module.
  serviceinfo::ServiceInfo ask(FdoCsrOwner& owner, std::string_view message, ByteView value) {
    owner.on_message(message, value);
    return owner.produce(1200).kvs;
  }
  static std::uint64_t error_code(const serviceinfo::ServiceInfo& kvs) {
    EXPECT_EQ(kvs.size(), 1U);
    EXPECT_EQ(kvs.at(0).key, "fdo.csr:error");
    return serviceinfo::read_uint_value(kvs.at(0).value, "error");
  }

  fs::path m_dir;
  DeviceContext m_device;
  OwnerContext m_owner;
  std::unique_ptr<crypto::PrivateKey> m_ca_key;
};

TEST_F(FdoCsrTest, TheDeviceEnrolsAKeyUnderTheOwnersCaAtBothMtus) {
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    const testing::Exchange e = run({}, mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kFdoCsr);
    EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
    EXPECT_EQ(o.summary, "cacerts sent, certificate issued (CN=fdo-device)");
    const fs::path dir = m_device.root / "fdo.csr";
    const crypto::PrivateKey key = crypto::PrivateKey::from_pem(text(dir / "key.pem"));
    const crypto::Certificate leaf = crypto::Certificate::from_pem_all(text(dir / "cert.pem")).at(0);
    EXPECT_TRUE(crypto::verify_chain({leaf}, {*m_owner.ca_cert}).ok);
    EXPECT_TRUE(leaf.public_key().same_key(key.public_key()));
    const std::vector<crypto::Certificate> cas = crypto::Certificate::from_pem_all(text(dir / "cacerts.pem"));
    ASSERT_EQ(cas.size(), 1U);
    EXPECT_EQ(cas[0].der(), m_owner.ca_cert->der());
    struct stat st {};
    ASSERT_EQ(::stat((dir / "key.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
  }
}

TEST_F(FdoCsrTest, AnRsa3072ChainLargerThanA69CrossesMtus1300And8192AsFragments) {
  const testing::RsaChain chain = testing::rsa_chain(7);
  m_owner.ca_key = &chain.key;
  m_owner.ca_cert = chain.certs.front();
  std::string pem;
  for (const crypto::Certificate& c : chain.certs) {
    pem += c.to_pem();
  }
  write_file_atomic(m_dir / "chain.pem", ByteView(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()));
  // The cacerts-res value does not fit one 69 even at 8192.
  ASSERT_GT(serviceinfo::tstr_value(base64_encode(pkcs7_certs_only(chain.certs))).size(), std::size_t{8192});
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    SCOPED_TRACE(mtu);
    const testing::Exchange e = run({{"cacerts_file", {"chain.pem"}}}, mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kFdoCsr);
    EXPECT_EQ(o.state, serviceinfo::ModuleState::Done) << o.error;
    EXPECT_EQ(o.summary, "cacerts sent, certificate issued (CN=fdo-device)");
    const fs::path dir = m_device.root / "fdo.csr";
    const std::vector<crypto::Certificate> cas = crypto::Certificate::from_pem_all(text(dir / "cacerts.pem"));
    ASSERT_EQ(cas.size(), chain.certs.size());
    for (std::size_t i = 0; i < cas.size(); ++i) {
      EXPECT_EQ(cas[i].der(), chain.certs[i].der()) << i;
    }
    const crypto::Certificate leaf = crypto::Certificate::from_pem_all(text(dir / "cert.pem")).at(0);
    std::vector<crypto::Certificate> path{leaf};
    path.insert(path.end(), cas.begin(), cas.end() - 1);
    EXPECT_TRUE(crypto::verify_chain(path, {cas.back()}).ok);
  }
}

/// A device of another stack that enrols an RSA-3072 key and cuts its request where a 68 fills (go-fdo cuts a value
/// so): the CSR arrives as fragments in three 68s chained with IsMoreServiceInfo.
class SplittingCsrDevice final : public serviceinfo::DeviceModule {
 public:
  struct Seen {
    crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::Rsa3072);
    std::optional<crypto::Certificate> cert;
  };
  explicit SplittingCsrDevice(Seen& seen) : m_seen(seen) {}
  [[nodiscard]] std::string_view name() const override { return kFdoCsr; }
  void on_active(bool active) override { m_active = active; }
  void on_poll(serviceinfo::Outbox& out) override {
    if (!m_active || m_sent) {
      return;
    }
    m_sent = true;
    const Bytes value = serviceinfo::tstr_value(base64_encode(crypto::make_csr(m_seen.key, "rsa-device")));
    const serviceinfo::ServiceInfo parts = serviceinfo::split_value(kFdoCsr, "simpleenroll-req", value, 500);
    EXPECT_EQ(parts.size(), 3U);
    for (const serviceinfo::ServiceInfoKv& kv : parts) {
      out.yield();
      out.send("simpleenroll-req", kv.value);
    }
  }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override {
    (void)out;
    if (message == "simpleenroll-res") {
      m_seen.cert = crypto::Certificate::from_der(base64_decode(serviceinfo::read_tstr_value(value, "res")));
    }
  }

 private:
  Seen& m_seen;
  bool m_active = false;
  bool m_sent = false;
};

TEST_F(FdoCsrTest, ACsrCutAcrossSeveral68sIsJoinedAndSigned) {
  serviceinfo::OwnerRegistry registry;
  register_owner_modules(registry, m_owner);
  SplittingCsrDevice::Seen seen;
  std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
  modules.push_back(std::make_unique<SplittingCsrDevice>(seen));
  const serviceinfo::Plan plan{{testing::step(std::string(kFdoCsr), {})}};
  const testing::Exchange e = testing::exchange(std::move(modules), registry, plan);
  EXPECT_EQ(testing::outcome_of(e, kFdoCsr).summary, "certificate issued (CN=rsa-device)");
  ASSERT_TRUE(seen.cert.has_value());
  EXPECT_TRUE(seen.cert->public_key().same_key(seen.key.public_key()));
  EXPECT_TRUE(seen.cert->is_signed_by(*m_owner.ca_cert));
}

TEST_F(FdoCsrTest, CacertsComeAsPkcs7CertsOnlyThatOpensslReadsOrAsOneCertificate) {
  const Bytes p7 = pkcs7_certs_only({*m_owner.ca_cert, *m_owner.ca_cert});
  const std::vector<crypto::Certificate> back = parse_pkcs7_certs(p7);
  ASSERT_EQ(back.size(), 2U);
  EXPECT_EQ(back[1].der(), m_owner.ca_cert->der());
  write_file_atomic(m_dir / "ca.p7b", p7);
  const std::string cmd = "openssl pkcs7 -inform DER -in " + (m_dir / "ca.p7b").string() +
                          " -print_certs -noout > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);

  FdoCsrOwner owner(serviceinfo::ModuleParams("fdo.csr", {}).encode(), m_owner);
  const serviceinfo::ServiceInfo pkix = ask(owner, "cacerts-req", serviceinfo::uint_value(kPkixCert));
  ASSERT_EQ(pkix.size(), 1U);
  EXPECT_EQ(pkix[0].key, "fdo.csr:cacerts-res");
  EXPECT_EQ(base64_decode(serviceinfo::read_tstr_value(pkix[0].value, "res")), m_owner.ca_cert->der());
  EXPECT_EQ(error_code(ask(owner, "cacerts-req", serviceinfo::uint_value(999))), 5U);
  EXPECT_EQ(error_code(ask(owner, "cacerts-req", serviceinfo::tstr_value("281"))), 1U);
}

TEST_F(FdoCsrTest, BadRequestsGetTheirErrorAndAreRecorded) {
  FdoCsrOwner owner(serviceinfo::ModuleParams("fdo.csr", {}).encode(), m_owner);
  Bytes csr = crypto::make_csr(crypto::PrivateKey::generate(crypto::KeyType::P256), "dev");
  csr[csr.size() - 3] ^= 0x01;
  EXPECT_EQ(error_code(ask(owner, "simpleenroll-req", serviceinfo::tstr_value(base64_encode(csr)))), 1U);
  EXPECT_EQ(error_code(ask(owner, "simpleenroll-req", serviceinfo::bstr_value(csr))), 1U);
  EXPECT_EQ(error_code(ask(owner, "simpleenroll-req", serviceinfo::tstr_value("not base64!"))), 1U);
  EXPECT_EQ(error_code(ask(owner, "serverkeygen-req", serviceinfo::tstr_value(""))), 3U);
  EXPECT_EQ(error_code(ask(owner, "frobnicate", serviceinfo::uint_value(1))), 1U);
  EXPECT_NE(owner.summary().find("simpleenroll-req: error 1 (the CSR signature does not verify"), std::string::npos)
      << owner.summary();
}

TEST_F(FdoCsrTest, ReenrolmentIsAnsweredWithItsOwnMessage) {
  FdoCsrOwner owner(serviceinfo::ModuleParams("fdo.csr", {}).encode(), m_owner);
  const Bytes csr = crypto::make_csr(crypto::PrivateKey::generate(crypto::KeyType::P384), "dev-9");
  const serviceinfo::ServiceInfo kvs = ask(owner, "simplereenroll-req", serviceinfo::tstr_value(base64_encode(csr)));
  ASSERT_EQ(kvs.size(), 1U);
  EXPECT_EQ(kvs[0].key, "fdo.csr:simplereenroll-res");
  const crypto::Certificate c =
      crypto::Certificate::from_der(base64_decode(serviceinfo::read_tstr_value(kvs[0].value, "res")));
  EXPECT_EQ(c.subject(), "CN=dev-9");
}

TEST_F(FdoCsrTest, AFailingSignCommandIsError2AndTheDeviceStoresNothing) {
  std::ofstream(m_dir / "fail.sh") << "#!/bin/sh\nexit 1\n";
  fs::permissions(m_dir / "fail.sh", fs::perms::owner_all);
  const testing::Exchange e = run({{"sign_command", {"./fail.sh"}}});
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kFdoCsr);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
  EXPECT_NE(o.summary.find("simpleenroll-req: error 2 (sign_command"), std::string::npos) << o.summary;
  EXPECT_FALSE(fs::exists(m_device.root / "fdo.csr/key.pem"));
  EXPECT_FALSE(fs::exists(m_device.root / "fdo.csr/cert.pem"));
}

TEST_F(FdoCsrTest, TheDeviceIgnoresBadAnswersAndWritesNothing) {
  FdoCsrDevice device(m_device);
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out("fdo.csr", queue);
  device.on_active(true);
  device.on_poll(out);
  ASSERT_EQ(queue.size(), 2U);
  EXPECT_EQ(queue[0].kv.key, "fdo.csr:cacerts-req");
  EXPECT_EQ(queue[1].kv.key, "fdo.csr:simpleenroll-req");
  device.on_message("cacerts-res", serviceinfo::uint_value(1), out);
  EXPECT_NE(device.error().find("expected tstr"), std::string::npos) << device.error();
  device.on_message("cacerts-res", serviceinfo::tstr_value(base64_encode(Bytes{0x30, 0x00})), out);
  const crypto::Certificate other = crypto::issue_certificate(
      *m_ca_key, *m_owner.ca_cert, crypto::PrivateKey::generate(crypto::KeyType::P256).public_key(),
      crypto::CertificateProfile{.common_name = "x", .organization = ""});
  device.on_message("simpleenroll-res", serviceinfo::tstr_value(base64_encode(other.der())), out);
  EXPECT_NE(device.error().find("not for our key"), std::string::npos) << device.error();
  device.on_message("error", serviceinfo::uint_value(2), out);
  EXPECT_EQ(device.error(), "owner error 2");
  EXPECT_FALSE(device.enrolled());
  EXPECT_TRUE(queue.size() == 2U);
  EXPECT_FALSE(fs::exists(m_device.root / "fdo.csr"));
}

TEST_F(FdoCsrTest, ADeviceThatNeverAsksFailsTheOwnerAtItsDeadline) {
  serviceinfo::OwnerRegistry registry;
  register_owner_modules(registry, m_owner);
  std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
  modules.push_back(
      std::make_unique<testing::ScriptedDevice>(std::string(kFdoCsr), std::vector<std::pair<std::string, Bytes>>{}));
  const serviceinfo::Plan plan{{testing::step(std::string(kFdoCsr), {{"timeout", {"0"}}})}};
  const testing::Failure f = testing::failed_exchange(std::move(modules), registry, plan);
  EXPECT_EQ(f.code, ErrorCode::InternalServerError);
  const serviceinfo::ModuleOutcome o = testing::outcome_of(f.exchange, kFdoCsr);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Failed);
  EXPECT_NE(o.error.find("fdo.csr: no enrolment request from the device within 0 s"), std::string::npos) << o.error;
  EXPECT_EQ(o.summary, "no enrolment request from the device within 0 s");
}

TEST_F(FdoCsrTest, TheOwnerRefusesBadParametersAtLoad) {
  const auto refused = [&](serviceinfo::ModuleParams::Values v) {
    const serviceinfo::ModuleParams p("fdo.csr", std::move(v));
    return fdo::test::expect_error([&] { FdoCsrOwner owner(p.encode(), m_owner); }, ErrorCode::MessageBodyError);
  };
  refused({{"cacerts_file", {"missing.pem"}}});
  refused({{"sign_command", {"./missing.sh"}}});
  refused({{"ca", {"x"}}});
  refused({{"timeout", {"-5"}}});
  m_owner.ca_key = nullptr;
  refused({});
}

}  // namespace
}  // namespace fdo::fsim
