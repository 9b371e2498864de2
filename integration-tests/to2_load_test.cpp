// fdo-loadgen's `to2` against a real `fdo-owner serve` (docs/performance.md "TO2"): the loadgen writes 20 vouchers
// into the owner's store, onboards 20 simulated devices and prints one JSON line. Only the fields and the counts
// are checked, never a timing (docs/style.md §9).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "integration-tests/harness.h"

namespace fdo::integration {
namespace {

TEST(To2Load, LoadgenOnboardsTwentyDevicesAndPrintsOneJsonLine) {
  const TempDir tmp;
  const std::string dir = (tmp / "owner").string();
  const RunResult init = run_tool("fdo-owner", {"init", "--dir", dir});
  ASSERT_EQ(init.exit_code, 0) << init.describe();
  ServerProcess owner("fdo-owner", {"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", ""});
  const RunResult run = run_tool("fdo-loadgen", {"to2", "--url", owner.url(), "--owner-dir", dir, "--devices", "20",
                                                 "--concurrency", "4", "--json", "--http-floor-requests", "20"});
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["protocol"].str(), "to2");
  EXPECT_EQ(j["runs"].integer(), 20);
  EXPECT_EQ(j["errors"].integer(), 0);
  for (const char* field : {"ops_per_s", "p50_ms", "p99_ms", "pk_ops_per_run", "pk_op_cpu_us", "pk_cpu_ms_per_run",
                            "ceiling_ops_per_s", "server_pk_cpu_ms_per_run", "http_floor_us", "http_ours_us"}) {
    EXPECT_TRUE(j.has(field)) << field << " missing in " << run.out;
  }
  // Replacement (the default plan): 2 + 1 owner signatures, and the owner's half of ECDH256.
  EXPECT_EQ(j["pk_ops_per_run"]["kex_finish_ecdh256"].integer(), 1);
  EXPECT_EQ(j["pk_ops_per_run"]["sign_p256"].integer(), 4);
  // Every device onboarded: the owner lists 20 devices "onboarded" (and their 20 replacement vouchers).
  const RunResult list = run_tool("fdo-owner", {"devices", "list", "--dir", dir, "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  std::size_t onboarded = 0;
  const Json devices = Json::parse(list.out)["devices"];
  for (std::size_t i = 0; i < devices.size(); ++i) {
    onboarded += devices.at(i)["state"].str() == "onboarded" ? 1 : 0;
  }
  EXPECT_EQ(onboarded, 20U) << list.out;
}

TEST(To2Load, LoadgenWithServerPidReportsServerEfficiencyUnderCredentialReuse) {
  const TempDir tmp;
  const std::string dir = (tmp / "owner").string();
  ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", dir}).exit_code, 0);
  ServerProcess owner("fdo-owner", {"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", "", "--reuse"});
  const RunResult run = run_tool("fdo-loadgen", {"to2", "--url", owner.url(), "--owner-dir", dir, "--devices", "6",
                                                 "--concurrency", "2", "--reuse", "--json", "--http-floor-requests",
                                                 "0", "--server-pid", std::to_string(owner.pid())});
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["runs"].integer(), 6);
  EXPECT_EQ(j["errors"].integer(), 0);
  EXPECT_TRUE(j.has("server_cpu_ms_per_run") && j.has("server_efficiency")) << run.out;
  // Credential reuse: no replacement voucher to sign at TO2.Done.
  EXPECT_EQ(j["pk_ops_per_run"]["sign_p256"].integer(), 3);
}

}  // namespace
}  // namespace fdo::integration
