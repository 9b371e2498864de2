// fdo-rendezvous as a process (docs/cli.md): start-up order (a busy port leaves no state directory), listen
// address forms, config-file errors, missing trust directories, --version and usage errors.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "tools/common/cli_test_support.h"

namespace fdo::integration {
namespace {

namespace fs = std::filesystem;

class RendezvousCli : public ::testing::Test {
 protected:
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }
  [[nodiscard]] static RunResult rv(const std::vector<std::string>& args) { return run_tool("fdo-rendezvous", args); }

  TempDir m_tmp;
};

TEST_F(RendezvousCli, ServeOnABusyPortSaysSoAndCreatesNoDirectory) {
  const tool::testing::LoopbackPort busy(true);
  const RunResult r = rv({"serve", "--dir", path("rv"), "--listen", busy.address()});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err, "fdo-rendezvous serve: cannot listen on " + busy.address() + ": Address already in use\n");
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(path("rv")));
}

TEST_F(RendezvousCli, ServeListensOnLocalhost) {
  const ServerProcess server("fdo-rendezvous", {"serve", "--dir", path("rv"), "--listen", "localhost:0", "--no-admin"});
  EXPECT_EQ(server.url().rfind("http://127.0.0.1:", 0), 0u) << server.url();
  EXPECT_TRUE(fs::exists(path("rv/rendezvous.db")));
}

TEST_F(RendezvousCli, AHostNameOtherThanLocalhostIsAUsageError) {
  const RunResult r = rv({"serve", "--dir", path("rv"), "--listen", "example.com:8041"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("expected IPv4:PORT, [IPv6]:PORT or localhost:PORT"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("rv")));
}

TEST_F(RendezvousCli, BadConfigKeyNamesTheFileAndTheKey) {
  const std::string config = path("rv.toml");
  write_file_atomic(config, to_bytes("max-wait-secs = 10\n"), 0644);
  const RunResult r = rv({"serve", "--dir", path("rv"), "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.err, "fdo-rendezvous serve: config " + config + ": unknown key 'max-wait-secs' (TOML)\n");
  EXPECT_FALSE(fs::exists(path("rv")));
}

TEST_F(RendezvousCli, AFifoAsConfigFailsAtOnceWhereverTheOptionStands) {
  // docs/security.md "Local files": CLI11 would open the file with a blocking ifstream; it is checked first.
  const std::string fifo = path("fifo.toml");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"serve", "--dir", path("rv"), "--config", fifo},
                                               std::vector<std::string>{"--config", fifo, "serve", "--dir", path("rv")}}) {
    const RunResult r = run_tool("fdo-rendezvous", args, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 1) << r.describe();  // an unusable input file (docs/cli.md "Exit codes")
    EXPECT_NE(r.err.find(fifo + ": not a regular file"), std::string::npos) << r.err;
  }
}

TEST_F(RendezvousCli, ConfigFileOptionsApplyAndFlagsOverrideThem) {
  const std::string config = path("rv.toml");
  write_file_atomic(config, to_bytes("listen = \"203.0.113.1:1\"\nmax_wait_seconds = 30\n"), 0644);
  // The file's listen address is not usable here; the flag wins.
  const ServerProcess server("fdo-rendezvous",
                             {"serve", "--dir", path("rv"), "--config", config, "--listen", "127.0.0.1:0", "--no-admin"});
  EXPECT_EQ(server.url().rfind("http://127.0.0.1:", 0), 0u) << server.url();
}

TEST_F(RendezvousCli, MissingTrustDirectoryIsExitOneNamingIt) {
  const RunResult r =
      rv({"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--trust-owner-keys", path("absent")});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err, "fdo-rendezvous serve: --trust-owner-keys " + path("absent") + ": no such directory\n");
}

TEST_F(RendezvousCli, ABadAdminAddressIsAUsageErrorNamingTheOption) {
  const RunResult r = rv({"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", "nowhere"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--admin-listen"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("rv")));
}

TEST_F(RendezvousCli, ServeHelpShowsConfig) {
  const RunResult r = rv({"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--config"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("localhost:PORT"), std::string::npos) << r.out;
}

TEST_F(RendezvousCli, VersionAndUsageErrors) {
  RunResult r = rv({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "fdo-rendezvous " FDO_PROJECT_VERSION "\n");
  r = rv({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("fdo-rendezvous: a subcommand is required: serve\n", 0), 0u) << r.err;
  r = rv({"serve", "--dir", path("rv"), "--max-wait-second", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "fdo-rendezvous serve: unknown option --max-wait-second; did you mean --max-wait-seconds?\n");
  EXPECT_FALSE(fs::exists(path("rv")));
}

}  // namespace
}  // namespace fdo::integration
