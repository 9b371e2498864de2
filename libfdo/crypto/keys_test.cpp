#include "libfdo/crypto/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <thread>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/internal/test_util.h"

namespace fdo::crypto {
namespace {

constexpr std::array<KeyType, 4> kKeyTypes = {KeyType::P256, KeyType::P384, KeyType::Rsa2048, KeyType::Rsa3072};
constexpr std::array<SigAlg, 6> kSigAlgs = {SigAlg::ES256, SigAlg::ES384, SigAlg::PS256,
                                            SigAlg::PS384, SigAlg::RS256, SigAlg::RS384};

// One key per type, shared by the tests of this binary. RSA keys come from testdata (generating
// them is slow); EC keys are generated.
const PrivateKey& test_key(KeyType type) {
  static const PrivateKey p256 = PrivateKey::generate(KeyType::P256);
  static const PrivateKey p384 = PrivateKey::generate(KeyType::P384);
  switch (type) {
    case KeyType::P256:
      return p256;
    case KeyType::P384:
      return p384;
    case KeyType::Rsa2048: {
      static const PrivateKey rsa2048 = PrivateKey::from_pem(test::read_testdata("rsa2048.pem"));
      return rsa2048;
    }
    case KeyType::Rsa3072: {
      static const PrivateKey rsa3072 = PrivateKey::from_pem(test::read_testdata("rsa3072.pem"));
      return rsa3072;
    }
  }
  return p256;
}

Bytes flip_bit(ByteView b, std::size_t index, std::uint8_t mask = 0x01) {
  Bytes out(b.begin(), b.end());
  out.at(index) ^= mask;
  return out;
}

// DER INTEGER of an unsigned big-endian value (minimal, with a 0x00 if the top bit is set).
Bytes der_integer(ByteView value) {
  std::size_t start = 0;
  while (start + 1 < value.size() && value[start] == 0) {
    ++start;
  }
  Bytes content(value.begin() + static_cast<std::ptrdiff_t>(start), value.end());
  if (content[0] & 0x80) {
    content.insert(content.begin(), 0x00);
  }
  Bytes out = {0x02, static_cast<std::uint8_t>(content.size())};
  append(out, content);
  return out;
}

// The DER ECDSA-Sig-Value for a raw r ‖ s: what a non-COSE signer would send.
Bytes ecdsa_der(ByteView raw) {
  const std::size_t half = raw.size() / 2;
  const Bytes body = concat(der_integer(raw.first(half)), der_integer(raw.subspan(half)));
  Bytes out = {0x30, static_cast<std::uint8_t>(body.size())};
  append(out, body);
  return out;
}

// The public key of a signatures.txt record: DER SPKI, or EC coordinates on the alg's curve.
PublicKey record_key(const test::Record& r) {
  if (r.contains("spki")) {
    return PublicKey::from_spki_der(test::hex_field(r, "spki"));
  }
  const KeyType curve = r.at("alg") == "ES256" ? KeyType::P256 : KeyType::P384;
  return PublicKey::from_ec_point(curve, test::hex_field(r, "x"), test::hex_field(r, "y"));
}

SigAlg record_alg(const test::Record& r) {
  for (const SigAlg alg : kSigAlgs) {
    if (sig_alg_name(alg) == r.at("alg")) {
      return alg;
    }
  }
  ADD_FAILURE() << "unknown alg " << r.at("alg");
  return SigAlg::ES256;
}

// ---- Tables ----

TEST(KeyTypes, NamesRoundTrip) {
  for (const KeyType type : kKeyTypes) {
    EXPECT_EQ(parse_key_type(key_type_name(type)), type);
  }
  EXPECT_EQ(key_type_name(KeyType::Rsa3072), "rsa3072");
  EXPECT_FALSE(parse_key_type("p521").has_value());
  EXPECT_FALSE(parse_key_type("P256").has_value());
}

TEST(KeyTypes, HashFamilyFollowsKeyStrength) {
  EXPECT_EQ(hash_family(KeyType::P256), HashAlg::Sha256);
  EXPECT_EQ(hash_family(KeyType::Rsa2048), HashAlg::Sha256);
  EXPECT_EQ(hash_family(KeyType::P384), HashAlg::Sha384);
  EXPECT_EQ(hash_family(KeyType::Rsa3072), HashAlg::Sha384);
  EXPECT_TRUE(is_ec(KeyType::P384));
  EXPECT_FALSE(is_ec(KeyType::Rsa2048));
}

TEST(SigAlgs, IdsAreTheCoseIds) {
  // FDO 1.1 §3.3.
  EXPECT_EQ(sig_alg_from_id(-7), SigAlg::ES256);
  EXPECT_EQ(sig_alg_from_id(-35), SigAlg::ES384);
  EXPECT_EQ(sig_alg_from_id(-37), SigAlg::PS256);
  EXPECT_EQ(sig_alg_from_id(-38), SigAlg::PS384);
  EXPECT_EQ(sig_alg_from_id(-257), SigAlg::RS256);
  EXPECT_EQ(sig_alg_from_id(-258), SigAlg::RS384);
  EXPECT_FALSE(sig_alg_from_id(-36).has_value());  // ES512
  EXPECT_FALSE(sig_alg_from_id(-8).has_value());   // EdDSA
  EXPECT_EQ(sig_alg_name(SigAlg::PS384), "PS384");
  EXPECT_EQ(sig_alg_hash(SigAlg::RS384), HashAlg::Sha384);
  EXPECT_EQ(sig_alg_hash(SigAlg::PS256), HashAlg::Sha256);
}

TEST(SigAlgs, DefaultAndSuitabilityFollowCryptoMd23) {
  EXPECT_EQ(default_sig_alg(KeyType::P256), SigAlg::ES256);
  EXPECT_EQ(default_sig_alg(KeyType::P384), SigAlg::ES384);
  EXPECT_EQ(default_sig_alg(KeyType::Rsa2048), SigAlg::RS256);
  EXPECT_EQ(default_sig_alg(KeyType::Rsa3072), SigAlg::RS384);
  int suited = 0;
  for (const KeyType type : kKeyTypes) {
    for (const SigAlg alg : kSigAlgs) {
      suited += sig_alg_suits(alg, type) ? 1 : 0;
    }
  }
  EXPECT_EQ(suited, 6);
  EXPECT_TRUE(sig_alg_suits(SigAlg::PS256, KeyType::Rsa2048));
  EXPECT_TRUE(sig_alg_suits(SigAlg::PS384, KeyType::Rsa3072));
  EXPECT_FALSE(sig_alg_suits(SigAlg::ES384, KeyType::P256));
  EXPECT_FALSE(sig_alg_suits(SigAlg::PS256, KeyType::Rsa3072));
  EXPECT_FALSE(sig_alg_suits(SigAlg::RS384, KeyType::Rsa2048));
}

// ---- Known-answer verification ----

TEST(Verify, MatchesPublishedVectors) {
  for (const test::Record& r : test::read_records("signatures.txt")) {
    const PublicKey key = record_key(r);
    const bool expected = r.at("valid") == "true";
    EXPECT_EQ(key.verify(record_alg(r), test::hex_field(r, "msg"), test::hex_field(r, "sig")), expected)
        << r.at("alg") << " msg " << r.at("msg") << " sig " << r.at("sig").substr(0, 16) << "...";
  }
}

TEST(Verify, RejectsAlteredPublishedSignatures) {
  for (const test::Record& r : test::read_records("signatures.txt")) {
    if (r.at("valid") != "true") {
      continue;
    }
    const PublicKey key = record_key(r);
    const SigAlg alg = record_alg(r);
    const Bytes msg = test::hex_field(r, "msg");
    const Bytes sig = test::hex_field(r, "sig");
    SCOPED_TRACE(r.at("alg") + " sig " + r.at("sig").substr(0, 16));
    EXPECT_FALSE(key.verify(alg, msg, flip_bit(sig, sig.size() - 1)));
    EXPECT_FALSE(key.verify(alg, msg, flip_bit(sig, 0, 0x80)));
    EXPECT_FALSE(key.verify(alg, concat(msg, Bytes{0x00}), sig));
    EXPECT_FALSE(key.verify(alg, msg, ByteView(sig).first(sig.size() - 1)));
    EXPECT_FALSE(key.verify(alg, msg, concat(sig, Bytes{0x00})));
    EXPECT_FALSE(key.verify(alg, msg, {}));
    if (is_ec(key.type())) {
      // RFC 9053 §2.1: a DER ECDSA-Sig-Value is not a COSE signature, even when it is valid.
      EXPECT_FALSE(key.verify(alg, msg, ecdsa_der(sig)));
    }
  }
}

TEST(Verify, Es256TakesExactly64Bytes) {
  const PrivateKey& key = test_key(KeyType::P256);
  const Bytes msg = to_bytes("Sig_structure");
  const Bytes sig = key.sign(SigAlg::ES256, msg);
  ASSERT_EQ(sig.size(), 64u);
  const PublicKey pub = key.public_key();
  EXPECT_TRUE(pub.verify(SigAlg::ES256, msg, sig));
  EXPECT_FALSE(pub.verify(SigAlg::ES256, msg, ByteView(sig).first(63)));
  EXPECT_FALSE(pub.verify(SigAlg::ES256, msg, ecdsa_der(sig)));
  // 63 bytes that would parse as a 31-byte r and 32-byte s if split unevenly.
  Bytes short_r(sig.begin() + 1, sig.end());
  EXPECT_FALSE(pub.verify(SigAlg::ES256, msg, short_r));
}

// ---- Round trips ----

TEST(Sign, RoundTripsForEveryKeyTypeAndSuitableAlg) {
  const Bytes msg = to_bytes("84 6A Signature1 ...");
  for (const KeyType type : kKeyTypes) {
    const PrivateKey& key = test_key(type);
    const PublicKey pub = key.public_key();
    ASSERT_EQ(key.type(), type);
    ASSERT_EQ(pub.type(), type);
    for (const SigAlg alg : kSigAlgs) {
      if (!sig_alg_suits(alg, type)) {
        continue;
      }
      SCOPED_TRACE(std::string(key_type_name(type)) + " " + std::string(sig_alg_name(alg)));
      const Bytes sig = key.sign(alg, msg);
      const std::size_t expected_size = type == KeyType::P256      ? 64
                                        : type == KeyType::P384    ? 96
                                        : type == KeyType::Rsa2048 ? 256
                                                                   : 384;
      EXPECT_EQ(sig.size(), expected_size);
      EXPECT_TRUE(pub.verify(alg, msg, sig));
      EXPECT_FALSE(pub.verify(alg, msg, flip_bit(sig, sig.size() / 2)));
      EXPECT_FALSE(pub.verify(alg, to_bytes("another message"), sig));
    }
    EXPECT_TRUE(pub.verify(default_sig_alg(type), msg, key.sign(msg)));
  }
}

TEST(Sign, PkcsAndPssSignaturesAreNotInterchangeable) {
  const Bytes msg = to_bytes("OVEntry");
  const PrivateKey& key = test_key(KeyType::Rsa2048);
  const PublicKey pub = key.public_key();
  EXPECT_FALSE(pub.verify(SigAlg::RS256, msg, key.sign(SigAlg::PS256, msg)));
  EXPECT_FALSE(pub.verify(SigAlg::PS256, msg, key.sign(SigAlg::RS256, msg)));
  // PSS is randomised; PKCS#1 v1.5 is deterministic.
  EXPECT_NE(key.sign(SigAlg::PS256, msg), key.sign(SigAlg::PS256, msg));
  EXPECT_EQ(key.sign(SigAlg::RS256, msg), key.sign(SigAlg::RS256, msg));
}

TEST(Verify, RefusesAlgorithmsUnsuitedToTheKey) {
  const Bytes msg = to_bytes("TO2.ProveOVHdr");
  // ES384 with a P-256 key: even a correct-length ES256 signature must not verify as ES384.
  const PrivateKey& p256 = test_key(KeyType::P256);
  const Bytes es256 = p256.sign(SigAlg::ES256, msg);
  EXPECT_FALSE(p256.public_key().verify(SigAlg::ES384, msg, es256));
  EXPECT_FALSE(p256.public_key().verify(SigAlg::RS256, msg, es256));
  // PS256 / RS256 with a 3072-bit key: refused before any signature check.
  const PrivateKey& rsa3072 = test_key(KeyType::Rsa3072);
  EXPECT_FALSE(rsa3072.public_key().verify(SigAlg::PS256, msg, Bytes(384, 0x01)));
  EXPECT_FALSE(rsa3072.public_key().verify(SigAlg::RS256, msg, Bytes(384, 0x01)));
  EXPECT_FALSE(test_key(KeyType::Rsa2048).public_key().verify(SigAlg::ES256, msg, es256));
}

TEST(Sign, ThrowsForAnAlgorithmUnsuitedToTheKey) {
  const Bytes msg = to_bytes("x");
  test::expect_error([&] { static_cast<void>(test_key(KeyType::P256).sign(SigAlg::ES384, msg)); },
                     ErrorCode::InternalServerError);
  test::expect_error([&] { static_cast<void>(test_key(KeyType::Rsa3072).sign(SigAlg::PS256, msg)); },
                     ErrorCode::InternalServerError);
}

TEST(PrivateKey, GeneratesEveryKeyType) {
  // The one test that generates RSA keys.
  for (const KeyType type : kKeyTypes) {
    const PrivateKey key = PrivateKey::generate(type);
    EXPECT_EQ(key.type(), type);
    const PublicKey pub = key.public_key();
    EXPECT_EQ(pub.type(), type);
    if (!is_ec(type)) {
      EXPECT_EQ(to_hex(pub.rsa_exponent()), "010001");
      EXPECT_EQ(pub.rsa_modulus().size(), type == KeyType::Rsa2048 ? 256u : 384u);
    }
    EXPECT_TRUE(pub.verify(default_sig_alg(type), to_bytes("m"), key.sign(to_bytes("m"))));
  }
  EXPECT_FALSE(PrivateKey::generate(KeyType::P256).public_key().same_key(test_key(KeyType::P256).public_key()));
}

TEST(PrivateKey, EcKeyPairBytesRoundTripToTheSameKey) {
  for (const KeyType type : {KeyType::P256, KeyType::P384}) {
    const PrivateKey key = PrivateKey::generate(type);
    const SecretBytes bytes = key.ec_key_pair_bytes();
    const std::size_t n = type == KeyType::P256 ? 32 : 48;
    ASSERT_EQ(bytes.size(), 3 * n);
    // scalar ‖ X ‖ Y: the point part is the public key's.
    EXPECT_EQ(Bytes(bytes.view().begin() + static_cast<std::ptrdiff_t>(n), bytes.view().begin() + 2 * n),
              key.public_key().ec_x());
    EXPECT_EQ(Bytes(bytes.view().begin() + static_cast<std::ptrdiff_t>(2 * n), bytes.view().end()),
              key.public_key().ec_y());
    const PrivateKey back = PrivateKey::from_ec_key_pair_bytes(type, bytes.view());
    EXPECT_TRUE(back.public_key().same_key(key.public_key()));
    const PrivateKey peer = PrivateKey::generate(type);
    EXPECT_TRUE(back.ecdh(peer.public_key()).equals(peer.ecdh(key.public_key()).view()));
  }
  test::expect_error([] { static_cast<void>(test_key(KeyType::Rsa2048).ec_key_pair_bytes()); },
                     ErrorCode::InternalServerError);
}

TEST(PrivateKey, PublicKeyIsBuiltOnceAndSharedAcrossThreads) {
  const PrivateKey key = PrivateKey::generate(KeyType::P256);
  std::vector<Bytes> seen(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] { seen[i] = key.public_key().spki_der(); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (const Bytes& spki : seen) {
    EXPECT_EQ(spki, key.public_key().spki_der());
  }
  EXPECT_TRUE(key.public_key().verify(SigAlg::ES256, to_bytes("m"), key.sign(SigAlg::ES256, to_bytes("m"))));
}

// ---- Public key encodings ----

TEST(PublicKey, SpkiDerRoundTripsForEveryKeyType) {
  for (const KeyType type : kKeyTypes) {
    const PublicKey pub = test_key(type).public_key();
    const Bytes der = pub.spki_der();
    const PublicKey back = PublicKey::from_spki_der(der);
    EXPECT_EQ(back.type(), type);
    EXPECT_EQ(back.spki_der(), der);
    EXPECT_TRUE(back.same_key(pub));
  }
  EXPECT_FALSE(test_key(KeyType::P256).public_key().same_key(test_key(KeyType::P384).public_key()));
}

TEST(PublicKey, EcSpkiIsNamedCurveWithUncompressedPoint) {
  // FDO 1.1 §3.3: id-ecPublicKey, prime256v1, 04 ‖ X ‖ Y.
  const PublicKey pub = test_key(KeyType::P256).public_key();
  const Bytes der = pub.spki_der();
  ASSERT_EQ(der.size(), 91u);
  EXPECT_EQ(to_hex(ByteView(der).first(27)), "3059301306072a8648ce3d020106082a8648ce3d03010703420004");
  EXPECT_EQ(ByteView(der).subspan(27, 32).size(), pub.ec_x().size());
  EXPECT_TRUE(equal(ByteView(der).subspan(27, 32), pub.ec_x()));
  EXPECT_TRUE(equal(ByteView(der).subspan(59, 32), pub.ec_y()));
  EXPECT_EQ(test_key(KeyType::P384).public_key().ec_x().size(), 48u);
  EXPECT_EQ(test_key(KeyType::P384).public_key().ec_y().size(), 48u);
}

TEST(PublicKey, RejectsUnsupportedAndNonCanonicalKeys) {
  for (const test::Record& r : test::read_records("unsupported_keys.txt")) {
    SCOPED_TRACE(r.at("name"));
    std::string what;
    if (r.contains("spki")) {
      what = test::expect_error([&] { PublicKey::from_spki_der(test::hex_field(r, "spki")); },
                                ErrorCode::MessageBodyError);
    } else if (r.contains("pkcs8")) {
      what = test::expect_error([&] { PrivateKey::from_pkcs8_der(test::hex_field(r, "pkcs8")); },
                                ErrorCode::MessageBodyError);
    } else {
      continue;  // CSRs: x509_test.cpp
    }
    EXPECT_NE(what.find(r.at("reason")), std::string::npos) << what;
  }
  test::expect_error([] { PublicKey::from_spki_der({}); }, ErrorCode::MessageBodyError);
  test::expect_error(
      [] {
        PublicKey::from_spki_der(Bytes{0x30, 0x03, 0x02, 0x01, 0x00});
      },
      ErrorCode::MessageBodyError);
}

TEST(PublicKey, FromEcPointMatchesRfc6979Key) {
  // RFC 6979 A.2.5: private key x and its public key (Ux, Uy).
  const PrivateKey key = PrivateKey::from_pem(test::read_testdata("p256_rfc6979.pem"));
  ASSERT_EQ(key.type(), KeyType::P256);
  const PublicKey pub = key.public_key();
  EXPECT_EQ(to_hex(pub.ec_x()), "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6");
  EXPECT_EQ(to_hex(pub.ec_y()), "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
  EXPECT_TRUE(PublicKey::from_ec_point(KeyType::P256, pub.ec_x(), pub.ec_y()).same_key(pub));
  const PrivateKey key384 = PrivateKey::from_pem(test::read_testdata("p384_rfc6979.pem"));
  EXPECT_EQ(to_hex(key384.public_key().ec_x()),
            "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13");
}

TEST(PublicKey, FromEcPointLeftPadsShortCoordinates) {
  const PublicKey pub =
      PublicKey::from_spki_der(test::hex_field(test::read_records("p256_leading_zero_x.txt")[0], "spki"));
  const Bytes x = pub.ec_x();
  ASSERT_EQ(x.size(), 32u);
  ASSERT_EQ(x[0], 0x00);
  const ByteView minimal = ByteView(x).subspan(1);
  EXPECT_TRUE(PublicKey::from_ec_point(KeyType::P256, minimal, pub.ec_y()).same_key(pub));
  EXPECT_TRUE(PublicKey::from_ec_point(KeyType::P256, x, pub.ec_y()).same_key(pub));
}

TEST(PublicKey, FromEcPointRejectsBadPoints) {
  const PublicKey pub = test_key(KeyType::P256).public_key();
  const Bytes x = pub.ec_x();
  const Bytes y = pub.ec_y();
  // Off the curve.
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::P256, x, flip_bit(y, 31)); }, ErrorCode::MessageBodyError);
  // The identity has no affine coordinates; (0, 0) is not on P-256.
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::P256, Bytes(32, 0), Bytes(32, 0)); },
                     ErrorCode::MessageBodyError);
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::P256, {}, {}); }, ErrorCode::MessageBodyError);
  // Longer than the field, even with a leading zero (33-byte forms are the types layer's leniency).
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::P256, concat(Bytes{0x00}, x), y); },
                     ErrorCode::MessageBodyError);
  // A P-256 point is not on P-384.
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::P384, x, y); }, ErrorCode::MessageBodyError);
  // Coordinates at or above p: p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
  const Bytes p = from_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::P256, p, y); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { PublicKey::from_ec_point(KeyType::Rsa2048, x, y); }, ErrorCode::InternalServerError);
}

