#include "libfdo/fsim/asym_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/core/random.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/transfer_test_support.h"

namespace fdo::fsim {
namespace {

namespace fs = std::filesystem;

class AsymKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("fdo-ak-" + to_hex(random_bytes(6)));
    fs::create_directories(m_dir / "root");
    m_device.root = m_dir / "root";
    make_ca(crypto::KeyType::P256);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void make_ca(crypto::KeyType type) {
    m_ca_key = std::make_unique<crypto::PrivateKey>(crypto::PrivateKey::generate(type));
    m_owner.ca_key = m_ca_key.get();
    m_owner.ca_cert = crypto::make_self_signed(
        *m_ca_key, crypto::CertificateProfile{.common_name = "Device CA", .organization = "Test", .is_ca = true});
    m_owner.plan_dir = m_dir;
  }
  testing::Exchange run(serviceinfo::ModuleParams::Values params, std::size_t mtu = serviceinfo::kDefaultMtu) {
    serviceinfo::OwnerRegistry registry;
    register_owner_modules(registry, m_owner);
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::make_unique<AsymKeyDevice>(m_device));
    const serviceinfo::Plan plan{{testing::step(std::string(kAsymKey), std::move(params))}};
    return testing::exchange(std::move(modules), registry, plan, mtu, mtu);
  }
  /// A run against `device` that must fail.
  testing::Failure fail_with(std::unique_ptr<serviceinfo::DeviceModule> device,
                             serviceinfo::ModuleParams::Values params) {
    serviceinfo::OwnerRegistry registry;
    register_owner_modules(registry, m_owner);
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::move(device));
    const serviceinfo::Plan plan{{testing::step(std::string(kAsymKey), std::move(params))}};
    return testing::failed_exchange(std::move(modules), registry, plan);
  }
  [[nodiscard]] std::string text(const fs::path& p) const {
    const Bytes b = read_file(p);
    return {b.begin(), b.end()};
  }
  /// The installed slot's certificate verifies under the owner's CA and carries the slot's private key.
  void expect_installed(std::uint64_t slot) {
    const fs::path dir = m_device.root / AsymKeyDevice::slot_dir(slot);
    const crypto::PrivateKey key = crypto::PrivateKey::from_pem(text(dir / "key.pem"));
    const std::vector<crypto::Certificate> certs = crypto::Certificate::from_pem_all(text(dir / "cert.pem"));
    ASSERT_EQ(certs.size(), 1U);
    EXPECT_TRUE(certs[0].is_signed_by(*m_owner.ca_cert));
    EXPECT_TRUE(crypto::verify_chain({certs[0]}, {*m_owner.ca_cert}).ok);
    EXPECT_TRUE(certs[0].public_key().same_key(key.public_key()));
    struct stat st {};
    ASSERT_EQ(::stat((dir / "key.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U);
  }
  struct Status {
    std::uint64_t slot = 0;
    std::int64_t code = -1;
  };
  static std::vector<Status> statuses(const std::deque<serviceinfo::OutboxEntry>& queue) {
    std::vector<Status> out;
    for (const serviceinfo::OutboxEntry& e : queue) {
      if (e.kv.key != "AsymKey:status") {
        continue;
      }
      cbor::Reader r(e.kv.value, "status");
      r.read_array("");
      Status s;
      s.slot = r.read_uint("slot");
      s.code = r.read_int("code");
      out.push_back(s);
    }
    return out;
  }

  fs::path m_dir;
  DeviceContext m_device;
  OwnerContext m_owner;
  std::unique_ptr<crypto::PrivateKey> m_ca_key;
};

TEST_F(AsymKeyTest, EnrolsAP256KeyUnderTheOwnersCaAtBothMtus) {
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    const std::uint64_t slot = mtu == 1300 ? 1 : 2;
    const testing::Exchange e = run({{"slot", {std::to_string(slot)}}, {"subject", {"CN=sensor-7"}}}, mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kAsymKey);
    EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
    EXPECT_EQ(o.summary, "slot " + std::to_string(slot) + " certificate installed (CN=sensor-7)") << o.summary;
    expect_installed(slot);
    const std::vector<crypto::Certificate> chain =
        crypto::Certificate::from_pem_all(text(m_device.root / AsymKeyDevice::slot_dir(slot) / "chain.pem"));
    ASSERT_EQ(chain.size(), 1U);
    EXPECT_EQ(chain[0].der(), m_owner.ca_cert->der());
  }
}

TEST_F(AsymKeyTest, LargeRsaCsrCertificateAndChainTravelInPartsAtBothMtus) {
  make_ca(crypto::KeyType::Rsa3072);
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    const testing::Exchange e = run({{"curve", {"rsa3072"}}, {"slot", {"3"}}}, mtu);
    EXPECT_NE(testing::outcome_of(e, kAsymKey).summary.find("certificate installed"), std::string::npos);
    expect_installed(3);
    const std::vector<crypto::Certificate> certs =
        crypto::Certificate::from_pem_all(text(m_device.root / "asymkey/3/cert.pem"));
    EXPECT_GT(certs.at(0).der().size(), kMaxPart);  // so the cert did cross in parts
    EXPECT_GT(m_owner.ca_cert->der().size(), kMaxPart);
  }
}

