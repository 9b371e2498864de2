// TO1 at the rendezvous server (every TO1-* line of the conformance checklist at the dispatcher level), the EAT,
// the device's TO1 against scripted rendezvous servers (DEV-01..04, DEV-33/34) and the device's RendezvousInfo walk.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/messages/to1.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to0_owner.h"
#include "libfdo/protocol/to1_device.h"
#include "libfdo/protocol/to1_rendezvous.h"

namespace fdo::protocol {
namespace {

using testing::code_of;
using testing::credential_for;
using testing::fuzzed;
using testing::make_test_voucher;
using testing::RvServer;
using testing::ScriptedResponder;
using testing::TestVoucher;

const Guid kGuidB = Guid::from(from_hex("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"));

// Runs `f`, which must throw fdo::Error with `code`.
template <typename F>
void expect_code(F&& f, ErrorCode code) {
  try {
    f();
    ADD_FAILURE() << "no error, expected code " << static_cast<int>(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

/// A device whose voucher is registered at a rendezvous server by TO0.
class To1Test : public ::testing::Test {
 protected:
  explicit To1Test(const std::string& device_type = "p256")
      : m_voucher(make_test_voucher(device_type, device_type, 1, kGuidB)),
        m_signer(crypto::PrivateKey::from_pkcs8_der(m_voucher->fx.device.to_pkcs8_der().view())) {
    register_voucher(*m_voucher, 300);
  }

  void register_voucher(const TestVoucher& tv, std::uint32_t wait) {
    transport::LoopbackTransport loopback(m_rv.dispatcher);
    run_to0(loopback, tv.bytes, *tv.owner, testing::test_to2_addr(), wait);
  }

  /// TO1.HelloRV → the token and NonceTO1Proof.
  std::pair<std::string, Nonce> hello_rv(const Guid& guid = kGuidB) {
    const to1::HelloRV hello{.guid = guid, .ea_sig_info = SigInfo::for_alg(m_signer.sig_alg())};
    const transport::Response r = m_rv.post(30, hello.encode());
    EXPECT_EQ(r.msg_type, 31);
    return {r.token.value_or(""), to1::HelloRVAck::decode(r.body).nonce_to1_proof};
  }

  RvServer m_rv;
  std::unique_ptr<TestVoucher> m_voucher;
  SoftwareSigner m_signer;
};

// ---- The conformance checklist, TO1-01 .. TO1-15 ----

TEST_F(To1Test, TO1_01_FuzzedHelloRVIs100) {
  const Bytes body = to1::HelloRV{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)}.encode();
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_EQ(code_of(m_rv.post(30, fuzzed(body, seed)), 30), 100);
  }
}

TEST_F(To1Test, TO1_02_UnknownGuidIs6) {
  const to1::HelloRV hello{.guid = Guid::random(), .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  EXPECT_EQ(code_of(m_rv.post(30, hello.encode()), 30), 6);
}

TEST_F(To1Test, TO1_03_UndefinedSgTypeIs101) {
  for (std::int64_t sg_type : {100, 1000, 6312}) {
    cbor::Writer w;
    w.array(2).bstr(kGuidB.view()).array(2).int_(sg_type).bstr({});
    EXPECT_EQ(code_of(m_rv.post(30, w.bytes()), 30), 101) << sg_type;
  }
}

TEST_F(To1Test, TO1_04_HelloRVForARegisteredGuidIsAnsweredWithAToken) {
  const to1::HelloRV hello{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  const transport::Response r = m_rv.post(30, hello.encode());
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.msg_type, 31);
  EXPECT_TRUE(r.token.has_value());
}

TEST_F(To1Test, TO1_05_HelloRVAckEchoesTheSgTypeWithEmptyInfo) {
  const to1::HelloRV hello{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  const to1::HelloRVAck ack = to1::HelloRVAck::decode(m_rv.post(30, hello.encode()).body);
  EXPECT_EQ(ack.eb_sig_info.sg_type, DeviceSgType::StSecp256r1);
  EXPECT_TRUE(ack.eb_sig_info.info.empty());
}

TEST_F(To1Test, TO1_06_FuzzedEatPayloadValidlySignedIs100) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto [token, nonce] = hello_rv();
    const cose::Sign1 good = make_eat(m_signer, nonce, kGuidB);
    const Bytes eat =
        cose::Sign1::sign(m_voucher->fx.device, crypto::SigAlg::ES256, fuzzed(good.payload(), seed)).encode();
    EXPECT_EQ(code_of(m_rv.post(32, eat, token), 32), 100);
  }
}

TEST_F(To1Test, TO1_07_FuzzedProveToRVBodyIs100) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto [token, nonce] = hello_rv();
    EXPECT_EQ(code_of(m_rv.post(32, fuzzed(make_eat(m_signer, nonce, kGuidB).encode(), seed), token), 32), 100);
  }
}

TEST_F(To1Test, TO1_08_FuzzedEatSignatureIs101) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto [token, nonce] = hello_rv();
    testing::Sign1Parts parts = testing::Sign1Parts::of(make_eat(m_signer, nonce, kGuidB));
    parts.signature = fuzzed(parts.signature, seed);
    EXPECT_EQ(code_of(m_rv.post(32, parts.encode(), token), 32), 101);
  }
}

TEST_F(To1Test, TO1_09_FreshNonceInTheEatIs101) {
  const auto [token, nonce] = hello_rv();
  EXPECT_EQ(code_of(m_rv.post(32, make_eat(m_signer, Nonce::random(), kGuidB).encode(), token), 32), 101);
}

