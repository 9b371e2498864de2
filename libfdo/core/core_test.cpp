#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/secret_bytes.h"

namespace fdo {
namespace {

TEST(Hex, RoundTripsAndRejectsBadDigits) {
  const Bytes b = {0x00, 0xAB, 0xff};
  EXPECT_EQ(to_hex(b), "00abff");
  EXPECT_EQ(from_hex("00ABff"), b);
  EXPECT_THROW(from_hex("0"), Error);
  EXPECT_THROW(from_hex("zz"), Error);
}

TEST(Base64, MatchesRfc4648Vectors) {
  // RFC 4648 §10 test vectors.
  EXPECT_EQ(base64_encode(to_bytes("")), "");
  EXPECT_EQ(base64_encode(to_bytes("f")), "Zg==");
  EXPECT_EQ(base64_encode(to_bytes("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(to_bytes("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(to_bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(to_string(base64_decode("Zm9v\r\nYmE=")), "fooba");
  EXPECT_THROW(base64_decode("Zm9v*"), Error);
  EXPECT_EQ(base64url_encode(Bytes{0xfb, 0xff}), "-_8");
}

TEST(FixedBytes, GuidAndNonceCheckLength) {
  const Bytes sixteen(16, 7);
  EXPECT_EQ(Guid::from(sixteen).to_bytes(), sixteen);
  EXPECT_THROW(Guid::from(Bytes(15, 0)), Error);
  EXPECT_NE(Nonce::random(), Nonce::random());
}

TEST(SecretBytes, ComparesInConstantTimeAndMoves) {
  SecretBytes a(Bytes{1, 2, 3});
  EXPECT_TRUE(a.equals(Bytes{1, 2, 3}));
  EXPECT_FALSE(a.equals(Bytes{1, 2, 4}));
  EXPECT_FALSE(a.equals(Bytes{1, 2}));
  SecretBytes b = std::move(a);
  EXPECT_EQ(b.size(), 3u);
}

TEST(AtomicFile, WritesWithMode0600AndReplaces) {
  const auto dir = std::filesystem::temp_directory_path() / ("fdo-core-test-" + to_hex(random_bytes(4)));
  std::filesystem::create_directories(dir);
  const auto path = dir / "cred.bin";
  write_file_atomic(path, Bytes{1, 2, 3});
  write_file_atomic(path, Bytes{4, 5});
  EXPECT_EQ(read_file(path), (Bytes{4, 5}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  EXPECT_FALSE(read_file_if_exists(dir / "missing").has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fdo

#include "libfdo/core/quirks.h"

namespace fdo {
namespace {

TEST(Quirks, RegistryIsInEnumOrderAndParsesNames) {
  std::size_t i = 0;
  for (const QuirkInfo& q : all_quirks()) {
    EXPECT_EQ(static_cast<std::size_t>(q.quirk), i++);
    EXPECT_EQ(parse_quirk(q.name), q.quirk);
  }
  EXPECT_FALSE(parse_quirk("no-such-quirk").has_value());
}

TEST(Quirks, StrictByDefaultAndLenientOnlyForNamedQuirks) {
  const Leniency strict;
  EXPECT_FALSE(strict.accept(Quirk::LegacyCertChainHash, "test"));
  const std::vector<std::string> names = {"legacy-cert-chain-hash"};
  const Leniency lenient = Leniency::from_names(names);
  EXPECT_TRUE(lenient.accept(Quirk::LegacyCertChainHash, "test"));
  EXPECT_FALSE(lenient.allows(Quirk::UntaggedCose));
  const std::vector<std::string> bad = {"nope"};
  EXPECT_THROW(Leniency::from_names(bad), Error);
}

}  // namespace
}  // namespace fdo
