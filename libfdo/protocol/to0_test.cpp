// TO0 at the rendezvous server (every TO0-* line of the conformance checklist at the dispatcher level) and the
// owner's TO0 client over the loopback transport.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "libfdo/core/internal/expect_error.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/messages/to0.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to0_owner.h"
#include "libfdo/protocol/to0_rendezvous.h"
#include "libfdo/voucher/extend.h"

namespace fdo::protocol {
namespace {

using testing::code_of;
using testing::fuzzed;
using testing::make_test_voucher;
using testing::OwnerSignBuilder;
using testing::RvServer;
using testing::TestVoucher;

const Guid kGuidA = Guid::from(from_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));

// A voucher whose OVGuid has 15 bytes, otherwise consistent (defined with TO0-18).
Bytes voucher_with_short_guid(const TestVoucher& tv);

class To0Test : public ::testing::Test {
 protected:
  To0Test() : m_voucher(make_test_voucher("p256", "p256", 1, kGuidA)) {}

  /// TO0.Hello: the token and NonceTO0Sign of a new run.
  std::pair<std::string, Nonce> hello(RvServer& server) {
    const transport::Response r = server.post(20, Bytes{0x80});
    EXPECT_EQ(r.msg_type, 21);
    EXPECT_TRUE(r.token.has_value());
    return {r.token.value_or(""), to0::HelloAck::decode(r.body).nonce_to0_sign};
  }
  std::pair<std::string, Nonce> hello() { return hello(m_rv); }

  OwnerSignBuilder builder(const Nonce& nonce, const TestVoucher& tv) const {
    OwnerSignBuilder b;
    b.voucher = tv.bytes;
    b.signer = tv.owner;
    b.nonce = nonce;
    b.hash_type = tv.hash_type();
    return b;
  }
  OwnerSignBuilder builder(const Nonce& nonce) const { return builder(nonce, *m_voucher); }

  /// A TO0 run whose OwnerSign is built for the run's nonce, then changed by `mutate`; the answer to 22.
  transport::Response owner_sign(RvServer& server, const std::function<void(OwnerSignBuilder&)>& mutate,
                                 const TestVoucher& tv) {
    const auto [token, nonce] = hello(server);
    OwnerSignBuilder b = builder(nonce, tv);
    mutate(b);
    return server.post(22, b.body(), token);
  }
  transport::Response owner_sign(const std::function<void(OwnerSignBuilder&)>& mutate = [](OwnerSignBuilder&) {}) {
    return owner_sign(m_rv, mutate, *m_voucher);
  }

  RvServer m_rv;
  std::unique_ptr<TestVoucher> m_voucher;
};

// ---- The conformance checklist, TO0-01 .. TO0-20 ----

TEST_F(To0Test, TO0_01_FuzzedHelloIs100) {
  const Bytes body = fuzzed(Bytes{0x80}, 1);
  ASSERT_EQ(body, Bytes{0x00});
  EXPECT_EQ(code_of(m_rv.post(20, body), 20), 100);
}

TEST_F(To0Test, TO0_02_HelloIsAnsweredWithHelloAckAndAToken) {
  const transport::Response r = m_rv.post(20, Bytes{0x80});
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.msg_type, 21);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_GE(r.token->size(), 22u);
}

TEST_F(To0Test, TO0_03_HelloAckIsA16ByteNonce) {
  const transport::Response r = m_rv.post(20, Bytes{0x80});
  ASSERT_EQ(r.msg_type, 21);
  EXPECT_EQ(r.body.size(), 18u);  // 81 50 <16 bytes>
  EXPECT_NO_THROW(to0::HelloAck::decode(r.body));
}

TEST_F(To0Test, TO0_04_FuzzedTo0dContentIs100) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const transport::Response r =
        owner_sign([&](OwnerSignBuilder& b) { b.to0d_override = fuzzed(b.to0d_bytes(), seed); });
    EXPECT_EQ(code_of(r, 22), 100);
  }
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_05_FuzzedOwnerSignBodyIs100) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto [token, nonce] = hello();
    EXPECT_EQ(code_of(m_rv.post(22, fuzzed(builder(nonce).body(), seed), token), 22), 100);
  }
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_06_FuzzedTo1dSignatureIs3) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto [token, nonce] = hello();
    const OwnerSignBuilder b = builder(nonce);
    testing::Sign1Parts parts = testing::Sign1Parts::of(cose::Sign1::decode(b.to1d()));
    parts.signature = fuzzed(parts.signature, seed);
    EXPECT_EQ(code_of(m_rv.post(22, b.body(parts.encode()), token), 22), 3);
  }
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_07_To1dAlgUnsuitedToTheOwnerKeyIs101) {
  // An ES384 header over a P-256 owner key.
  const transport::Response r = owner_sign([](OwnerSignBuilder& b) { b.header_alg = crypto::SigAlg::ES384; });
  EXPECT_EQ(code_of(r, 22), 101);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_08_WrongTo0dHashIs101) {
  // Random bytes of the same length.
  EXPECT_EQ(
      code_of(owner_sign([](OwnerSignBuilder& b) { b.hash_override = Hash(b.hash_type, random_bytes(32)).encode(); }),
              22),
      101);
  // Another hashtype whose value is not that type's hash of to0d (the conformance tool's "another hashtype"
  // variant): verified with the type it names, so refused.
  EXPECT_EQ(
      code_of(owner_sign([](OwnerSignBuilder& b) { b.hash_override = Hash(HashType::Sha384, random_bytes(48)).encode(); }),
              22),
      101);
  // An HMAC hashtype of the right length: not a digest, malformed per docs/interop.md "hashtype-strict" (100).
  EXPECT_EQ(code_of(owner_sign([](OwnerSignBuilder& b) {
                      b.hash_override = Hash(HashType::HmacSha256, random_bytes(32)).encode();
                    }),
                    22),
            100);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_09_FreshNonceInsteadOfNonceTO0SignIs101) {
  EXPECT_EQ(code_of(owner_sign([](OwnerSignBuilder& b) { b.nonce = Nonce::random(); }), 22), 101);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_10_EntryWithoutIpOrDnsIs100) {
  cbor::Writer addr;
  addr.array(1).array(4).null().null().uint(8042).uint(3);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.to2_addr = addr.bytes(); }), 22), 100);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_11_ReplyToAValidOwnerSignIsAcceptOwner) {
  const transport::Response r = owner_sign();
  ASSERT_EQ(r.msg_type, 23);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(to0::AcceptOwner::decode(r.body).wait_seconds, 300u);
}

