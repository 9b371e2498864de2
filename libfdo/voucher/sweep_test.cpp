// Corruption sweep (conformance checklist OV-16, OV-17): every single-byte corruption, every truncation and an
// appended byte of a valid 3-entry P-256 voucher verify as invalid, and verification never throws or crashes.
// The random part is seeded: the seed is printed, and FDO_TEST_SEED=<n> replays it.

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher_test_fixture.h"

namespace fdo::voucher {
namespace {

std::uint64_t test_seed() {
  if (const char* env = std::getenv("FDO_TEST_SEED")) {
    return std::strtoull(env, nullptr, 10);
  }
  return std::random_device{}();
}

class VoucherSweep : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::Fixture f;
    s_bytes = new Bytes(f.extended(3).encode());
    s_secret = new Bytes(f.hmac_secret.view().begin(), f.hmac_secret.view().end());
  }
  static void TearDownTestSuite() {
    delete s_bytes;
    delete s_secret;
    s_bytes = nullptr;
    s_secret = nullptr;
  }
  static VerifyOptions with_secret() {
    VerifyOptions options;
    options.hmac_secret = SecretBytes(*s_secret);
    return options;
  }
  /// verify() must give a report, never an exception.
  static bool valid(ByteView bytes, const VerifyOptions& options) {
    try {
      return verify(bytes, options).valid;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "verify threw: " << e.what();
      return true;
    }
  }

  static inline Bytes* s_bytes = nullptr;
  static inline Bytes* s_secret = nullptr;
};

TEST_F(VoucherSweep, TheUncorruptedVoucherIsValid) {
  EXPECT_TRUE(valid(*s_bytes, {}));
  EXPECT_TRUE(valid(*s_bytes, with_secret()));
  EXPECT_EQ(OwnershipVoucher::decode(*s_bytes).entries().size(), 3u);
}

TEST_F(VoucherSweep, EveryByteXorFFIsInvalid) {  // OV-16
  const VerifyOptions plain;
  const VerifyOptions secret = with_secret();
  Bytes copy = *s_bytes;
  for (std::size_t i = 0; i < copy.size(); ++i) {
    copy[i] ^= 0xFF;
    EXPECT_FALSE(valid(copy, plain)) << "offset " << i;
    EXPECT_FALSE(valid(copy, secret)) << "offset " << i << " with the HMAC secret";
    copy[i] ^= 0xFF;
  }
}

TEST_F(VoucherSweep, EveryTruncationAndAnAppendedByteAreInvalid) {  // OV-17
  for (std::size_t n = 0; n < s_bytes->size(); ++n) {
    EXPECT_FALSE(valid(ByteView(*s_bytes).first(n), {})) << "truncated to " << n;
  }
  for (const std::uint8_t extra : {0x00, 0xF6, 0xFF}) {
    Bytes longer = *s_bytes;
    longer.push_back(extra);
    EXPECT_FALSE(valid(longer, {})) << "appended " << int(extra);
  }
}

TEST_F(VoucherSweep, SeededRandomCorruptionsAreInvalid) {
  const std::uint64_t seed = test_seed();
  std::cout << "VoucherSweep seed " << seed << " (replay with FDO_TEST_SEED=" << seed << ")" << std::endl;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> offset(0, s_bytes->size() - 1);
  std::uniform_int_distribution<int> mask(1, 255);
  std::uniform_int_distribution<int> count(1, 4);
  const VerifyOptions secret = with_secret();
  for (int round = 0; round < 2000; ++round) {
    Bytes copy = *s_bytes;
    const int changes = count(rng);
    for (int c = 0; c < changes; ++c) {
      copy[offset(rng)] ^= static_cast<std::uint8_t>(mask(rng));
    }
    if (copy == *s_bytes) {
      continue;
    }
    EXPECT_FALSE(valid(copy, secret)) << "seed " << seed << " round " << round;
  }
}

}  // namespace
}  // namespace fdo::voucher
