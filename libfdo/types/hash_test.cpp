#include "libfdo/types/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo {
namespace {

using test::expect_error;

// FIPS 180-2 "abc" digests and RFC 4231 test case 1 (key 0x0b × 20, data "Hi There").
const char* kSha256Abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const char* kSha384Abc =
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7";
const char* kHmac256 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
const char* kHmac384 =
    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6";

TEST(Hash, ComputesAndEncodesAsTheSpecShows) {
  // FDO 1.1 §3.3: a SHA-256 Hash is 82 2F 58 20 <32 bytes>; an HMAC-SHA256 is 82 05 58 20 <32 bytes>.
  const Hash sha256 = Hash::compute(HashType::Sha256, to_bytes("abc"));
  EXPECT_EQ(to_hex(sha256.encode()), std::string("822f5820") + kSha256Abc);
  const Hash sha384 = Hash::compute(HashType::Sha384, to_bytes("abc"));
  EXPECT_EQ(to_hex(sha384.encode()), std::string("82382a5830") + kSha384Abc);
  const SecretBytes key(Bytes(20, 0x0b));
  EXPECT_EQ(to_hex(Hash::compute_hmac(HashType::HmacSha256, key, to_bytes("Hi There")).encode()),
            std::string("82055820") + kHmac256);
  EXPECT_EQ(to_hex(Hash::compute_hmac(HashType::HmacSha384, key, to_bytes("Hi There")).encode()),
            std::string("82065830") + kHmac384);
}

TEST(Hash, MatchesAndVerifiesInConstantTimeHelpers) {
  const Hash sha = Hash::compute(HashType::Sha384, to_bytes("header"));
  EXPECT_TRUE(sha.matches(to_bytes("header")));
  EXPECT_FALSE(sha.matches(to_bytes("headeR")));
  EXPECT_FALSE(sha.verify_hmac(SecretBytes(Bytes(32, 1)), to_bytes("header")));
  const SecretBytes key(Bytes(32, 7));
  const HMac mac = Hash::compute_hmac(HashType::HmacSha256, key, to_bytes("OVHeader bytes"));
  EXPECT_TRUE(mac.verify_hmac(key, to_bytes("OVHeader bytes")));
  EXPECT_FALSE(mac.verify_hmac(SecretBytes(Bytes(32, 8)), to_bytes("OVHeader bytes")));
  EXPECT_FALSE(mac.verify_hmac(key, to_bytes("OVHeader byteS")));
  EXPECT_FALSE(mac.matches(to_bytes("OVHeader bytes")));
}

TEST(Hash, DecodeRoundTripsAndRejectsOtherTypesAndLengths) {
  const Bytes good = from_hex(std::string("822f5820") + kSha256Abc);
  EXPECT_EQ(Hash::decode(good).encode(), good);
  EXPECT_EQ(Hash::decode(good).hex(), kSha256Abc);
  const std::string value32 = std::string("5820") + kSha256Abc;
  const char* bad_types[] = {"8207", "82382b", "8200", "8220"};  // 7, -44, 0, -1
  for (const char* type : bad_types) {
    SCOPED_TRACE(type);
    const std::string what =
        expect_error([&] { (void)Hash::decode(from_hex(type + value32)); }, ErrorCode::MessageBodyError);
    EXPECT_NE(what.find("hashtype"), std::string::npos) << what;
  }
  const std::string bad_shapes[] = {
      "822f581f" + std::string(62, '0'),  // 31 bytes for SHA256
      "822f5830" + std::string(96, '0'),  // 48 bytes for SHA256
      "82065820" + std::string(64, '0'),  // 32 bytes for HMAC-SHA384
      "832f40f6",                         // three elements
      "822f6161",                         // value a text string
      "82612f40",                         // type a text string
      "a0",                               // a map
  };
  for (const std::string& hex : bad_shapes) {
    SCOPED_TRACE(hex);
    expect_error([&] { (void)Hash::decode(from_hex(hex)); }, ErrorCode::MessageBodyError);
  }
  Bytes trailing = good;
  trailing.push_back(0);
  expect_error([&] { (void)Hash::decode(trailing); }, ErrorCode::MessageBodyError);
}

TEST(Hash, KindRestrictsHashtypes) {
  const Bytes hmac = Hash::compute_hmac(HashType::HmacSha256, SecretBytes(Bytes(32, 1)), to_bytes("x")).encode();
  const Bytes sha = Hash::compute(HashType::Sha256, to_bytes("x")).encode();
  // FDO 1.1 §5.2.3, docs/interop.md "hashtype-strict": DI.SetHMAC needs hashtype 5 or 6 (100).
  expect_error([&] { (void)Hash::decode(sha, "DI.SetHMAC[0]", HashKind::Hmac); }, ErrorCode::MessageBodyError);
  expect_error([&] { (void)Hash::decode(hmac, "OVEHashPrevEntry", HashKind::Digest); }, ErrorCode::MessageBodyError);
  EXPECT_EQ(Hash::decode(hmac, "HMac", HashKind::Hmac).type(), HashType::HmacSha256);
  EXPECT_EQ(Hash::decode(sha, "Hash", HashKind::Digest).type(), HashType::Sha256);
}

TEST(Hash, ReadsTheHmacOfAnFdoRsVoucher) {
  const Bytes voucher = test::interop_voucher("fdo-rs-v101-voucher2.pem");
  cbor::Reader r(voucher, "voucher");
  r.read_array("voucher");
  r.skip("protver");
  r.skip("header");
  const ByteView raw = r.read_raw("OVHeaderHMac");
  const HMac mac = Hash::decode(raw, "OVHeaderHMac", HashKind::Hmac);
  EXPECT_EQ(mac.type(), HashType::HmacSha256);
  EXPECT_EQ(mac.encode(), Bytes(raw.begin(), raw.end()));
}

TEST(Hash, ConstructionChecksLengthAndKind) {
  expect_error([] { (void)Hash(HashType::Sha384, Bytes(32, 0)); }, ErrorCode::MessageBodyError);
  expect_error([] { (void)Hash::compute(HashType::HmacSha256, to_bytes("x")); }, ErrorCode::InternalServerError);
  expect_error([] { (void)Hash::compute_hmac(HashType::Sha256, SecretBytes(Bytes(1, 1)), to_bytes("x")); },
               ErrorCode::InternalServerError);
  EXPECT_EQ(Hash().type(), HashType::Sha256);
  EXPECT_EQ(Hash().value().size(), 32u);
  EXPECT_EQ(Hash(HashType::Sha256, Bytes(32, 1)), Hash(HashType::Sha256, Bytes(32, 1)));
  EXPECT_FALSE(Hash(HashType::Sha256, Bytes(32, 1)) == Hash(HashType::HmacSha256, Bytes(32, 1)));
  EXPECT_FALSE(Hash(HashType::Sha256, Bytes(32, 1)) == Hash(HashType::Sha256, Bytes(32, 2)));
}

TEST(Hash, MapsAlgorithmsAndNames) {
  EXPECT_EQ(hash_type_for(crypto::HashAlg::Sha384), HashType::Sha384);
  EXPECT_EQ(hmac_type_for(crypto::HashAlg::Sha256), HashType::HmacSha256);
  EXPECT_EQ(hash_alg_of(HashType::HmacSha384), crypto::HashAlg::Sha384);
  EXPECT_EQ(hash_type_size(HashType::HmacSha384), 48u);
  EXPECT_EQ(hash_type_name(HashType::HmacSha256), "HMAC-SHA256");
  EXPECT_EQ(hash_type_from_id(-43), HashType::Sha384);
  EXPECT_FALSE(hash_type_from_id(-44).has_value());
  EXPECT_EQ(static_cast<int>(HashType::Sha256), -16);
  EXPECT_EQ(static_cast<int>(HashType::HmacSha384), 6);
}

}  // namespace
}  // namespace fdo