TEST_F(To0Test, TO0_12_VoucherOfSeveralEntriesWithARandomManufacturerKeyRegisters) {
  // No trust list configured (conformance mode); a manufacturer key nobody knows; 3 to 7 entries.
  for (std::size_t entries : {3u, 5u, 7u}) {
    SCOPED_TRACE(std::to_string(entries) + " entries");
    auto tv = make_test_voucher("p256", "p256", 0, Guid::random());
    crypto::PrivateKey manufacturer = crypto::PrivateKey::generate(crypto::KeyType::P256);
    tv->fx.input.manufacturer_key = PublicKey::from_key(manufacturer.public_key());
    voucher::OwnershipVoucher ov = tv->fx.fresh();
    std::vector<crypto::PrivateKey> keys;
    keys.push_back(std::move(manufacturer));
    for (std::size_t i = 0; i < entries; ++i) {
      keys.push_back(crypto::PrivateKey::generate(crypto::KeyType::P256));
      ov = voucher::extend(ov, keys[i], PublicKey::from_key(keys[i + 1].public_key()));
    }
    tv->bytes = ov.encode();
    tv->owner = &keys.back();
    const transport::Response r = owner_sign(
        m_rv, [](OwnerSignBuilder&) {}, *tv);
    ASSERT_EQ(r.msg_type, 23) << ErrorMessage::decode(r.body).describe();
    ASSERT_TRUE(m_rv.registration(tv->guid()));
  }
}

TEST_F(To0Test, TO0_13_OwnerSignWithoutTokenOrWithAFinishedRunsTokenIs1) {
  const auto [token, nonce] = hello();
  const Bytes body = builder(nonce).body();
  EXPECT_EQ(code_of(m_rv.post(22, body), 22), 1);
  // The run above is untouched by the tokenless attempt: complete it, then replay its token.
  ASSERT_EQ(m_rv.post(22, body, token).msg_type, 23);
  EXPECT_EQ(code_of(m_rv.post(22, body, token), 22), 1);
}

TEST_F(To0Test, TO0_14_BareTo0dAndUntaggedTo1dAre100) {
  const auto [token, nonce] = hello();
  const OwnerSignBuilder b = builder(nonce);
  cbor::Writer bare;
  bare.array(2).raw(b.to0d_bytes()).raw(b.to1d());
  EXPECT_EQ(code_of(m_rv.post(22, bare.bytes(), token), 22), 100);

  const auto [token2, nonce2] = hello();
  const OwnerSignBuilder b2 = builder(nonce2);
  const Bytes to1d = b2.to1d();
  EXPECT_EQ(code_of(m_rv.post(22, b2.body(Bytes(to1d.begin() + 1, to1d.end())), token2), 22), 100);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TO0_14_BareTo0dAndUntaggedTo1dAcceptedOnlyByName) {
  m_rv.policy.leniency = Leniency({Quirk::BareTo0d, Quirk::UntaggedCose});
  const auto [token, nonce] = hello();
  const OwnerSignBuilder b = builder(nonce);
  const Bytes to1d = b.to1d();
  cbor::Writer both;
  both.array(2).raw(b.to0d_bytes()).raw(ByteView(to1d).subspan(1));
  ASSERT_EQ(m_rv.post(22, both.bytes(), token).msg_type, 23);
  // The untagged to1d is stored as received and returned as such.
  EXPECT_EQ(m_rv.registration(kGuidA)->to1d, Bytes(to1d.begin() + 1, to1d.end()));
}

TEST_F(To0Test, TO0_15_To1dSignedWithTheManufacturerKeyIs3) {
  const transport::Response r = owner_sign([&](OwnerSignBuilder& b) { b.signer = &m_voucher->fx.owners[0]; });
  EXPECT_EQ(code_of(r, 22), 3);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, To1dSignedByAnEarlierOwnerOfAResoldVoucherIs3) {
  // A voucher with two entries (manufacturer → owner 1 → owner 2): owner 1's key (entry N-2) no longer owns
  // the device, and the last entry's key is the only one that may sign to1d (FDO 1.1 §5.3.3).
  auto tv = make_test_voucher("p256", "p256", 2, Guid::random());
  const Guid guid = voucher::OwnershipVoucher::decode(tv->bytes).header().ov_guid;
  ASSERT_EQ(tv->owner, &tv->fx.owners[2]);
  EXPECT_EQ(code_of(owner_sign(
                        m_rv, [&](OwnerSignBuilder& b) { b.signer = &tv->fx.owners[1]; }, *tv),
                    22),
            3);
  EXPECT_FALSE(m_rv.registration(guid));
  EXPECT_EQ(owner_sign(
                m_rv, [](OwnerSignBuilder&) {}, *tv)
                .msg_type,
            23);
}

