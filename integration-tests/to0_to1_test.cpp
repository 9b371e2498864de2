// TO0 and TO1 end to end with real processes: fdo-manufacturer (DI, --rv pointing at fdo-rendezvous),
// fdo-reseller extending the voucher to fdo-owner's key, `fdo-owner to0` against fdo-rendezvous, and `fdo-device to1`
// receiving exactly the addresses the owner registered, for P-256 and P-384 devices; the device's error reports
// (unregistered, expired, wrong key); a representative subset of the TO0/TO1 checklist over HTTP against the real
// rendezvous process (the unit tests cover every line at the dispatcher level); fdo-loadgen's to0 and to1.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/messages/to0.h"
#include "libfdo/messages/to1.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/storage/sqlite_store.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/rvto2addr.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::integration {
namespace {

const std::vector<std::string> kTo2Urls = {"http://127.0.0.1:8042", "http://owner.example:8443"};

// The conformance form of an FDO error (checklist "→ N").
void expect_fdo_error(const HttpResponse& r, std::uint16_t code, std::uint8_t prev) {
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("Content-Type"), std::optional<std::string>("application/cbor"));
  EXPECT_EQ(r.header("Message-Type"), std::optional<std::string>("255"));
  EXPECT_FALSE(r.header("Authorization").has_value());
  ASSERT_FALSE(r.body.empty());
  const ErrorMessage em = ErrorMessage::decode(r.body);
  EXPECT_EQ(em.em_error_code, code) << em.describe();
  EXPECT_EQ(em.em_prev_msg_id, prev) << em.describe();
}

/// A rendezvous server, a manufacturer pointing at it, and owners of each key type.
class RendezvousIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    const RunResult init =
        run_tool("fdo-manufacturer", {"init", "--dir", path("mfg"), "--key-type", "p256", "--key-type", "p384"});
    ASSERT_EQ(init.exit_code, 0) << init.describe();
  }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  void start(std::vector<std::string> rv_extra = {}) {
    std::vector<std::string> args = {"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", ""};
    args.insert(args.end(), rv_extra.begin(), rv_extra.end());
    m_rv = std::make_unique<ServerProcess>("fdo-rendezvous", args);
    m_mfg = std::make_unique<ServerProcess>(
        "fdo-manufacturer",
        std::vector<std::string>{"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--rv", m_rv->url()});
  }

  /// An owner directory with a key of `key_type`; returns the directory.
  std::string owner(const std::string& key_type) {
    const std::string dir = path("owner-" + key_type);
    const RunResult init = run_tool("fdo-owner", {"init", "--dir", dir, "--key-type", key_type});
    EXPECT_EQ(init.exit_code, 0) << init.describe();
    return dir;
  }

  /// DI for a new device; returns its GUID (hex).
  std::string device(const std::string& credential, const std::string& key_type) {
    const RunResult di = run_tool("fdo-device", {"di", "--url", m_mfg->url(), "--credential", credential, "--key-type",
                                                 key_type, "--model", "IT-RV"});
    EXPECT_EQ(di.exit_code, 0) << di.describe();
    const RunResult show = run_tool("fdo-device", {"show", "--credential", credential, "--json"});
    EXPECT_EQ(show.exit_code, 0) << show.describe();
    return Json::parse(show.out)["guid"].str();
  }

  /// The manufacturer's voucher for `guid`, extended by fdo-reseller to the owner of `owner_dir`; returns the file.
  std::string voucher_for(const std::string& guid, const std::string& key_type, const std::string& owner_dir) {
    const std::string fresh = path(guid + ".fresh.pem");
    const RunResult exported =
        run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), guid, "-o", fresh});
    EXPECT_EQ(exported.exit_code, 0) << exported.describe();
    const std::string pub = path(guid + ".owner.pub.pem");
    const RunResult pubkey = run_tool("fdo-owner", {"pubkey", "--dir", owner_dir, "-o", pub});
    EXPECT_EQ(pubkey.exit_code, 0) << pubkey.describe();
    const std::string extended = path(guid + ".voucher.pem");
    const RunResult extend =
        run_tool("fdo-reseller", {"extend", fresh, "--owner-key", path("mfg/manufacturer-" + key_type + ".key.pem"),
                                  "--next-owner", pub, "-o", extended});
    EXPECT_EQ(extend.exit_code, 0) << extend.describe();
    return extended;
  }

  RunResult owner_to0(const std::string& owner_dir, const std::string& voucher, const std::string& wait = "600") {
    std::vector<std::string> args = {"to0", "--dir", owner_dir, "--voucher", voucher, "--wait-seconds", wait, "--json"};
    for (const std::string& url : kTo2Urls) {
      args.insert(args.end(), {"--to2-url", url});
    }
    return run_tool("fdo-owner", args);
  }

  RunResult device_to1(const std::string& credential) {
    return run_tool("fdo-device", {"to1", "--credential", credential, "--json"});
  }

  /// A registered device of `key_type`: credential file, GUID, voucher file, owner directory.
  struct Registered {
    std::string credential;
    std::string guid;
    std::string voucher;
    std::string owner_dir;
  };
  Registered register_device(const std::string& key_type, const std::string& name, const std::string& wait = "600") {
    Registered r;
    r.credential = path(name + ".cred");
    r.guid = device(r.credential, key_type);
    r.owner_dir = owner(key_type);
    r.voucher = voucher_for(r.guid, key_type, r.owner_dir);
    const RunResult to0 = owner_to0(r.owner_dir, r.voucher, wait);
    EXPECT_EQ(to0.exit_code, 0) << to0.describe();
    return r;
  }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_rv;
  std::unique_ptr<ServerProcess> m_mfg;
};

