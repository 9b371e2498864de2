// The whole supply chain with real processes, every role on loopback: fdo-manufacturer (DI) → fdo-reseller extend →
// `fdo-owner vouchers import` → `fdo-owner serve` (automatic TO0, TO2, admin API) → `fdo-device onboard` (TO1 then
// TO2), for P-256 and P-384; credential replacement then a second onboarding under the new GUID, credential reuse,
// a device that refuses reuse, and the owner's device status at each step.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "integration-tests/supply_chain.h"
#include "libfdo/core/file.h"

namespace fdo::integration {
namespace {

TEST_F(SupplyChain, ReplacementGivesANewCredentialThatOnboardsAgainUnderItsNewGuid) {
  for (const std::string key_type : {"p256", "p384"}) {
    SCOPED_TRACE(key_type);
    const std::string credential = path(key_type + ".cred");
    const std::string guid = device(credential, key_type);
    const std::string owner_dir = owner_with(guid, key_type);
    EXPECT_EQ(status(owner_dir, guid)["state"].str(), "imported");
    const auto owner = serve(owner_dir);
    await_registered(owner_dir, guid);
    EXPECT_EQ(status(owner_dir, guid)["state"].str(), "registered");

    const RunResult first = onboard(credential);
    ASSERT_EQ(first.exit_code, 0) << first.describe() << owner->log();
    const Json out = Json::parse(first.out);
    EXPECT_TRUE(out["onboarded"].boolean());
    EXPECT_FALSE(out["reused"].boolean());
    EXPECT_EQ(out["guid"].str(), guid);
    const std::string new_guid = out["new_guid"].str();
    EXPECT_NE(new_guid, guid);
    EXPECT_EQ(out["owner_url"].str(), owner->url());
    EXPECT_EQ(out["rendezvous"].str(), m_rv->url());
    EXPECT_EQ(out["kex"].str(), key_type == "p256" ? "ECDH256" : "ECDH384");
    // The device's modules; this owner's plan runs none of them (devmod is the framework's own).
    ASSERT_GE(out["modules"].size(), 1u);
    for (std::size_t i = 0; i < out["modules"].size(); ++i) {
      EXPECT_FALSE(out["modules"].at(i)["active"].boolean()) << out["modules"].at(i)["name"].str();
    }
    EXPECT_NE(first.err.find("TO2.OVNextEntry: the voucher's 2 entries verify"), std::string::npos) << first.err;

    // The device holds its new credential, dormant; the owner shows the step and the new GUID.
    const Json after = show(credential);
    EXPECT_EQ(after["guid"].str(), new_guid);
    const Json old_status = status(owner_dir, guid);
    EXPECT_EQ(old_status["state"].str(), "onboarded");
    EXPECT_EQ(old_status["new_guid"].str(), new_guid);
    EXPECT_EQ(old_status["onboard_count"].integer(), 1);

    // A dormant credential is refused unless reactivated (a resale); the owner registers the new GUID by itself.
    const RunResult dormant = onboard(credential);
    EXPECT_EQ(dormant.exit_code, 1) << dormant.describe();
    EXPECT_NE(dormant.err.find("--reactivate"), std::string::npos) << dormant.err;
    await_registered(owner_dir, new_guid);
    const RunResult again = onboard(credential, {"--reactivate"});
    ASSERT_EQ(again.exit_code, 0) << again.describe() << owner->log();
    const std::string third_guid = Json::parse(again.out)["new_guid"].str();
    EXPECT_NE(third_guid, new_guid);
    EXPECT_EQ(status(owner_dir, new_guid)["new_guid"].str(), third_guid);
    // The first voucher went once the device proved itself under the new GUID.
    const RunResult list = run_tool("fdo-owner", {"vouchers", "list", "--dir", owner_dir, "--json"});
    EXPECT_EQ(list.out.find(guid), std::string::npos) << list.out;
    EXPECT_NE(list.out.find(third_guid), std::string::npos) << list.out;
  }
}

TEST_F(SupplyChain, CredentialReuseKeepsTheGuidAndOnboardsAgain) {
  const std::string credential = path("reuse.cred");
  const std::string guid = device(credential, "p256");
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir, {"--reuse"});
  await_registered(owner_dir, guid);
  for (int round = 1; round <= 2; ++round) {
    const RunResult r = onboard(credential);
    ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();
    const Json out = Json::parse(r.out);
    EXPECT_TRUE(out["reused"].boolean());
    EXPECT_EQ(out["new_guid"].str(), guid);
    EXPECT_EQ(show(credential)["guid"].str(), guid);
    EXPECT_EQ(status(owner_dir, guid)["onboard_count"].integer(), round);
  }
}

TEST_F(SupplyChain, ADeviceThatRefusesReuseKeepsItsCredentialAndTheOwnerShowsTheFailure) {
  const std::string credential = path("strict.cred");
  const std::string guid = device(credential, "p256");
  const std::string before = to_string(read_file(credential));
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir, {"--reuse"});
  await_registered(owner_dir, guid);
  const RunResult r = onboard(credential, {"--no-reuse"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_FALSE(Json::parse(r.out)["onboarded"].boolean());
  EXPECT_NE(r.err.find("CRED_REUSE_ERROR (102)"), std::string::npos) << r.err;
  EXPECT_EQ(to_string(read_file(credential)), before);
  const Json s = status(owner_dir, guid);
  EXPECT_EQ(s["state"].str(), "failed");
  EXPECT_NE(s["error"].str().find("(102) from the device"), std::string::npos) << s["error"].str();
}

// DEV-28 through the real binaries (libfdo/protocol/onboard.h): the owner is down when the device powers on; with
// --rounds the device starts again from TO1 after each failed TO2 and onboards once the owner is back, by itself.
TEST_F(SupplyChain, DEV_28_TheDeviceStartsAgainFromTo1UntilTheOwnerIsBack) {
  const std::string credential = path("patient.cred");
  const std::string guid = device(credential, "p256");
  const std::string owner_dir = owner_with(guid, "p256");
  auto owner = serve(owner_dir);
  await_registered(owner_dir, guid);
  const std::string url = owner->url();
  const std::string port = url.substr(url.rfind(':') + 1);
  owner.reset();  // SIGTERM: the registration at the rendezvous server still names it

  RunResult r;
  std::thread patient([&] { r = onboard(credential, {"--rounds", "20", "--retry-delay", "1"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  owner = std::make_unique<ServerProcess>(
      "fdo-owner", std::vector<std::string>{"serve", "--dir", owner_dir, "--listen", "127.0.0.1:" + port,
                                            "--admin-listen", "", "--wait-seconds", "600"});
  patient.join();
  ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();
  EXPECT_TRUE(Json::parse(r.out)["onboarded"].boolean());
  EXPECT_NE(r.err.find("cannot connect to 127.0.0.1:" + port), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("starting again from TO1"), std::string::npos) << r.err;
  EXPECT_EQ(status(owner_dir, guid)["state"].str(), "onboarded");
}

TEST_F(SupplyChain, OneOwnerWithKeysOfTwoTypesServesEachVoucherWithTheKeyItNames) {
  const std::string dir = path("owner-two");
  const RunResult init = run_tool("fdo-owner", {"init", "--dir", dir, "--key-type", "p256", "--key-type", "p384"});
  ASSERT_EQ(init.exit_code, 0) << init.describe();
  const std::string cred256 = path("two-256.cred");
  const std::string cred384 = path("two-384.cred");
  const std::string guid256 = device(cred256, "p256");
  const std::string guid384 = device(cred384, "p384");
  owner_with(guid256, "p256", dir);
  owner_with(guid384, "p384", dir);
  const auto owner = serve(dir);
  EXPECT_NE(owner->log().find("owner keys p256, p384"), std::string::npos) << owner->log();
  for (const auto& [credential, guid] : {std::pair{cred256, guid256}, std::pair{cred384, guid384}}) {
    await_registered(dir, guid);
    const RunResult r = onboard(credential);
    ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();
    EXPECT_EQ(status(dir, guid)["state"].str(), "onboarded");
  }
}

TEST_F(SupplyChain, TheAdminApiNeedsTheTokenAndShowsTheDevices) {
  const std::string credential = path("admin.cred");
  const std::string guid = device(credential, "p256");
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir);
  const std::string admin_url = owner->admin_url();
  ASSERT_FALSE(admin_url.empty()) << owner->log();
  EXPECT_EQ(http_request(admin_url, "GET", "/api/v1/devices").status, 401);
  std::string token = to_string(read_file(owner_dir + "/admin-token"));
  token.erase(token.find_last_not_of(" \r\n") + 1);
  const HttpResponse r =
      http_request(admin_url, "GET", "/api/v1/devices/" + guid, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(to_string(r.body).find(guid), std::string::npos);
}

}  // namespace
}  // namespace fdo::integration