/// Answers gen with a good CSR of a key of its own and never answers the certificate.
class CsrOnlyDevice final : public serviceinfo::DeviceModule {
 public:
  [[nodiscard]] std::string_view name() const override { return kAsymKey; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override {
    (void)value;
    if (message == "gen") {
      cbor::Writer w;
      w.array(3).uint(0).tstr("secp256r1").bstr(crypto::make_csr(m_key, "silent"));
      out.send("csr", std::move(w).take());
    }
  }

 private:
  crypto::PrivateKey m_key = crypto::PrivateKey::generate(crypto::KeyType::P256);
};

TEST_F(AsymKeyTest, ADeviceThatNeverSendsItsCsrFailsTheOwnerAtItsDeadline) {
  const testing::Failure f = fail_with(
      std::make_unique<testing::ScriptedDevice>(std::string(kAsymKey), std::vector<std::pair<std::string, Bytes>>{}),
      {{"timeout", {"0"}}});
  EXPECT_EQ(f.code, ErrorCode::InternalServerError);
  EXPECT_NE(f.what.find("AsymKey: slot 0: no csr from the device within 0 s"), std::string::npos) << f.what;
  const serviceinfo::ModuleOutcome o = testing::outcome_of(f.exchange, kAsymKey);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Failed);
  EXPECT_NE(o.error.find("no csr from the device within 0 s"), std::string::npos) << o.error;
  EXPECT_EQ(o.summary, "slot 0: no csr from the device within 0 s");
}

TEST_F(AsymKeyTest, ADeviceThatNeverAnswersTheCertificateFailsTheOwnerAtItsDeadline) {
  const testing::Failure f = fail_with(std::make_unique<CsrOnlyDevice>(), {{"timeout", {"0"}}});
  EXPECT_EQ(f.code, ErrorCode::InternalServerError);
  const serviceinfo::ModuleOutcome o = testing::outcome_of(f.exchange, kAsymKey);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Failed);
  EXPECT_NE(o.error.find("no status from the device within 0 s"), std::string::npos) << o.error;
}

TEST_F(AsymKeyTest, TheDeadlineTravelsInTheSavedStateAndIsCheckedByAnotherProcess) {
  const serviceinfo::ModuleParams p("AsymKey", {{"timeout", {"0"}}});
  AsymKeyOwner first(p.encode(), m_owner);
  ASSERT_EQ(first.produce(1000).kvs.size(), 1U);  // gen: the wait starts
  AsymKeyOwner other(p.encode(), m_owner);
  other.restore(first.save());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  fdo::test::expect_error([&] { (void)other.produce(1000); }, ErrorCode::InternalServerError);
  // With the default timeout the restored module goes on waiting.
  const serviceinfo::ModuleParams patient("AsymKey", {});
  AsymKeyOwner waiting(patient.encode(), m_owner);
  (void)waiting.produce(1000);
  AsymKeyOwner later(patient.encode(), m_owner);
  later.restore(waiting.save());
  const serviceinfo::Produced out = later.produce(1000);
  EXPECT_FALSE(out.done);
  EXPECT_TRUE(out.kvs.empty());
}

