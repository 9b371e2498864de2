#include "tools/common/key_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"

namespace fdo::tool {
namespace {

// A fresh directory under the system temp directory, removed at the end of the test.
class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() / ("fdo-tool-test-" + to_hex(random_bytes(6)));
    std::filesystem::create_directories(m_dir);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  static unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }

  std::filesystem::path m_dir;
};

TEST_F(KeyFiles, PrivateKeyIsWritten0600AndReadsBack) {
  const std::filesystem::path path = m_dir / "k.key.pem";
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P384);
  write_private_key(path, key);
  EXPECT_EQ(mode_of(path), 0600u);
  const crypto::PrivateKey read = read_private_key(path);
  EXPECT_EQ(read.type(), crypto::KeyType::P384);
  EXPECT_TRUE(read.public_key().same_key(key.public_key()));
}

TEST_F(KeyFiles, PublicFileIsWritten0644) {
  const std::filesystem::path path = m_dir / "k.pub.pem";
  write_public_file(path, std::string("-----BEGIN PUBLIC KEY-----\n"));
  EXPECT_EQ(mode_of(path), 0644u);
  EXPECT_EQ(to_string(read_file(path)), "-----BEGIN PUBLIC KEY-----\n");
  write_public_file(path, Bytes{0x84, 0x01});
  EXPECT_EQ(read_file(path), (Bytes{0x84, 0x01}));
}

TEST_F(KeyFiles, UnparsableKeyFileIsAnInternalErrorNamingTheFile) {
  const std::filesystem::path path = m_dir / "bad.key.pem";
  write_public_file(path, std::string("not a key\n"));
  try {
    static_cast<void>(read_private_key(path));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
    EXPECT_EQ(std::string(e.what()).rfind(path.string() + ": ", 0), 0u) << e.what();
  }
}

TEST_F(KeyFiles, PrivateKeyAtCreatesOnceThenKeeps) {
  const std::filesystem::path path = m_dir / "owner.key.pem";
  std::vector<InitStep> steps;
  const crypto::PrivateKey first = private_key_at(path, crypto::KeyType::P256, steps);
  // A second call with another type keeps the existing key: a key is never replaced.
  const crypto::PrivateKey second = private_key_at(path, crypto::KeyType::P384, steps);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(steps[0].created);
  EXPECT_FALSE(steps[1].created);
  EXPECT_EQ(steps[1].path, path);
  EXPECT_EQ(second.type(), crypto::KeyType::P256);
  EXPECT_TRUE(second.public_key().same_key(first.public_key()));
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST_F(KeyFiles, PrivateDirectoryIsCreated0700AndAnExistingOneIsKept) {
  const std::filesystem::path dir = m_dir / "a" / "b";
  create_private_directory(dir);
  EXPECT_EQ(mode_of(dir), 0700u);
  write_public_file(dir / "kept", std::string("x"));
  create_private_directory(dir);
  EXPECT_TRUE(std::filesystem::exists(dir / "kept"));
}

TEST_F(KeyFiles, DirectoryThatCannotBeCreatedIsAnInternalError) {
  write_public_file(m_dir / "file", std::string("x"));
  try {
    create_private_directory(m_dir / "file" / "sub");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
    EXPECT_NE(std::string(e.what()).find("cannot create directory"), std::string::npos) << e.what();
  }
}

TEST(KeyTypeOption, NamesTheOptionForAnUnknownType) {
  EXPECT_EQ(key_type_option("rsa3072", "--key-type"), crypto::KeyType::Rsa3072);
  try {
    static_cast<void>(key_type_option("p521", "--ca-key-type"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
    EXPECT_EQ(std::string(e.what()), "--ca-key-type: unknown key type 'p521' (p256, p384, rsa2048, rsa3072)");
  }
}

TEST(InitSteps, PrintOneAlignedLinePerFile) {
  ::testing::internal::CaptureStdout();
  print_init_steps({{"d/a.key.pem", true}, {"d/b.cert.pem", false}});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "created d/a.key.pem\nkept    d/b.cert.pem\n");
}

}  // namespace
}  // namespace fdo::tool
