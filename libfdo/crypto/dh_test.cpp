#include "libfdo/crypto/dh.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/internal/ossl.h"
#include "libfdo/crypto/internal/test_util.h"

namespace fdo::crypto {
namespace {

using test::expect_error;
using test::read_records;
using Case = test::Record;

/// Hex with RFC-style spaces removed.
Bytes spaced_hex_field(const Case& c, const std::string& key) {
  std::string hex;
  for (const char ch : c.at(key)) {
    if (ch != ' ') {
      hex += ch;
    }
  }
  return from_hex(hex);
}

DhGroup group_field(const Case& c) { return c.at("group") == "14" ? DhGroup::Modp2048 : DhGroup::Modp3072; }

Bytes strip_leading_zeros(ByteView b) {
  std::size_t i = 0;
  while (i < b.size() && b[i] == 0) {
    ++i;
  }
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(i), b.end());
}

/// p + delta as |p| (or |p| + 1) big-endian bytes, via OpenSSL BIGNUM.
Bytes prime_plus(DhGroup group, long delta) {
  const Bytes p = dh_prime(group);
  internal::BignumPtr bn(BN_bin2bn(p.data(), static_cast<int>(p.size()), nullptr));
  if (delta >= 0) {
    EXPECT_EQ(BN_add_word(bn.get(), static_cast<BN_ULONG>(delta)), 1);
  } else {
    EXPECT_EQ(BN_sub_word(bn.get(), static_cast<BN_ULONG>(-delta)), 1);
  }
  Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

const DhGroup kGroups[] = {DhGroup::Modp2048, DhGroup::Modp3072};

TEST(DhGroups, PrimesAreTheRfc3526Primes) {
  int checked = 0;
  for (const Case& c : read_records("dh_rfc3526_primes.txt")) {
    SCOPED_TRACE(c.at("name"));
    const DhGroup group = group_field(c);
    const Bytes p = dh_prime(group);
    EXPECT_EQ(to_hex(p), to_hex(spaced_hex_field(c, "p")));
    EXPECT_EQ(p.size(), dh_prime_size(group));

    // A second source: the RFC 3526 primes OpenSSL ships.
    const internal::BignumPtr ossl(group == DhGroup::Modp2048 ? BN_get_rfc3526_prime_2048(nullptr)
                                                              : BN_get_rfc3526_prime_3072(nullptr));
    Bytes ossl_bytes(p.size());
    ASSERT_EQ(BN_bn2binpad(ossl.get(), ossl_bytes.data(), static_cast<int>(ossl_bytes.size())),
              static_cast<int>(p.size()));
    EXPECT_EQ(ossl_bytes, p);

    // Safe primes: p and q = (p - 1) / 2 are both prime.
    const internal::BnCtxPtr ctx(BN_CTX_new());
    const internal::BignumPtr p_bn(BN_bin2bn(p.data(), static_cast<int>(p.size()), nullptr));
    EXPECT_EQ(BN_check_prime(p_bn.get(), ctx.get(), nullptr), 1);
    const internal::BignumPtr q_bn(BN_dup(p_bn.get()));
    ASSERT_EQ(BN_rshift1(q_bn.get(), q_bn.get()), 1);
    EXPECT_EQ(BN_check_prime(q_bn.get(), ctx.get(), nullptr), 1);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  EXPECT_EQ(dh_prime_size(DhGroup::Modp2048), 256u);
  EXPECT_EQ(dh_prime_size(DhGroup::Modp3072), 384u);
  EXPECT_EQ(dh_private_bits(DhGroup::Modp2048), 256u);
  EXPECT_EQ(dh_private_bits(DhGroup::Modp3072), 768u);
}

TEST(Dh, KnownAnswersIncludingLeadingZeroSecrets) {
  int checked = 0;
  int leading_zero_secrets = 0;
  for (const Case& c : read_records("dh_vectors.txt")) {
    SCOPED_TRACE(c.at("name"));
    const DhGroup group = group_field(c);
    const Bytes shse = spaced_hex_field(c, "shse");
    const DhKeyPair owner = DhKeyPair::from_private_exponent(group, spaced_hex_field(c, "a"));
    const DhKeyPair device = DhKeyPair::from_private_exponent(group, spaced_hex_field(c, "b"));
    EXPECT_EQ(owner.group(), group);
    EXPECT_EQ(to_hex(owner.public_value()), c.at("A"));
    EXPECT_EQ(to_hex(device.public_value()), c.at("B"));
    EXPECT_EQ(to_hex(owner.compute(spaced_hex_field(c, "B")).view()), c.at("shse"));
    EXPECT_EQ(to_hex(device.compute(spaced_hex_field(c, "A")).view()), c.at("shse"));

    // Peers send the minimal length (go-fdo, fdo-rs) or a sign byte (Java PRI); docs/interop.md
    // "shared-secret-leading-zeros".
    const Bytes minimal = strip_leading_zeros(spaced_hex_field(c, "A"));
    Bytes signed_form{0x00};
    append(signed_form, minimal);
    EXPECT_TRUE(device.compute(minimal).equals(shse));
    EXPECT_TRUE(device.compute(signed_form).equals(shse));
    if (shse[0] == 0) {
      ++leading_zero_secrets;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 4);
  // docs/interop.md "shared-secret-leading-zeros": the vectors must exercise ShSe values that start with a zero
  // byte, in both groups.
  EXPECT_EQ(leading_zero_secrets, 2);
}

TEST(Dh, TwoFreshPartiesAgreeAtFullWidth) {
  for (const DhGroup group : kGroups) {
    SCOPED_TRACE(dh_prime_size(group));
    for (int round = 0; round < 8; ++round) {
      const DhKeyPair owner = DhKeyPair::generate(group);
      const DhKeyPair device = DhKeyPair::generate(group);
      const Bytes a = owner.public_value();
      const Bytes b = device.public_value();
      EXPECT_EQ(a.size(), dh_prime_size(group));
      EXPECT_EQ(b.size(), dh_prime_size(group));
      EXPECT_NE(a, b);
      const SecretBytes owner_shse = owner.compute(b);
      const SecretBytes device_shse = device.compute(a);
      EXPECT_EQ(owner_shse.size(), dh_prime_size(group));
      EXPECT_TRUE(owner_shse.equals(device_shse.view()));
    }
  }
}

TEST(Dh, GeneratorAsPeerGivesOwnPublicValue) {
  // 2^a mod p is both A and the "shared" value with peer g = 2, a quick check that generate()
  // uses g = 2 and our p.
  for (const DhGroup group : kGroups) {
    const DhKeyPair key = DhKeyPair::generate(group);
    EXPECT_TRUE(key.compute(Bytes{0x02}).equals(key.public_value()));
  }
}

TEST(Dh, RejectsPeerValuesOutsideTwoToPMinusTwo) {
  for (const DhGroup group : kGroups) {
    SCOPED_TRACE(dh_prime_size(group));
    const DhKeyPair key = DhKeyPair::generate(group);
    const std::size_t width = dh_prime_size(group);
    for (const Bytes& bad : {Bytes{}, Bytes{0x00}, Bytes{0x01}, Bytes(width, 0x00), prime_plus(group, -1),
                             prime_plus(group, 0), prime_plus(group, 1), Bytes(width, 0xFF)}) {
      expect_error([&] { (void)key.compute(bad); }, ErrorCode::InvalidMessageError);
    }
    // p - 2 is in range but is a quadratic non-residue (p = 7 mod 8), so not in the order-q subgroup.
    expect_error([&] { (void)key.compute(prime_plus(group, -2)); }, ErrorCode::InvalidMessageError);
    // More than |p| + 1 bytes is malformed, even with leading zeros.
    Bytes too_long(width + 2, 0x00);
    too_long.back() = 0x02;
    expect_error([&] { (void)key.compute(too_long); }, ErrorCode::MessageBodyError);
    Bytes longest(width + 1, 0x00);
    longest.back() = 0x02;
    EXPECT_EQ(key.compute(longest).size(), width);
  }
}

TEST(Dh, FromPrivateExponentRejectsExponentsOutOfRange) {
  for (const DhGroup group : kGroups) {
    for (const Bytes& bad : {Bytes{}, Bytes{0x01}, prime_plus(group, -1), prime_plus(group, 0)}) {
      expect_error([&] { (void)DhKeyPair::from_private_exponent(group, bad); }, ErrorCode::MessageBodyError);
    }
  }
}

TEST(Dh, KeysMove) {
  DhKeyPair key = DhKeyPair::generate(DhGroup::Modp2048);
  const Bytes public_value = key.public_value();
  DhKeyPair moved = std::move(key);
  EXPECT_EQ(moved.public_value(), public_value);
  key = DhKeyPair::generate(DhGroup::Modp3072);
  EXPECT_EQ(key.group(), DhGroup::Modp3072);
}

}  // namespace
}  // namespace fdo::crypto