TEST_F(To0Test, TO0_16_FiveByteRvipIs4) {
  cbor::Writer addr;
  addr.array(1).array(4).bstr(Bytes{127, 0, 0, 1, 1}).null().uint(8042).uint(3);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.to2_addr = addr.bytes(); }), 22), 4);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, RvTo2AddrRulesAreCheckedAfterTheNonceVoucherSignatureAndHash) {
  // FDO 1.1 §5.3.3: checks run and report in order, so an earlier failing check names the code even when the
  // RVTO2Addr also breaks its rules (check 9: a 5-byte RVIP is 4).
  cbor::Writer addr;
  addr.array(1).array(4).bstr(Bytes{127, 0, 0, 1, 1}).null().uint(8042).uint(3);
  const Bytes bad_ip = addr.bytes();
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) {
                      b.to2_addr = bad_ip;
                      b.nonce = Nonce::random();
                    }),
                    22),
            101);  // check 3
  const Bytes short_guid = voucher_with_short_guid(*m_voucher);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) {
                      b.to2_addr = bad_ip;
                      b.voucher = short_guid;
                    }),
                    22),
            5);  // check 4
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) {
                      b.to2_addr = bad_ip;
                      b.signer = &m_voucher->fx.owners[0];
                    }),
                    22),
            3);  // check 7
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) {
                      b.to2_addr = bad_ip;
                      b.hash_override = Hash(HashType::Sha256, random_bytes(32)).encode();
                    }),
                    22),
            101);  // check 8
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.to2_addr = bad_ip; }), 22), 4);  // check 9
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, To1dWithANonEmptyUnprotectedHeaderIs100AndNotRegistered) {
  // FDO 1.1 §5.3.3: to1d's unprotected header is empty; every device refuses an RVRedirect with another one.
  const auto [token, nonce] = hello();
  const OwnerSignBuilder b = builder(nonce);
  const testing::Sign1Parts parts = testing::Sign1Parts::of(cose::Sign1::decode(b.to1d()));
  cbor::Writer to1d;
  to1d.tag(18).array(4).bstr(parts.protected_bytes).map(1).uint(256).bstr(Bytes(16, 1)).bstr(parts.payload).bstr(
      parts.signature);
  EXPECT_EQ(code_of(m_rv.post(22, b.body(to1d.bytes()), token), 22), 100);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, WaitSecondsZeroIs101AndNothingIsRegistered) {
  // A registration of 0 s stores nothing; answering AcceptOwner [0] would tell the owner it succeeded.
  EXPECT_EQ(code_of(owner_sign([](OwnerSignBuilder& b) { b.wait_seconds = 0; }), 22), 101);
  EXPECT_FALSE(m_rv.registration(kGuidA));
  EXPECT_EQ(owner_sign([](OwnerSignBuilder& b) { b.wait_seconds = 1; }).msg_type, 23);
}

TEST_F(To0Test, OwnerClientReportsAGrantOfZeroSecondsAsARefusal) {
  // A server of another stack that answers AcceptOwner [0]: the owner must not report a registration.
  testing::ScriptedResponder peer;
  peer.script[20] = {21, to0::HelloAck{Nonce::random()}.encode()};
  peer.script[22] = {23, to0::AcceptOwner{0}.encode()};
  transport::LoopbackTransport loopback(peer);
  try {
    run_to0(loopback, m_voucher->bytes, *m_voucher->owner, testing::test_to2_addr(), 100);
    ADD_FAILURE() << "a grant of 0 s was reported as a registration";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidMessageError) << e.what();
    EXPECT_NE(std::string(e.what()).find("0 s"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(peer.device_error()) << "23 ends the run: no 255 follows it";
}

TEST_F(To0Test, TO0_17_PortAbove65535OrProtocol7Is100) {
  cbor::Writer port;
  port.array(1).array(4).bstr(Bytes{127, 0, 0, 1}).null().uint(70000).uint(3);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.to2_addr = port.bytes(); }), 22), 100);
  cbor::Writer protocol;
  protocol.array(1).array(4).bstr(Bytes{127, 0, 0, 1}).null().uint(8042).uint(7);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.to2_addr = protocol.bytes(); }), 22), 100);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

// A voucher whose OVGuid has 15 bytes, otherwise consistent: header, HMAC, chain and one entry signed correctly.
Bytes voucher_with_short_guid(const TestVoucher& tv) {
  const voucher::testing::Fixture& fx = tv.fx;
  const Bytes guid15(15, 0x42);
  cbor::Writer header;
  header.array(6).uint(101).bstr(guid15);
  fx.input.rv_info.encode(header);
  header.tstr(fx.input.device_info);
  fx.input.manufacturer_key.encode(header);
  voucher::dev_cert_chain_hash(HashType::Sha256, fx.chain).encode(header);
  const Bytes header_bytes = header.bytes();
  const HMac hmac = fx.hmac_over(header_bytes, crypto::HashAlg::Sha256);
  const Bytes hmac_item = hmac.encode();
  voucher::OVEntryPayload payload{
      .ove_hash_prev_entry = Hash::compute(HashType::Sha256, concat(header_bytes, hmac_item)),
      .ove_hash_hdr_info = Hash::compute(HashType::Sha256, concat(guid15, to_bytes(fx.input.device_info))),
      .ove_extra = std::nullopt,
      .ove_pub_key = fx.wire_key(1)};
  const Bytes entry = voucher::testing::signed_entry(fx.owners[0], crypto::SigAlg::ES256, payload.encode());
  return voucher::testing::raw_voucher(101, header_bytes, hmac_item, voucher::testing::chain_item(fx.chain), {entry});
}

TEST_F(To0Test, TO0_18_FifteenByteGuidIs5) {
  const Bytes voucher = voucher_with_short_guid(*m_voucher);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.voucher = voucher; }), 22), 5);
  auto tx = m_rv.store->begin();
  EXPECT_EQ(tx->count_rv_registrations(m_rv.now), 0u);
}

TEST_F(To0Test, TO0_19_HugeWaitSecondsIsCappedAtTheMaximum) {
  const transport::Response r = owner_sign([](OwnerSignBuilder& b) { b.wait_seconds = 4294967295u; });
  ASSERT_EQ(r.msg_type, 23);
  EXPECT_EQ(to0::AcceptOwner::decode(r.body).wait_seconds, 3600u);
  EXPECT_EQ(m_rv.registration(kGuidA)->expires_at, m_rv.now + 3600);
}

TEST_F(To0Test, TO0_20_ReRegistrationByAnOwnerOutsideTheChainIs3AndTheFirstStays) {
  ASSERT_EQ(owner_sign().msg_type, 23);
  const Bytes first_to1d = m_rv.registration(kGuidA)->to1d;
  // Another voucher for the same GUID whose chain (fresh keys) never contains owner1.
  auto other = make_test_voucher("p256", "p256", 0, kGuidA);
  crypto::PrivateKey stranger = crypto::PrivateKey::generate(crypto::KeyType::P256);
  other->bytes =
      voucher::extend(other->fx.fresh(), other->fx.owners[0], PublicKey::from_key(stranger.public_key())).encode();
  other->owner = &stranger;
  EXPECT_EQ(code_of(owner_sign(
                        m_rv, [](OwnerSignBuilder&) {}, *other),
                    22),
            3);
  EXPECT_EQ(m_rv.registration(kGuidA)->to1d, first_to1d);
}