TEST_F(AsymKeyTest, AnRsa3072CsrAndAChainOfSeveralRsa3072CertificatesCrossMtus1300And8192) {
  // An external CA whose chain has five RSA-3072 certificates, the issuing one first: openssl signs the CSR with it.
  const testing::RsaChain chain = testing::rsa_chain(5);
  std::string chain_pem;
  for (const crypto::Certificate& c : chain.certs) {
    chain_pem += c.to_pem();
  }
  const std::string issuing_pem = chain.certs.front().to_pem();
  write_file_atomic(m_dir / "issuing.pem",
                    ByteView(reinterpret_cast<const std::uint8_t*>(issuing_pem.data()), issuing_pem.size()));
  write_file_atomic(m_dir / "issuing.key", chain.key.to_pem().view());
  write_file_atomic(m_dir / "chain.pem",
                    ByteView(reinterpret_cast<const std::uint8_t*>(chain_pem.data()), chain_pem.size()));
  std::ofstream(m_dir / "sign.sh") << "#!/bin/sh\nset -e\nd=$(dirname \"$0\")\n"
                                      "openssl req -inform DER -outform PEM > \"$d/req.pem\"\n"
                                      "openssl x509 -req -in \"$d/req.pem\" -CA \"$d/issuing.pem\" -CAkey "
                                      "\"$d/issuing.key\" -set_serial 9 -days 30 2>/dev/null\ncat \"$d/chain.pem\"\n";
  fs::permissions(m_dir / "sign.sh", fs::perms::owner_all);
  std::size_t chain_bytes = 0;
  for (const crypto::Certificate& c : chain.certs) {
    EXPECT_GT(c.der().size(), kMaxPart);  // every certificate crosses in parts
    chain_bytes += c.der().size();
  }
  EXPECT_GT(chain_bytes, std::size_t{5000});
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    SCOPED_TRACE(mtu);
    const std::uint64_t slot = mtu == 1300 ? 5 : 6;
    const testing::Exchange e =
        run({{"curve", {"rsa3072"}}, {"slot", {std::to_string(slot)}}, {"sign_command", {"./sign.sh"}}}, mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kAsymKey);
    EXPECT_EQ(o.state, serviceinfo::ModuleState::Done) << o.error;
    EXPECT_NE(o.summary.find("certificate installed"), std::string::npos) << o.summary;
    const fs::path dir = m_device.root / AsymKeyDevice::slot_dir(slot);
    const crypto::Certificate leaf = crypto::Certificate::from_pem_all(text(dir / "cert.pem")).at(0);
    EXPECT_TRUE(leaf.public_key().same_key(crypto::PrivateKey::from_pem(text(dir / "key.pem")).public_key()));
    EXPECT_EQ(leaf.public_key().type(), crypto::KeyType::Rsa3072);
    const std::vector<crypto::Certificate> stored = crypto::Certificate::from_pem_all(text(dir / "chain.pem"));
    ASSERT_EQ(stored.size(), chain.certs.size());
    std::vector<crypto::Certificate> path{leaf};
    for (std::size_t i = 0; i < stored.size(); ++i) {
      EXPECT_EQ(stored[i].der(), chain.certs[i].der()) << i;
      path.push_back(stored[i]);
    }
    EXPECT_TRUE(crypto::verify_chain(path).ok);
  }
}

TEST_F(AsymKeyTest, AnExternalSignCommandIssuesTheCertificate) {
  // openssl as the external CA: CSR DER on stdin, certificate PEM on stdout.
  const std::string ca_pem = m_owner.ca_cert->to_pem();
  write_file_atomic(m_dir / "ca.pem", ByteView(reinterpret_cast<const std::uint8_t*>(ca_pem.data()), ca_pem.size()));
  write_file_atomic(m_dir / "ca.key", m_ca_key->to_pem().view());
  std::ofstream(m_dir / "sign.sh") << "#!/bin/sh\nset -e\nd=$(dirname \"$0\")\n"
                                      "openssl req -inform DER -outform PEM > \"$d/req.pem\"\n"
                                      "openssl x509 -req -in \"$d/req.pem\" -CA \"$d/ca.pem\" -CAkey \"$d/ca.key\" "
                                      "-set_serial 7 -days 30 2>/dev/null\ncat \"$d/ca.pem\"\n";
  fs::permissions(m_dir / "sign.sh", fs::perms::owner_all);
  m_owner.ca_key = nullptr;
  m_owner.ca_cert.reset();
  const crypto::Certificate ca = crypto::Certificate::from_pem_all(ca_pem).at(0);
  const testing::Exchange e = run({{"sign_command", {"./sign.sh"}}, {"slot", {"0"}}});
  EXPECT_NE(testing::outcome_of(e, kAsymKey).summary.find("certificate installed"), std::string::npos)
      << testing::outcome_of(e, kAsymKey).summary;
  m_owner.ca_cert = ca;
  expect_installed(0);
}