// ---- The flow with the real tools ----

TEST_F(RendezvousIntegration, DeviceFindsExactlyTheAddressesTheOwnerRegistered) {
  start({"--max-wait-seconds", "3600"});
  for (const std::string key_type : {"p256", "p384"}) {
    SCOPED_TRACE(key_type);
    const std::string credential = path(key_type + ".cred");
    const std::string guid = device(credential, key_type);
    const std::string owner_dir = owner(key_type);
    const std::string voucher = voucher_for(guid, key_type, owner_dir);

    const RunResult to0 = owner_to0(owner_dir, voucher, "600");
    ASSERT_EQ(to0.exit_code, 0) << to0.describe();
    const Json registered = Json::parse(to0.out);
    EXPECT_EQ(registered["wait_seconds"][m_rv->url()].integer(), 600);
    ASSERT_EQ(registered["registrations"].size(), 1u);
    EXPECT_EQ(registered["registrations"].at(0)["guid"].str(), guid);
    EXPECT_EQ(registered["registrations"].at(0)["rendezvous"].str(), m_rv->url());

    const RunResult to1 = device_to1(credential);
    ASSERT_EQ(to1.exit_code, 0) << to1.describe();
    const Json found = Json::parse(to1.out);
    EXPECT_TRUE(found["found"].boolean());
    EXPECT_EQ(found["rendezvous"].str(), m_rv->url());
    ASSERT_EQ(found["to2_urls"].size(), kTo2Urls.size());
    for (std::size_t i = 0; i < kTo2Urls.size(); ++i) {
      EXPECT_EQ(found["to2_urls"].at(i).str(), kTo2Urls[i]);
    }
  }
}

TEST_F(RendezvousIntegration, WaitSecondsIsCappedByTheServer) {
  start({"--max-wait-seconds", "30"});
  const std::string credential = path("cap.cred");
  const std::string guid = device(credential, "p256");
  const std::string owner_dir = owner("p256");
  const RunResult to0 = owner_to0(owner_dir, voucher_for(guid, "p256", owner_dir), "4294967295");
  ASSERT_EQ(to0.exit_code, 0) << to0.describe();
  EXPECT_EQ(Json::parse(to0.out)["wait_seconds"][m_rv->url()].integer(), 30);
}