TEST(PublicKey, FromRsaModulusAndExponent) {
  for (const KeyType type : {KeyType::Rsa2048, KeyType::Rsa3072}) {
    const PublicKey pub = test_key(type).public_key();
    EXPECT_EQ(pub.rsa_modulus().size(), type == KeyType::Rsa2048 ? 256u : 384u);
    EXPECT_TRUE(PublicKey::from_rsa(pub.rsa_modulus(), pub.rsa_exponent()).same_key(pub));
    // Java's signed form (leading 0x00) is the same integer.
    EXPECT_TRUE(PublicKey::from_rsa(concat(Bytes{0x00}, pub.rsa_modulus()), pub.rsa_exponent()).same_key(pub));
  }
  const PublicKey pub = test_key(KeyType::Rsa2048).public_key();
  const Bytes n = pub.rsa_modulus();
  const Bytes n1024(n.begin(), n.begin() + 128);
  test::expect_error([&] { PublicKey::from_rsa(n1024, pub.rsa_exponent()); }, ErrorCode::MessageBodyError);
  test::expect_error(
      [&] {
        PublicKey::from_rsa(pub.rsa_modulus(), Bytes{0x01, 0x00, 0x00});
      },
      ErrorCode::MessageBodyError);
  test::expect_error([&] { static_cast<void>(pub.ec_x()); }, ErrorCode::InternalServerError);
  test::expect_error([&] { static_cast<void>(test_key(KeyType::P256).public_key().rsa_modulus()); },
                     ErrorCode::InternalServerError);
}