TEST_F(AsymKeyTest, AFailingSignCommandIsRecordedAndNothingIsInstalled) {
  std::ofstream(m_dir / "fail.sh") << "#!/bin/sh\necho 'CA offline' >&2\nexit 3\n";
  fs::permissions(m_dir / "fail.sh", fs::perms::owner_all);
  const testing::Exchange e = run({{"sign_command", {"./fail.sh"}}});
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kAsymKey);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
  EXPECT_NE(o.summary.find("exited with 3: CA offline"), std::string::npos) << o.summary;
  EXPECT_FALSE(fs::exists(m_device.root / "asymkey"));
}

TEST_F(AsymKeyTest, ACsrWhoseSignatureIsWrongGetsNoCertificate) {
  const serviceinfo::ModuleParams p("AsymKey", {});
  AsymKeyOwner owner(p.encode(), m_owner);
  EXPECT_EQ(owner.produce(1000).kvs.size(), 1U);  // gen
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  Bytes csr = crypto::make_csr(key, "dev");
  csr[csr.size() - 3] ^= 0x01;  // inside the signature
  cbor::Writer w;
  w.array(3).uint(0).tstr("secp256r1").bstr(csr);
  owner.on_message("csr", std::move(w).take());
  const serviceinfo::Produced out = owner.produce(1000);
  EXPECT_TRUE(out.done);
  EXPECT_TRUE(out.kvs.empty());
  EXPECT_TRUE(owner.issued().empty());
  EXPECT_NE(owner.summary().find("CSR signature does not verify"), std::string::npos) << owner.summary();
}

TEST_F(AsymKeyTest, ACsrOfAnotherCurveGetsNoCertificate) {
  const serviceinfo::ModuleParams p("AsymKey", {{"curve", {"secp384r1"}}});
  AsymKeyOwner owner(p.encode(), m_owner);
  (void)owner.produce(1000);
  cbor::Writer w;
  w.array(3).uint(0).tstr("secp384r1").bstr(
      crypto::make_csr(crypto::PrivateKey::generate(crypto::KeyType::P256), "dev"));
  owner.on_message("csr", std::move(w).take());
  EXPECT_TRUE(owner.produce(1000).done);
  EXPECT_NE(owner.summary().find("p256 key, p384 was asked for"), std::string::npos) << owner.summary();
}

TEST_F(AsymKeyTest, TheOwnerRejectsMalformedDeviceMessages) {
  const serviceinfo::ModuleParams p("AsymKey", {});
  AsymKeyOwner owner(p.encode(), m_owner);
  (void)owner.produce(1000);
  fdo::test::expect_error([&] { owner.on_message("csr", serviceinfo::bstr_value(Bytes{1, 2})); },
                          ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { owner.on_message("status", serviceinfo::tstr_value("ok")); },
                          ErrorCode::MessageBodyError);
  cbor::Writer w;
  w.array(3).uint(9).tstr("secp256r1").bstr(Bytes{1});
  fdo::test::expect_error([&] { owner.on_message("csr", std::move(w).take()); }, ErrorCode::InvalidMessageError);
}

TEST_F(AsymKeyTest, TheOwnerRefusesBadParametersAtLoad) {
  const auto refused = [&](serviceinfo::ModuleParams::Values v) {
    const serviceinfo::ModuleParams p("AsymKey", std::move(v));
    return fdo::test::expect_error([&] { AsymKeyOwner owner(p.encode(), m_owner); }, ErrorCode::MessageBodyError);
  };
  refused({{"curve", {"ed25519"}}});
  refused({{"slot", {"256"}}});
  refused({{"subject", {"O=no-cn"}}});
  refused({{"sign_command", {"./missing.sh"}}});
  refused({{"colour", {"blue"}}});
  refused({{"timeout", {"-1"}}});
  m_owner.ca_key = nullptr;
  EXPECT_NE(refused({}).find("no device-application CA"), std::string::npos);
}

