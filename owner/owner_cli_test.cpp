// fdo-owner as a process (docs/cli.md): pubkey's output, how `to0` reports each kind of failure (the rendezvous
// server's own code, a transport failure with no code since nobody sent one, a refusal made here), and the
// vouchers and devices the owner keeps (`vouchers import|list|export`, `devices list|show`, docs/owner.md).

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/voucher/pem.h"
#include "tools/common/cli_test_support.h"

#include <sys/stat.h>

namespace fdo::integration {
namespace {

const std::string kTo2Url = "http://127.0.0.1:8042";

class OwnerCli : public ::testing::Test {
 protected:
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  void init_owner(const std::string& dir) {
    const RunResult r = run_tool("fdo-owner", {"init", "--dir", path(dir)});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }

  /// A device whose voucher names `rv` and is extended to owner/ at DI (--first-owner); returns the voucher file.
  std::string owned_voucher(const std::string& rv) {
    init_owner("owner");
    EXPECT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")}).exit_code, 0);
    const ServerProcess mfg("fdo-manufacturer", {"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0",
                                                 "--admin-listen", "", "--rv", rv, "--first-owner",
                                                 path("owner/owner.pub.pem")});
    const RunResult di = run_tool("fdo-device", {"di", "--url", mfg.url(), "--credential", path("cred.bin")});
    EXPECT_EQ(di.exit_code, 0) << di.describe();
    const RunResult show = run_tool("fdo-device", {"show", "--credential", path("cred.bin"), "--json"});
    m_guid = Json::parse(show.out)["guid"].str();
    const std::string voucher = path("device.voucher.pem");
    const RunResult out =
        run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), m_guid, "-o", voucher});
    EXPECT_EQ(out.exit_code, 0) << out.describe();
    return voucher;
  }

  [[nodiscard]] RunResult to0(const std::string& dir, const std::string& voucher) const {
    return run_tool("fdo-owner", {"to0", "--dir", path(dir), "--voucher", voucher, "--to2-url", kTo2Url, "--json"});
  }

  TempDir m_tmp;
  std::string m_guid;
};

TEST_F(OwnerCli, PubkeyWithoutOutPrintsThePemOnStdout) {
  init_owner("owner");
  const RunResult r = run_tool("fdo-owner", {"pubkey", "--dir", path("owner")});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, to_string(read_file(path("owner/owner.pub.pem"))));
  EXPECT_EQ(r.out.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u) << r.out;
  EXPECT_NO_THROW(static_cast<void>(crypto::PublicKey::from_pem(r.out)));
  // With -o the file gets the same PEM and stdout stays empty.
  const RunResult to_file = run_tool("fdo-owner", {"pubkey", "--dir", path("owner"), "-o", path("pub.pem")});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.describe();
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(to_string(read_file(path("pub.pem"))), r.out);
}