// ---- PEM and PKCS#8 ----

TEST(Pem, PublicKeyRoundTrips) {
  for (const KeyType type : kKeyTypes) {
    const PublicKey pub = test_key(type).public_key();
    const std::string pem = pub.to_pem();
    EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
    EXPECT_TRUE(PublicKey::from_pem(pem).same_key(pub));
  }
}

TEST(Pem, PrivateKeyRoundTripsAsPkcs8) {
  for (const KeyType type : kKeyTypes) {
    const PrivateKey& key = test_key(type);
    const SecretBytes pem = key.to_pem();
    const std::string text = to_string(pem.view());
    EXPECT_EQ(text.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
    const PrivateKey back = PrivateKey::from_pem(text);
    EXPECT_EQ(back.type(), type);
    EXPECT_TRUE(back.public_key().same_key(key.public_key()));
    const SecretBytes der = key.to_pkcs8_der();
    EXPECT_TRUE(PrivateKey::from_pkcs8_der(der.view()).public_key().same_key(key.public_key()));
    test::expect_error([&] { PrivateKey::from_pkcs8_der(concat(der.view(), Bytes{0x00})); },
                       ErrorCode::MessageBodyError);
  }
}

TEST(Pem, ReadsTraditionalRsaAndEcKeys) {
  const PrivateKey traditional = PrivateKey::from_pem(test::read_testdata("rsa2048_traditional.pem"));
  EXPECT_EQ(traditional.type(), KeyType::Rsa2048);
  EXPECT_TRUE(traditional.public_key().same_key(test_key(KeyType::Rsa2048).public_key()));
  // p256_rfc6979.pem is an "EC PRIVATE KEY" block.
  EXPECT_EQ(PrivateKey::from_pem(test::read_testdata("p256_rfc6979.pem")).type(), KeyType::P256);
}

TEST(Pem, ToleratesCrlfAndSurroundingText) {
  const PublicKey pub = test_key(KeyType::P384).public_key();
  std::string crlf;
  for (const char c : "explanatory text\n" + pub.to_pem() + "trailer\n") {
    if (c == '\n') {
      crlf += '\r';
    }
    crlf += c;
  }
  EXPECT_TRUE(PublicKey::from_pem(crlf).same_key(pub));
  std::string private_crlf;
  const SecretBytes pem = test_key(KeyType::P256).to_pem();
  for (const char c : to_string(pem.view())) {
    if (c == '\n') {
      private_crlf += '\r';
    }
    private_crlf += c;
  }
  EXPECT_TRUE(PrivateKey::from_pem(private_crlf).public_key().same_key(test_key(KeyType::P256).public_key()));
}

TEST(Pem, RejectsMissingBrokenAndEncryptedBlocks) {
  const std::string pem = test_key(KeyType::P256).public_key().to_pem();
  test::expect_error([] { PublicKey::from_pem(""); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { PublicKey::from_pem(pem.substr(0, pem.size() - 10)); }, ErrorCode::MessageBodyError);
  std::string bad_base64 = pem;
  bad_base64[30] = '*';
  test::expect_error([&] { PublicKey::from_pem(bad_base64); }, ErrorCode::MessageBodyError);
  // A public key is not a private key, and an encrypted key cannot be read without a password.
  test::expect_error([&] { PrivateKey::from_pem(pem); }, ErrorCode::MessageBodyError);
  test::expect_error(
      [] {
        PrivateKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n");
      },
      ErrorCode::MessageBodyError);
  test::expect_error([] { PrivateKey::from_pkcs8_der(Bytes{0x30, 0x00}); }, ErrorCode::MessageBodyError);
}

// ---- ECDH (FDO 1.1 §3.6) ----

TEST(Ecdh, BothSidesAgreeAtFieldWidth) {
  for (const KeyType type : {KeyType::P256, KeyType::P384}) {
    const PrivateKey owner = PrivateKey::generate(type);
    const PrivateKey device = PrivateKey::generate(type);
    const SecretBytes a = owner.ecdh(device.public_key());
    const SecretBytes b = device.ecdh(owner.public_key());
    EXPECT_EQ(a.size(), type == KeyType::P256 ? 32u : 48u);
    EXPECT_TRUE(a.equals(b.view()));
    EXPECT_FALSE(a.equals(owner.ecdh(test_key(type).public_key()).view()));
  }
}

TEST(Ecdh, RejectsAPeerOnAnotherCurve) {
  test::expect_error([] { static_cast<void>(test_key(KeyType::P256).ecdh(test_key(KeyType::P384).public_key())); },
                     ErrorCode::InvalidMessageError);
  test::expect_error([] { static_cast<void>(test_key(KeyType::P256).ecdh(test_key(KeyType::Rsa2048).public_key())); },
                     ErrorCode::InvalidMessageError);
  test::expect_error([] { static_cast<void>(test_key(KeyType::Rsa2048).ecdh(test_key(KeyType::P256).public_key())); },
                     ErrorCode::InternalServerError);
}

// ---- RSA-OAEP (FDO 1.1 §3.6) ----

TEST(RsaOaep, RoundTripsDeviceRandom) {
  for (const KeyType type : {KeyType::Rsa2048, KeyType::Rsa3072}) {
    const PrivateKey& owner = test_key(type);
    const Bytes device_random(type == KeyType::Rsa2048 ? 32 : 96, 0x5a);
    const Bytes xb = rsa_oaep_encrypt(owner.public_key(), device_random);
    EXPECT_EQ(xb.size(), type == KeyType::Rsa2048 ? 256u : 384u);
    EXPECT_NE(rsa_oaep_encrypt(owner.public_key(), device_random), xb);  // randomised padding
    EXPECT_TRUE(owner.rsa_oaep_decrypt(xb).equals(device_random));
  }
}

TEST(RsaOaep, TamperedCiphertextFailsWithInvalidMessage) {
  const PrivateKey& owner = test_key(KeyType::Rsa2048);
  const Bytes xb = rsa_oaep_encrypt(owner.public_key(), Bytes(32, 0x01));
  const std::string what = test::expect_error([&] { static_cast<void>(owner.rsa_oaep_decrypt(flip_bit(xb, 100))); },
                                              ErrorCode::InvalidMessageError);
  EXPECT_EQ(what, "RSA-OAEP decryption failed");
  test::expect_error([&] { static_cast<void>(owner.rsa_oaep_decrypt(ByteView(xb).first(255))); },
                     ErrorCode::InvalidMessageError);
  test::expect_error([&] { static_cast<void>(owner.rsa_oaep_decrypt({})); }, ErrorCode::InvalidMessageError);
  // Decrypting with a key other than the one encrypted to.
  test::expect_error([&] { static_cast<void>(test_key(KeyType::Rsa3072).rsa_oaep_decrypt(xb)); },
                     ErrorCode::InvalidMessageError);
  test::expect_error([] { rsa_oaep_encrypt(test_key(KeyType::P256).public_key(), Bytes(32, 0)); },
                     ErrorCode::InvalidMessageError);
}

}  // namespace
}  // namespace fdo::crypto
