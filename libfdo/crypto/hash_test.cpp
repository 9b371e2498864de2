#include "libfdo/crypto/hash.h"

#include <gtest/gtest.h>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/internal/test_util.h"

namespace fdo::crypto {
namespace {

HashAlg alg_field(const test::Record& r) {
  const std::string& name = r.at("alg");
  EXPECT_TRUE(name == "sha256" || name == "sha384") << name;
  return name == "sha256" ? HashAlg::Sha256 : HashAlg::Sha384;
}

TEST(Hash, DigestSizesAre32And48) {
  EXPECT_EQ(digest_size(HashAlg::Sha256), 32u);
  EXPECT_EQ(digest_size(HashAlg::Sha384), 48u);
}

TEST(Hash, MatchesFips180Vectors) {
  for (const test::Record& r : test::read_records("hash.txt")) {
    const HashAlg alg = alg_field(r);
    const Bytes piece = test::hex_field(r, "msg");
    const std::size_t repeat = std::stoul(r.at("repeat"));
    Bytes message;
    Hasher hasher(alg);
    for (std::size_t i = 0; i < repeat; ++i) {
      append(message, piece);
      hasher.update(piece);
    }
    SCOPED_TRACE(r.at("alg") + " over " + std::to_string(message.size()) + " bytes");
    EXPECT_EQ(to_hex(hash(alg, message)), r.at("digest"));
    EXPECT_EQ(to_hex(hasher.finish()), r.at("digest"));
  }
}

TEST(Hash, HashesTheEmptyString) {
  // FIPS 180-2 digests of the empty message, as widely published.
  EXPECT_EQ(to_hex(hash(HashAlg::Sha256, {})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(Hasher(HashAlg::Sha384).finish()),
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
}

TEST(Hasher, RefusesUseAfterFinish) {
  Hasher hasher(HashAlg::Sha256);
  hasher.update(to_bytes("abc"));
  EXPECT_EQ(hasher.finish(), hash(HashAlg::Sha256, to_bytes("abc")));
  test::expect_error([&] { hasher.update(to_bytes("x")); }, ErrorCode::InternalServerError);
  test::expect_error([&] { static_cast<void>(hasher.finish()); }, ErrorCode::InternalServerError);
}

TEST(Hasher, MovesWithItsState) {
  Hasher first(HashAlg::Sha384);
  first.update(to_bytes("ab"));
  Hasher second = std::move(first);
  second.update(to_bytes("c"));
  EXPECT_EQ(second.finish(), hash(HashAlg::Sha384, to_bytes("abc")));
}

TEST(Hmac, MatchesRfc4231Vectors) {
  for (const test::Record& r : test::read_records("hmac.txt")) {
    const HashAlg alg = alg_field(r);
    const Bytes mac = hmac(alg, test::hex_field(r, "key"), test::hex_field(r, "data"));
    const Bytes expected = test::hex_field(r, "mac");
    ASSERT_EQ(mac.size(), digest_size(alg));
    // RFC 4231 Test Case 5 lists only the leading 128 bits.
    EXPECT_EQ(to_hex(ByteView(mac).first(expected.size())), r.at("mac")) << "key " << r.at("key");
  }
}

TEST(Hmac, AcceptsAnEmptyKey) {
  // Any length is a valid HMAC key (RFC 2104); this value is also given by other HMAC test
  // suites for HMAC-SHA-256("", "").
  EXPECT_EQ(to_hex(hmac(HashAlg::Sha256, {}, {})), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Hmac, DependsOnKeyAndData) {
  const Bytes key(32, 0x11);
  const Bytes data = to_bytes("OVHeader");
  const Bytes mac = hmac(HashAlg::Sha256, key, data);
  EXPECT_NE(hmac(HashAlg::Sha256, Bytes(32, 0x12), data), mac);
  EXPECT_NE(hmac(HashAlg::Sha256, key, to_bytes("OVHeadeR")), mac);
  EXPECT_EQ(hmac(HashAlg::Sha384, key, data).size(), 48u);
}

}  // namespace
}  // namespace fdo::crypto
