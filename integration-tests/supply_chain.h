#pragma once
// The supply chain's fixture for the integration tests (docs/style.md §9): a rendezvous server and a manufacturer
// started per test, devices made by real DI, vouchers extended by fdo-reseller to an owner and imported, and the
// owner service started on its directory. Every role is a real process from build/bin.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"

namespace fdo::integration {

class SupplyChain : public ::testing::Test {
 protected:
  void SetUp() override {
    const RunResult init =
        run_tool("fdo-manufacturer", {"init", "--dir", path("mfg"), "--key-type", "p256", "--key-type", "p384"});
    ASSERT_EQ(init.exit_code, 0) << init.describe();
    m_rv = std::make_unique<ServerProcess>(
        "fdo-rendezvous",
        std::vector<std::string>{"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", ""});
    m_mfg = std::make_unique<ServerProcess>(
        "fdo-manufacturer",
        std::vector<std::string>{"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--rv", m_rv->url()});
  }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  /// DI for a new device of `key_type`; returns its GUID.
  std::string device(const std::string& credential, const std::string& key_type) {
    const RunResult di = run_tool("fdo-device", {"di", "--url", m_mfg->url(), "--credential", credential, "--key-type",
                                                 key_type, "--model", "IT-TO2", "--serial", "SN-" + key_type});
    EXPECT_EQ(di.exit_code, 0) << di.describe();
    return show(credential)["guid"].str();
  }

  Json show(const std::string& credential) {
    const RunResult r = run_tool("fdo-device", {"show", "--credential", credential, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out);
  }

  /// An owner directory whose key is `key_type`, holding the voucher of `guid`: the manufacturer's voucher extended
  /// to a reseller, then by the reseller to the owner (fdo-reseller extend twice), imported.
  std::string owner_with(const std::string& guid, const std::string& key_type, std::string dir = {}) {
    if (dir.empty()) {
      dir = path("owner-" + key_type);
      EXPECT_EQ(run_tool("fdo-owner", {"init", "--dir", dir, "--key-type", key_type}).exit_code, 0);
    }
    const std::string fresh = path(guid + ".fresh.pem");
    EXPECT_EQ(run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), guid, "-o", fresh}).exit_code,
              0);
    const std::string reseller_key = path("reseller-" + key_type + ".key.pem");
    const std::string reseller_pub = path("reseller-" + key_type + ".pub.pem");
    if (!std::filesystem::exists(reseller_key)) {  // one reseller per key type serves every voucher of a test
      EXPECT_EQ(
          run_tool("fdo-reseller", {"keygen", "--key-type", key_type, "-o", reseller_key, "--pub", reseller_pub})
              .exit_code,
          0);
    }
    const std::string owner_pub = path(guid + ".owner.pub.pem");
    EXPECT_EQ(run_tool("fdo-owner", {"pubkey", "--dir", dir, "--key-type", key_type, "-o", owner_pub}).exit_code, 0);
    const std::string resold = path(guid + ".reseller.pem");
    const RunResult first =
        run_tool("fdo-reseller", {"extend", fresh, "--owner-key", path("mfg/manufacturer-" + key_type + ".key.pem"),
                                  "--next-owner", reseller_pub, "-o", resold});
    EXPECT_EQ(first.exit_code, 0) << first.describe();
    const std::string owned = path(guid + ".owned.pem");
    const RunResult second =
        run_tool("fdo-reseller", {"extend", resold, "--owner-key", reseller_key, "--next-owner", owner_pub, "-o", owned});
    EXPECT_EQ(second.exit_code, 0) << second.describe();
    const RunResult import = run_tool("fdo-owner", {"vouchers", "import", "--dir", dir, owned});
    EXPECT_EQ(import.exit_code, 0) << import.describe();
    EXPECT_NE(import.out.find("imported " + guid), std::string::npos) << import.out;
    return dir;
  }

  std::unique_ptr<ServerProcess> serve(const std::string& owner_dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve", "--dir", owner_dir, "--listen", "127.0.0.1:0",
                                     "--admin-listen", "127.0.0.1:0", "--wait-seconds", "600"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<ServerProcess>("fdo-owner", args);
  }

  Json status(const std::string& owner_dir, const std::string& guid) {
    const RunResult r = run_tool("fdo-owner", {"devices", "show", guid, "--dir", owner_dir, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out)["device"];
  }

  /// Waits until the owner's automatic TO0 registered `guid` (at most 20 s).
  void await_registered(const std::string& owner_dir, const std::string& guid) {
    for (int i = 0; i < 200; ++i) {
      const RunResult r = run_tool("fdo-owner", {"devices", "show", guid, "--dir", owner_dir, "--json"});
      if (r.exit_code == 0 && !Json::parse(r.out)["device"]["to0_expires_at"].is_null()) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the owner never registered " << guid;
  }

  RunResult onboard(const std::string& credential, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"onboard", "--credential", credential, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tool("fdo-device", args);
  }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_rv;
  std::unique_ptr<ServerProcess> m_mfg;
};

}  // namespace fdo::integration