// ---- Further rendezvous checks (FDO 1.1 §5.3.3; docs/protocols/to0.md) ----

TEST_F(To0Test, RegistrationStoresTheTo1dBytesVoucherOwnerKeyAndDeviceChain) {
  ASSERT_EQ(owner_sign().msg_type, 23);
  const auto reg = m_rv.registration(kGuidA);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->voucher, m_voucher->bytes);
  EXPECT_EQ(reg->owner_key, m_voucher->fx.wire_key(1).encode());
  // The device key itself (SPKI DER of the chain's leaf), so that TO1 parses no certificate.
  EXPECT_EQ(reg->device_key, m_voucher->fx.device.public_key().spki_der());
  EXPECT_EQ(reg->registered_at, m_rv.now);
  EXPECT_EQ(reg->expires_at, m_rv.now + 300);
}

TEST_F(To0Test, VoucherFailingVerificationIs2) {
  // No entries: nobody owns the device yet.
  auto fresh = make_test_voucher("p256", "p256", 0, kGuidA);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.voucher = fresh->bytes; }), 22), 2);
  // A broken entry signature.
  Bytes broken = m_voucher->bytes;
  broken[broken.size() - 5] ^= 0x01;
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.voucher = broken; }), 22), 2);
  // Not a voucher at all.
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.voucher = from_hex("83010203"); }), 22), 2);
  EXPECT_FALSE(m_rv.registration(kGuidA));
}

TEST_F(To0Test, TrustListsRefuseUnknownKeysWith2AndAcceptListedOnes) {
  m_rv.policy.trusted_manufacturer_keys =
      std::vector<crypto::PublicKey>{crypto::PrivateKey::generate(crypto::KeyType::P256).public_key()};
  EXPECT_EQ(code_of(owner_sign(), 22), 2);
  m_rv.policy.trusted_manufacturer_keys->push_back(m_voucher->fx.owners[0].public_key());
  m_rv.policy.trusted_owner_keys = std::vector<crypto::PublicKey>{m_voucher->fx.owners[2].public_key()};
  EXPECT_EQ(code_of(owner_sign(), 22), 2);
  m_rv.policy.trusted_owner_keys->push_back(m_voucher->owner->public_key());
  EXPECT_EQ(owner_sign().msg_type, 23);
}

TEST_F(To0Test, SameOwnerRefreshesAndALaterOwnerInTheChainTakesOver) {
  ASSERT_EQ(owner_sign().msg_type, 23);
  m_rv.now += 10;
  ASSERT_EQ(owner_sign().msg_type, 23);
  EXPECT_EQ(m_rv.registration(kGuidA)->registered_at, m_rv.now);
  // Resale: owner1 extends to owner2, who registers; owner1's key is in the new chain.
  auto resold = make_test_voucher("p256", "p256", 2, kGuidA);
  ASSERT_EQ(owner_sign(
                m_rv, [](OwnerSignBuilder&) {}, *resold)
                .msg_type,
            23);
  EXPECT_EQ(m_rv.registration(kGuidA)->owner_key, resold->fx.wire_key(2).encode());
}

TEST_F(To0Test, AnExpiredRegistrationMayBeTakenByAnyOwner) {
  ASSERT_EQ(owner_sign([](OwnerSignBuilder& b) { b.wait_seconds = 5; }).msg_type, 23);
  m_rv.now += 6;
  auto other = make_test_voucher("p256", "p256", 0, kGuidA);
  crypto::PrivateKey stranger = crypto::PrivateKey::generate(crypto::KeyType::P256);
  other->bytes =
      voucher::extend(other->fx.fresh(), other->fx.owners[0], PublicKey::from_key(stranger.public_key())).encode();
  other->owner = &stranger;
  EXPECT_EQ(owner_sign(
                m_rv, [](OwnerSignBuilder&) {}, *other)
                .msg_type,
            23);
}

TEST_F(To0Test, NonceCheckComesBeforeTheGuidAndVoucherChecks) {
  const Bytes voucher = voucher_with_short_guid(*m_voucher);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) {
                      b.voucher = voucher;
                      b.nonce = Nonce::random();
                    }),
                    22),
            101);
}

TEST_F(To0Test, To0dHashOfEitherSha2TypeIsVerifiedWithTheTypeItNames) {
  // FDO 1.1 §5.3.3 check 8: "of the hashtype it names". A SHA-384 to0dHash on a SHA-256 voucher and a SHA-256
  // one on a SHA-384 voucher both register.
  EXPECT_EQ(owner_sign([](OwnerSignBuilder& b) { b.hash_type = HashType::Sha384; }).msg_type, 23);
  EXPECT_TRUE(m_rv.registration(kGuidA));
  auto tv = make_test_voucher("p384", "p384", 1, Guid::random());
  ASSERT_EQ(tv->hash_type(), HashType::Sha384);
  EXPECT_EQ(owner_sign(
                m_rv, [](OwnerSignBuilder& b) { b.hash_type = HashType::Sha256; }, *tv)
                .msg_type,
            23);
  EXPECT_EQ(owner_sign(
                m_rv, [](OwnerSignBuilder&) {}, *tv)
                .msg_type,
            23);
}

TEST_F(To0Test, OutOfOrderAndForeignTokensAreRefused) {
  // A TO0 token on TO1.ProveToRV is 1 (TR-07), and the TO0 run is then gone.
  const auto [token, nonce] = hello();
  EXPECT_EQ(code_of(m_rv.post(32, Bytes{0x80}, token), 32), 1);
  EXPECT_EQ(code_of(m_rv.post(22, builder(nonce).body(), token), 22), 1);
}

TEST_F(To0Test, ErrorsLeaveNoRegistrationBehind) {
  EXPECT_EQ(code_of(owner_sign([](OwnerSignBuilder& b) { b.nonce = Nonce::random(); }), 22), 101);
  EXPECT_EQ(code_of(owner_sign([&](OwnerSignBuilder& b) { b.signer = &m_voucher->fx.owners[2]; }), 22), 3);
  auto tx = m_rv.store->begin();
  EXPECT_EQ(tx->count_rv_registrations(m_rv.now), 0u);
}

// ---- Abuse limits ----