TEST_F(AsymKeyTest, TheDeviceAnswersBadRequestsWithTheirStatusAndWritesNothing) {
  AsymKeyDevice device(m_device);
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out("AsymKey", queue);
  const auto gen = [](std::uint64_t slot, std::string_view curve) {
    cbor::Writer w;
    w.array(2).uint(slot).tstr(curve);
    return std::move(w).take();
  };
  device.on_message("gen", serviceinfo::tstr_value("secp256r1"), out);  // wrong type: 1
  device.on_message("gen", gen(0, "ed25519"), out);                      // unsupported curve: 2
  device.on_message("gen", gen(300, "secp256r1"), out);                  // slot too high: 1
  const crypto::Certificate other = crypto::issue_certificate(
      *m_ca_key, *m_owner.ca_cert, crypto::PrivateKey::generate(crypto::KeyType::P256).public_key(),
      crypto::CertificateProfile{.common_name = "x", .organization = ""});
  cbor::Writer cert;
  cert.array(2).uint(4).bstr(other.der());
  const Bytes cert_for_4 = std::move(cert).take();
  device.on_message("cert", cert_for_4, out);                            // no pending key: 5
  device.on_message("frobnicate", serviceinfo::uint_value(1), out);      // unknown: 1
  device.on_message("gen", gen(4, "secp256r1"), out);                    // csr, no status
  device.on_message("cert", cert_for_4, out);                            // another key's certificate: 4
  cbor::Writer chain;
  chain.array(4).uint(4).uint(0).uint(1).bstr(other.der());  // not the leaf's issuer
  device.on_message("chain", std::move(chain).take(), out);
  cbor::Writer cert2;
  cert2.array(2).uint(4).bstr(Bytes{0x30, 0x00});
  device.on_message("cert", std::move(cert2).take(), out);              // not a certificate: 1
  const std::vector<Status> s = statuses(queue);
  const std::vector<std::int64_t> codes{1, 2, 1, 5, 1, 4, 1};
  ASSERT_EQ(s.size(), codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    EXPECT_EQ(s[i].code, codes[i]) << i;
  }
  EXPECT_FALSE(fs::exists(m_device.root / "asymkey"));
}

TEST_F(AsymKeyTest, AWrongChainIsRefusedWithCode7) {
  AsymKeyDevice device(m_device);
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out("AsymKey", queue);
  cbor::Writer g;
  g.array(2).uint(0).tstr("secp256r1");
  device.on_message("gen", std::move(g).take(), out);
  ASSERT_EQ(queue.size(), 1U);
  cbor::Reader r(queue[0].kv.value, "csr");
  r.read_array("");
  (void)r.read_uint("slot");
  (void)r.read_tstr("curve");
  const crypto::CertificateRequest csr = crypto::parse_csr(r.read_bstr("pkcs10"));
  const crypto::Certificate leaf = crypto::issue_certificate(*m_ca_key, *m_owner.ca_cert, csr.public_key,
                                                             crypto::CertificateProfile{.common_name = "d", .organization = ""});
  const crypto::PrivateKey stranger = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::Certificate wrong_ca = crypto::make_self_signed(
      stranger, crypto::CertificateProfile{.common_name = "Device CA", .organization = "Test", .is_ca = true});
  cbor::Writer c;
  c.array(4).uint(0).uint(0).uint(1).bstr(wrong_ca.der());
  device.on_message("chain", std::move(c).take(), out);
  cbor::Writer l;
  l.array(2).uint(0).bstr(leaf.der());
  device.on_message("cert", std::move(l).take(), out);
  const std::vector<Status> s = statuses(queue);
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].code, 7);
  EXPECT_FALSE(fs::exists(m_device.root / "asymkey"));
}

TEST_F(AsymKeyTest, ASlotOutsideTheRootIsAStorageErrorAndNothingIsWrittenThere) {
  fs::create_directories(m_dir / "elsewhere");
  fs::create_directory_symlink(m_dir / "elsewhere", m_device.root / "asymkey");
  const testing::Exchange e = run({});
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kAsymKey);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
  EXPECT_NE(o.summary.find("device status 6"), std::string::npos) << o.summary;
  EXPECT_TRUE(fs::is_empty(m_dir / "elsewhere"));
}

}  // namespace
}  // namespace fdo::fsim