TEST_F(To1Test, TO1_10_RVRedirectIsATaggedSign1OverAddressAndHash) {
  const auto [token, nonce] = hello_rv();
  const transport::Response r = m_rv.post(32, make_eat(m_signer, nonce, kGuidB).encode(), token);
  ASSERT_EQ(r.msg_type, 33);
  EXPECT_EQ(r.body[0], 0xD2);  // tag 18
  const to1::RVRedirect redirect = to1::RVRedirect::decode(r.body);
  EXPECT_EQ(redirect.to1d_payload.to1d_rv, testing::test_to2_addr());
  EXPECT_EQ(redirect.to1d_payload.to1d_to0d_hash.type(), HashType::Sha256);
}

TEST_F(To1Test, TO1_11_RVRedirectIsTheStoredTo1dByteForByte) {
  const auto [token, nonce] = hello_rv();
  const transport::Response r = m_rv.post(32, make_eat(m_signer, nonce, kGuidB).encode(), token);
  ASSERT_EQ(r.msg_type, 33);
  EXPECT_EQ(r.body, m_rv.registration(kGuidB)->to1d);
}

TEST_F(To1Test, ARegistrationThatKeptTheDeviceChainStillServesTo1) {
  // Registrations stored before TO0 kept the device key hold the CBOR OVDevCertChain: TO1 reads its leaf.
  {
    auto tx = m_rv.store->begin();
    storage::RvRegistration legacy = *tx->get_rv_registration(kGuidB, m_rv.now);
    legacy.device_key = voucher::testing::chain_item(m_voucher->fx.chain);
    tx->put_rv_registration(legacy);
    tx->commit();
  }
  const auto [token, nonce] = hello_rv();
  EXPECT_EQ(m_rv.post(32, make_eat(m_signer, nonce, kGuidB).encode(), token).msg_type, 33);
}

TEST_F(To1Test, TO1_11_ANonCanonicallyEncodedTo1dIsReturnedAsRegistered) {
  // The owner's to1d with a 2-byte array head (98 04) and a 3-byte signature length (59 00 40): valid CBOR, not
  // the shortest form. The signature covers the protected header and payload only, so it still verifies; TO1
  // must hand back these bytes, never a re-encoding (FDO 1.1 §5.4.4).
  const transport::Response hello = m_rv.post(20, Bytes{0x80});
  ASSERT_EQ(hello.msg_type, 21);
  testing::OwnerSignBuilder b;
  b.voucher = m_voucher->bytes;
  b.signer = m_voucher->owner;
  b.nonce = to0::HelloAck::decode(hello.body).nonce_to0_sign;
  b.hash_type = m_voucher->hash_type();
  const testing::Sign1Parts parts = testing::Sign1Parts::of(cose::Sign1::decode(b.to1d()));
  ASSERT_EQ(parts.signature.size(), 64u);
  cbor::Writer head;
  head.tag(18);
  Bytes odd = head.bytes();
  append(odd, Bytes{0x98, 0x04});
  cbor::Writer fields;
  fields.bstr(parts.protected_bytes).map(0).bstr(parts.payload);
  append(odd, fields.bytes());
  append(odd, Bytes{0x59, 0x00, 0x40});
  append(odd, parts.signature);
  ASSERT_EQ(m_rv.post(22, b.body(odd), hello.token).msg_type, 23);

  const auto [token, nonce] = hello_rv();
  const transport::Response r = m_rv.post(32, make_eat(m_signer, nonce, kGuidB).encode(), token);
  ASSERT_EQ(r.msg_type, 33);
  EXPECT_EQ(to_hex(r.body), to_hex(odd));
}

TEST_F(To1Test, TO1_12_ProveToRVWithoutTokenWithATo0TokenOrReplayedIs1) {
  const auto [token, nonce] = hello_rv();
  const Bytes eat = make_eat(m_signer, nonce, kGuidB).encode();
  EXPECT_EQ(code_of(m_rv.post(32, eat), 32), 1);
  const transport::Response to0_hello = m_rv.post(20, Bytes{0x80});
  EXPECT_EQ(code_of(m_rv.post(32, eat, to0_hello.token), 32), 1);
  ASSERT_EQ(m_rv.post(32, eat, token).msg_type, 33);
  EXPECT_EQ(code_of(m_rv.post(32, eat, token), 32), 1);
}

TEST_F(To1Test, ErrorStringsNameNoCheckOnlyTheCodeAndACorrelationId) {
  // FDO 1.1 §5.1: a probing client learns the code, not which check failed. Failures of several checks
  // (EAT signature, EAT nonce, unknown GUID, a token of another protocol, a malformed body) all carry the generic
  // text with the message's correlation id.
  std::vector<transport::Response> answers;
  {
    const auto [token, nonce] = hello_rv();
    const SoftwareSigner other(crypto::PrivateKey::generate(crypto::KeyType::P256));
    answers.push_back(m_rv.post(32, make_eat(other, nonce, kGuidB).encode(), token));  // signature
  }
  {
    const auto [token, nonce] = hello_rv();
    answers.push_back(m_rv.post(32, make_eat(m_signer, Nonce::random(), kGuidB).encode(), token));  // nonce
  }
  answers.push_back(m_rv.post(30, to1::HelloRV{.guid = Guid::random(), .ea_sig_info = SigInfo::for_alg(m_signer.sig_alg())}
                                      .encode()));  // unknown GUID
  answers.push_back(m_rv.post(32, Bytes{0x80}, m_rv.post(20, Bytes{0x80}).token));  // a TO0 token on TO1
  answers.push_back(m_rv.post(30, Bytes{0xFF}));  // malformed
  std::set<std::uint64_t> ids;
  for (const transport::Response& r : answers) {
    ASSERT_EQ(r.msg_type, 255);
    const ErrorMessage em = ErrorMessage::decode(r.body);
    ASSERT_TRUE(em.em_error_cid.has_value());
    EXPECT_EQ(em.em_error_str, public_error_text(em.code(), *em.em_error_cid));
    for (const char* detail : {"EAT", "nonce", "NONCE", "signature", "token belongs", "registration", "GUID"}) {
      EXPECT_EQ(em.em_error_str.find(detail), std::string::npos) << em.em_error_str;
    }
    ids.insert(*em.em_error_cid);
  }
  EXPECT_EQ(ids.size(), answers.size()) << "each refusal has its own correlation id";
}

