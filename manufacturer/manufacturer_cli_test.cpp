// fdo-manufacturer as a process (docs/cli.md): `vouchers list|export` (empty store, GUID forms), `serve` start-up
// (listen addresses, a busy port, config file errors, the admin listener and its token), --version and usage errors.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "libfdo/core/guid_text.h"
#include "tools/common/cli_test_support.h"

namespace fdo::integration {
namespace {

namespace fs = std::filesystem;

class ManufacturerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const RunResult init = run_tool("fdo-manufacturer", {"init", "--dir", dir()});
    ASSERT_EQ(init.exit_code, 0) << init.describe();
  }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }
  [[nodiscard]] std::string dir() const { return path("mfg"); }

  [[nodiscard]] static RunResult mfg(const std::vector<std::string>& args) {
    return run_tool("fdo-manufacturer", args);
  }

  TempDir m_tmp;
};

TEST_F(ManufacturerCli, InitCreatesTheAdminTokenOnce0600) {
  const std::string token = to_string(read_file(path("mfg/admin-token")));
  EXPECT_EQ(token.size(), 65u) << token;  // 32 bytes as hex, newline
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef\n"), std::string::npos) << token;
  struct stat st {};
  ASSERT_EQ(::stat(path("mfg/admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const RunResult again = mfg({"init", "--dir", dir()});
  EXPECT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_NE(again.out.find("kept    " + path("mfg/admin-token")), std::string::npos) << again.out;
  EXPECT_EQ(to_string(read_file(path("mfg/admin-token"))), token);
}

TEST_F(ManufacturerCli, AdminListenerOptions) {
  // Empty, or --no-admin: no admin listener, and no token needed.
  fs::remove(path("mfg/admin-token"));
  for (const std::vector<std::string>& off : {std::vector<std::string>{"--admin-listen", ""},
                                              std::vector<std::string>{"--no-admin"}}) {
    std::vector<std::string> args = {"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--rv", "http://127.0.0.1:9"};
    args.insert(args.end(), off.begin(), off.end());
    const ServerProcess server("fdo-manufacturer", args);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(server.log().find("admin listening on"), std::string::npos) << server.log();
  }
  // With an admin listener, a directory without a token does not start.
  RunResult r = mfg({"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--rv",
                     "http://127.0.0.1:9"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("holds no admin token: run `fdo-manufacturer init --dir " + dir() + "`"), std::string::npos)
      << r.err;
  r = mfg({"serve", "--dir", dir(), "--admin-listen", "nowhere", "--rv", "http://127.0.0.1:9"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--admin-listen"), std::string::npos) << r.err;
  // Not on loopback: a warning at start.
  ASSERT_EQ(mfg({"init", "--dir", dir()}).exit_code, 0);
  const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "127.0.0.1:0",
                                                  "--admin-listen", "0.0.0.0:0", "--rv", "http://127.0.0.1:9"});
  ASSERT_FALSE(server.admin_url().empty()) << server.log();
  EXPECT_NE(server.log().find("the admin listener is on 0.0.0.0:0, not on loopback"), std::string::npos)
      << server.log();
}

TEST_F(ManufacturerCli, VouchersListWithNoVouchersSaysSoAndCreatesNoDatabase) {
  RunResult r = mfg({"vouchers", "list", "--dir", dir()});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "no vouchers in " + dir() + "\n");
  r = mfg({"vouchers", "list", "--dir", dir(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "{\"format\":1,\"vouchers\":[]}\n");
  EXPECT_FALSE(fs::exists(path("mfg/manufacturer.db")));
}

TEST_F(ManufacturerCli, VouchersListOfAMissingDirectoryIsExitOne) {
  const RunResult r = mfg({"vouchers", "list", "--dir", path("nowhere")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("fdo-manufacturer vouchers list: no directory " + path("nowhere"), 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(path("nowhere")));
}

TEST_F(ManufacturerCli, ExportTakesTheGuidInHexOrInTheDashedUuidForm) {
  std::string hex;
  {
    const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--no-admin",
                                                    "--rv", "http://127.0.0.1:9"});
    const RunResult di = run_tool("fdo-device", {"di", "--url", server.url(), "--credential", path("cred.bin")});
    ASSERT_EQ(di.exit_code, 0) << di.describe();
    const RunResult list = mfg({"vouchers", "list", "--dir", dir(), "--json"});
    const Json j = Json::parse(list.out);
    EXPECT_EQ(j["format"].integer(), 1);
    ASSERT_EQ(j["vouchers"].size(), 1u);
    hex = j["vouchers"].at(0)["guid"].str();
  }
  const std::string uuid = guid_uuid_text(parse_guid(hex));
  ASSERT_EQ(uuid.size(), 36u);
  const RunResult by_hex = mfg({"vouchers", "export", "--dir", dir(), hex});
  ASSERT_EQ(by_hex.exit_code, 0) << by_hex.describe();
  EXPECT_EQ(by_hex.out.rfind("-----BEGIN OWNERSHIP VOUCHER-----", 0), 0u) << by_hex.out;
  std::string upper = uuid;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (const std::string& form : {uuid, upper}) {
    const RunResult by_uuid = mfg({"vouchers", "export", "--dir", dir(), form});
    EXPECT_EQ(by_uuid.exit_code, 0) << form << ": " << by_uuid.describe();
    EXPECT_EQ(by_uuid.out, by_hex.out) << form;
  }
  // Neither form: a usage error naming the GUID; a well-formed unknown GUID: exit 1.
  const RunResult bad = mfg({"vouchers", "export", "--dir", dir(), "1234-5678"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("GUID '1234-5678': expected 32 hex digits or 8-4-4-4-12"), std::string::npos) << bad.err;
  const RunResult unknown = mfg({"vouchers", "export", "--dir", dir(), std::string(32, '0')});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "fdo-manufacturer vouchers export: no voucher for GUID " + std::string(32, '0') + "\n");
}

TEST_F(ManufacturerCli, ServeOnABusyPortSaysSoAndCreatesNoDatabase) {
  const tool::testing::LoopbackPort busy(true);
  const RunResult r = mfg({"serve", "--dir", dir(), "--listen", busy.address(), "--rv", "http://127.0.0.1:9"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err, "fdo-manufacturer serve: cannot listen on " + busy.address() + ": Address already in use\n");
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(path("mfg/manufacturer.db")));
}

TEST_F(ManufacturerCli, ServeListensOnLocalhostAndOnIpv6Loopback) {
  {
    const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "localhost:0",
                                                    "--admin-listen", "localhost:0", "--rv", "http://127.0.0.1:9"});
    EXPECT_EQ(server.url().rfind("http://127.0.0.1:", 0), 0u) << server.url();
    EXPECT_EQ(mfg({"vouchers", "list", "--dir", dir()}).exit_code, 0);
    // The admin endpoints are not on the DI port (docs/manufacturer.md "Admin API").
    EXPECT_EQ(http_request(server.url(), "GET", "/admin/vouchers").status, 404);
  }
  // [::1] needs IPv6 on the loopback interface, which some containers lack: then the server says so and the test
  // is skipped.
  try {
    const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "[::1]:0", "--admin-listen",
                                                    "[::1]:0", "--rv", "http://127.0.0.1:9"});
    EXPECT_EQ(server.url().rfind("http://[::1]:", 0), 0u) << server.url();
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("cannot listen on [::1]") == std::string::npos) {
      throw;
    }
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
}

TEST_F(ManufacturerCli, BadConfigKeyNamesTheFileAndTheKeyAsWritten) {
  const std::string config = path("mfg.toml");
  write_file_atomic(config, to_bytes("lisen = \"127.0.0.1:0\"\nrv = [\"http://127.0.0.1:9\"]\n"), 0644);
  RunResult r = mfg({"serve", "--dir", dir(), "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.err, "fdo-manufacturer serve: config " + config + ": unknown key 'lisen' (TOML)\n");
  write_file_atomic(config, to_bytes("session_tll = 5\n"), 0644);
  r = mfg({"serve", "--dir", dir(), "--rv", "http://127.0.0.1:9", "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.err, "fdo-manufacturer serve: config " + config + ": unknown key 'session_tll' (TOML)\n");
  EXPECT_FALSE(fs::exists(path("mfg/manufacturer.db")));
  // A config file that is not there is a missing input file: exit 1.
  r = mfg({"serve", "--dir", dir(), "--config", path("absent.toml")});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find(path("absent.toml")), std::string::npos) << r.err;
}

TEST_F(ManufacturerCli, ConfigFileKeysWithUnderscoresWork) {
  const std::string config = path("mfg.toml");
  write_file_atomic(config,
                    to_bytes("listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nrv = [\"http://127.0.0.1:9\"]\n"
                             "session_ttl = 60\n"),
                    0644);
  const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--config", config});
  EXPECT_EQ(server.url().rfind("http://127.0.0.1:", 0), 0u);
  EXPECT_EQ(server.admin_url().rfind("http://127.0.0.1:", 0), 0u) << server.log();
}

TEST_F(ManufacturerCli, ServeHelpShowsConfig) {
  const RunResult r = mfg({"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--config"), std::string::npos) << r.out;
}

TEST_F(ManufacturerCli, MissingFirstOwnerFileIsExitOneNamingIt) {
  const RunResult r = mfg({"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--rv", "http://127.0.0.1:9",
                           "--first-owner", path("absent.pem")});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err, "fdo-manufacturer serve: cannot read " + path("absent.pem") + ": no such file\n");
}

TEST_F(ManufacturerCli, VersionAndUsageErrors) {
  RunResult r = mfg({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "fdo-manufacturer " FDO_PROJECT_VERSION "\n");
  r = mfg({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("fdo-manufacturer: a subcommand is required: init, serve, vouchers\n", 0), 0u) << r.err;
  r = mfg({"vouchers"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("fdo-manufacturer vouchers: a subcommand is required: list, export\n", 0), 0u) << r.err;
  r = mfg({"vouchers", "lst", "--dir", dir()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "fdo-manufacturer vouchers: unknown subcommand 'lst'; did you mean 'list'?\n");
  r = mfg({"vouchers", "list", "--dir", dir(), "--jsn"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "fdo-manufacturer vouchers list: unknown option --jsn; did you mean --json?\n");
}

}  // namespace
}  // namespace fdo::integration
