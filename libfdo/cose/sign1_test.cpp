#include "libfdo/cose/sign1.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo::cose {
namespace {

using test::expect_error;

struct AlgCase {
  crypto::SigAlg alg;
  const char* key_file;
  /// The protected header bstr (FDO 1.1 §3.3).
  const char* protected_bstr_hex;
};

constexpr std::array<AlgCase, 6> kAlgCases = {{
    {crypto::SigAlg::ES256, "p256_rfc6979.pem", "43a10126"},
    {crypto::SigAlg::ES384, "p384_rfc6979.pem", "44a1013822"},
    {crypto::SigAlg::RS256, "rsa2048.pem", "45a101390100"},
    {crypto::SigAlg::RS384, "rsa3072.pem", "45a101390101"},
    {crypto::SigAlg::PS256, "rsa2048.pem", "44a1013824"},
    {crypto::SigAlg::PS384, "rsa3072.pem", "44a1013825"},
}};

// A COSE_Sign1 assembled by hand from its parts (not by Sign1), for decoder tests.
Bytes assemble(ByteView protected_bytes, ByteView unprotected_map, ByteView payload, ByteView signature,
               bool tagged = true) {
  cbor::Writer w;
  if (tagged) {
    w.tag(18);
  }
  w.array(4).bstr(protected_bytes).raw(unprotected_map).bstr(payload).bstr(signature);
  return std::move(w).take();
}

const Bytes kEmptyMap = {0xA0};

TEST(Sign1, ProtectedHeaderBytesMatchSpecForEveryAlg) {
  for (const AlgCase& c : kAlgCases) {
    SCOPED_TRACE(std::string(crypto::sig_alg_name(c.alg)));
    EXPECT_EQ(to_hex(cbor::encode_bstr(encode_protected_alg(static_cast<std::int64_t>(c.alg)))), c.protected_bstr_hex);
    const crypto::PrivateKey key = test::test_key(c.key_file);
    const Sign1 s = Sign1::sign(key, c.alg, to_bytes("payload"));
    // The tagged encoding is D2 84 followed by the protected bstr (FDO 1.1 §3.3, §3.4.2).
    EXPECT_EQ(to_hex(s.encode()).substr(0, 4 + std::string(c.protected_bstr_hex).size()),
              std::string("d284") + c.protected_bstr_hex);
  }
}

TEST(Sign1, SigStructureStartsAsTheSpecShowsForEs256) {
  const Bytes payload(32, 0x5A);
  const Bytes sig = sig_structure(from_hex("a10126"), payload);
  // RFC 9052 §4.4 Sig_structure: 84 6A 53 69 67 6E 61 74 75 72 65 31 43 A1 01 26 40, then the payload's bstr head.
  EXPECT_EQ(to_hex(ByteView(sig).first(17)), "846a5369676e61747572653143a1012640");
  EXPECT_EQ(to_hex(ByteView(sig).subspan(17, 2)), "5820");
  EXPECT_EQ(sig.size(), 17u + 2u + 32u);
}

TEST(Sign1, SignsVerifiesAndRoundTripsWithEveryAlg) {
  for (const AlgCase& c : kAlgCases) {
    SCOPED_TRACE(std::string(crypto::sig_alg_name(c.alg)));
    const crypto::PrivateKey key = test::test_key(c.key_file);
    HeaderMap unprotected;
    unprotected.emplace(kLabelCuphNonce, cbor::encode_bstr(Bytes(16, 7)));
    const Sign1 s = Sign1::sign(key, c.alg, to_bytes("hello FDO"), unprotected);
    const Bytes wire = s.encode();
    const Sign1 back = Sign1::decode(wire);
    EXPECT_EQ(back.encode(), wire);
    EXPECT_EQ(back.alg(), c.alg);
    EXPECT_EQ(to_string(back.payload()), "hello FDO");
    EXPECT_TRUE(back.verify(key.public_key()));
    EXPECT_EQ(to_hex(*back.unprotected_value(kLabelCuphNonce)), "50" + to_hex(Bytes(16, 7)));
  }
}

TEST(Sign1, VerifiesOverReceivedBytesNotAReencoding) {
  // A payload that is not deterministic CBOR ({1: 1} with a two-byte integer) must be verified as is
  // (docs/interop.md "signed-bytes-as-received").
  const crypto::PrivateKey key = test::test_key("p256_rfc6979.pem");
  const Bytes protected_bytes = from_hex("a10126");
  const Bytes payload = from_hex("a101190001");
  Bytes to_sign = from_hex("846a5369676e61747572653143a1012640");
  append(to_sign, from_hex("45a101190001"));
  const Bytes signature = key.sign(crypto::SigAlg::ES256, to_sign);
  const Sign1 s = Sign1::decode(assemble(protected_bytes, kEmptyMap, payload, signature));
  EXPECT_EQ(s.sig_structure(), to_sign);
  EXPECT_TRUE(s.verify(key.public_key()));
}

TEST(Sign1, VerifyFailsForTamperedPayloadOtherKeyOrUnsuitedKey) {
  const crypto::PrivateKey key = test::test_key("p256_rfc6979.pem");
  const Sign1 s = Sign1::sign(key, crypto::SigAlg::ES256, to_bytes("payload"));
  Bytes tampered = s.encode();
  tampered[tampered.size() - 70] ^= 0x01;  // inside the payload "payload" before the 64-byte signature
  EXPECT_FALSE(Sign1::decode(tampered).verify(key.public_key()));
  EXPECT_FALSE(s.verify(crypto::PrivateKey::generate(crypto::KeyType::P256).public_key()));
  EXPECT_FALSE(s.verify(test::test_key("p384_rfc6979.pem").public_key()));
  EXPECT_FALSE(s.verify(test::test_key("rsa2048.pem").public_key()));
}

TEST(Sign1, VerifyRejectsAlgThatDoesNotSuitTheKey) {
  // ES384 named in the protected header, signature made by a P-256 key over that header
  // (docs/interop.md "signature-alg-from-header").
  const crypto::PrivateKey key = test::test_key("p256_rfc6979.pem");
  const Bytes protected_bytes = from_hex("a1013822");
  const Bytes payload = to_bytes("x");
  const Bytes signature = key.sign(crypto::SigAlg::ES256, sig_structure(protected_bytes, payload));
  const Sign1 s = Sign1::decode(assemble(protected_bytes, kEmptyMap, payload, signature));
  EXPECT_EQ(s.alg(), crypto::SigAlg::ES384);
  EXPECT_FALSE(s.verify(key.public_key()));
}

TEST(Sign1, VerifyRejectsDerOrWrongLengthEcdsaSignature) {
  const crypto::PrivateKey key = test::test_key("p256_rfc6979.pem");
  const Sign1 s = Sign1::sign(key, crypto::SigAlg::ES256, to_bytes("x"));
  ASSERT_EQ(s.signature().size(), 64u);
  const Bytes short_sig(s.signature().begin(), s.signature().end() - 1);
  EXPECT_FALSE(
      Sign1::decode(assemble(s.protected_bytes(), kEmptyMap, s.payload(), short_sig)).verify(key.public_key()));
}

TEST(Sign1, SignRefusesAlgThatDoesNotSuitTheKey) {
  const crypto::PrivateKey key = test::test_key("p256_rfc6979.pem");
  expect_error([&] { (void)Sign1::sign(key, crypto::SigAlg::ES384, to_bytes("x")); }, ErrorCode::InternalServerError);
  expect_error([&] { (void)Sign1::sign(key, crypto::SigAlg::RS256, to_bytes("x")); }, ErrorCode::InternalServerError);
}

TEST(Sign1, RequiresTag18UnlessUntaggedIsAllowed) {
  const Bytes untagged = assemble(from_hex("a10126"), kEmptyMap, to_bytes("p"), Bytes(64, 1), false);
  expect_error([&] { (void)Sign1::decode(untagged); }, ErrorCode::MessageBodyError);
  const Leniency lenient({Quirk::UntaggedCose});
  const Sign1 s = Sign1::decode(untagged, "to1d", lenient);
  // Always emitted tagged (docs/interop.md "untagged-cose").
  EXPECT_EQ(s.encode()[0], 0xD2);
  Bytes tag17 = untagged;
  tag17.insert(tag17.begin(), 0xD1);
  expect_error([&] { (void)Sign1::decode(tag17, "x", lenient); }, ErrorCode::MessageBodyError);
}

TEST(Sign1, RejectsProtectedHeaderOtherThanAlgAlone) {
  const char* shapes[] = {
      "",                // empty bstr
      "a0",              // {}
      "a20126044100",    // {1: -7, 4: h''}: an extra entry
      "a10426",          // {4: -7}
      "820126",          // [1, -7]
      "a101",            // truncated
      "a1016445533235",  // {1: "ES25"}: alg as text
      "a1012600",        // a trailing byte inside the bstr
  };
  for (const char* hex : shapes) {
    SCOPED_TRACE(hex);
    const Bytes wire = assemble(from_hex(hex), kEmptyMap, to_bytes("p"), Bytes(64, 1));
    expect_error([&] { (void)Sign1::decode(wire); }, ErrorCode::MessageBodyError);
  }
}

TEST(Sign1, UnsupportedAlgIsInvalidMessage) {
  // ES512 (-36) is structurally fine but no FDO key signs with it (101, docs/interop.md "signature-alg-from-header").
  const Bytes wire = assemble(from_hex("a1013823"), kEmptyMap, to_bytes("p"), Bytes(132, 1));
  const std::string what = expect_error([&] { (void)Sign1::decode(wire); }, ErrorCode::InvalidMessageError);
  EXPECT_NE(what.find("-36"), std::string::npos) << what;
}

TEST(Sign1, RejectsMalformedEnvelopes) {
  const Bytes good = assemble(from_hex("a10126"), kEmptyMap, to_bytes("p"), Bytes(64, 1));
  ASSERT_NO_THROW((void)Sign1::decode(good));
  Bytes trailing = good;
  trailing.push_back(0x00);
  expect_error([&] { (void)Sign1::decode(trailing); }, ErrorCode::MessageBodyError);
  // Three elements.
  expect_error([&] { (void)Sign1::decode(from_hex("d28343a10126a041")); }, ErrorCode::MessageBodyError);
  // Detached (nil) payload.
  expect_error([&] { (void)Sign1::decode(from_hex("d28443a10126a0f64100")); }, ErrorCode::MessageBodyError);
  // Duplicate unprotected label, text label, unprotected not a map.
  expect_error(
      [&] {
        (void)Sign1::decode(assemble(from_hex("a10126"), from_hex("a2014100014100"), to_bytes("p"), Bytes(64, 1)));
      },
      ErrorCode::MessageBodyError);
  expect_error(
      [&] { (void)Sign1::decode(assemble(from_hex("a10126"), from_hex("a161614100"), to_bytes("p"), Bytes(64, 1))); },
      ErrorCode::MessageBodyError);
  expect_error([&] { (void)Sign1::decode(assemble(from_hex("a10126"), from_hex("80"), to_bytes("p"), Bytes(64, 1))); },
               ErrorCode::MessageBodyError);
  // Signature not a bstr.
  expect_error([&] { (void)Sign1::decode(from_hex("d28443a10126a0417060")); }, ErrorCode::MessageBodyError);
}

TEST(Sign1, UnprotectedHeaderIsWrittenInDeterministicOrder) {
  const crypto::PrivateKey key = test::test_key("p256_rfc6979.pem");
  HeaderMap h;
  h.emplace(kLabelEuphNonce, cbor::encode_bstr(Bytes{1}));
  h.emplace(kLabelCuphOwnerPubKey, cbor::encode_uint(2));
  h.emplace(kLabelEatMaroePrefix, cbor::encode_uint(3));
  h.emplace(kLabelCuphNonce, cbor::encode_uint(4));
  const Sign1 s = Sign1::sign(key, crypto::SigAlg::ES256, to_bytes("p"), h);
  const Bytes wire = s.encode();
  // D2 84 43 A1 01 26, then {256: 4, 257: 2, -258: 3, -259: h'01'}: 256 < 257 < -258 < -259 by encoding.
  EXPECT_EQ(to_hex(ByteView(wire).subspan(6, 18)),
            "a4190100041901010239010103390102"
            "4101");
  EXPECT_EQ(to_hex(*Sign1::decode(wire).unprotected_value(kLabelEuphNonce)), "4101");
  EXPECT_FALSE(s.unprotected_value(7).has_value());
}

TEST(Sign1, VerifiesEntriesOfAnFdoRsVoucher) {
  // fdo-rs-v101-voucher2.pem: two ES256 entries, both valid (docs/voucher.md verdicts). Entry 0 is signed by OVPubKey
  // (X509, header[4][2]); entry 1 by entry 0's OVEPubKey (payload[3][2]).
  const Bytes voucher = test::interop_voucher("fdo-rs-v101-voucher2.pem");
  cbor::Reader r(voucher, "voucher");
  r.read_array_of("", 5);
  r.read_uint("protver");
  const Bytes header = r.read_bstr("header");
  r.skip("hmac");
  r.skip("chain");
  const std::size_t entries = r.read_array("entries");
  ASSERT_EQ(entries, 2u);
  const auto key_of = [](ByteView public_key_cbor) {
    cbor::Reader k(public_key_cbor, "PublicKey");
    k.read_array_of("", 3);
    EXPECT_EQ(k.read_uint("type"), 10u);
    EXPECT_EQ(k.read_uint("enc"), 1u);
    return crypto::PublicKey::from_spki_der(k.read_bstr_view("body"));
  };
  cbor::Reader h(header, "header");
  h.read_array_of("", 6);
  for (int i = 0; i < 4; ++i) {
    h.skip("field");
  }
  crypto::PublicKey signer = key_of(h.read_raw("OVPubKey"));
  for (std::size_t i = 0; i < entries; ++i) {
    const ByteView raw = r.read_raw("entry");
    const Sign1 entry = Sign1::decode(raw, "OVEntry");
    EXPECT_EQ(entry.encode(), Bytes(raw.begin(), raw.end()));
    EXPECT_EQ(entry.alg(), crypto::SigAlg::ES256);
    EXPECT_TRUE(entry.verify(signer)) << "entry " << i;
    cbor::Reader p(entry.payload(), "payload");
    p.read_array_of("", 4);
    p.skip("prev");
    p.skip("hdr");
    p.skip("extra");
    signer = key_of(p.read_raw("OVEPubKey"));
  }
}

}  // namespace
}  // namespace fdo::cose
