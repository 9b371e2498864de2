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

// docs/security.md "Local files": regular files only, at most the bound, read at most bound + 1 bytes.
TEST(BoundedRead, RefusesWhatIsNotASmallRegularFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("fdo-core-test-" + to_hex(random_bytes(4)));
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "ten", Bytes(10, 7));
  EXPECT_EQ(read_file(dir / "ten", 10), Bytes(10, 7));
  write_file_atomic(dir / "empty", Bytes{});
  EXPECT_EQ(read_file(dir / "empty", 0), Bytes{});

  const auto problem = [](const std::filesystem::path& path, std::size_t max) {
    const FileRead r = read_file_checked(path, max);
    EXPECT_FALSE(r.data.has_value()) << path;
    return r.problem;
  };
  EXPECT_EQ(problem(dir / "ten", 9), "larger than 9 bytes");
  EXPECT_EQ(problem(dir / "missing", 10), "no such file");
  EXPECT_TRUE(read_file_checked(dir / "missing").missing);
  EXPECT_EQ(problem(dir, 10), "is a directory");
  EXPECT_EQ(problem("/dev/zero", 10), "not a regular file");
  EXPECT_EQ(problem("/dev/null", 10), "not a regular file");
  // A FIFO without a writer neither blocks the open nor the read.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(problem(dir / "fifo", 10), "not a regular file");
  // /proc files say size 0: they are read to the bound, and /proc/self/mem fails at its first read.
  EXPECT_EQ(problem("/proc/self/mem", 10), "Input/output error");
  EXPECT_EQ(problem("/proc/self/maps", 10), "larger than 10 bytes");
  EXPECT_FALSE(read_file("/proc/self/status").empty());

  try {
    (void)read_file(dir / "ten", 9);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read " + (dir / "ten").string() + ": larger than 9 bytes");
  }
  EXPECT_THROW((void)read_file_if_exists("/dev/zero"), Error);
  EXPECT_EQ(read_file_if_exists(dir / "missing"), std::nullopt);
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