TEST(To0Limits, RateLimitPerAddressRefusesNewRunsWith500) {
  RendezvousPolicy policy = RvServer::default_policy();
  policy.rate_limit = 1;  // burst 2
  RvServer rv(policy);
  const transport::Response first = rv.post(20, Bytes{0x80}, std::nullopt, "10.0.0.1");
  EXPECT_EQ(first.msg_type, 21);
  EXPECT_EQ(rv.post(20, Bytes{0x80}, std::nullopt, "10.0.0.1").msg_type, 21);
  // Refused, even with a live run's token: that run is not touched (its next message is decoded, not refused 1).
  EXPECT_EQ(code_of(rv.post(20, Bytes{0x80}, first.token, "10.0.0.1"), 20), 500);
  EXPECT_EQ(code_of(rv.post(22, Bytes{0x80}, first.token, "10.0.0.1"), 22), 100);
  EXPECT_EQ(rv.post(20, Bytes{0x80}, std::nullopt, "10.0.0.2").msg_type, 21);  // another address
  rv.now += 1;
  EXPECT_EQ(rv.post(20, Bytes{0x80}, std::nullopt, "10.0.0.1").msg_type, 21);
}

TEST(To0Limits, RunsInProgressAreCappedAndFreedWhenARunEnds) {
  RendezvousPolicy policy = RvServer::default_policy();
  policy.max_live_sessions = 2;
  RvServer rv(policy);
  const transport::Response a = rv.post(20, Bytes{0x80});
  ASSERT_EQ(rv.post(20, Bytes{0x80}).msg_type, 21);
  EXPECT_EQ(code_of(rv.post(20, Bytes{0x80}), 20), 500);
  // Run a ends (with an error here): its slot is free again.
  EXPECT_EQ(code_of(rv.post(22, Bytes{0x80}, a.token), 22), 100);
  EXPECT_EQ(rv.post(20, Bytes{0x80}).msg_type, 21);
  // Abandoned runs stop counting after the session TTL.
  rv.now += 301;
  EXPECT_EQ(rv.post(20, Bytes{0x80}).msg_type, 21);
}

TEST(To0Limits, RunsEndedByAClient255OrAForeignTokenFreeTheirSlot) {
  // The cap counts the store's live sessions: however a run ends, its slot is free (docs/interop.md).
  RendezvousPolicy policy = RvServer::default_policy();
  policy.max_live_sessions = 1;
  RvServer rv(policy);
  const transport::Response a = rv.post(20, Bytes{0x80});
  ASSERT_EQ(a.msg_type, 21);
  EXPECT_EQ(code_of(rv.post(30, Bytes{0x80}), 30), 500);  // full
  const ErrorMessage em = ErrorMessage::from_error(Error(ErrorCode::InvalidMessageError, "device gave up"), 21, 1);
  EXPECT_EQ(rv.post(255, em.encode(), a.token).http_status, 200);
  const transport::Response b = rv.post(30, to1::HelloRV{.guid = Guid::random(),
                                                         .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)}
                                              .encode());
  EXPECT_EQ(code_of(b, 30), 6) << "admitted (then no registration for the GUID)";
  const transport::Response c = rv.post(20, Bytes{0x80});
  ASSERT_EQ(c.msg_type, 21);
  // A TO0 token on a TO1 message ends that run with 1, and frees its slot too.
  EXPECT_EQ(code_of(rv.post(32, Bytes{0x80}, c.token), 32), 1);
  EXPECT_EQ(rv.post(20, Bytes{0x80}).msg_type, 21);
}


// ---- The owner's TO0 client ----

TEST_F(To0Test, OwnerClientRegistersOverLoopback) {
  transport::LoopbackTransport loopback(m_rv.dispatcher);
  const To0Result result = run_to0(loopback, m_voucher->bytes, *m_voucher->owner, testing::test_to2_addr(8043), 600);
  EXPECT_EQ(result.guid, kGuidA);
  EXPECT_EQ(result.requested_wait_seconds, 600u);
  EXPECT_EQ(result.wait_seconds, 600u);
  const auto reg = m_rv.registration(kGuidA);
  ASSERT_TRUE(reg);
  const cose::Sign1 to1d = cose::Sign1::decode(reg->to1d);
  EXPECT_TRUE(to1d.verify(m_voucher->owner->public_key()));
  EXPECT_TRUE(to1d.unprotected().empty());
  const to0::To1dBlobPayload payload = to0::To1dBlobPayload::decode(to1d.payload());
  EXPECT_EQ(payload.to1d_rv, testing::test_to2_addr(8043));
  EXPECT_EQ(payload.to1d_to0d_hash.type(), HashType::Sha256);
}

TEST_F(To0Test, OwnerClientUsesSha384ForP384Vouchers) {
  auto tv = make_test_voucher("p384", "p384", 2, Guid::random());
  transport::LoopbackTransport loopback(m_rv.dispatcher);
  EXPECT_EQ(run_to0(loopback, tv->bytes, *tv->owner, testing::test_to2_addr(), 100).wait_seconds, 100u);
  const auto reg = m_rv.registration(tv->guid());
  ASSERT_TRUE(reg);
  const cose::Sign1 to1d = cose::Sign1::decode(reg->to1d);
  EXPECT_EQ(to1d.alg(), crypto::SigAlg::ES384);
  EXPECT_EQ(to0::To1dBlobPayload::decode(to1d.payload()).to1d_to0d_hash.type(), HashType::Sha384);
}

TEST_F(To0Test, OwnerClientRefusesAWrongKeyOrAnUnextendedVoucherBeforeSending) {
  testing::ScriptedResponder peer;
  transport::LoopbackTransport loopback(peer);
  try {
    run_to0(loopback, m_voucher->bytes, m_voucher->fx.owners[0], testing::test_to2_addr(), 100);
    ADD_FAILURE() << "a key that is not the last entry's was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidMessageError);
    EXPECT_NE(std::string(e.what()).find("last entry"), std::string::npos) << e.what();
  }
  auto fresh = make_test_voucher("p256", "p256", 0, kGuidA);
  test::expect_error([&] { (void)run_to0(loopback, fresh->bytes, fresh->fx.owners[0], testing::test_to2_addr(), 100); },
                     ErrorCode::InvalidMessageError);
  EXPECT_TRUE(peer.received.empty());
}

