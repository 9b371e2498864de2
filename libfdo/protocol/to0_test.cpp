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
#include "libfdo/protocol/bad_voucher_test_support.h"
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
// Each voucher (bad_voucher_test_support.h) is consistent except for the one mutation named; the to1d is signed by the
// voucher's last owner key, so only the voucher can be refused.
class To0BadVoucher : public To0Test {
 protected:
  /// A TO0 run whose OwnerSign carries `voucher` with a to1d signed by `signer`: the error code, 0 for AcceptOwner.
  int code_for(const Bytes& voucher, const crypto::PrivateKey& signer) {
    const transport::Response r = owner_sign([&](OwnerSignBuilder& b) {
      b.voucher = voucher;
      b.signer = &signer;
    });
    return r.msg_type == 23 ? 0 : code_of(r, 22);
  }
  /// Every bad voucher of line `id` at OwnerSign → 2, and nothing registered.
  void expect_refused(std::string_view id) {
    const std::vector<testing::BadVoucher> bad = m_bad.make(id);
    ASSERT_FALSE(bad.empty()) << id;
    for (const testing::BadVoucher& b : bad) {
      EXPECT_EQ(code_for(b.voucher, *b.owner), 2) << id << ": " << b.what;
      EXPECT_FALSE(m_rv.registration(kGuidA)) << id << ": " << b.what;
    }
  }

  testing::BadVouchers m_bad{m_voucher->fx};
};

TEST_F(To0BadVoucher, HandBuiltVoucherWithoutAFaultRegisters) {
  // The builder itself makes a valid voucher: the refusals below come from their mutation alone.
  const testing::BadVoucher good = m_bad.good();
  EXPECT_EQ(code_for(good.voucher, *good.owner), 0);
  EXPECT_TRUE(m_rv.registration(kGuidA));
}

TEST_F(To0BadVoucher, OV_01_HeaderProtocolVersionFrom105To10000Is2) { expect_refused("OV-01"); }
TEST_F(To0BadVoucher, OV_02_EmptyRendezvousInfoIs2) { expect_refused("OV-02"); }
TEST_F(To0BadVoucher, OV_03_EmptyDeviceInfoIs2) { expect_refused("OV-03"); }
TEST_F(To0BadVoucher, OV_04_ManufacturerKeyWithRandomBodyOtherEncodingOrOtherTypeIs2) { expect_refused("OV-04"); }
TEST_F(To0BadVoucher, OV_05_CertChainHashOfRandomBytesOrAnotherHashTypeIs2) { expect_refused("OV-05"); }
TEST_F(To0BadVoucher, OV_06_FuzzedHeaderBytesAre2) { expect_refused("OV-06"); }
TEST_F(To0BadVoucher, OV_07_RandomOrOtherTypeHeaderHmacIs2) { expect_refused("OV-07"); }
TEST_F(To0BadVoucher, OV_08_VoucherProtocolVersionFrom105To10000Is2) { expect_refused("OV-08"); }
TEST_F(To0BadVoucher, OV_09_FuzzedExtraCertificateInTheChainIs2) { expect_refused("OV-09"); }
TEST_F(To0BadVoucher, OV_10_VoucherWithoutEntriesIs2) { expect_refused("OV-10"); }
TEST_F(To0BadVoucher, OV_11_WrongHdrInfoHashFromAnEntryOnIs2) { expect_refused("OV-11"); }
TEST_F(To0BadVoucher, OV_12_WrongPrevEntryHashIs2) { expect_refused("OV-12"); }
TEST_F(To0BadVoucher, OV_13_P384OwnerKeysFromAnEntryOnInAP256ChainAre2) { expect_refused("OV-13"); }
TEST_F(To0BadVoucher, OV_14_FuzzedEntrySignatureIs2) { expect_refused("OV-14"); }
TEST_F(To0BadVoucher, OV_15_MutatedNextOwnerKeyIs2) { expect_refused("OV-15"); }

}  // namespace
}  // namespace fdo::protocol