TEST_F(RendezvousIntegration, UnregisteredDeviceIsToldResourceNotFound) {
  start();
  const std::string credential = path("lonely.cred");
  device(credential, "p256");
  const RunResult to1 = device_to1(credential);
  EXPECT_EQ(to1.exit_code, 1) << to1.describe();
  EXPECT_NE(to1.err.find("RESOURCE_NOT_FOUND (6)"), std::string::npos) << to1.err;
  EXPECT_NE(to1.err.find("no registration for this device"), std::string::npos) << to1.err;
  const Json out = Json::parse(to1.out);
  EXPECT_FALSE(out["found"].boolean());
  EXPECT_EQ(out["attempts"].at(0)["error_code"].integer(), 6);
}

TEST_F(RendezvousIntegration, ExpiredRegistrationIsResourceNotFound) {
  start({"--max-wait-seconds", "2"});
  const Registered r = register_device("p256", "short", "600");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const RunResult to1 = device_to1(r.credential);
  EXPECT_EQ(to1.exit_code, 1) << to1.describe();
  EXPECT_NE(to1.err.find("RESOURCE_NOT_FOUND (6)"), std::string::npos) << to1.err;
}

TEST_F(RendezvousIntegration, DeviceWhoseKeyDoesNotMatchTheVoucherIsRefused) {
  start();
  const Registered r = register_device("p256", "real");
  // The same credential with another attestation key: its EAT cannot verify with the voucher's device certificate.
  DeviceCredential forged = DeviceCredential::decode(read_file(r.credential));
  forged.device_key_pkcs8 = crypto::PrivateKey::generate(crypto::KeyType::P256).to_pkcs8_der();
  const std::string forged_file = path("forged.cred");
  write_file_atomic(forged_file, forged.encode().view(), 0600);
  const RunResult to1 = device_to1(forged_file);
  EXPECT_EQ(to1.exit_code, 1) << to1.describe();
  EXPECT_NE(to1.err.find("INVALID_MESSAGE_ERROR (101)"), std::string::npos) << to1.err;
  EXPECT_NE(to1.err.find("refused the device's proof"), std::string::npos) << to1.err;
}

TEST_F(RendezvousIntegration, OwnerReportsTheRendezvousAndItsErrorOnFailure) {
  // Only an unrelated owner key is trusted: every registration is refused with 2.
  const std::string trusted = path("trusted");
  std::filesystem::create_directories(trusted);
  write_file_atomic(trusted + "/other.pem",
                    to_bytes(crypto::PrivateKey::generate(crypto::KeyType::P256).public_key().to_pem()), 0644);
  start({"--trust-owner-keys", trusted});
  const std::string credential = path("refused.cred");
  const std::string guid = device(credential, "p256");
  const std::string owner_dir = owner("p256");
  const RunResult to0 = owner_to0(owner_dir, voucher_for(guid, "p256", owner_dir));
  EXPECT_EQ(to0.exit_code, 1) << to0.describe();
  EXPECT_NE(to0.err.find(m_rv->url()), std::string::npos) << to0.err;
  EXPECT_NE(to0.err.find("INVALID_OWNERSHIP_VOUCHER (2)"), std::string::npos) << to0.err;
  const Json out = Json::parse(to0.out);
  EXPECT_EQ(out["registrations"].at(0)["error_code"].integer(), 2);
}

TEST_F(RendezvousIntegration, ServerStopsCleanlyOnSigtermAndKeepsRegistrations) {
  start();
  const Registered r = register_device("p256", "durable");
  EXPECT_EQ(m_rv->stop(), 0);
  m_rv = std::make_unique<ServerProcess>(
      "fdo-rendezvous",
      std::vector<std::string>{"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", ""});
  // The credential still names the old port: ask the restarted server directly.
  DeviceCredential moved = DeviceCredential::decode(read_file(r.credential));
  moved.dc_rv_info = RendezvousInfo::from_urls(m_rv->url());
  const std::string moved_file = path("moved.cred");
  write_file_atomic(moved_file, moved.encode().view(), 0600);
  const RunResult to1 = device_to1(moved_file);
  EXPECT_EQ(to1.exit_code, 0) << to1.describe();
}