TEST_F(To1Test, TO1_13_EatForAnotherGuidOrByAnotherDeviceIs101) {
  const auto [token, nonce] = hello_rv();
  EXPECT_EQ(code_of(m_rv.post(32, make_eat(m_signer, nonce, Guid::random()).encode(), token), 32), 101);
  const auto [token2, nonce2] = hello_rv();
  const SoftwareSigner other(crypto::PrivateKey::generate(crypto::KeyType::P256));
  EXPECT_EQ(code_of(m_rv.post(32, make_eat(other, nonce2, kGuidB).encode(), token2), 32), 101);
}

// An EAT in the fdo-rs form: the GUID under claim 11, no claim 256 (docs/interop.md "eat-ueid-claim").
Bytes claim11_eat(const crypto::PrivateKey& key, const Nonce& nonce, const Guid& guid) {
  Bytes ueid{kEatRand};
  append(ueid, guid.view());
  cbor::Writer payload;
  payload.map(2).uint(10).bstr(nonce.view()).uint(11).bstr(ueid);
  return cose::Sign1::sign(key, crypto::SigAlg::ES256, payload.bytes()).encode();
}

TEST_F(To1Test, TO1_14_UeidUnderClaim11Is101ByDefault) {
  const auto [token, nonce] = hello_rv();
  EXPECT_EQ(code_of(m_rv.post(32, claim11_eat(m_voucher->fx.device, nonce, kGuidB), token), 32), 101);
}

TEST_F(To1Test, TO1_14_UeidUnderClaim11IsAcceptedOnlyWithTheQuirk) {
  m_rv.policy.leniency = Leniency({Quirk::EatUeidClaim11});
  const auto [token, nonce] = hello_rv();
  EXPECT_EQ(m_rv.post(32, claim11_eat(m_voucher->fx.device, nonce, kGuidB), token).msg_type, 33);
}

TEST_F(To1Test, TO1_15_ExpiredRegistrationIs6) {
  RendezvousPolicy policy = RvServer::default_policy();
  policy.max_wait_seconds = 2;
  RvServer rv(policy);
  transport::LoopbackTransport loopback(rv.dispatcher);
  EXPECT_EQ(run_to0(loopback, m_voucher->bytes, *m_voucher->owner, testing::test_to2_addr(), 300).wait_seconds, 2u);
  rv.now += 3;
  const to1::HelloRV hello{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  EXPECT_EQ(code_of(rv.post(30, hello.encode()), 30), 6);
}

// ---- Further rendezvous checks (FDO 1.1 §5.4.1, §5.4.3) ----

TEST_F(To1Test, SgTypeThatDoesNotSuitTheDeviceKeyOrNonEmptyInfoIs101) {
  const to1::HelloRV p384{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES384)};
  EXPECT_EQ(code_of(m_rv.post(30, p384.encode()), 30), 101);
  const to1::HelloRV rsa{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::RS256)};
  EXPECT_EQ(code_of(m_rv.post(30, rsa.encode()), 30), 101);
  to1::HelloRV info{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  info.ea_sig_info.info = Bytes{1};
  EXPECT_EQ(code_of(m_rv.post(30, info.encode()), 30), 101);
}

TEST_F(To1Test, RegistrationLapsingBetweenHelloRVAndProveToRVIs6) {
  const auto [token, nonce] = hello_rv();
  m_rv.now += 301;  // the registration (300 s) is gone; the session (TTL 300 s after HelloRV) too
  EXPECT_EQ(code_of(m_rv.post(32, make_eat(m_signer, nonce, kGuidB).encode(), token), 32), 1);
  m_rv.now -= 301;
  register_voucher(*m_voucher, 10);
  const auto [token2, nonce2] = hello_rv();
  m_rv.now += 11;
  EXPECT_EQ(code_of(m_rv.post(32, make_eat(m_signer, nonce2, kGuidB).encode(), token2), 32), 6);
}

TEST_F(To1Test, HelloRVOutOfOrderOnATo1TokenStartsANewRun) {
  // 30 always opens a new session (TR-13); 31 is not a request (TR-04).
  const auto [token, nonce] = hello_rv();
  EXPECT_EQ(code_of(m_rv.post(31, Bytes{0x80}, token), 31), 100);
}

// ---- The device's TO1 ----

TEST_F(To1Test, DEV_04_CleanTo1GivesTheOwnerAddress) {
  transport::LoopbackTransport loopback(m_rv.dispatcher);
  const DeviceCredential credential = credential_for(*m_voucher);
  const To1Result result = run_to1(loopback, credential, m_signer);
  EXPECT_EQ(result.to2_urls, std::vector<std::string>{"http://127.0.0.1:8042"});
  EXPECT_EQ(result.redirect.to1d_bytes, m_rv.registration(kGuidB)->to1d);
  // Kept for TO2: the to1d verifies with the owner key once that is known.
  EXPECT_TRUE(result.redirect.to1d.verify(m_voucher->owner->public_key()));
}