TEST_F(To0Test, OwnerClientReportsTheServersErrorCode) {
  m_rv.policy.trusted_owner_keys = std::vector<crypto::PublicKey>{};
  transport::LoopbackTransport loopback(m_rv.dispatcher);
  try {
    run_to0(loopback, m_voucher->bytes, *m_voucher->owner, testing::test_to2_addr(), 100);
    ADD_FAILURE() << "registration succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidOwnershipVoucher) << e.what();
  }
}

TEST_F(To0Test, OwnerClientAnswersABadHelloAckWithItsOwnErrorMessage) {
  testing::ScriptedResponder peer;
  peer.script[20] = {21, from_hex("814f" + std::string(30, '0'))};  // a 15-byte nonce
  transport::LoopbackTransport loopback(peer);
  try {
    run_to0(loopback, m_voucher->bytes, *m_voucher->owner, testing::test_to2_addr(), 100);
    ADD_FAILURE() << "a malformed HelloAck was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
  }
  const auto em = peer.device_error();
  ASSERT_TRUE(em);
  EXPECT_EQ(em->em_error_code, 100);
  EXPECT_EQ(em->em_prev_msg_id, 21);
}

TEST(To0RegisterWithAll, RegistersWithEveryOwnerRendezvousAndRecordsEachOutcome) {
  auto tv = make_test_voucher(
      "p256", "p256", 1, Guid::random(),
      "http://rv1:8040,http://rv2:8041?dev-only,http://rv3:8042?bypass,http://rv4:8043?owner-only,http://rv1:8040,"
      "http://rv5:8045");
  EXPECT_EQ(owner_rendezvous_urls(tv->bytes),
            (std::vector<std::string>{"http://rv1:8040", "http://rv4:8043", "http://rv5:8045"}));
  RvServer rv1;
  RendezvousPolicy strict = RvServer::default_policy();
  strict.trusted_owner_keys = std::vector<crypto::PublicKey>{};
  RvServer rv4(strict);
  const TransportFactory factory = [&](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
    if (url == "http://rv1:8040") {
      return std::make_unique<transport::LoopbackTransport>(rv1.dispatcher);
    }
    if (url == "http://rv4:8043") {
      return std::make_unique<transport::LoopbackTransport>(rv4.dispatcher);
    }
    throw Error(ErrorCode::InternalServerError, "transport: cannot connect to " + url);
  };
  const std::vector<RvRegistrationOutcome> out =
      register_with_all(tv->bytes, *tv->owner, testing::test_to2_addr(), 120, factory);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].rv_url, "http://rv1:8040");
  EXPECT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].wait_seconds, 120u);
  EXPECT_EQ(out[1].rv_url, "http://rv4:8043");
  EXPECT_FALSE(out[1].ok());
  EXPECT_EQ(out[1].error_code, ErrorCode::InvalidOwnershipVoucher);
  EXPECT_EQ(out[2].error_code, ErrorCode::InternalServerError);
  EXPECT_TRUE(rv1.registration(tv->guid()));
}

TEST(To0RegisterWithAll, AVoucherWithoutAnOwnerRendezvousIsRefused) {
  auto tv = make_test_voucher("p256", "p256", 1, Guid::random(), "http://rv1:8040?dev-only");
  const std::string what = test::expect_error(
      [&] { (void)register_with_all(tv->bytes, *tv->owner, testing::test_to2_addr(), 120, {}); },
      ErrorCode::InvalidMessageError);
  EXPECT_NE(what.find("names no rendezvous server"), std::string::npos) << what;
}

// ---- TR-13 with the real TO0 endpoint ----

TEST_F(To0Test, TR_13_HelloWithAStaleTokenStartsAFreshRun) {
  const auto [stale, stale_nonce] = hello();
  const transport::Response r = m_rv.post(20, Bytes{0x80}, stale);
  ASSERT_EQ(r.msg_type, 21);
  ASSERT_TRUE(r.token.has_value());
  EXPECT_NE(*r.token, stale);
  const Nonce fresh = to0::HelloAck::decode(r.body).nonce_to0_sign;
  EXPECT_NE(fresh, stale_nonce);
  EXPECT_EQ(m_rv.post(22, builder(fresh).body(), r.token).msg_type, 23);
}

// ---- Checklist section 5: the conformance tools' bad vouchers at TO0.OwnerSign (OV-01..OV-15 → 2) ----
// Each voucher is consistent (header HMAC, entry hash links, signatures) except for the one mutation named, like the
// tools build them; the to1d is signed by the voucher's last owner key, so only the voucher can be refused.

/// The items of an OVHeader as written, to replace one of them.
struct HeaderItems {
  Bytes version = cbor::encode_uint(101);
  Bytes guid;
  Bytes rv;
  Bytes device_info;
  Bytes pub_key;
  Bytes chain_hash;

  [[nodiscard]] Bytes encode() const {
    cbor::Writer w;
    w.array(6).raw(version).raw(guid).raw(rv).raw(device_info).raw(pub_key).raw(chain_hash);
    return std::move(w).take();
  }
};

/// The parts of a voucher before its entries, as written.
struct VoucherParts {
  std::uint64_t prot_ver = 101;
  /// OVHeader bytes (the bstr content).
  Bytes header;
  /// OVHeaderHMac item.
  Bytes hmac;
  /// OVDevCertChain item.
  Bytes chain;
  /// What OVEHashHdrInfo hashes: OVGuid ‖ OVDeviceInfo.
  Bytes hdr_info;
  /// The OVHeaderHMac item entry 0 links to, when it is not `hmac` (OV-07: the HMAC replaced afterwards).
  std::optional<Bytes> linked_hmac;
};

/// One entry of a hand-built chain: OVEPubKey as written, the key signing the entry, and faults to build in.
struct HandEntry {
  Bytes next_key;
  const crypto::PrivateKey* signer = nullptr;
  /// OVEHashPrevEntry item instead of the hash of the previous bytes.
  std::optional<Bytes> hash_prev;
  /// OVEHashHdrInfo item instead of the hash of VoucherParts::hdr_info.
  std::optional<Bytes> hash_hdr_info;
  /// Fuzz the signature bytes after signing, with this seed.
  std::optional<std::uint32_t> fuzz_signature_seed;
};

