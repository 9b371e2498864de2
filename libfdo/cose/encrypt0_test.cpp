#include "libfdo/cose/encrypt0.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"
#include "libfdo/crypto/aes.h"

namespace fdo::cose {
namespace {

using crypto::CipherSuite;
using test::expect_error;

constexpr CipherSuite kAeadSuites[] = {CipherSuite::A128GCM,          CipherSuite::A256GCM,
                                       CipherSuite::AesCcm16_128_128, CipherSuite::AesCcm16_128_256,
                                       CipherSuite::AesCcm64_128_128, CipherSuite::AesCcm64_128_256};
constexpr CipherSuite kEtmSuites[] = {CipherSuite::Aes128CtrHmacSha256, CipherSuite::Aes128CbcHmacSha256,
                                      CipherSuite::Aes256CtrHmacSha384, CipherSuite::Aes256CbcHmacSha384};

SecretBytes key_for(CipherSuite suite) {
  return SecretBytes(Bytes(crypto::cipher_suite_info(suite).key_size, 0x3C));
}

TEST(Encrypt0, EncStructureBytesMatchTheSpec) {
  // FDO 1.1 §4.4 (Enc_structure, RFC 9052 §5.3): the AAD for A128GCM, A256GCM and CCM 32.
  EXPECT_EQ(to_hex(enc_structure(encode_protected_alg(1))), "8368456e63727970743043a1010140");
  EXPECT_EQ(to_hex(enc_structure(encode_protected_alg(3))), "8368456e63727970743043a1010340");
  EXPECT_EQ(to_hex(enc_structure(encode_protected_alg(32))), "8368456e63727970743044a101182040");
  EXPECT_EQ(enc_structure(encode_protected_alg(1)).size(), 15u);
}

TEST(Encrypt0, MatchesTheCoseWgA128GcmExampleByteForByte) {
  // cose-wg/Examples aes-gcm-examples/aes-gcm-enc-01.json (quoted in several COSE libraries' tests): a
  // COSE_Encrypt0 with protected {1: 1}, IV under 5, empty external AAD — exactly FDO's A128GCM body.
  const Bytes wire = from_hex(
      "D08343A10101A1054C02D1F7E6F26C43D4868D87CE582460973A94BB2898009EE52ECFD9AB1DD25867374B162E2C03568B41F57C3CC1"
      "6F9166250A");
  const SecretBytes key(base64_decode("hJtXIZ2uSN5kbQfbtTNWbg=="));
  const Encrypt0 e = Encrypt0::decode(wire);
  EXPECT_EQ(to_string(e.decrypt(CipherSuite::A128GCM, key)), "This is the content.");
  EXPECT_EQ(Encrypt0::encrypt(CipherSuite::A128GCM, key, to_bytes("This is the content."),
                              from_hex("02D1F7E6F26C43D4868D87CE"))
                .encode(),
            wire);
}

TEST(Encrypt0, DecodesTheCoseWgExternalAadExample) {
  // cose-wg/Examples encrypted-tests env-pass-02 (A128GCM, external AAD 0011bbcc22dd4455dd220099), as
  // reproduced in the ldclabs/cose-ts tests. FDO never uses external AAD; the vector checks the codec
  // and Enc_structure against someone else's bytes.
  const Bytes wire = from_hex(
      "D08343A10101A1054C02D1F7E6F26C43D4868D87CE582460973A94BB2898009EE52ECFD9AB1DD25867374B1DC3A143880CA2883A5630"
      "DA08AE1E6E");
  const Encrypt0 e = Encrypt0::decode(wire);
  EXPECT_EQ(e.alg(), 1);
  EXPECT_EQ(to_hex(e.iv()), "02d1f7e6f26c43d4868d87ce");
  EXPECT_EQ(e.encode(), wire);
  const Bytes key = base64_decode("hJtXIZ2uSN5kbQfbtTNWbg==");
  const Bytes plain = crypto::aes_gcm_decrypt(
      key, e.iv(), enc_structure(e.protected_bytes(), from_hex("0011bbcc22dd4455dd220099")), e.ciphertext());
  EXPECT_EQ(to_string(plain), "This is the content.");
  // Without the external AAD, as FDO decrypts, the tag does not match.
  expect_error([&] { (void)e.decrypt(CipherSuite::A128GCM, SecretBytes(key)); }, ErrorCode::InvalidMessageError);
}

TEST(Encrypt0, EveryAeadSuiteRoundTrips) {
  for (const CipherSuite suite : kAeadSuites) {
    SCOPED_TRACE(std::string(crypto::cipher_suite_name(suite)));
    const SecretBytes key = key_for(suite);
    const Bytes plaintext = from_hex("8405f5f681820543f60101");
    const Encrypt0 e = Encrypt0::encrypt(suite, key, plaintext);
    EXPECT_EQ(e.iv().size(), crypto::cipher_suite_info(suite).iv_size);
    EXPECT_EQ(e.ciphertext().size(), plaintext.size() + 16);
    EXPECT_EQ(Bytes(e.protected_bytes().begin(), e.protected_bytes().end()),
              encode_protected_alg(crypto::cipher_suite_id(suite)));
    const Bytes wire = e.encode();
    EXPECT_EQ(wire[0], 0xD0);
    const Encrypt0 back = Encrypt0::decode(wire);
    EXPECT_EQ(back.encode(), wire);
    EXPECT_EQ(back.decrypt(suite, key), plaintext);
    // Fresh nonce per message.
    EXPECT_NE(to_hex(Encrypt0::encrypt(suite, key, plaintext).iv()), to_hex(e.iv()));
  }
}

TEST(Encrypt0, DecryptFailuresCarryTheSpecCodes) {
  const SecretBytes key = key_for(CipherSuite::A128GCM);
  const Encrypt0 e = Encrypt0::encrypt(CipherSuite::A128GCM, key, to_bytes("body"));
  // FDO 1.1 §4.4: another alg than the negotiated suite → 101.
  expect_error([&] { (void)e.decrypt(CipherSuite::A256GCM, key_for(CipherSuite::A256GCM)); },
               ErrorCode::InvalidMessageError);
  // Check 3: IV length → 100.
  const Encrypt0 short_iv = Encrypt0::make(1, Bytes(7, 0), e.ciphertext());
  expect_error([&] { (void)short_iv.decrypt(CipherSuite::A128GCM, key); }, ErrorCode::MessageBodyError);
  // Check 4: authentication failure → 101.
  Bytes flipped(e.ciphertext().begin(), e.ciphertext().end());
  flipped[0] ^= 0x80;
  expect_error([&] { (void)Encrypt0::make(1, e.iv(), flipped).decrypt(CipherSuite::A128GCM, key); },
               ErrorCode::InvalidMessageError);
  expect_error([&] { (void)e.decrypt(CipherSuite::A128GCM, SecretBytes(Bytes(16, 0))); },
               ErrorCode::InvalidMessageError);
  // A caller-chosen nonce of the wrong size, and an ETM suite, are refused on encryption.
  expect_error([&] { (void)Encrypt0::encrypt(CipherSuite::A128GCM, key, to_bytes("x"), Bytes(13, 0)); },
               ErrorCode::MessageBodyError);
  expect_error([&] { (void)Encrypt0::encrypt(CipherSuite::Aes128CtrHmacSha256, key, to_bytes("x")); },
               ErrorCode::InternalServerError);
}

TEST(Encrypt0, RequiresTag16AndABstrIv) {
  const Bytes tagged = Encrypt0::make(1, Bytes(12, 9), Bytes(20, 1)).encode();
  EXPECT_EQ(to_hex(ByteView(tagged).first(9)), "d08343a10101a1054c");
  const Bytes untagged(tagged.begin() + 1, tagged.end());
  expect_error([&] { (void)Encrypt0::decode(untagged); }, ErrorCode::MessageBodyError);
  EXPECT_EQ(Encrypt0::decode(untagged, "TO2.SetupDevice", Leniency({Quirk::UntaggedCose})).encode(), tagged);
  // No IV; IV as an integer; ciphertext nil.
  expect_error([&] { (void)Encrypt0::decode(from_hex("d08343a10101a04100")); }, ErrorCode::MessageBodyError);
  expect_error([&] { (void)Encrypt0::decode(from_hex("d08343a10101a1050c4100")); }, ErrorCode::MessageBodyError);
  expect_error([&] { (void)Encrypt0::decode(from_hex("d08343a10101a105410cf6")); }, ErrorCode::MessageBodyError);
  // decode_untagged refuses a tag.
  cbor::Reader r(tagged, "ETMInnerBlock");
  expect_error([&] { (void)Encrypt0::decode_untagged(r); }, ErrorCode::MessageBodyError);
}

TEST(Encrypt0, EtmSuitesRoundTripWithMac0AroundUntaggedEncrypt0) {
  const Bytes shse(64, 0x11);
  for (const CipherSuite suite : kEtmSuites) {
    SCOPED_TRACE(std::string(crypto::cipher_suite_name(suite)));
    const crypto::SessionKeys keys = crypto::derive_session_keys(suite, shse, {});
    const Bytes iv(16, 0x07);
    const Bytes plaintext = to_bytes("owner service info, 32 bytes...");
    const Mac0 outer = etm_encrypt(suite, keys, plaintext, iv);
    const bool sha384 = crypto::cipher_suite_info(suite).etm_mac == crypto::HashAlg::Sha384;
    EXPECT_EQ(outer.alg(), sha384 ? 6 : 5);
    EXPECT_EQ(outer.tag().size(), sha384 ? 48u : 32u);
    // ETMInnerBlock: untagged array, protected {1: suite id}, IV under 5.
    EXPECT_EQ(outer.payload()[0], 0x83);
    cbor::Reader inner_reader(outer.payload(), "ETMInnerBlock");
    const Encrypt0 inner = Encrypt0::decode_untagged(inner_reader);
    EXPECT_EQ(inner.alg(), crypto::cipher_suite_id(suite));
    EXPECT_EQ(to_hex(inner.iv()), to_hex(iv));
    // MAC_structure over the outer protected {1: 5|6} (docs/interop.md "etm-mac-input").
    EXPECT_EQ(to_hex(ByteView(outer.mac_structure()).first(11)),
              std::string("84644d41433043a101") + (sha384 ? "06" : "05") + "40");
    const Mac0 received = Mac0::decode(outer.encode());
    EXPECT_EQ(etm_decrypt(received, suite, keys), plaintext);

    // The MAC is checked before anything else: a flipped ciphertext bit is 101.
    Bytes wire = outer.encode();
    wire[wire.size() - outer.tag().size() - 3] ^= 0x01;
    expect_error([&] { (void)etm_decrypt(Mac0::decode(wire), suite, keys); }, ErrorCode::InvalidMessageError);
    // Inner alg other than the suite, correctly MACed: 101.
    const Encrypt0 other = Encrypt0::make(crypto::cipher_suite_id(CipherSuite::A128GCM), iv, inner.ciphertext());
    const Mac0 wrong_inner =
        Mac0::create(sha384 ? MacAlg::HmacSha384 : MacAlg::HmacSha256, keys.mac_key, other.encode_untagged());
    expect_error([&] { (void)etm_decrypt(wrong_inner, suite, keys); }, ErrorCode::InvalidMessageError);
    // Outer alg of the other HMAC: 101.
    const Mac0 wrong_outer =
        Mac0::create(sha384 ? MacAlg::HmacSha256 : MacAlg::HmacSha384, keys.mac_key, outer.payload());
    expect_error([&] { (void)etm_decrypt(wrong_outer, suite, keys); }, ErrorCode::InvalidMessageError);
    // A MACed inner block that is not an Encrypt0: 100.
    const Mac0 garbage = Mac0::create(sha384 ? MacAlg::HmacSha384 : MacAlg::HmacSha256, keys.mac_key, Bytes{0x01});
    expect_error([&] { (void)etm_decrypt(garbage, suite, keys); }, ErrorCode::MessageBodyError);
  }
}

TEST(Encrypt0, EtmRefusesAeadSuitesAndBadIvs) {
  const crypto::SessionKeys keys = crypto::derive_session_keys(CipherSuite::Aes128CtrHmacSha256, Bytes(64, 1), {});
  expect_error([&] { (void)etm_encrypt(CipherSuite::A128GCM, keys, to_bytes("x"), Bytes(12, 0)); },
               ErrorCode::InternalServerError);
  expect_error([&] { (void)etm_encrypt(CipherSuite::Aes128CtrHmacSha256, keys, to_bytes("x"), Bytes(12, 0)); },
               ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo::cose