TEST(To1P384, FullTo1ForAP384Device) {
  RvServer rv;
  auto tv = make_test_voucher("p384", "p384", 2, Guid::random());
  transport::LoopbackTransport owner(rv.dispatcher);
  run_to0(owner, tv->bytes, *tv->owner, testing::test_to2_addr(9000), 60);
  const DeviceCredential credential = credential_for(*tv);
  const std::unique_ptr<DeviceSigner> signer = software_signer(credential);
  EXPECT_EQ(signer->sig_alg(), crypto::SigAlg::ES384);
  transport::LoopbackTransport device(rv.dispatcher);
  EXPECT_EQ(run_to1(device, credential, *signer).to2_urls, std::vector<std::string>{"http://127.0.0.1:9000"});
}

TEST_F(To1Test, DeviceReportsTheServersErrorWithoutAnsweringIt) {
  m_rv.now += 400;  // registration expired
  transport::LoopbackTransport loopback(m_rv.dispatcher);
  const DeviceCredential credential = credential_for(*m_voucher);
  expect_code([&] { run_to1(loopback, credential, m_signer); }, ErrorCode::ResourceNotFound);
}

TEST_F(To1Test, DeviceWhoseKeyDoesNotMatchTheVoucherIsRefused) {
  transport::LoopbackTransport loopback(m_rv.dispatcher);
  const DeviceCredential credential = credential_for(*m_voucher);
  const SoftwareSigner impostor(crypto::PrivateKey::generate(crypto::KeyType::P256));
  expect_code([&] { run_to1(loopback, credential, impostor); }, ErrorCode::InvalidMessageError);
}

/// Scripted rendezvous servers for DEV-01..04, DEV-33/34: a good HelloRVAck and RVRedirect, mutated per test.
class DeviceTo1Test : public ::testing::Test {
 protected:
  DeviceTo1Test()
      : m_voucher(make_test_voucher("p256", "p256", 1, kGuidB)),
        m_credential(credential_for(*m_voucher)),
        m_signer(software_signer(m_credential)),
        m_to1d(to1d(testing::test_to2_addr().encode())) {
    m_peer.script[30] = {31, ack(SigInfo::for_alg(crypto::SigAlg::ES256))};
    m_peer.script[32] = {33, m_to1d};
  }

  static Bytes ack(const SigInfo& eb) {
    return to1::HelloRVAck{.nonce_to1_proof = Nonce::random(), .eb_sig_info = eb}.encode();
  }
  Bytes to1d(const Bytes& addr) const {
    cbor::Writer payload;
    payload.array(2).raw(addr).raw(Hash(HashType::Sha256, Bytes(32, 3)).encode());
    return cose::Sign1::sign(*m_voucher->owner, crypto::SigAlg::ES256, payload.bytes()).encode();
  }
  /// Runs TO1 against the script; returns the error code the device stopped with (0 for success).
  int run() {
    transport::LoopbackTransport loopback(m_peer);
    try {
      run_to1(loopback, m_credential, *m_signer);
      return 0;
    } catch (const Error& e) {
      return static_cast<int>(e.code());
    }
  }
  /// The device aborted: it sent nothing after its 255, which carries `code` and answers `prev`.
  void expect_abort(int code, std::uint8_t prev) {
    ASSERT_FALSE(m_peer.received.empty());
    EXPECT_EQ(m_peer.received.back().first, 255);
    const auto em = m_peer.device_error();
    ASSERT_TRUE(em);
    EXPECT_EQ(em->em_error_code, code);
    EXPECT_EQ(em->em_prev_msg_id, prev);
  }

  std::unique_ptr<TestVoucher> m_voucher;
  DeviceCredential m_credential;
  std::unique_ptr<DeviceSigner> m_signer;
  Bytes m_to1d;
  ScriptedResponder m_peer;
};

TEST_F(DeviceTo1Test, DEV_01_FuzzedHelloRVAckAbortsWith100) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_peer.received.clear();
    m_peer.script[30].second = fuzzed(ack(SigInfo::for_alg(crypto::SigAlg::ES256)), seed);
    EXPECT_EQ(run(), 100);
    expect_abort(100, 31);
    EXPECT_EQ(m_peer.received.size(), 2u);  // HelloRV, then the 255: no ProveToRV
  }
}

TEST_F(DeviceTo1Test, DEV_02_FuzzedRVRedirectAbortsWith100) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_peer.received.clear();
    m_peer.script[32].second = fuzzed(m_to1d, seed);
    EXPECT_EQ(run(), 100);
    expect_abort(100, 33);
  }
}

TEST_F(DeviceTo1Test, DEV_03_MutatedTo1dProtectedHeaderOrPayloadAborts100) {
  const testing::Sign1Parts good = testing::Sign1Parts::of(cose::Sign1::decode(m_to1d));
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    testing::Sign1Parts bad_header = good;
    std::mt19937 rng(seed);
    bad_header.protected_bytes.assign(5 + seed * 11, 0);  // 16..49 random bytes
    for (std::uint8_t& b : bad_header.protected_bytes) {
      b = static_cast<std::uint8_t>(rng());
    }
    m_peer.received.clear();
    m_peer.script[32].second = bad_header.encode();
    EXPECT_EQ(run(), 100);
    expect_abort(100, 33);

    testing::Sign1Parts bad_payload = good;
    bad_payload.payload = fuzzed(good.payload, seed);
    m_peer.received.clear();
    m_peer.script[32].second = bad_payload.encode();
    EXPECT_EQ(run(), 100);
    expect_abort(100, 33);
  }
}