TEST_F(OwnerCli, PubkeyOfADirectoryWithoutAKeyIsExitOneNamingIt) {
  const RunResult r = run_tool("fdo-owner", {"pubkey", "--dir", path("nowhere")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "fdo-owner pubkey: " + path("nowhere") + " holds no owner key: run `fdo-owner init --dir " +
                       path("nowhere") + "`\n");
}

TEST_F(OwnerCli, To0ToAClosedRendezvousPortIsATransportFailureWithoutACode) {
  const tool::testing::LoopbackPort closed(false);
  const RunResult r = to0("owner", owned_voucher(closed.url()));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  const std::string why = "cannot connect to " + closed.address() + ": connection refused";
  // The log line (WARN) and the summary line: neither shows an error code nobody sent.
  EXPECT_NE(r.err.find("\nfdo-owner to0: GUID " + m_guid + " at " + closed.url() + ": " + why + "\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("(500)"), std::string::npos) << r.err;  // the code as printed; a GUID may hold "500"
  EXPECT_EQ(r.err.find("INTERNAL_SERVER_ERROR"), std::string::npos) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"].integer(), 1);
  ASSERT_EQ(j["registrations"].size(), 1u);
  const Json& reg = j["registrations"].at(0);
  EXPECT_EQ(reg["guid"].str(), m_guid);
  EXPECT_EQ(reg["rendezvous"].str(), closed.url());
  EXPECT_TRUE(reg["wait_seconds"].is_null());
  EXPECT_EQ(reg["error"].str(), "transport");
  EXPECT_TRUE(reg["error_code"].is_null());
  EXPECT_EQ(reg["detail"].str(), why);
  EXPECT_EQ(j["wait_seconds"].size(), 0u);
}

TEST_F(OwnerCli, To0WithAnotherOwnersKeyIsRefusedHereWithoutACode) {
  const tool::testing::LoopbackPort closed(false);
  const std::string voucher = owned_voucher(closed.url());
  init_owner("other");
  const RunResult r = to0("other", voucher);
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err.rfind("fdo-owner to0: GUID " + m_guid + " in " + voucher + ": refused here: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("(101)"), std::string::npos) << r.err;  // the code as tools print it
  EXPECT_EQ(r.err.find("INVALID_MESSAGE_ERROR"), std::string::npos) << r.err;
  const Json j = Json::parse(r.out);
  const Json& reg = j["registrations"].at(0);
  EXPECT_EQ(reg["error"].str(), "refused");
  EXPECT_TRUE(reg["error_code"].is_null());
  EXPECT_TRUE(reg["rendezvous"].is_null());
}

TEST_F(OwnerCli, To0ShowsTheCodeTheRendezvousServerSent) {
  // A rendezvous server that trusts only another owner's key refuses the registration with its own code.
  init_owner("trusted");
  ASSERT_TRUE(std::filesystem::create_directory(path("trust")));
  std::filesystem::copy_file(path("trusted/owner.pub.pem"), path("trust/trusted.pem"));
  const ServerProcess rv(
      "fdo-rendezvous",
      {"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--trust-owner-keys", path("trust")});
  const RunResult r = to0("owner", owned_voucher(rv.url()));
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("at " + rv.url() + ": the rendezvous server refused: INVALID_OWNERSHIP_VOUCHER (2): "),
            std::string::npos)
      << r.err;
  const Json j = Json::parse(r.out);
  const Json& reg = j["registrations"].at(0);
  EXPECT_EQ(reg["error"].str(), "peer");
  EXPECT_EQ(reg["error_code"].integer(), 2);
  EXPECT_TRUE(reg["wait_seconds"].is_null());
}

TEST_F(OwnerCli, To0OnAFileThatIsNotAVoucherSaysSo) {
  init_owner("owner");
  const RunResult r = run_tool(
      "fdo-owner", {"to0", "--dir", path("owner"), "--voucher", path("owner/owner.pub.pem"), "--to2-url", kTo2Url});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("fdo-owner to0: " + path("owner/owner.pub.pem") + " is not an ownership voucher: ", 0), 0u)
      << r.err;
}

TEST_F(OwnerCli, InitWritesAnAdminTokenOnceWithMode0600) {
  init_owner("owner");
  const std::string token = to_string(read_file(path("owner/admin-token")));
  EXPECT_EQ(token.size(), 65u) << token;  // 32 bytes as hex, newline
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef\n"), std::string::npos) << token;
  struct stat st {};
  ASSERT_EQ(::stat(path("owner/admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  const RunResult again = run_tool("fdo-owner", {"init", "--dir", path("owner")});
  EXPECT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_EQ(to_string(read_file(path("owner/admin-token"))), token);
}

TEST_F(OwnerCli, VouchersImportListShowThenExportStopsServingTheDevice) {
  const tool::testing::LoopbackPort closed(false);
  const std::string voucher = owned_voucher(closed.url());
  const std::string dir = path("owner");
  const RunResult imported = run_tool("fdo-owner", {"vouchers", "import", "--dir", dir, voucher});
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();
  EXPECT_EQ(imported.out, "imported " + m_guid + "\n");
  EXPECT_TRUE(std::filesystem::exists(path("owner/owner.db")));

  RunResult r = run_tool("fdo-owner", {"vouchers", "list", "--dir", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"].integer(), 1);
  ASSERT_EQ(j["vouchers"].size(), 1u);
  EXPECT_EQ(j["vouchers"].at(0)["guid"].str(), m_guid);
  EXPECT_EQ(j["vouchers"].at(0)["entries"].integer(), 1);
  EXPECT_EQ(j["vouchers"].at(0)["state"].str(), "imported");

  r = run_tool("fdo-owner", {"devices", "list", "--dir", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  j = Json::parse(r.out);
  ASSERT_EQ(j["devices"].size(), 1u);
  const Json& listed = j["devices"].at(0);
  EXPECT_EQ(listed["guid"].str(), m_guid);
  EXPECT_EQ(listed["state"].str(), "imported");
  EXPECT_TRUE(listed["error"].is_null());
  EXPECT_TRUE(listed["new_guid"].is_null());
  EXPECT_TRUE(listed["to0_expires_at"].is_null());
  EXPECT_EQ(listed["onboard_count"].integer(), 0);
  EXPECT_TRUE(listed["voucher"].boolean());

  r = run_tool("fdo-owner", {"devices", "show", m_guid, "--dir", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(Json::parse(r.out)["device"]["state"].str(), "imported");
  r = run_tool("fdo-owner", {"devices", "show", m_guid, "--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("state:         imported\n"), std::string::npos) << r.out;

  // Export: the file holds the same voucher; the owner forgets it and marks the device exported.
  r = run_tool("fdo-owner", {"vouchers", "export", "--dir", dir, m_guid, "-o", path("out.pem")});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "");
  const Bytes original = voucher::read_vouchers(read_file(voucher)).at(0).cbor;
  EXPECT_EQ(voucher::read_vouchers(read_file(path("out.pem"))).at(0).cbor, original);
  r = run_tool("fdo-owner", {"vouchers", "list", "--dir", dir, "--json"});
  EXPECT_EQ(Json::parse(r.out)["vouchers"].size(), 0u);
  r = run_tool("fdo-owner", {"devices", "show", m_guid, "--dir", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const Json device = Json::parse(r.out)["device"];
  EXPECT_EQ(device["state"].str(), "exported");
  EXPECT_FALSE(device["voucher"].boolean());
  r = run_tool("fdo-owner", {"vouchers", "export", "--dir", dir, m_guid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "fdo-owner vouchers export: no voucher for GUID " + m_guid + " (exported before)\n");

  // Importing it again brings it back; --cbor writes the raw voucher.
  ASSERT_EQ(run_tool("fdo-owner", {"vouchers", "import", "--dir", dir, path("out.pem")}).exit_code, 0);
  r = run_tool("fdo-owner", {"vouchers", "export", "--dir", dir, m_guid, "--cbor", "-o", path("out.cbor")});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_file(path("out.cbor")), original);
}

TEST_F(OwnerCli, VouchersImportRefusesAVoucherOfAnotherOwnerNamingTheCheck) {
  const tool::testing::LoopbackPort closed(false);
  const std::string voucher = owned_voucher(closed.url());
  init_owner("other");
  const RunResult r = run_tool("fdo-owner", {"vouchers", "import", "--dir", path("other"), voucher, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(r.err.rfind("fdo-owner vouchers import: refused " + voucher +
                            "#1: owner key: not extended to this owner's key",
                        0),
            0u)
      << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["imported"].integer(), 0);
  EXPECT_EQ(j["refused"].integer(), 1);
  EXPECT_EQ(j["vouchers"].at(0)["guid"].str(), m_guid);
  EXPECT_EQ(j["vouchers"].at(0)["file"].str(), voucher);
  const RunResult list = run_tool("fdo-owner", {"devices", "list", "--dir", path("other")});
  EXPECT_EQ(list.exit_code, 0) << list.describe();
  EXPECT_EQ(list.out, "no devices in " + path("other") + "\n");
}

TEST_F(OwnerCli, DevicesShowOfAnUnknownGuidAndAMissingDirAreExitOne) {
  init_owner("owner");
  const std::string guid(32, 'a');
  RunResult r = run_tool("fdo-owner", {"devices", "show", guid, "--dir", path("owner")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "fdo-owner devices show: no device " + guid + " in " + path("owner") + "\n");
  r = run_tool("fdo-owner", {"devices", "list", "--dir", path("nowhere")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("fdo-owner devices list: no directory " + path("nowhere"), 0), 0u) << r.err;
  r = run_tool("fdo-owner", {"devices", "show", "xyz", "--dir", path("owner")});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
}

TEST_F(OwnerCli, VersionAndUsageErrors) {
  RunResult r = run_tool("fdo-owner", {"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "fdo-owner " FDO_PROJECT_VERSION "\n");
  r = run_tool("fdo-owner", {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("fdo-owner: a subcommand is required: init, pubkey, to0, serve, vouchers, devices\n", 0), 0u)
      << r.err;
  r = run_tool("fdo-owner", {"pubkey", "--dri", path("owner")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "fdo-owner pubkey: unknown option --dri; did you mean --dir?\n");
}

}  // namespace
}  // namespace fdo::integration