// ---- The checklist over HTTP against the real rendezvous process ----

/// What the raw-HTTP tests need: a registered device's voucher, owner key and device key, in process.
class RendezvousWire : public RendezvousIntegration {
 protected:
  void SetUp() override {
    RendezvousIntegration::SetUp();
    start({"--max-wait-seconds", "3600"});
    m_device = register_device("p256", "wire");
    m_voucher = voucher::read_vouchers(read_file(m_device.voucher)).at(0).cbor;
    m_owner_key.emplace(crypto::PrivateKey::from_pem(to_string(read_file(m_device.owner_dir + "/owner.key.pem"))));
    m_credential.emplace(DeviceCredential::decode(read_file(m_device.credential)));
    m_signer = protocol::software_signer(*m_credential);
  }

  /// A TO0.OwnerSign body for `nonce`, signed by `signer` (default: the owner key).
  Bytes owner_sign(const Nonce& nonce, std::uint32_t wait = 300, const crypto::PrivateKey* signer = nullptr,
                   const std::vector<std::string>& to2_urls = kTo2Urls) const {
    const to0::To0d to0d{.ownership_voucher = m_voucher, .wait_seconds = wait, .nonce_to0_sign = nonce};
    const to0::To1dBlobPayload payload{.to1d_rv = RVTO2Addr::from_urls(to2_urls),
                                       .to1d_to0d_hash = Hash::compute(HashType::Sha256, to0d.encode())};
    const crypto::PrivateKey& key = signer != nullptr ? *signer : *m_owner_key;
    return to0::OwnerSign::make(to0d, cose::Sign1::sign(key, crypto::default_sig_alg(key.type()), payload.encode()))
        .encode();
  }
  std::pair<std::string, Nonce> hello() const {
    const HttpResponse r = post_message(m_rv->url(), 20, Bytes{0x80});
    const std::string auth = expect_ok(r, 21);
    return {auth, to0::HelloAck::decode(r.body).nonce_to0_sign};
  }
  std::pair<std::string, Nonce> hello_rv() const {
    const to1::HelloRV hello{.guid = m_credential->dc_guid, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
    const HttpResponse r = post_message(m_rv->url(), 30, hello.encode());
    const std::string auth = expect_ok(r, 31);
    return {auth, to1::HelloRVAck::decode(r.body).nonce_to1_proof};
  }

  Registered m_device;
  Bytes m_voucher;
  std::optional<crypto::PrivateKey> m_owner_key;
  std::optional<DeviceCredential> m_credential;
  std::unique_ptr<protocol::DeviceSigner> m_signer;
};

TEST_F(RendezvousWire, TO0_01_FuzzedHelloIs100) {
  expect_fdo_error(post_message(m_rv->url(), 20, Bytes{0x00}), 100, 20);
}

TEST_F(RendezvousWire, TO0_02_TO0_11_PositiveRunWithTheSameTokenThroughout) {
  const auto [auth, nonce] = hello();
  const HttpResponse r = post_message(m_rv->url(), 22, owner_sign(nonce), auth);
  EXPECT_EQ(expect_ok(r, 23), auth);
  EXPECT_EQ(to0::AcceptOwner::decode(r.body).wait_seconds, 300u);
}

TEST_F(RendezvousWire, TO0_09_WrongNonceIs101) {
  const auto [auth, nonce] = hello();
  expect_fdo_error(post_message(m_rv->url(), 22, owner_sign(Nonce::random()), auth), 101, 22);
  // TO0-13: the run's token is dead after the error.
  expect_fdo_error(post_message(m_rv->url(), 22, owner_sign(nonce), auth), 1, 22);
}

TEST_F(RendezvousWire, TO0_13_NoTokenOrAFinishedRunsTokenIs1) {
  const auto [auth, nonce] = hello();
  expect_fdo_error(post_message(m_rv->url(), 22, owner_sign(nonce)), 1, 22);
  expect_ok(post_message(m_rv->url(), 22, owner_sign(nonce), auth), 23);
  expect_fdo_error(post_message(m_rv->url(), 22, owner_sign(nonce), auth), 1, 22);
}

TEST_F(RendezvousWire, TO0_15_To1dSignedWithTheManufacturerKeyIs3) {
  const crypto::PrivateKey manufacturer =
      crypto::PrivateKey::from_pem(to_string(read_file(path("mfg/manufacturer-p256.key.pem"))));
  const auto [auth, nonce] = hello();
  const std::vector<std::string> elsewhere{"http://127.0.0.1:9999"};
  expect_fdo_error(post_message(m_rv->url(), 22, owner_sign(nonce, 300, &manufacturer, elsewhere), auth), 3, 22);
  // Nothing was registered: TO1 still answers with the owner's own registration.
  const RunResult to1 = device_to1(m_device.credential);
  ASSERT_EQ(to1.exit_code, 0) << to1.describe();
  EXPECT_EQ(Json::parse(to1.out)["to2_urls"].at(0).str(), kTo2Urls[0]);
}

TEST_F(RendezvousWire, TO0_19_HugeWaitSecondsIsCapped) {
  const auto [auth, nonce] = hello();
  const HttpResponse r = post_message(m_rv->url(), 22, owner_sign(nonce, 4294967295u), auth);
  expect_ok(r, 23);
  EXPECT_EQ(to0::AcceptOwner::decode(r.body).wait_seconds, 3600u);
}

TEST_F(RendezvousWire, TO0_20_AStrangerCannotTakeOverTheRegistration) {
  // A voucher for the same GUID extended from the manufacturer to a stranger, not through the registered owner.
  const std::string stranger_pub = path("stranger.pub.pem");
  const crypto::PrivateKey stranger = crypto::PrivateKey::generate(crypto::KeyType::P256);
  write_file_atomic(stranger_pub, to_bytes(stranger.public_key().to_pem()), 0644);
  const std::string fresh = path(m_device.guid + ".fresh.pem");
  const std::string other = path("stranger.voucher.pem");
  const RunResult extend =
      run_tool("fdo-reseller", {"extend", fresh, "--owner-key", path("mfg/manufacturer-p256.key.pem"), "--next-owner",
                                stranger_pub, "-o", other});
  ASSERT_EQ(extend.exit_code, 0) << extend.describe();
  const Bytes other_voucher = voucher::read_vouchers(read_file(other)).at(0).cbor;
  const auto [auth, nonce] = hello();
  const to0::To0d to0d{.ownership_voucher = other_voucher, .wait_seconds = 300, .nonce_to0_sign = nonce};
  const to0::To1dBlobPayload payload{.to1d_rv = RVTO2Addr::from_urls(std::vector<std::string>{"http://127.0.0.1:9999"}),
                                     .to1d_to0d_hash = Hash::compute(HashType::Sha256, to0d.encode())};
  const Bytes body =
      to0::OwnerSign::make(to0d, cose::Sign1::sign(stranger, crypto::SigAlg::ES256, payload.encode())).encode();
  expect_fdo_error(post_message(m_rv->url(), 22, body, auth), 3, 22);
  // The first registration is still served.
  const RunResult to1 = device_to1(m_device.credential);
  ASSERT_EQ(to1.exit_code, 0) << to1.describe();
  EXPECT_EQ(Json::parse(to1.out)["to2_urls"].at(0).str(), kTo2Urls[0]);
}

TEST_F(RendezvousWire, TO1_02_UnknownGuidIs6) {
  const to1::HelloRV hello{.guid = Guid::random(), .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  expect_fdo_error(post_message(m_rv->url(), 30, hello.encode()), 6, 30);
}

TEST_F(RendezvousWire, TO1_05_TO1_11_RVRedirectIsTheRegisteredTo1dByteForByte) {
  // Register by hand, keeping the exact to1d bytes sent.
  const auto [auth0, nonce0] = hello();
  const Bytes body = owner_sign(nonce0);
  expect_ok(post_message(m_rv->url(), 22, body, auth0), 23);
  const Bytes sent_to1d = to0::OwnerSign::decode(body).to1d_bytes;

  const to1::HelloRV hello{.guid = m_credential->dc_guid, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  const HttpResponse ack_response = post_message(m_rv->url(), 30, hello.encode());
  const std::string auth = expect_ok(ack_response, 31);
  const to1::HelloRVAck ack = to1::HelloRVAck::decode(ack_response.body);
  EXPECT_EQ(ack.eb_sig_info, SigInfo::for_alg(crypto::SigAlg::ES256));
  const Bytes eat = protocol::make_eat(*m_signer, ack.nonce_to1_proof, m_credential->dc_guid).encode();
  const HttpResponse r = post_message(m_rv->url(), 32, eat, auth);
  EXPECT_EQ(expect_ok(r, 33), auth);
  EXPECT_EQ(r.body, sent_to1d);
}

TEST_F(RendezvousWire, TO1_09_TO1_12_WrongNonceIs101AndTheTokenDies) {
  const auto [auth, nonce] = hello_rv();
  const Bytes bad = protocol::make_eat(*m_signer, Nonce::random(), m_credential->dc_guid).encode();
  expect_fdo_error(post_message(m_rv->url(), 32, bad, auth), 101, 32);
  const Bytes good = protocol::make_eat(*m_signer, nonce, m_credential->dc_guid).encode();
  expect_fdo_error(post_message(m_rv->url(), 32, good, auth), 1, 32);
}

TEST_F(RendezvousWire, TO1_12_TR07_NoTokenAndATo0TokenAre1) {
  const auto [auth, nonce] = hello_rv();
  const Bytes eat = protocol::make_eat(*m_signer, nonce, m_credential->dc_guid).encode();
  expect_fdo_error(post_message(m_rv->url(), 32, eat), 1, 32);
  const auto [to0_auth, to0_nonce] = hello();
  static_cast<void>(to0_nonce);
  expect_fdo_error(post_message(m_rv->url(), 32, eat, to0_auth), 1, 32);
  // The TO1 run itself is still alive: the errors above named other tokens.
  expect_ok(post_message(m_rv->url(), 32, eat, auth), 33);
  expect_fdo_error(post_message(m_rv->url(), 32, eat, auth), 1, 32);
}

TEST_F(RendezvousWire, TO1_13_EatByAnotherDeviceIs101) {
  const auto [auth, nonce] = hello_rv();
  const protocol::SoftwareSigner other(crypto::PrivateKey::generate(crypto::KeyType::P256));
  expect_fdo_error(
      post_message(m_rv->url(), 32, protocol::make_eat(other, nonce, m_credential->dc_guid).encode(), auth), 101, 32);
}

// ---- fdo-loadgen ----

TEST_F(RendezvousIntegration, LoadgenRunsTo0AndTo1AndPrintsOneJsonLineEach) {
  start();
  const RunResult to0 =
      run_tool("fdo-loadgen", {"to0", "--url", m_rv->url(), "--devices", "6", "--concurrency", "2", "--json"});
  ASSERT_EQ(to0.exit_code, 0) << to0.describe();
  const Json j0 = Json::parse(to0.out);
  EXPECT_EQ(j0["protocol"].str(), "to0");
  EXPECT_EQ(j0["errors"].integer(), 0);
  EXPECT_TRUE(j0.has("ops_per_s") && j0.has("p50_ms") && j0.has("p99_ms"));
  const RunResult to1 =
      run_tool("fdo-loadgen", {"to1", "--url", m_rv->url(), "--devices", "6", "--concurrency", "2", "--json"});
  ASSERT_EQ(to1.exit_code, 0) << to1.describe();
  const Json j1 = Json::parse(to1.out);
  EXPECT_EQ(j1["protocol"].str(), "to1");
  EXPECT_EQ(j1["errors"].integer(), 0);
}

TEST_F(RendezvousIntegration, LoadgenReportsTheStoresCommitsAndFdatasyncPerRunFromTheAdminMetrics) {
  ServerProcess rv("fdo-rendezvous",
                   {"serve", "--dir", path("rv-metrics"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                    "--purge-interval", "86400"});
  const std::string admin = rv.admin_url();
  ASSERT_FALSE(admin.empty()) << rv.log();
  const RunResult to0 = run_tool(
      "fdo-loadgen", {"to0", "--url", rv.url(), "--devices", "8", "--concurrency", "2", "--server-metrics", admin,
                      "--server-admin-token", path("rv-metrics") + "/admin-token", "--http-floor-requests", "0",
                      "--json"});
  ASSERT_EQ(to0.exit_code, 0) << to0.describe();
  const Json j = Json::parse(to0.out);
  // TO0 commits once per message (FDO 1.1 §5.3: Hello and OwnerSign); group commit may share a sync, never add one.
  EXPECT_DOUBLE_EQ(j["store_commits_per_run"].node().get<double>(), 2.0) << to0.out;
  EXPECT_GT(j["store_fdatasync_per_run"].node().get<double>(), 0.0) << to0.out;
  EXPECT_LE(j["store_fdatasync_per_run"].node().get<double>(), 2.0) << to0.out;
  const RunResult unpaired = run_tool("fdo-loadgen", {"to0", "--url", rv.url(), "--devices", "1", "--server-metrics",
                                                      admin, "--json"});
  EXPECT_EQ(unpaired.exit_code, 2) << unpaired.describe();
  EXPECT_NE(unpaired.err.find("--server-admin-token"), std::string::npos) << unpaired.err;
}

TEST_F(RendezvousIntegration, EveryAcknowledgedRegistrationSurvivesASigkillUnderLoad) {
  // Group commit (docs/adr/0006) answers TO0.AcceptOwner only once the registration's commit is on disk. fdo-loadgen
  // runs TO0 from eight threads against the real server on SQLite in the test's directory; once some registrations
  // are stored, the server is killed. Every GUID the loadgen saw acknowledged must then be registered.
  const std::string dir = path("rv-kill");
  ServerProcess rv("fdo-rendezvous", {"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", ""});
  const std::string acked = path("rv-kill.acked");
  RunResult load;
  std::thread loader([&] {
    load = run_tool("fdo-loadgen", {"to0", "--url", rv.url(), "--devices", "600", "--concurrency", "8", "--acked",
                                    acked, "--json", "--http-floor-requests", "0", "--ceiling-ms", "10"});
  });
  const auto store = storage::open_sqlite_store(dir + "/rendezvous.db");
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  bool killed = false;
  for (int i = 0; i < 1000 && !killed; ++i) {
    if (storage::read_only(*store, [&](storage::Transaction& tx) { return tx.count_rv_registrations(now()); }) >= 60) {
      rv.kill();
      killed = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  loader.join();
  ASSERT_TRUE(killed) << "the load never got far enough: " << load.describe();
  const Bytes text = read_file(acked);
  std::vector<std::string> seen;
  std::string line;
  for (const std::uint8_t c : text) {
    if (c == '\n') {
      seen.push_back(line);
      line.clear();
    } else {
      line += static_cast<char>(c);
    }
  }
  ASSERT_GE(seen.size(), 1u) << load.describe();
  EXPECT_LT(seen.size(), 600u) << "the kill came after the load";
  std::size_t lost = 0;
  for (const std::string& guid : seen) {
    const auto found = storage::read_only(
        *store, [&](storage::Transaction& tx) { return tx.get_rv_registration(Guid::from(from_hex(guid)), now()); });
    if (!found) {
      ++lost;
      ADD_FAILURE() << "acknowledged TO0 of " << guid << " has no registration after SIGKILL";
    }
  }
  EXPECT_EQ(lost, 0u);
}

}  // namespace
}  // namespace fdo::integration
