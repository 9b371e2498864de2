#include "libfdo/fsim/device_io.h"

#include <gtest/gtest.h>

#include "libfdo/core/file.h"
#include "libfdo/core/internal/expect_error.h"

namespace fdo::fsim {
namespace {

class DeviceIo : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() / ("fsim-io-" + std::to_string(getpid()));
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir / "root");
    m_context.root = m_dir / "root";
    m_context.command_timeout = std::chrono::seconds(5);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  std::filesystem::path m_dir;
  DeviceContext m_context;
};

TEST_F(DeviceIo, PathsStayInsideTheRoot) {
  EXPECT_EQ(path_in_root(m_context, "a/b.txt"), std::filesystem::weakly_canonical(m_context.root) / "a/b.txt");
  for (const char* bad : {"/etc/passwd", "../x", "a/../../x", "", "."}) {
    fdo::test::expect_error([&] { (void)path_in_root(m_context, bad); }, ErrorCode::InvalidMessageError);
  }
  std::filesystem::create_directory_symlink(m_dir, m_context.root / "up");
  fdo::test::expect_error([&] { (void)path_in_root(m_context, "up/escaped"); }, ErrorCode::InvalidMessageError);
}

TEST_F(DeviceIo, WritesAtomicallyAndMakesDirectories) {
  const std::filesystem::path p = path_in_root(m_context, "etc/app/config");
  write_in_root(p, to_bytes("v=1\n"), 0600);
  EXPECT_EQ(to_string(read_file(p)), "v=1\n");
  EXPECT_EQ(std::filesystem::status(p).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(DeviceIo, RunsInTheRootWithADeadline) {
  const CommandResult ok = run_in_root(m_context, {"sh", "-c", "pwd; echo oops >&2; exit 3"});
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(to_string(ok.out), std::filesystem::weakly_canonical(m_context.root).string() + "\n");
  EXPECT_EQ(to_string(ok.err), "oops\n");
  m_context.command_timeout = std::chrono::seconds(1);
  const CommandResult slow = run_in_root(m_context, {"sh", "-c", "sleep 30"});
  EXPECT_TRUE(slow.timed_out);
  EXPECT_NE(slow.exit_code, 0);
  const CommandResult missing = run_in_root(m_context, {"no-such-command-fsim"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_FALSE(missing.error.empty());
}

}  // namespace
}  // namespace fdo::fsim