HandEntry hand_entry(Bytes next_key, const crypto::PrivateKey& signer) {
  HandEntry e;
  e.next_key = std::move(next_key);
  e.signer = &signer;
  return e;
}

/// A SHA-256 chain (the P-256 test voucher's family): every entry links to the bytes written before it, so a fault
/// in one entry is not also a broken link in the next (as a forger would have to build it).
Bytes hand_voucher(const VoucherParts& p, const std::vector<HandEntry>& entries) {
  std::vector<Bytes> written;
  Bytes prev = concat(p.header, p.linked_hmac.value_or(p.hmac));
  for (const HandEntry& e : entries) {
    cbor::Writer payload;
    payload.array(4)
        .raw(e.hash_prev.value_or(Hash::compute(HashType::Sha256, prev).encode()))
        .raw(e.hash_hdr_info.value_or(Hash::compute(HashType::Sha256, p.hdr_info).encode()))
        .null()
        .raw(e.next_key);
    Bytes entry =
        voucher::testing::signed_entry(*e.signer, crypto::default_sig_alg(e.signer->type()), payload.bytes());
    if (e.fuzz_signature_seed) {
      testing::Sign1Parts parts = testing::Sign1Parts::of(cose::Sign1::decode(entry));
      parts.signature = fuzzed(parts.signature, *e.fuzz_signature_seed);
      entry = parts.encode();
    }
    prev = entry;
    written.push_back(std::move(entry));
  }
  return voucher::testing::raw_voucher(p.prot_ver, p.header, p.hmac, p.chain, written);
}

/// A PublicKey item from its three parts, to write encodings PublicKey refuses to make.
Bytes public_key_item(std::uint64_t pk_type, std::uint64_t pk_enc, ByteView body) {
  cbor::Writer w;
  w.array(3).uint(pk_type).uint(pk_enc).bstr(body);
  return std::move(w).take();
}

class To0BadVoucher : public To0Test {
 protected:
  [[nodiscard]] const voucher::testing::Fixture& fx() const { return m_voucher->fx; }

  [[nodiscard]] HeaderItems header_items() const {
    HeaderItems h;
    h.guid = cbor::encode_bstr(fx().input.guid.view());
    h.rv = fx().input.rv_info.encode();
    h.device_info = cbor::encode_tstr(fx().input.device_info);
    h.pub_key = fx().input.manufacturer_key.encode();
    h.chain_hash = voucher::dev_cert_chain_hash(HashType::Sha256, fx().chain).encode();
    return h;
  }
  [[nodiscard]] Bytes hdr_info(std::string_view device_info) const {
    return concat(fx().input.guid.view(), to_bytes(device_info));
  }
  /// A consistent voucher start for `header`: its HMAC under the device's secret, the device chain.
  [[nodiscard]] VoucherParts parts(const Bytes& header, Bytes info) const {
    VoucherParts p;
    p.header = header;
    p.hmac = fx().hmac_over(header, crypto::HashAlg::Sha256).encode();
    p.chain = voucher::testing::chain_item(fx().chain);
    p.hdr_info = std::move(info);
    return p;
  }
  [[nodiscard]] VoucherParts good_parts() const { return parts(header_items().encode(), hdr_info(fx().input.device_info)); }
  /// manufacturer → owner1 → owner2: two entries; owner2 is the current owner.
  [[nodiscard]] std::vector<HandEntry> two_entries() const {
    return {hand_entry(fx().wire_key(1).encode(), fx().owners[0]), hand_entry(fx().wire_key(2).encode(), fx().owners[1])};
  }
  [[nodiscard]] const crypto::PrivateKey& owner() const { return fx().owners[2]; }

  /// A TO0 run whose OwnerSign carries `voucher` with a to1d signed by `signer`: the error code, 0 for AcceptOwner.
  int code_for(const Bytes& voucher, const crypto::PrivateKey& signer) {
    const transport::Response r = owner_sign([&](OwnerSignBuilder& b) {
      b.voucher = voucher;
      b.signer = &signer;
    });
    return r.msg_type == 23 ? 0 : code_of(r, 22);
  }
  /// OwnerSign with `voucher` → 2, and nothing registered.
  void expect_refused(const Bytes& voucher, const std::string& what, const crypto::PrivateKey* signer = nullptr) {
    EXPECT_EQ(code_for(voucher, signer != nullptr ? *signer : owner()), 2) << what;
    EXPECT_FALSE(m_rv.registration(kGuidA)) << what;
  }
};

TEST_F(To0BadVoucher, HandBuiltVoucherWithoutAFaultRegisters) {
  // The builder itself makes a valid voucher: the refusals below come from their mutation alone.
  EXPECT_EQ(code_for(hand_voucher(good_parts(), two_entries()), owner()), 0);
  EXPECT_TRUE(m_rv.registration(kGuidA));
}

TEST_F(To0BadVoucher, OV_01_HeaderProtocolVersionFrom105To10000Is2) {
  std::mt19937 rng(1);
  const std::uint64_t drawn = std::uniform_int_distribution<std::uint64_t>(105, 10000)(rng);
  for (const std::uint64_t version : {std::uint64_t{105}, drawn, std::uint64_t{10000}}) {
    HeaderItems h = header_items();
    h.version = cbor::encode_uint(version);
    expect_refused(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()),
                   "OVHProtVer " + std::to_string(version));
  }
}

TEST_F(To0BadVoucher, OV_02_EmptyRendezvousInfoIs2) {
  HeaderItems h = header_items();
  h.rv = Bytes{0x80};
  expect_refused(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()), "OVRVInfo []");
}

TEST_F(To0BadVoucher, OV_03_EmptyDeviceInfoIs2) {
  HeaderItems h = header_items();
  h.device_info = cbor::encode_tstr("");
  expect_refused(hand_voucher(parts(h.encode(), hdr_info("")), two_entries()), "OVDeviceInfo \"\"");
}