TEST_F(DeviceTo1Test, DEV_03_FuzzedTo1dSignatureIsAcceptedAtTo1AndKeptForTo2) {
  testing::Sign1Parts parts = testing::Sign1Parts::of(cose::Sign1::decode(m_to1d));
  parts.signature = fuzzed(parts.signature, 7);
  m_peer.script[32].second = parts.encode();
  transport::LoopbackTransport loopback(m_peer);
  const To1Result result = run_to1(loopback, m_credential, *m_signer);
  EXPECT_FALSE(result.redirect.to1d.verify(m_voucher->owner->public_key()));  // TO2 will refuse it (101)
  EXPECT_FALSE(m_peer.device_error());
}

TEST_F(DeviceTo1Test, DEV_04_CleanScriptedTo1SendsAValidEatAndYieldsTheAddress) {
  EXPECT_EQ(run(), 0);
  ASSERT_EQ(m_peer.received.size(), 2u);
  EXPECT_EQ(m_peer.received[1].first, 32);
  const to1::ProveToRV prove = to1::ProveToRV::decode(m_peer.received[1].second);
  const EatPayload claims = EatPayload::decode(prove.eat.payload());
  Bytes ueid{kEatRand};
  append(ueid, kGuidB.view());
  EXPECT_EQ(claims.ueid, ueid);
  EXPECT_TRUE(prove.eat.verify(m_voucher->fx.device.public_key()));
}

TEST_F(DeviceTo1Test, DEV_33_OtherSgTypeOrNonEmptyInfoAborts101) {
  m_peer.script[30].second = ack(SigInfo::for_alg(crypto::SigAlg::ES384));
  EXPECT_EQ(run(), 101);
  expect_abort(101, 31);
  m_peer.received.clear();
  SigInfo with_info = SigInfo::for_alg(crypto::SigAlg::ES256);
  with_info.info = Bytes{0x01};
  m_peer.script[30].second = ack(with_info);
  EXPECT_EQ(run(), 101);
  expect_abort(101, 31);
}

TEST_F(DeviceTo1Test, DEV_34_EmptyRvto2addrAborts100) {
  m_peer.script[32].second = to1d(Bytes{0x80});
  EXPECT_EQ(run(), 100);
  expect_abort(100, 33);
}

TEST_F(DeviceTo1Test, ServerErrorIsNotAnsweredWithA255) {
  m_peer.script[30] = {255, ErrorMessage::from_error(Error(ErrorCode::ResourceNotFound, "unknown"), 30, 1).encode()};
  EXPECT_EQ(run(), 6);
  EXPECT_FALSE(m_peer.device_error());
}

// ---- The device's RendezvousInfo walk (FDO 1.1 §3.7; docs/interop.md "rv-device-walk") ----

class FindOwnerTest : public To1Test {
 protected:
  /// A credential whose DCRVInfo is `urls`.
  DeviceCredential credential(const std::string& urls) const {
    DeviceCredential c = credential_for(*m_voucher);
    c.dc_rv_info = RendezvousInfo::from_urls(urls);
    return c;
  }
  FindOwnerOptions options() {
    FindOwnerOptions o;
    o.make_transport = [this](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
      if (url == "http://rv.good:8040") {
        return std::make_unique<transport::LoopbackTransport>(m_rv.dispatcher);
      }
      if (url == "http://rv.empty:8041") {
        return std::make_unique<transport::LoopbackTransport>(m_empty.dispatcher);
      }
      throw Error(ErrorCode::InternalServerError, "transport: cannot connect to " + url);
    };
    o.sleep = [this](std::chrono::milliseconds d) { m_sleeps.push_back(d); };
    return o;
  }

  RvServer m_empty;
  std::vector<std::chrono::milliseconds> m_sleeps;
};

TEST_F(FindOwnerTest, TriesDirectivesInOrderUntilTo1Succeeds) {
  const DeviceCredential c =
      credential("http://rv.good:8040?owner-only,http://rv.down:8049,http://rv.empty:8041,http://rv.good:8040");
  const FindOwnerResult r = find_owner(c, m_signer, options());
  ASSERT_TRUE(r.found);
  EXPECT_FALSE(r.bypass);
  EXPECT_EQ(r.rendezvous, "http://rv.good:8040");
  EXPECT_EQ(r.to2_urls, std::vector<std::string>{"http://127.0.0.1:8042"});
  ASSERT_TRUE(r.to1);
  ASSERT_EQ(r.attempts.size(), 3u);  // the owner-only directive is skipped
  EXPECT_EQ(r.attempts[0].url, "http://rv.down:8049");
  EXPECT_EQ(r.attempts[0].error_code, ErrorCode::InternalServerError);
  EXPECT_EQ(r.attempts[1].url, "http://rv.empty:8041");
  EXPECT_EQ(r.attempts[1].error_code, ErrorCode::ResourceNotFound);
  EXPECT_FALSE(r.attempts[2].error_code);
  EXPECT_TRUE(m_sleeps.empty());
}

TEST_F(FindOwnerTest, BypassDirectiveReturnsItsAddressWithoutTo1) {
  const DeviceCredential c = credential("http://rv.empty:8041,http://owner.example:8443?bypass");
  const FindOwnerResult r = find_owner(c, m_signer, options());
  ASSERT_TRUE(r.found);
  EXPECT_TRUE(r.bypass);
  EXPECT_TRUE(r.rendezvous.empty());
  EXPECT_EQ(r.to2_urls, std::vector<std::string>{"http://owner.example:8443"});
  EXPECT_FALSE(r.to1);
}

