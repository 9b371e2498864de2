// fdo-device as a process (docs/cli.md): exit codes, messages and --json shapes, against a real fdo-manufacturer
// on loopback and against ports where nothing answers.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "tools/common/cli_test_support.h"

namespace fdo::integration {
namespace {

const std::string kTestdata = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/voucher/";

class DeviceCli : public ::testing::Test {
 protected:
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  /// A manufacturer whose vouchers name `rv` as rendezvous server.
  void start_manufacturer(const std::string& rv) {
    const RunResult init = run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")});
    ASSERT_EQ(init.exit_code, 0) << init.describe();
    m_mfg = std::make_unique<ServerProcess>(
        "fdo-manufacturer",
        std::vector<std::string>{"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--rv", rv});
  }

  [[nodiscard]] RunResult di(const std::string& url, const std::string& credential,
                             std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"di", "--url", url, "--credential", credential};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tool("fdo-device", args);
  }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_mfg;
};

TEST_F(DeviceCli, DiToAClosedPortSaysCannotConnectWithoutAnErrorCode) {
  const tool::testing::LoopbackPort closed(false);
  const RunResult r = di(closed.url(), path("cred.bin"));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err, "fdo-device di: cannot connect to " + closed.address() + ": connection refused\n");
  EXPECT_FALSE(std::filesystem::exists(path("cred.bin")));
}

TEST_F(DeviceCli, DiToAnUnresolvableHostSaysSo) {
  const RunResult r = di("http://no-such-host.invalid:8038", path("cred.bin"));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err.rfind("fdo-device di: cannot resolve host no-such-host.invalid: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("(500)"), std::string::npos) << r.err;  // the code as printed; a GUID may hold "500"
}

TEST_F(DeviceCli, DiOverAnExistingCredentialNeedsForce) {
  start_manufacturer("http://127.0.0.1:9");
  const std::string cred = path("cred.bin");
  ASSERT_EQ(di(m_mfg->url(), cred).exit_code, 0);
  const Bytes first = read_file(cred);

  const RunResult again = di(m_mfg->url(), cred);
  EXPECT_EQ(again.exit_code, 1) << again.describe();
  EXPECT_EQ(again.err, "fdo-device di: " + cred + " exists; pass --force to replace it (only once DI succeeds)\n");
  EXPECT_EQ(read_file(cred), first);

  const RunResult forced = di(m_mfg->url(), cred, {"--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.describe();
  EXPECT_NE(read_file(cred), first);
}

TEST_F(DeviceCli, ShowJsonHasTheFormatAndTheCredentialFields) {
  start_manufacturer("http://127.0.0.1:9");
  ASSERT_EQ(di(m_mfg->url(), path("cred.bin")).exit_code, 0);
  const RunResult r = run_tool("fdo-device", {"show", "--credential", path("cred.bin"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"].integer(), 1);
  EXPECT_EQ(j["guid"].str().size(), 32u);
  EXPECT_EQ(j["protocol_version"].integer(), 101);
  EXPECT_EQ(j["storage"].str(), "file");
  EXPECT_EQ(j["key_type"].str(), "p256");
  EXPECT_TRUE(j.has("rendezvous_info"));
  EXPECT_TRUE(j["manufacturer_key_hash"].has("alg"));
  EXPECT_FALSE(j.has("hmac_secret"));
}

TEST_F(DeviceCli, ShowOnAVoucherSaysItIsAVoucherNotACredential) {
  const std::string voucher = kTestdata + "p256-3-entries.voucher.pem";
  const RunResult r = run_tool("fdo-device", {"show", "--credential", voucher});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err.rfind("fdo-device show: " + voucher + " is an ownership voucher, not a device credential", 0), 0u)
      << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(DeviceCli, ShowOnOtherBytesSaysTheyAreNotACredential) {
  write_file_atomic(path("junk.bin"), to_bytes("not cbor at all\n"), 0600);
  const RunResult r = run_tool("fdo-device", {"show", "--credential", path("junk.bin")});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err.rfind("fdo-device show: " + path("junk.bin") + " is not a device credential: ", 0), 0u) << r.err;
}

TEST_F(DeviceCli, MissingCredentialIsExitOneNamingTheFile) {
  for (const char* command : {"show", "to1"}) {
    const RunResult r = run_tool("fdo-device", {command, "--credential", path("absent.bin")});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_EQ(r.err, "fdo-device " + std::string(command) + ": no credential at " + path("absent.bin") +
                         " (run `fdo-device di` first)\n");
  }
}

TEST_F(DeviceCli, To1WithAnUnreachableRendezvousIsATransportFailure) {
  const tool::testing::LoopbackPort closed(false);
  start_manufacturer(closed.url());
  ASSERT_EQ(di(m_mfg->url(), path("cred.bin")).exit_code, 0);
  const RunResult r = run_tool("fdo-device", {"to1", "--credential", path("cred.bin"), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  const std::string why = "cannot connect to " + closed.address() + ": connection refused";
  EXPECT_NE(r.err.find("fdo-device to1: " + closed.url() + ": " + why + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("INTERNAL_SERVER_ERROR"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("(500)"), std::string::npos) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"].integer(), 1);
  EXPECT_FALSE(j["found"].boolean());
  EXPECT_EQ(j["to2_urls"].size(), 0u);
  EXPECT_TRUE(j["rendezvous"].is_null());
  ASSERT_EQ(j["attempts"].size(), 1u);
  const Json& attempt = j["attempts"].at(0);
  EXPECT_EQ(attempt["url"].str(), closed.url());
  EXPECT_EQ(attempt["error"].str(), "transport");
  EXPECT_TRUE(attempt["error_code"].is_null());
  EXPECT_EQ(attempt["detail"].str(), why);
}

TEST_F(DeviceCli, MistypedOptionOrSubcommandSuggestsTheNearest) {
  RunResult r = run_tool("fdo-device", {"show", "--credential", path("c.bin"), "--jsn"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.err, "fdo-device show: unknown option --jsn; did you mean --json?\n");
  r = run_tool("fdo-device", {"shwo", "--credential", path("c.bin")});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.err, "fdo-device: unknown subcommand 'shwo'; did you mean 'show'?\n");
}

// docs/cli.md: one of --credential and --tpm is required by every subcommand.
TEST_F(DeviceCli, NeitherCredentialNorTpmIsAUsageError) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"show"}, std::vector<std::string>{"to1"},
                                               std::vector<std::string>{"onboard"},
                                               std::vector<std::string>{"di", "--url", "http://127.0.0.1:1"}}) {
    const RunResult r = run_tool("fdo-device", args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.describe();
    EXPECT_NE(r.err.find("--credential or --tpm is required"), std::string::npos) << r.err;
  }
  const RunResult p = run_tool("fdo-tpm-provisioner", {"provision"});
  EXPECT_EQ(p.exit_code, 2) << p.describe();
  EXPECT_NE(p.err.find("--tcti is required"), std::string::npos) << p.err;
}

TEST_F(DeviceCli, NoSubcommandListsTheSubcommandsAndExitsTwo) {
  const RunResult r = run_tool("fdo-device", {});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.err.rfind("fdo-device: a subcommand is required: di, show, to1, onboard, report\n", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("Subcommands:"), std::string::npos) << r.err;
}

TEST_F(DeviceCli, VersionPrintsTheProjectVersion) {
  const RunResult r = run_tool("fdo-device", {"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "fdo-device " FDO_PROJECT_VERSION "\n");
}

}  // namespace
}  // namespace fdo::integration