TEST_F(To0BadVoucher, OV_04_ManufacturerKeyWithRandomBodyOtherEncodingOrOtherTypeIs2) {
  const Bytes der = fx().owners[0].public_key().spki_der();
  for (const auto& [what, key] : {std::pair{std::string("random body"), public_key_item(10, 1, random_bytes(91))},
                                  std::pair{std::string("pkEnc X5CHAIN"), public_key_item(10, 2, der)},
                                  std::pair{std::string("pkEnc COSEKEY"), public_key_item(10, 3, der)},
                                  std::pair{std::string("pkType SECP384R1"), public_key_item(11, 1, der)}}) {
    HeaderItems h = header_items();
    h.pub_key = key;
    expect_refused(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()),
                   "OVPubKey " + what);
  }
}

TEST_F(To0BadVoucher, OV_05_CertChainHashOfRandomBytesOrAnotherHashTypeIs2) {
  for (const Hash& hash : {Hash(HashType::Sha256, random_bytes(32)), Hash(HashType::Sha384, random_bytes(48))}) {
    HeaderItems h = header_items();
    h.chain_hash = hash.encode();
    expect_refused(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()),
                   std::string("OVDevCertChainHash ") + std::string(hash_type_name(hash.type())));
  }
}

TEST_F(To0BadVoucher, OV_06_FuzzedHeaderBytesAre2) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    // HMAC and entry 0's link are computed over the fuzzed bytes: only the header itself is wrong.
    const Bytes header = fuzzed(header_items().encode(), seed);
    expect_refused(hand_voucher(parts(header, hdr_info(fx().input.device_info)), two_entries()),
                   "seed " + std::to_string(seed));
  }
}

TEST_F(To0BadVoucher, OV_07_RandomOrOtherTypeHeaderHmacIs2) {
  for (const Hash& hmac : {Hash(HashType::HmacSha256, random_bytes(32)), Hash(HashType::HmacSha384, random_bytes(48))}) {
    VoucherParts p = good_parts();
    p.linked_hmac = p.hmac;
    p.hmac = hmac.encode();
    expect_refused(hand_voucher(p, two_entries()), std::string("OVHeaderHMac ") + std::string(hash_type_name(hmac.type())));
    // The tool's variant also swaps the first two device certificates.
    p.chain = voucher::testing::chain_item({fx().chain[1], fx().chain[0]});
    expect_refused(hand_voucher(p, two_entries()), "and the device certificates swapped");
  }
}

TEST_F(To0BadVoucher, OV_08_VoucherProtocolVersionFrom105To10000Is2) {
  for (const std::uint64_t version : {105u, 4242u, 10000u}) {
    VoucherParts p = good_parts();
    p.prot_ver = version;
    expect_refused(hand_voucher(p, two_entries()), "OVProtVer " + std::to_string(version));
  }
}

TEST_F(To0BadVoucher, OV_09_FuzzedExtraCertificateInTheChainIs2) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    VoucherParts p = good_parts();
    p.chain = voucher::testing::chain_item({fx().chain[0], fx().chain[1], fuzzed(fx().chain[1], seed)});
    expect_refused(hand_voucher(p, two_entries()), "seed " + std::to_string(seed));
  }
}

TEST_F(To0BadVoucher, OV_10_VoucherWithoutEntriesIs2) {
  expect_refused(hand_voucher(good_parts(), {}), "no entries", &fx().owners[0]);
}

TEST_F(To0BadVoucher, OV_11_WrongHdrInfoHashFromAnEntryOnIs2) {
  for (std::size_t from = 0; from < 2; ++from) {
    std::vector<HandEntry> entries = two_entries();
    for (std::size_t i = from; i < entries.size(); ++i) {
      entries[i].hash_hdr_info = Hash(HashType::Sha256, random_bytes(32)).encode();
    }
    expect_refused(hand_voucher(good_parts(), entries), "from entry " + std::to_string(from));
  }
}

TEST_F(To0BadVoucher, OV_12_WrongPrevEntryHashIs2) {
  for (std::size_t i = 0; i < 2; ++i) {
    std::vector<HandEntry> entries = two_entries();
    entries[i].hash_prev = Hash(HashType::Sha256, random_bytes(32)).encode();
    expect_refused(hand_voucher(good_parts(), entries), "entry " + std::to_string(i));
  }
}

TEST_F(To0BadVoucher, OV_13_P384OwnerKeysFromAnEntryOnInAP256ChainAre2) {
  const crypto::PrivateKey p384_a = voucher::testing::test_key("owner1-p384");
  const crypto::PrivateKey p384_b = voucher::testing::test_key("owner2-p384");
  const Bytes key_a = PublicKey::from_key(p384_a.public_key()).encode();
  const Bytes key_b = PublicKey::from_key(p384_b.public_key()).encode();
  // From entry 0: manufacturer → P-384 a → P-384 b, every signature valid for its key.
  expect_refused(hand_voucher(good_parts(), {hand_entry(key_a, fx().owners[0]), hand_entry(key_b, p384_a)}),
                 "from entry 0", &p384_b);
  // From entry 1: manufacturer → owner1 → P-384 b.
  expect_refused(hand_voucher(good_parts(), {hand_entry(fx().wire_key(1).encode(), fx().owners[0]),
                                             hand_entry(key_b, fx().owners[1])}),
                 "from entry 1", &p384_b);
}

TEST_F(To0BadVoucher, OV_14_FuzzedEntrySignatureIs2) {
  for (std::size_t i = 0; i < 2; ++i) {
    std::vector<HandEntry> entries = two_entries();
    entries[i].fuzz_signature_seed = static_cast<std::uint32_t>(i + 1);
    expect_refused(hand_voucher(good_parts(), entries), "entry " + std::to_string(i));
  }
}

TEST_F(To0BadVoucher, OV_15_MutatedNextOwnerKeyIs2) {
  const Bytes der = fx().owners[1].public_key().spki_der();
  for (const auto& [what, key] : {std::pair{std::string("random body"), public_key_item(10, 1, random_bytes(91))},
                                  std::pair{std::string("pkEnc COSEKEY"), public_key_item(10, 3, der)},
                                  std::pair{std::string("pkType SECP384R1"), public_key_item(11, 1, der)}}) {
    std::vector<HandEntry> entries = two_entries();
    entries[0].next_key = key;
    expect_refused(hand_voucher(good_parts(), entries), "OVEPubKey " + what);
  }
}

}  // namespace
}  // namespace fdo::protocol