TEST_F(FindOwnerTest, BypassKeepsEveryTargetOfItsDirectiveInWalkOrder) {
  // FDO 1.1 §3.7.1: a bypass directive with a DNS name, two IPs and RVProtRest: https then http for each host,
  // DNS first; nothing is dropped.
  RendezvousDirective d;
  d.set_dns("owner.example")
      .add_ip_address(*IpAddress::parse("127.0.0.1"))
      .add_ip_address(*IpAddress::parse("::1"))
      .set_dev_port(8443)
      .set_protocol(RVProtocolValue::Rest)
      .set_flag(RVVariable::RVBypass);
  DeviceCredential c = credential_for(*m_voucher);
  c.dc_rv_info = RendezvousInfo{};
  c.dc_rv_info.add(std::move(d));
  const FindOwnerResult r = find_owner(c, m_signer, options());
  ASSERT_TRUE(r.found);
  EXPECT_TRUE(r.bypass);
  EXPECT_EQ(r.to2_urls, (std::vector<std::string>{"https://owner.example:8443", "http://owner.example:8443",
                                                  "https://127.0.0.1:8443", "http://127.0.0.1:8443",
                                                  "https://[::1]:8443", "http://[::1]:8443"}));
  EXPECT_TRUE(r.attempts.empty());  // no TO1 was attempted
}

