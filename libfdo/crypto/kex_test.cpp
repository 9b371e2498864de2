#include "libfdo/crypto/kex.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/dh.h"
#include "libfdo/crypto/internal/test_util.h"
#include "libfdo/crypto/kdf.h"

namespace fdo::crypto {
namespace {

using test::expect_error;

constexpr KexSuite kAllSuites[] = {KexSuite::Ecdh256,   KexSuite::Ecdh384,     KexSuite::DhKexId14,
                                   KexSuite::DhKexId15, KexSuite::AsymKex2048, KexSuite::AsymKex3072};

const PrivateKey& rsa_key(KeyType type) {
  static const PrivateKey rsa2048 = PrivateKey::from_pem(test::read_testdata("rsa2048.pem"));
  static const PrivateKey rsa3072 = PrivateKey::from_pem(test::read_testdata("rsa3072.pem"));
  return type == KeyType::Rsa2048 ? rsa2048 : rsa3072;
}

const PrivateKey& p256_key() {
  static const PrivateKey key = PrivateKey::from_pem(test::read_testdata("p256_rfc6979.pem"));
  return key;
}

/// The owner key a suite runs with in these tests (ASYMKEX needs RSA of its size; others any key).
const PrivateKey& owner_key_for(KexSuite suite) {
  switch (suite) {
    case KexSuite::AsymKex2048:
    case KexSuite::DhKexId14:
      return rsa_key(KeyType::Rsa2048);
    case KexSuite::AsymKex3072:
    case KexSuite::DhKexId15:
      return rsa_key(KeyType::Rsa3072);
    default:
      return p256_key();
  }
}

bool is_ecdh(KexSuite s) {
  return s == KexSuite::Ecdh256 || s == KexSuite::Ecdh384;
}

void put_u16(Bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

/// len(X) ‖ X ‖ len(Y) ‖ Y ‖ len(R) ‖ R from parts, as a peer might write it.
Bytes ecdh_param(ByteView x, ByteView y, ByteView r) {
  Bytes out;
  out.reserve(6 + x.size() + y.size() + r.size());
  put_u16(out, x.size());
  out.insert(out.end(), x.begin(), x.end());
  put_u16(out, y.size());
  out.insert(out.end(), y.begin(), y.end());
  put_u16(out, r.size());
  out.insert(out.end(), r.begin(), r.end());
  return out;
}

/// The three fields of an ECDH parameter we wrote (fixed widths).
struct Fields {
  Bytes x, y, r;
};
Fields split_ecdh(ByteView in, std::size_t fs) {
  const std::size_t rlen = (std::size_t{in[4 + 2 * fs]} << 8) | in[5 + 2 * fs];
  return Fields{
      Bytes(in.begin() + 2, in.begin() + 2 + static_cast<std::ptrdiff_t>(fs)),
      Bytes(in.begin() + 4 + static_cast<std::ptrdiff_t>(fs), in.begin() + 4 + 2 * static_cast<std::ptrdiff_t>(fs)),
      Bytes(in.begin() + 6 + 2 * static_cast<std::ptrdiff_t>(fs),
            in.begin() + 6 + 2 * static_cast<std::ptrdiff_t>(fs) + static_cast<std::ptrdiff_t>(rlen))};
}

Bytes flip_last_bit(ByteView b) {
  Bytes out(b.begin(), b.end());
  out.back() ^= 0x01;
  return out;
}

TEST(KexSuite, NamesRoundTripExactly) {
  const std::vector<std::string> names = {"ECDH256", "ECDH384", "DHKEXid14", "DHKEXid15", "ASYMKEX2048", "ASYMKEX3072"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(kex_suite_name(kAllSuites[i]), names[i]);
    EXPECT_EQ(parse_kex_suite(names[i]), kAllSuites[i]);
  }
  EXPECT_FALSE(parse_kex_suite("ecdh256"));
  EXPECT_FALSE(parse_kex_suite("DHKEXID14"));
  EXPECT_FALSE(parse_kex_suite("ECDH256 "));
  EXPECT_FALSE(parse_kex_suite(""));
}

TEST(KexSuite, AsymKexNeedsRsaOwnerKeyOfItsSize) {
  const PublicKey rsa2048 = rsa_key(KeyType::Rsa2048).public_key();
  const PublicKey rsa3072 = rsa_key(KeyType::Rsa3072).public_key();
  const PublicKey p256 = p256_key().public_key();
  EXPECT_TRUE(kex_suits_owner_key(KexSuite::AsymKex2048, rsa2048));
  EXPECT_FALSE(kex_suits_owner_key(KexSuite::AsymKex2048, rsa3072));
  EXPECT_FALSE(kex_suits_owner_key(KexSuite::AsymKex2048, p256));
  EXPECT_TRUE(kex_suits_owner_key(KexSuite::AsymKex3072, rsa3072));
  EXPECT_FALSE(kex_suits_owner_key(KexSuite::AsymKex3072, rsa2048));
  EXPECT_FALSE(kex_suits_owner_key(KexSuite::AsymKex3072, p256));
  for (const KexSuite s : {KexSuite::Ecdh256, KexSuite::Ecdh384, KexSuite::DhKexId14, KexSuite::DhKexId15}) {
    EXPECT_TRUE(kex_suits_owner_key(s, rsa2048)) << kex_suite_name(s);
    EXPECT_TRUE(kex_suits_owner_key(s, rsa3072)) << kex_suite_name(s);
    EXPECT_TRUE(kex_suits_owner_key(s, p256)) << kex_suite_name(s);
  }
}

TEST(Kex, AllSuitesAgreeOnSecretAndSessionKeys) {
  for (const KexSuite suite : kAllSuites) {
    SCOPED_TRACE(std::string(kex_suite_name(suite)));
    const PrivateKey& owner_key = owner_key_for(suite);
    const KexOwner owner = KexOwner::start(suite);
    EXPECT_EQ(owner.suite(), suite);
    const Bytes xa = owner.xa();
    const DeviceKex device = device_kex(suite, xa, owner_key.public_key());
    const KexSecret secret = owner.finish(device.xb, &owner_key);
    EXPECT_TRUE(secret.shse.equals(device.secret.shse.view()));
    EXPECT_EQ(secret.context_rand, device.secret.context_rand);
    for (const CipherSuite cs : {CipherSuite::A128GCM, CipherSuite::A256GCM, CipherSuite::Aes256CtrHmacSha384}) {
      const SessionKeys a = derive_session_keys(cs, secret.shse.view(), secret.context_rand);
      const SessionKeys b = derive_session_keys(cs, device.secret.shse.view(), device.secret.context_rand);
      EXPECT_TRUE(a.encryption_key.equals(b.encryption_key.view()));
      EXPECT_TRUE(a.mac_key.equals(b.mac_key.view()));
    }
  }
}

TEST(Kex, ByteLayoutsAndSecretShapes) {
  struct Expect {
    KexSuite suite;
    std::size_t xa, xb, shse, context_rand;
  };
  const Expect cases[] = {
      {KexSuite::Ecdh256, 86, 86, 32 + 16 + 16, 0}, {KexSuite::Ecdh384, 150, 150, 48 + 48 + 48, 0},
      {KexSuite::DhKexId14, 256, 256, 256, 0},      {KexSuite::DhKexId15, 384, 384, 384, 0},
      {KexSuite::AsymKex2048, 32, 256, 32, 32},     {KexSuite::AsymKex3072, 96, 384, 96, 96},
  };
  for (const Expect& c : cases) {
    SCOPED_TRACE(std::string(kex_suite_name(c.suite)));
    const PrivateKey& owner_key = owner_key_for(c.suite);
    const KexOwner owner = KexOwner::start(c.suite);
    const Bytes xa = owner.xa();
    const DeviceKex device = device_kex(c.suite, xa, owner_key.public_key());
    EXPECT_EQ(xa.size(), c.xa);
    EXPECT_EQ(device.xb.size(), c.xb);
    EXPECT_EQ(device.secret.shse.size(), c.shse);
    EXPECT_EQ(device.secret.context_rand.size(), c.context_rand);
    if (is_ecdh(c.suite)) {
      const std::size_t fs = c.suite == KexSuite::Ecdh256 ? 32 : 48;
      const std::size_t rs = c.suite == KexSuite::Ecdh256 ? 16 : 48;
      // 00 20 <X> 00 20 <Y> 00 10 <R> for ECDH256.
      const Bytes prefix = {0x00, static_cast<std::uint8_t>(fs)};
      EXPECT_EQ(Bytes(xa.begin(), xa.begin() + 2), prefix);
      EXPECT_EQ(xa[2 + fs], 0x00);
      EXPECT_EQ(xa[3 + fs], fs);
      EXPECT_EQ(xa[4 + 2 * fs], 0x00);
      EXPECT_EQ(xa[5 + 2 * fs], rs);
      // ShSe = Shx ‖ DeviceRandom ‖ OwnerRandom.
      const Fields owner_fields = split_ecdh(xa, fs);
      const Fields device_fields = split_ecdh(device.xb, fs);
      const ByteView shse = device.secret.shse.view();
      EXPECT_EQ(
          Bytes(shse.begin() + static_cast<std::ptrdiff_t>(fs), shse.begin() + static_cast<std::ptrdiff_t>(fs + rs)),
          device_fields.r);
      EXPECT_EQ(Bytes(shse.begin() + static_cast<std::ptrdiff_t>(fs + rs), shse.end()), owner_fields.r);
    }
    if (c.suite == KexSuite::AsymKex2048 || c.suite == KexSuite::AsymKex3072) {
      EXPECT_EQ(device.secret.context_rand, xa);
    }
  }
}

TEST(Kex, SaveRestoreRoundTrip) {
  for (const KexSuite suite : kAllSuites) {
    SCOPED_TRACE(std::string(kex_suite_name(suite)));
    const PrivateKey& owner_key = owner_key_for(suite);
    const KexOwner original = KexOwner::start(suite);
    const SecretBytes saved = original.save();
    const KexOwner restored = KexOwner::restore(saved.view());
    EXPECT_EQ(restored.suite(), suite);
    EXPECT_EQ(restored.xa(), original.xa());
    EXPECT_TRUE(restored.save().equals(saved.view()));
    const DeviceKex device = device_kex(suite, original.xa(), owner_key.public_key());
    const KexSecret secret = restored.finish(device.xb, &owner_key);
    EXPECT_TRUE(secret.shse.equals(device.secret.shse.view()));
    EXPECT_EQ(secret.context_rand, device.secret.context_rand);
  }
}

TEST(Kex, RestoreRejectsUndecodableState) {
  const SecretBytes saved = KexOwner::start(KexSuite::Ecdh256).save();
  const ByteView s = saved.view();
  const auto rejects = [](ByteView bad) {
    expect_error([&] { static_cast<void>(KexOwner::restore(bad)); }, ErrorCode::InternalServerError);
  };
  rejects({});
  rejects(s.first(1));
  rejects(s.first(s.size() - 1));
  Bytes trailing(s.begin(), s.end());
  trailing.push_back(0);
  rejects(trailing);
  Bytes version(s.begin(), s.end());
  version[0] = 1;  // the format before the key pair was stored as scalar ‖ X ‖ Y
  rejects(version);
  Bytes suite(s.begin(), s.end());
  suite[1] = 6;
  rejects(suite);
  // The ECDH256 state labelled as ECDH384: key and random sizes do not fit.
  Bytes relabelled(s.begin(), s.end());
  relabelled[1] = static_cast<std::uint8_t>(KexSuite::Ecdh384);
  rejects(relabelled);
  // Garbage in the stored public point: no longer a point on the curve.
  Bytes garbage(s.begin(), s.end());
  garbage[4 + 32 + 5] ^= 0xff;
  rejects(garbage);
  rejects(
      from_hex("0102000100"
               "0000"));  // DHKEXid14 with a 1-byte exponent of 0
}

TEST(Kex, OwnerRandomNeverStartsWithZero) {
  for (int i = 0; i < 200; ++i) {
    const Bytes xa = KexOwner::start(KexSuite::Ecdh256).xa();
    ASSERT_EQ(xa.size(), 86u);
    ASSERT_NE(xa[70], 0x00) << "OwnerRandom starts with 00 at start " << i;
    const Bytes asym = KexOwner::start(KexSuite::AsymKex2048).xa();
    ASSERT_NE(asym[0], 0x00) << "OwnerRandom starts with 00 at start " << i;
  }
}

TEST(Kex, DeviceReadsMinimalLengthCoordinates) {
  // A P-256 key whose X starts with 00, written in go-fdo's minimal 31-byte form.
  const PublicKey pub =
      PublicKey::from_spki_der(test::hex_field(test::read_records("p256_leading_zero_x.txt")[0], "spki"));
  const Bytes x = pub.ec_x();
  ASSERT_EQ(x[0], 0x00);
  const Bytes random(16, 0x5a);
  const Bytes minimal = ecdh_param(ByteView(x).subspan(1), pub.ec_y(), random);
  ASSERT_EQ(minimal.size(), 85u);
  const DeviceKex device = device_kex(KexSuite::Ecdh256, minimal, p256_key().public_key());
  EXPECT_EQ(device.xb.size(), 86u);
  EXPECT_EQ(device.secret.shse.size(), 64u);
  // And the fixed-width form of the same key.
  EXPECT_EQ(device_kex(KexSuite::Ecdh256, ecdh_param(x, pub.ec_y(), random), p256_key().public_key()).xb.size(), 86u);
}

TEST(Kex, OwnerReadsCoordinatesOfAnyLength) {
  for (const KexSuite suite : {KexSuite::Ecdh256, KexSuite::Ecdh384}) {
    SCOPED_TRACE(std::string(kex_suite_name(suite)));
    const std::size_t fs = suite == KexSuite::Ecdh256 ? 32 : 48;
    const KexOwner owner = KexOwner::start(suite);
    const DeviceKex device = device_kex(suite, owner.xa(), p256_key().public_key());
    const Fields f = split_ecdh(device.xb, fs);
    // A sign byte in front of X and Y (a signed big-integer encoder) reads as the same value.
    const Bytes signed_form = ecdh_param(concat(Bytes{0x00}, f.x), concat(Bytes{0x00}, f.y), f.r);
    EXPECT_TRUE(owner.finish(signed_form, nullptr).shse.equals(device.secret.shse.view()));
  }
}

/// Every malformed or invalid ECDH parameter for `suite`, built around a valid one.
std::vector<std::pair<std::string, Bytes>> bad_ecdh_params(KexSuite suite, ByteView valid) {
  const std::size_t fs = suite == KexSuite::Ecdh256 ? 32 : 48;
  const Fields f = split_ecdh(valid, fs);
  const Bytes p = suite == KexSuite::Ecdh256
                      ? from_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")
                      : from_hex(
                            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe"
                            "ffffffff0000000000000000ffffffff");
  Bytes trailing(valid.begin(), valid.end());
  trailing.push_back(0);
  Bytes long_random_len(valid.begin(), valid.end());
  long_random_len[5 + 2 * fs] += 1;
  Bytes short_x_len(valid.begin(), valid.end());
  short_x_len[1] -= 1;
  return {
      {"empty", {}},
      {"truncated", Bytes(valid.begin(), valid.end() - 1)},
      {"trailing byte", trailing},
      {"random length beyond the input", long_random_len},
      {"X length one short (fields misaligned)", short_x_len},
      {"random one byte short", ecdh_param(f.x, f.y, ByteView(f.r).first(f.r.size() - 1))},
      {"random one byte long", ecdh_param(f.x, f.y, concat(f.r, Bytes{0x01}))},
      {"point off the curve", ecdh_param(f.x, flip_last_bit(f.y), f.r)},
      {"X equal to p", ecdh_param(p, f.y, f.r)},
      {"Y equal to p", ecdh_param(f.x, p, f.r)},
      {"X longer than the field", ecdh_param(concat(Bytes{0x01}, f.x), f.y, f.r)},
      {"(0, 0) for the identity", ecdh_param(Bytes(fs, 0), Bytes(fs, 0), f.r)},
      {"empty coordinates", ecdh_param({}, {}, f.r)},
      {"point of the other curve", ecdh_param(concat(f.x, Bytes(16, 1)), concat(f.y, Bytes(16, 1)), f.r)},
  };
}

TEST(Kex, RejectsMalformedEcdhParameters) {
  for (const KexSuite suite : {KexSuite::Ecdh256, KexSuite::Ecdh384}) {
    const KexOwner owner = KexOwner::start(suite);
    const Bytes xa = owner.xa();
    const DeviceKex device = device_kex(suite, xa, p256_key().public_key());
    for (const auto& [name, bad_case] : bad_ecdh_params(suite, xa)) {
      const Bytes& bad = bad_case;  // clang 14 cannot capture a structured binding
      SCOPED_TRACE(std::string(kex_suite_name(suite)) + " xA " + name);
      expect_error([&] { static_cast<void>(device_kex(suite, bad, p256_key().public_key())); },
                   ErrorCode::InvalidMessageError);
    }
    for (const auto& [name, bad_case] : bad_ecdh_params(suite, device.xb)) {
      const Bytes& bad = bad_case;  // clang 14 cannot capture a structured binding
      SCOPED_TRACE(std::string(kex_suite_name(suite)) + " xB " + name);
      expect_error([&] { static_cast<void>(owner.finish(bad, nullptr)); }, ErrorCode::InvalidMessageError);
    }
  }
}

TEST(Kex, RejectsMalformedDhValues) {
  for (const KexSuite suite : {KexSuite::DhKexId14, KexSuite::DhKexId15}) {
    const DhGroup group = suite == KexSuite::DhKexId14 ? DhGroup::Modp2048 : DhGroup::Modp3072;
    const std::size_t width = dh_prime_size(group);
    const Bytes p = dh_prime(group);
    Bytes p_minus_1 = p;
    p_minus_1.back() -= 1;
    Bytes one(width, 0);
    one.back() = 1;
    const std::vector<std::pair<std::string, Bytes>> cases = {
        {"empty", {}},
        {"zero", Bytes(width, 0)},
        {"one", one},
        {"p - 1", p_minus_1},
        {"p", p},
        {"longer than |p| + 1", concat(Bytes{0x00, 0x00}, p_minus_1)},
        {"all ones", Bytes(width, 0xff)},
    };
    const KexOwner owner = KexOwner::start(suite);
    for (const auto& [name, bad_case] : cases) {
      const Bytes& bad = bad_case;  // clang 14 cannot capture a structured binding
      SCOPED_TRACE(std::string(kex_suite_name(suite)) + " " + name);
      expect_error([&] { static_cast<void>(device_kex(suite, bad, p256_key().public_key())); },
                   ErrorCode::InvalidMessageError);
      expect_error([&] { static_cast<void>(owner.finish(bad, nullptr)); }, ErrorCode::InvalidMessageError);
    }
    // A value with a sign byte (Java PRI) or without leading zeros reads as the same integer.
    const DeviceKex device = device_kex(suite, owner.xa(), p256_key().public_key());
    EXPECT_TRUE(owner.finish(concat(Bytes{0x00}, device.xb), nullptr).shse.equals(device.secret.shse.view()));
  }
}

TEST(Kex, RejectsMalformedAsymKexValues) {
  for (const KexSuite suite : {KexSuite::AsymKex2048, KexSuite::AsymKex3072}) {
    SCOPED_TRACE(std::string(kex_suite_name(suite)));
    const PrivateKey& owner_key = owner_key_for(suite);
    const KexOwner owner = KexOwner::start(suite);
    const Bytes xa = owner.xa();
    // Device: OwnerRandom of the wrong size, or an owner key that cannot decrypt.
    expect_error(
        [&] { static_cast<void>(device_kex(suite, ByteView(xa).first(xa.size() - 1), owner_key.public_key())); },
        ErrorCode::InvalidMessageError);
    expect_error([&] { static_cast<void>(device_kex(suite, concat(xa, Bytes{1}), owner_key.public_key())); },
                 ErrorCode::InvalidMessageError);
    expect_error([&] { static_cast<void>(device_kex(suite, xa, p256_key().public_key())); },
                 ErrorCode::InvalidMessageError);
    const KeyType other = suite == KexSuite::AsymKex2048 ? KeyType::Rsa3072 : KeyType::Rsa2048;
    expect_error([&] { static_cast<void>(device_kex(suite, xa, rsa_key(other).public_key())); },
                 ErrorCode::InvalidMessageError);

    // Owner: every failure to recover DeviceRandom gives the same text.
    const DeviceKex device = device_kex(suite, xa, owner_key.public_key());
    const Bytes wrong_size_plaintext = rsa_oaep_encrypt(owner_key.public_key(), Bytes(xa.size() - 1, 7));
    const std::vector<std::pair<std::string, Bytes>> cases = {
        {"tampered", flip_last_bit(device.xb)},
        {"truncated", Bytes(device.xb.begin(), device.xb.end() - 1)},
        {"empty", {}},
        {"DeviceRandom of the wrong size", wrong_size_plaintext},
    };
    std::vector<std::string> texts;
    for (const auto& [name, bad_case] : cases) {
      const Bytes& bad = bad_case;  // clang 14 cannot capture a structured binding
      SCOPED_TRACE(name);
      texts.push_back(
          expect_error([&] { static_cast<void>(owner.finish(bad, &owner_key)); }, ErrorCode::InvalidMessageError));
    }
    for (const std::string& t : texts) {
      EXPECT_EQ(t, texts.front());
    }
    // The owner's own key is required; our bug if it is missing or of the wrong size.
    expect_error([&] { static_cast<void>(owner.finish(device.xb, nullptr)); }, ErrorCode::InternalServerError);
    expect_error([&] { static_cast<void>(owner.finish(device.xb, &rsa_key(other))); }, ErrorCode::InternalServerError);
  }
}

TEST(Kex, EachStartIsFresh) {
  for (const KexSuite suite : kAllSuites) {
    EXPECT_NE(KexOwner::start(suite).xa(), KexOwner::start(suite).xa()) << kex_suite_name(suite);
  }
  // Two device runs against one xA give different xB and secrets.
  const KexOwner owner = KexOwner::start(KexSuite::Ecdh256);
  const DeviceKex a = device_kex(KexSuite::Ecdh256, owner.xa(), p256_key().public_key());
  const DeviceKex b = device_kex(KexSuite::Ecdh256, owner.xa(), p256_key().public_key());
  EXPECT_NE(a.xb, b.xb);
  EXPECT_FALSE(a.secret.shse.equals(b.secret.shse.view()));
}

}  // namespace
}  // namespace fdo::crypto
