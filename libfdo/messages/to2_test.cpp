#include "libfdo/messages/to2.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/crypto/keys.h"

namespace fdo::to2 {
namespace {

using fdo::test::expect_error;

const Guid kGuid = Guid::from(from_hex("00112233445566778899aabbccddeeff"));
const Nonce kNonce = Nonce::from(from_hex("0102030405060708090a0b0c0d0e0f10"));

TEST(To2HelloDevice, EncodesTheSpecArrayAndDecodesIt) {
  const HelloDevice m{.max_device_message_size = 65535,
                      .guid = kGuid,
                      .nonce_to2_prove_ov = kNonce,
                      .kex_suite_name = "ECDH256",
                      .cipher_suite_name = 1,
                      .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  // [65535, h'0011…', h'0102…', "ECDH256", 1, [-7, h'']]
  EXPECT_EQ(to_hex(m.encode()), "8619ffff5000112233445566778899aabbccddeeff50" + to_hex(kNonce.view()) +
                                    "6745434448323536" "01" "822640");
  const HelloDevice back = HelloDevice::decode(m.encode());
  EXPECT_EQ(back.guid, kGuid);
  EXPECT_EQ(back.kex_suite_name, "ECDH256");
  EXPECT_EQ(back.cipher_suite_name, 1);
  EXPECT_EQ(back.max_device_message_size, 65535);
}

TEST(To2HelloDevice, RejectsWrongShapesWith100) {
  // TO2-01: a 5-element array, a 65536 message size, a text GUID.
  expect_error([] { HelloDevice::decode(from_hex("85" "00" "50" "00112233445566778899aabbccddeeff")); },
               ErrorCode::MessageBodyError);
  cbor::Writer w;
  w.array(6).uint(65536).bstr(kGuid.view()).bstr(kNonce.view()).tstr("ECDH256").int_(1);
  SigInfo::for_alg(crypto::SigAlg::ES256).encode(w);
  const Bytes big = std::move(w).take();
  expect_error([&] { HelloDevice::decode(big); }, ErrorCode::MessageBodyError);
}

TEST(To2ProveOVHdr, SignedHeaderCarriesExactlyTheTwoUnprotectedLabels) {
  const crypto::PrivateKey owner = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const PublicKey owner_pub = PublicKey::from_key(owner.public_key());
  const ProveOVHdrPayload payload{.ov_header = from_hex("80"),
                                  .num_ov_entries = 2,
                                  .hmac = Hash(HashType::HmacSha256, Bytes(32, 7)),
                                  .nonce_to2_prove_ov = kNonce,
                                  .eb_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256),
                                  .xa_key_exchange = Bytes(86, 1),
                                  .hello_device_hash = Hash(HashType::Sha256, Bytes(32, 9)),
                                  .max_owner_message_size = 65535};
  const Nonce dv = Nonce::random();
  const ProveOVHdr signed_message = ProveOVHdr::sign(owner, crypto::SigAlg::ES256, payload, dv, owner_pub);
  const ProveOVHdr back = ProveOVHdr::decode(signed_message.encode());
  // TO2-34: the unprotected map has exactly 256 and 257, and 257 is the owner key byte for byte.
  ASSERT_EQ(back.sign1.unprotected().size(), 2U);
  EXPECT_EQ(back.cuph_nonce, dv);
  EXPECT_EQ(back.cuph_owner_pub_key, owner_pub);
  EXPECT_TRUE(back.sign1.verify(owner.public_key()));
  EXPECT_EQ(back.payload.num_ov_entries, 2);
  EXPECT_EQ(back.payload.xa_key_exchange, Bytes(86, 1));
  EXPECT_EQ(to_hex(back.payload.hello_device_hash.value()), to_hex(Bytes(32, 9)));

  // Without the nonce header (DEV-09's "empty unprotected map") the device refuses with 100.
  const cose::Sign1 bare = cose::Sign1::sign(owner, crypto::SigAlg::ES256, payload.encode());
  expect_error([&] { ProveOVHdr::decode(bare.encode()); }, ErrorCode::MessageBodyError);
  // A SHA HMac is not an HMac (100).
  ProveOVHdrPayload bad = payload;
  bad.hmac = Hash(HashType::Sha256, Bytes(32, 7));
  const ProveOVHdr with_sha = ProveOVHdr::sign(owner, crypto::SigAlg::ES256, bad, dv, owner_pub);
  expect_error([&] { ProveOVHdr::decode(with_sha.encode()); }, ErrorCode::MessageBodyError);
}

TEST(To2GetOVNextEntry, IsOneUint8) {
  EXPECT_EQ(to_hex(GetOVNextEntry{.ov_entry_num = 3}.encode()), "8103");
  EXPECT_EQ(GetOVNextEntry::decode(from_hex("8103")).ov_entry_num, 3);
  // TO2-03: `00 00` is not the 1-element array.
  expect_error([] { GetOVNextEntry::decode(from_hex("0000")); }, ErrorCode::MessageBodyError);
  expect_error([] { GetOVNextEntry::decode(from_hex("81190100")); }, ErrorCode::MessageBodyError);
}

TEST(To2OVNextEntry, CarriesTheEntryBytesVerbatim) {
  const OVNextEntry m{.ov_entry_num = 1, .ov_entry = from_hex("d28443a10126a0420102420304")};
  EXPECT_EQ(to_hex(m.encode()), "8201d28443a10126a0420102420304");
  EXPECT_EQ(OVNextEntry::decode(m.encode()).ov_entry, m.ov_entry);
  expect_error([] { OVNextEntry::decode(from_hex("8201")); }, ErrorCode::MessageBodyError);
}

TEST(To2SetupDevice, KeepsRendezvousInfoAndOwner2KeyBytes) {
  const crypto::PrivateKey owner = crypto::PrivateKey::generate(crypto::KeyType::P384);
  const RendezvousInfo rv = RendezvousInfo::from_urls("http://127.0.0.1:8041");
  const SetupDevicePayload payload{.rendezvous_info = rv,
                                   .rendezvous_info_bytes = rv.encode(),
                                   .guid = kGuid,
                                   .nonce_to2_setup_dv = kNonce,
                                   .owner2_key = PublicKey::from_key(owner.public_key())};
  const SetupDevice m = SetupDevice::sign(owner, crypto::SigAlg::ES384, payload);
  const SetupDevice back = SetupDevice::decode(m.encode());
  EXPECT_TRUE(back.sign1.verify(owner.public_key()));
  EXPECT_EQ(back.payload.rendezvous_info_bytes, rv.encode());
  EXPECT_EQ(back.payload.owner2_key, payload.owner2_key);
  EXPECT_TRUE(offers_reuse(back.payload, kGuid, rv, payload.owner2_key));
  EXPECT_FALSE(offers_reuse(back.payload, Guid::random(), rv, payload.owner2_key));

  // An empty RendezvousInfo (fdo-rs's owner) is refused with 100 (DEV-17).
  cbor::Writer w;
  w.array(4).array(0).bstr(kGuid.view()).bstr(kNonce.view());
  payload.owner2_key.encode(w);
  const cose::Sign1 empty_rv = cose::Sign1::sign(owner, crypto::SigAlg::ES384, std::move(w).take());
  expect_error([&] { SetupDevice::decode(empty_rv.encode()); }, ErrorCode::MessageBodyError);
}

TEST(To2DeviceServiceInfoReady, NullHmacAndNullSize) {
  EXPECT_EQ(to_hex(DeviceServiceInfoReady{}.encode()), "82f6f6");
  const DeviceServiceInfoReady back = DeviceServiceInfoReady::decode(from_hex("82f6f6"));
  EXPECT_FALSE(back.replacement_hmac);
  EXPECT_FALSE(back.max_owner_service_info_sz);
  const DeviceServiceInfoReady full{.replacement_hmac = Hash(HashType::HmacSha384, Bytes(48, 1)),
                                    .max_owner_service_info_sz = 1300};
  EXPECT_EQ(DeviceServiceInfoReady::decode(full.encode()).max_owner_service_info_sz, 1300);
  // TO2-29: a SHA-256 Hash as ReplacementHMac is 100.
  const DeviceServiceInfoReady sha{.replacement_hmac = Hash(HashType::Sha256, Bytes(32, 1)),
                                   .max_owner_service_info_sz = std::nullopt};
  expect_error([&] { DeviceServiceInfoReady::decode(sha.encode()); }, ErrorCode::MessageBodyError);
}

TEST(To2ServiceInfoMessages, RoundTrip) {
  const serviceinfo::ServiceInfo kvs{serviceinfo::make_kv("devmod", "active", serviceinfo::bool_value(true))};
  const DeviceServiceInfo d{.is_more_service_info = true, .service_info = kvs};
  // [true, [["devmod:active", h'f5']]]
  EXPECT_EQ(to_hex(d.encode()), "82f581826d6465766d6f643a61637469766541f5");
  EXPECT_EQ(DeviceServiceInfo::decode(d.encode()).service_info, kvs);
  const OwnerServiceInfo o{.is_more_service_info = false, .is_done = true, .service_info = {}};
  EXPECT_EQ(to_hex(o.encode()), "83f4f580");
  EXPECT_TRUE(OwnerServiceInfo::decode(o.encode()).is_done);
  EXPECT_EQ(to_hex(OwnerServiceInfoReady{.max_device_service_info_sz = 1300}.encode()), "81190514");
  expect_error([] { DeviceServiceInfo::decode(from_hex("82f5a0")); }, ErrorCode::MessageBodyError);
}

TEST(To2Done, NonceArrays) {
  EXPECT_EQ(to_hex(Done{.nonce_to2_prove_dv = kNonce}.encode()), "8150" + to_hex(kNonce.view()));
  EXPECT_EQ(Done2::decode(Done2{.nonce_to2_setup_dv = kNonce}.encode()).nonce_to2_setup_dv, kNonce);
  // TO2-18: a body that is not [bstr16].
  expect_error([] { Done::decode(from_hex("814100")); }, ErrorCode::MessageBodyError);
}

TEST(To2ReplacementHeader, IsTheOldHeaderWithNewGuidRvInfoAndKey) {
  const crypto::PrivateKey mfg = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::PrivateKey owner = crypto::PrivateKey::generate(crypto::KeyType::P256);
  voucher::OVHeader old{.ovh_prot_ver = 101,
                        .ov_guid = kGuid,
                        .ov_rv_info = RendezvousInfo::from_urls("http://127.0.0.1:1"),
                        .ov_device_info = "model-x",
                        .ov_pub_key = PublicKey::from_key(mfg.public_key()),
                        .ov_dev_cert_chain_hash = Hash(HashType::Sha256, Bytes(32, 5))};
  const RendezvousInfo rv = RendezvousInfo::from_urls("http://127.0.0.1:2");
  const Guid fresh = Guid::random();
  const SetupDevicePayload setup{.rendezvous_info = rv,
                                 .rendezvous_info_bytes = rv.encode(),
                                 .guid = fresh,
                                 .nonce_to2_setup_dv = kNonce,
                                 .owner2_key = PublicKey::from_key(owner.public_key())};
  const voucher::OVHeader back = voucher::OVHeader::decode(replacement_header(old, setup));
  EXPECT_EQ(back.ov_guid, fresh);
  EXPECT_EQ(back.ov_rv_info, rv);
  EXPECT_EQ(back.ov_device_info, "model-x");
  EXPECT_EQ(back.ov_pub_key, setup.owner2_key);
  EXPECT_EQ(to_hex(back.ov_dev_cert_chain_hash->value()), to_hex(Bytes(32, 5)));
  // Canonical: the same as the header's own deterministic encoding.
  voucher::OVHeader expected = old;
  expected.ov_guid = fresh;
  expected.ov_rv_info = rv;
  expected.ov_pub_key = setup.owner2_key;
  EXPECT_EQ(replacement_header(old, setup), expected.encode());
}

}  // namespace
}  // namespace fdo::to2