TEST_F(FindOwnerTest, WithoutJitterTheSleepsAreExactAndDelaysAreNotCapped) {
  // FDO 1.1 §3.7: RVDelaysec has no upper bound; the retry delay after a whole walk is 120 s.
  const DeviceCredential c = credential("http://rv.down:8049?delay=10,http://rv.empty:8041?delay=5000");
  FindOwnerOptions o = options();
  o.max_rounds = 2;
  o.jitter = 0;
  const FindOwnerResult r = find_owner(c, m_signer, o);
  EXPECT_FALSE(r.found);
  EXPECT_EQ(r.attempts.size(), 4u);
  using std::chrono::milliseconds;
  EXPECT_EQ(m_sleeps, (std::vector<milliseconds>{milliseconds(10'000), milliseconds(5'000'000), milliseconds(120'000),
                                                 milliseconds(10'000), milliseconds(5'000'000)}));
}

TEST_F(FindOwnerTest, MaxDelayIsAnOptionalSafetyBound) {
  const DeviceCredential c = credential("http://rv.empty:8041?delay=5000");
  FindOwnerOptions o = options();
  o.jitter = 0;
  o.max_delay_sec = 3600;
  (void)find_owner(c, m_signer, o);
  EXPECT_EQ(m_sleeps, std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(3'600'000)});
}

TEST_F(FindOwnerTest, DelaysAreJitteredAndTheListIsRetried) {
  const DeviceCredential c = credential("http://rv.down:8049?delay=10,http://rv.empty:8041?delay=5000");
  FindOwnerOptions o = options();
  o.max_rounds = 2;
  const FindOwnerResult r = find_owner(c, m_signer, o);
  EXPECT_FALSE(r.found);
  EXPECT_EQ(r.attempts.size(), 4u);
  // Round 1: 10 s, 5000 s; then 120 s before round 2; round 2: 10 s, 5000 s; each within ±25 %.
  const std::vector<double> expected = {10, 5000, 120, 10, 5000};
  ASSERT_EQ(m_sleeps.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double ms = static_cast<double>(m_sleeps[i].count());
    EXPECT_GE(ms, expected[i] * 1000 * 0.75 - 1) << i;
    EXPECT_LE(ms, expected[i] * 1000 * 1.25 + 1) << i;
  }
}

TEST_F(FindOwnerTest, NothingFoundRecordsEveryAttempt) {
  const DeviceCredential c = credential("http://rv.empty:8041");
  const FindOwnerResult r = find_owner(c, m_signer, options());
  EXPECT_FALSE(r.found);
  ASSERT_EQ(r.attempts.size(), 1u);
  EXPECT_EQ(r.attempts[0].error_code, ErrorCode::ResourceNotFound);
}

// ---- The EAT (FDO 1.1 §3.3) ----

TEST(Eat, MakesTheCanonicalClaimMap) {
  const SoftwareSigner signer(crypto::PrivateKey::generate(crypto::KeyType::P256));
  const Nonce nonce = Nonce::from(Bytes(16, 0x11));
  const cose::Sign1 eat = make_eat(signer, nonce, kGuidB, from_hex("8140"));
  // {10: nonce, 256: h'01' || guid, -257: [h'']}
  EXPECT_EQ(to_hex(eat.payload()),
            "a30a50" + to_hex(nonce.view()) + "1901005101" + to_hex(kGuidB.view()) + "3901008140");
  EXPECT_EQ(to_hex(eat.protected_bytes()), "a10126");
  const EatPayload claims = verify_eat(eat, signer.public_key(), EatExpectation{nonce, kGuidB, crypto::SigAlg::ES256});
  EXPECT_EQ(claims.fdo, from_hex("8140"));
}

TEST(Eat, AcceptsAnyClaimOrderAndOtherClaims) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const Nonce nonce = Nonce::random();
  Bytes ueid{kEatRand};
  append(ueid, kGuidB.view());
  cbor::Writer payload;  // the C SDK's order: 256, 10, then a text-keyed claim
  payload.map(3).uint(256).bstr(ueid).uint(10).bstr(nonce.view()).tstr("x").uint(1);
  const cose::Sign1 eat = cose::Sign1::sign(key, crypto::SigAlg::ES256, payload.bytes());
  EXPECT_NO_THROW(verify_eat(eat, key.public_key(), EatExpectation{nonce, kGuidB, std::nullopt}));
}

TEST(Eat, StructureFaultsAre100AndCheckFailuresAre101) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const Nonce nonce = Nonce::random();
  auto eat_over = [&](const Bytes& payload) { return cose::Sign1::sign(key, crypto::SigAlg::ES256, payload); };
  const EatExpectation expected{nonce, kGuidB, std::nullopt};
  expect_code([&] { verify_eat(eat_over(from_hex("80")), key.public_key(), expected); }, ErrorCode::MessageBodyError);
  expect_code([&] { verify_eat(eat_over(from_hex("a20a400a40")), key.public_key(), expected); },
              ErrorCode::MessageBodyError);  // duplicate claim
  expect_code([&] { verify_eat(eat_over(from_hex("a10a01")), key.public_key(), expected); },
              ErrorCode::MessageBodyError);  // nonce not a bstr
  cbor::Writer no_ueid;
  no_ueid.map(1).uint(10).bstr(nonce.view());
  expect_code([&] { verify_eat(eat_over(no_ueid.bytes()), key.public_key(), expected); },
              ErrorCode::InvalidMessageError);
  cbor::Writer bad_prefix;
  Bytes ueid{0x02};
  append(ueid, kGuidB.view());
  bad_prefix.map(2).uint(10).bstr(nonce.view()).uint(256).bstr(ueid);
  expect_code([&] { verify_eat(eat_over(bad_prefix.bytes()), key.public_key(), expected); },
              ErrorCode::InvalidMessageError);
  // A good EAT with an alg other than the expected one.
  const SoftwareSigner signer(crypto::PrivateKey::generate(crypto::KeyType::P256));
  expect_code(
      [&] {
        verify_eat(make_eat(signer, nonce, kGuidB), signer.public_key(),
                   EatExpectation{nonce, kGuidB, crypto::SigAlg::ES384});
      },
      ErrorCode::InvalidMessageError);
}


// ---- TR-13 with the real TO1 endpoint ----

TEST_F(To1Test, TR_13_HelloRVWithAStaleTokenStartsAFreshRun) {
  const auto [stale, stale_nonce] = hello_rv();
  const to1::HelloRV hello{.guid = kGuidB, .ea_sig_info = SigInfo::for_alg(m_signer.sig_alg())};
  const transport::Response r = m_rv.post(30, hello.encode(), stale);
  ASSERT_EQ(r.msg_type, 31);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_NE(*r.token, stale);
  const Nonce fresh = to1::HelloRVAck::decode(r.body).nonce_to1_proof;
  EXPECT_NE(fresh, stale_nonce);
  EXPECT_EQ(m_rv.post(32, make_eat(m_signer, fresh, kGuidB).encode(), r.token).msg_type, 33);
}

// ---- DEV-47: answers that break the binding or the protocol order ----

/// A device transport whose answers are scripted at the HTTP level (status, Message-Type or none, body), for answers
/// no Responder can produce; records every message the device sends.
class ScriptedHttpAnswers final : public transport::RunTransport {
 public:
  std::map<std::uint8_t, transport::ClientResponse> answers;
  std::vector<std::pair<std::uint8_t, Bytes>> sent;

 protected:
  transport::ClientResponse post(std::uint8_t msg_type, ByteView body, const std::optional<std::string>&,
                                 std::optional<std::chrono::milliseconds>) override {
    sent.emplace_back(msg_type, Bytes(body.begin(), body.end()));
    if (msg_type == 255) {
      return transport::ClientResponse{200, std::nullopt, std::nullopt, std::nullopt, {}};
    }
    return answers.at(msg_type);
  }
  [[nodiscard]] std::string peer() const override { return "scripted"; }
};

transport::ClientResponse http_answer(int status, std::optional<std::uint8_t> type, Bytes body) {
  return transport::ClientResponse{status, type, std::string("Bearer scripted"), std::string("application/cbor"),
                                   std::move(body)};
}

TEST_F(DeviceTo1Test, DEV_47_OkWithoutMessageTypeAbortsTheRun) {
  // In answer to HelloRV: nothing was received, so there is no run to end with a 255.
  ScriptedHttpAnswers first;
  first.answers[30] = http_answer(200, std::nullopt, ack(SigInfo::for_alg(crypto::SigAlg::ES256)));
  expect_code([&] { run_to1(first, m_credential, *m_signer); }, ErrorCode::MessageBodyError);
  ASSERT_EQ(first.sent.size(), 1u);
  // In answer to ProveToRV: the device ends the run with its 255 (100, answering the last message received, 31).
  ScriptedHttpAnswers second;
  second.answers[30] = http_answer(200, 31, ack(SigInfo::for_alg(crypto::SigAlg::ES256)));
  second.answers[32] = http_answer(200, std::nullopt, m_to1d);
  expect_code([&] { run_to1(second, m_credential, *m_signer); }, ErrorCode::MessageBodyError);
  ASSERT_EQ(second.sent.size(), 3u);
  EXPECT_EQ(second.sent[2].first, 255);
  const ErrorMessage em = ErrorMessage::decode(second.sent[2].second);
  EXPECT_EQ(em.em_error_code, 100);
  EXPECT_EQ(em.em_prev_msg_id, 31);
}

TEST_F(DeviceTo1Test, DEV_47_UnexpectedMessageTypeAbortsTheRun) {
  // RVRedirect (33) where HelloRVAck (31) was due.
  m_peer.script[30] = {33, m_to1d};
  EXPECT_EQ(run(), 100);
  expect_abort(100, 33);
  EXPECT_EQ(m_peer.received.size(), 2u) << "HelloRV, then the 255: no ProveToRV";
}

TEST_F(DeviceTo1Test, DEV_47_ServerErrorEndsTheRunWithoutA255Back) {
  // After HelloRVAck the device has a run it could end; a server's 255 ends it already.
  m_peer.script[32] = {255, ErrorMessage::from_error(Error(ErrorCode::InvalidMessageError, "no"), 32, 1).encode()};
  EXPECT_EQ(run(), 101);
  EXPECT_FALSE(m_peer.device_error());
  ASSERT_EQ(m_peer.received.size(), 2u);
  EXPECT_EQ(m_peer.received[1].first, 32);
  // The same at the HTTP level: status 500 with Message-Type 255.
  ScriptedHttpAnswers http;
  http.answers[30] = http_answer(200, 31, ack(SigInfo::for_alg(crypto::SigAlg::ES256)));
  http.answers[32] = http_answer(500, 255, m_peer.script[32].second);
  expect_code([&] { run_to1(http, m_credential, *m_signer); }, ErrorCode::InvalidMessageError);
  ASSERT_EQ(http.sent.size(), 2u);
  EXPECT_EQ(http.sent[1].first, 32);
}

// ---- DEV-28 (the TO1 cases): unattended retry ----

/// A rendezvous server that answers each TO1 run from a list, one run per HelloRV, the last run repeating; records
/// what the device sends.
class RunByRunRendezvous final : public transport::Responder {
 public:
  /// HelloRVAck and RVRedirect bodies of each run.
  std::vector<std::pair<Bytes, Bytes>> runs;
  std::vector<std::uint8_t> received;
  std::vector<ErrorMessage> device_errors;

  transport::Response handle(const transport::Request& request) override {
    received.push_back(request.msg_type);
    if (request.msg_type == 255) {
      device_errors.push_back(ErrorMessage::decode(request.body));
      return transport::Response{255, {}, std::nullopt, 200};
    }
    if (request.msg_type == 30) {
      m_current = std::min(m_started++, runs.size() - 1);
      return transport::Response{31, runs[m_current].first, "run-" + std::to_string(m_current), 200};
    }
    return transport::Response{33, runs[m_current].second, "run-" + std::to_string(m_current), 200};
  }
  transport::Response reject(std::uint8_t msg_type, std::optional<std::string>, ErrorCode code,
                             std::string_view reason) override {
    return transport::Response{255, ErrorMessage::from_error(Error(code, std::string(reason)), msg_type, 1).encode(),
                               std::nullopt, 500};
  }

 private:
  std::size_t m_started = 0;
  std::size_t m_current = 0;
};

TEST_F(DeviceTo1Test, DEV_28_RestartsByItselfAfterEachTo1FaultUntilACleanRun) {
  const Bytes good_ack = ack(SigInfo::for_alg(crypto::SigAlg::ES256));
  testing::Sign1Parts bad_header = testing::Sign1Parts::of(cose::Sign1::decode(m_to1d));
  bad_header.protected_bytes = Bytes{0x9B, 0x17, 0x42, 0x00, 0xFF, 0x61, 0x10};
  testing::Sign1Parts bad_payload = testing::Sign1Parts::of(cose::Sign1::decode(m_to1d));
  bad_payload.payload = fuzzed(bad_payload.payload, 3);
  SigInfo with_info = SigInfo::for_alg(crypto::SigAlg::ES256);
  with_info.info = Bytes{0x01};
  RunByRunRendezvous rv;
  // DEV-01, DEV-02, DEV-03 (header, payload), DEV-33 (sgType, Info), DEV-34, then a clean run.
  rv.runs = {{fuzzed(good_ack, 1), m_to1d},
             {good_ack, fuzzed(m_to1d, 2)},
             {good_ack, bad_header.encode()},
             {good_ack, bad_payload.encode()},
             {ack(SigInfo::for_alg(crypto::SigAlg::ES384)), m_to1d},
             {ack(with_info), m_to1d},
             {good_ack, to1d(Bytes{0x80})},
             {good_ack, m_to1d}};
  const std::vector<ErrorCode> expected = {
      ErrorCode::MessageBodyError, ErrorCode::MessageBodyError,    ErrorCode::MessageBodyError,
      ErrorCode::MessageBodyError, ErrorCode::InvalidMessageError, ErrorCode::InvalidMessageError,
      ErrorCode::MessageBodyError};

  DeviceCredential credential = credential_for(*m_voucher);
  credential.dc_rv_info = RendezvousInfo::from_urls("http://rv.scripted:8040?delay=5");
  std::vector<std::chrono::milliseconds> sleeps;
  FindOwnerOptions options;
  options.max_rounds = 20;  // bounded only so that a regression fails instead of hanging
  options.make_transport = [&rv](const std::string&) -> std::unique_ptr<transport::MessageTransport> {
    return std::make_unique<transport::LoopbackTransport>(rv);
  };
  options.sleep = [&sleeps](std::chrono::milliseconds d) { sleeps.push_back(d); };
  const FindOwnerResult result = find_owner(credential, *m_signer, options);

  ASSERT_TRUE(result.found);
  EXPECT_EQ(result.to2_urls, std::vector<std::string>{"http://127.0.0.1:8042"});
  ASSERT_EQ(result.attempts.size(), expected.size() + 1);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(result.attempts[i].error_code, expected[i]) << "run " << i;
  }
  EXPECT_FALSE(result.attempts.back().error_code);
  // Every faulty run ended with the device's 255 carrying that code; the clean run sent none.
  ASSERT_EQ(rv.device_errors.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(rv.device_errors[i].code(), expected[i]) << "run " << i;
  }
  EXPECT_EQ(std::count(rv.received.begin(), rv.received.end(), std::uint8_t{30}),
            static_cast<std::ptrdiff_t>(expected.size() + 1));
  // After each failed walk: the directive's 5 s delay, then the 120 s retry delay (each ±25 %).
  ASSERT_EQ(sleeps.size(), 2 * expected.size());
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    const double want = (i % 2 == 0 ? 5 : 120) * 1000.0;
    EXPECT_GE(static_cast<double>(sleeps[i].count()), want * 0.75 - 1) << i;
    EXPECT_LE(static_cast<double>(sleeps[i].count()), want * 1.25 + 1) << i;
  }
}

}  // namespace
}  // namespace fdo::protocol
