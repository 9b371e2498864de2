// The supply chain with a TPM-backed device (docs/tpm-credentials.md), every role a real process on loopback and the TPM a
// private swtpm per test: DI into the TPM → extend → import (automatic TO0) → TO1 → TO2 with a credential
// replacement committed into the TPM; the rescue case (device files wiped); a TPM provisioned in advance with
// fdo-tpm-provisioner; and tpm2-tools as the independent check of what lives in the TPM.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "integration-tests/supply_chain.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/tpm/swtpm_test_support.h"

namespace fdo::integration {
namespace {

class TpmSupplyChain : public SupplyChain {
 protected:
  void SetUp() override {
    std::string why;
    m_swtpm = tpm::testing::Swtpm::start(&why);
    if (!m_swtpm) {
      GTEST_SKIP() << "swtpm cannot start: " << why;
    }
    SupplyChain::SetUp();
  }

  [[nodiscard]] std::string tcti() const { return m_swtpm->tcti(); }

  /// DI into the TPM; returns the GUID.
  std::string tpm_device(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"di", "--url", m_mfg->url(), "--tpm", tcti(), "--model", "IT-TPM", "--serial",
                                     "SN-TPM"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult di = run_tool("fdo-device", args);
    EXPECT_EQ(di.exit_code, 0) << di.describe();
    EXPECT_NE(di.out.find("credential in the TPM"), std::string::npos) << di.out;
    return show_tpm()["guid"].str();
  }

  Json show_tpm() {
    const RunResult r = run_tool("fdo-device", {"show", "--tpm", tcti(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out);
  }

  /// A tpm2-tools command against our swtpm (an independent reader of the TPM, never used to do our work).
  RunResult tpm2(std::vector<std::string> argv) {
    argv.insert(argv.begin() + 1, {"-T", tcti()});
    return run_command(argv);
  }

  std::unique_ptr<tpm::testing::Swtpm> m_swtpm;
};

TEST_F(TpmSupplyChain, TpmDeviceOnboardsAndItsNewCredentialLivesInTheTpm) {
  const std::string guid = tpm_device();
  const Json before = show_tpm();
  EXPECT_EQ(before["storage"].str(), "tpm");
  EXPECT_TRUE(before["active"].boolean());
  EXPECT_EQ(before["key_type"].str(), "p256");
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir);
  await_registered(owner_dir, guid);

  const RunResult first = run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--json", "--root", path("root")});
  ASSERT_EQ(first.exit_code, 0) << first.describe() << owner->log();
  const Json out = Json::parse(first.out);
  EXPECT_TRUE(out["onboarded"].boolean());
  const std::string new_guid = out["new_guid"].str();
  EXPECT_NE(new_guid, guid);
  EXPECT_EQ(out["rendezvous"].str(), m_rv->url());
  EXPECT_NE(first.err.find("credential saved to TPM at " + tcti()), std::string::npos) << first.err;

  const Json after = show_tpm();
  EXPECT_EQ(after["guid"].str(), new_guid);
  EXPECT_FALSE(after["active"].boolean());
  EXPECT_EQ(after["tpm"]["journal"].str(), "clear");
  EXPECT_EQ(status(owner_dir, guid)["state"].str(), "onboarded");

  // The renewed HMAC secret is the one the owner's replacement voucher holds: a second onboarding proves it
  // (TO2.ProveOVHdr checks the voucher header's HMAC inside the TPM).
  await_registered(owner_dir, new_guid);
  const RunResult again =
      run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--json", "--reactivate", "--root", path("root")});
  ASSERT_EQ(again.exit_code, 0) << again.describe() << owner->log();
  EXPECT_NE(Json::parse(again.out)["new_guid"].str(), new_guid);
}

TEST_F(TpmSupplyChain, KeysAreNonExportableAndNoSecretReachesAFile) {
  const std::string cache = path("tpm-cred.bin");
  const std::string guid = tpm_device({"--credential", cache});
  // The cache file holds the public parts only: storage tpm, the handles, an empty DCHmacSecret.
  const RunResult reveal = run_tool("fdo-device", {"show", "--credential", cache, "--json", "--reveal"});
  ASSERT_EQ(reveal.exit_code, 0) << reveal.describe();
  const Json cached = Json::parse(reveal.out);
  EXPECT_EQ(cached["guid"].str(), guid);
  EXPECT_EQ(cached["storage"].str(), "tpm");
  EXPECT_FALSE(cached.has("hmac_secret"));
  EXPECT_EQ(cached["tpm_hmac_key_handle"].str(), "0x81020003");

  // tpm2-tools, independently: both keys are fixedTPM | fixedParent | sensitiveDataOrigin (made in the TPM, never
  // duplicable), usable only through their policy (no userWithAuth).
  for (const std::string handle : {"0x81020002", "0x81020003"}) {
    SCOPED_TRACE(handle);
    const RunResult pub = tpm2({"tpm2_readpublic", "-c", handle});
    ASSERT_EQ(pub.exit_code, 0) << pub.describe();
    EXPECT_NE(pub.out.find("fixedtpm|fixedparent|sensitivedataorigin|sign"), std::string::npos) << pub.out;
    EXPECT_EQ(pub.out.find("userwithauth"), std::string::npos) << pub.out;
    // Reading the private part out: TPM2_Duplicate is refused for a fixedTPM/fixedParent object.
    const RunResult dup = tpm2({"tpm2_duplicate", "-C", "null", "-c", handle, "-G", "null", "-r", path("dup.priv"),
                                "-u", path("dup.pub")});
    EXPECT_NE(dup.exit_code, 0) << dup.describe();
    EXPECT_FALSE(std::filesystem::exists(path("dup.priv")));
  }
  // The credential indices, as tpm2-tools reads them: ours (docs/tpm-credentials.md "What we write").
  const RunResult nv = tpm2({"tpm2_nvreadpublic", "0x1d10001"});
  ASSERT_EQ(nv.exit_code, 0) << nv.describe();
  EXPECT_NE(nv.out.find("ownerwrite|authwrite|ownerread|authread|no_da|written"), std::string::npos) << nv.out;
  EXPECT_NE(nv.out.find("size: 512"), std::string::npos) << nv.out;
}

// FDO-in-TPM §6 / the whitepaper's rescue case: the device's disk is wiped after DI; the TPM alone onboards it.
TEST_F(TpmSupplyChain, WipedDeviceStorageOnboardsFromTheTpmAlone) {
  const std::string device_dir = path("device");
  std::filesystem::create_directories(device_dir);
  const std::string cache = device_dir + "/cred.bin";
  const std::string guid = tpm_device({"--credential", cache});
  ASSERT_TRUE(std::filesystem::exists(cache));
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir);
  await_registered(owner_dir, guid);

  std::filesystem::remove_all(device_dir);  // the wipe
  const RunResult r = run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--json", "--root", path("root")});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();
  EXPECT_TRUE(Json::parse(r.out)["onboarded"].boolean());
  EXPECT_EQ(show_tpm()["guid"].str(), Json::parse(r.out)["new_guid"].str());
}

TEST_F(TpmSupplyChain, ProvisionedInAdvanceThenDiUsesTheTpmsKeys) {
  const RunResult empty = run_tool("fdo-tpm-provisioner", {"show", "--tcti", tcti(), "--json"});
  ASSERT_EQ(empty.exit_code, 0) << empty.describe();
  EXPECT_FALSE(Json::parse(empty.out)["provisioned"].boolean());

  const RunResult prov = run_tool("fdo-tpm-provisioner", {"provision", "--tcti", tcti(), "--curve", "p384"});
  ASSERT_EQ(prov.exit_code, 0) << prov.describe();
  const std::size_t pem_at = prov.out.find("-----BEGIN PUBLIC KEY-----");
  ASSERT_NE(pem_at, std::string::npos) << prov.out;
  const std::string provisioned_pem = prov.out.substr(pem_at);

  const RunResult shown = run_tool("fdo-tpm-provisioner", {"show", "--tcti", tcti(), "--json"});
  const Json s = Json::parse(shown.out);
  EXPECT_TRUE(s["provisioned"].boolean());
  EXPECT_FALSE(s["active"].boolean());
  EXPECT_FALSE(s["dctpm"]["has_credential"].boolean());
  EXPECT_EQ(s["hmac_us_bytes"].integer(), 48);

  // Provisioning twice is refused, naming what is there; nothing changes.
  const RunResult twice = run_tool("fdo-tpm-provisioner", {"provision", "--tcti", tcti()});
  EXPECT_EQ(twice.exit_code, 1) << twice.describe();
  EXPECT_NE(twice.err.find("already"), std::string::npos) << twice.err;

  // DI keeps the provisioned P-384 key: the device's public key is the one printed at provisioning.
  const std::string guid = tpm_device();
  const Json after = show_tpm();
  EXPECT_EQ(after["key_type"].str(), "p384");
  EXPECT_TRUE(after["active"].boolean());
  EXPECT_EQ(after["tpm"]["device_public_key_pem"].str(), provisioned_pem);
  // A P-384 device onboards over its SHA-384 HMAC key.
  const std::string owner_dir = owner_with(guid, "p384");
  const auto owner = serve(owner_dir);
  await_registered(owner_dir, guid);
  const RunResult r = run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--json", "--root", path("root")});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();
  EXPECT_EQ(Json::parse(r.out)["kex"].str(), "ECDH384");

  // DI again without --force is refused; the credential stays.
  const RunResult again = run_tool("fdo-device", {"di", "--url", m_mfg->url(), "--tpm", tcti()});
  EXPECT_EQ(again.exit_code, 1) << again.describe();
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
}

TEST_F(TpmSupplyChain, ProvisionerClearAsksThenRemovesEverything) {
  ASSERT_EQ(run_tool("fdo-tpm-provisioner", {"provision", "--tcti", tcti()}).exit_code, 0);
  const RunResult unconfirmed = run_tool("fdo-tpm-provisioner", {"clear", "--tcti", tcti()});
  EXPECT_EQ(unconfirmed.exit_code, 1) << unconfirmed.describe();
  EXPECT_NE(unconfirmed.err.find("--yes"), std::string::npos) << unconfirmed.err;
  EXPECT_TRUE(Json::parse(run_tool("fdo-tpm-provisioner", {"show", "--tcti", tcti(), "--json"}).out)["provisioned"]
                  .boolean());
  const RunResult cleared = run_tool("fdo-tpm-provisioner", {"clear", "--tcti", tcti(), "--yes"});
  ASSERT_EQ(cleared.exit_code, 0) << cleared.describe();
  EXPECT_FALSE(Json::parse(run_tool("fdo-tpm-provisioner", {"show", "--tcti", tcti(), "--json"}).out)["provisioned"]
                   .boolean());
  const RunResult nv = tpm2({"tpm2_getcap", "handles-nv-index"});
  EXPECT_EQ(nv.out.find("0x1D1"), std::string::npos) << nv.out;
  EXPECT_EQ(nv.out.find("0x1d1"), std::string::npos) << nv.out;
}

// TPM-Attest and AsymKey in a real onboarding: the owner's policy holds the TPM's PCR 7; a match runs the whole plan,
// AsymKey enrols a key made in the TPM; a changed PCR onboards the device with only its quarantine plan and shows it
// as quarantined.
TEST_F(TpmSupplyChain, AttestationMatchRunsThePlanWithATpmAsymKeyAndAMismatchQuarantines) {
  const std::string guid = tpm_device();
  const RunResult pcr = tpm2({"tpm2_pcrread", "sha256:7", "-o", path("pcr7.bin")});
  ASSERT_EQ(pcr.exit_code, 0) << pcr.describe();
  const std::string pcr7 = to_hex(read_file(path("pcr7.bin")));
  ASSERT_EQ(pcr7.size(), 64U);
  const std::string plan_dir = path("plan");
  std::filesystem::create_directories(plan_dir);
  write_file_atomic(plan_dir + "/setup.sh", to_bytes("echo installed > marker.txt\n"), 0644);
  // The TPM maker certifies the attestation key; the owner's plan requires that certificate (ak-ca).
  const RunResult ca = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                    "-nodes", "-keyout", path("maker-ca.key.pem"), "-out", plan_dir + "/maker-ca.pem",
                                    "-subj", "/CN=TPM maker CA", "-days", "30"});
  ASSERT_EQ(ca.exit_code, 0) << ca.describe();
  const RunResult certify =
      run_tool("fdo-tpm-provisioner", {"certify-ak", "--tcti", tcti(), "--ca-key", path("maker-ca.key.pem"),
                                       "--ca-cert", plan_dir + "/maker-ca.pem", "--subject", "AK of IT-TPM"});
  ASSERT_EQ(certify.exit_code, 0) << certify.describe();
  write_file_atomic(plan_dir + "/plan.toml", to_bytes(R"(modules = ["TPM-Attest", "fdo_sys", "AsymKey", "fido_alliance"]
[params."TPM-Attest"]
pcrs = ["0", "7"]
expect = ["7=)" + pcr7 + R"("]
quarantine = ["fido_alliance"]
ak-ca = ["maker-ca.pem"]
[params.fdo_sys]
files = ["setup.sh"]
exec = ["sh", "setup.sh"]
)"), 0644);
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir, {"--plan", plan_dir + "/plan.toml"});
  await_registered(owner_dir, guid);

  const std::string root = path("root");
  const RunResult first = run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--json", "--root", root});
  ASSERT_EQ(first.exit_code, 0) << first.describe() << owner->log();
  EXPECT_EQ(to_string(read_file(root + "/var/lib/fdo/attestation")), "normal: PCRs match the policy\n");
  EXPECT_TRUE(std::filesystem::exists(root + "/marker.txt"));
  const Json normal = status(owner_dir, guid);
  EXPECT_EQ(normal["state"].str(), "onboarded");
  std::string lines;
  for (std::size_t i = 0; i < normal["modules"].size(); ++i) {
    lines += normal["modules"].at(i).str() + "\n";
  }
  EXPECT_NE(lines.find("TPM-Attest: done: verdict normal"), std::string::npos) << lines;
  EXPECT_NE(lines.find("AK certified as CN=AK of IT-TPM"), std::string::npos) << lines;
  EXPECT_NE(lines.find("AsymKey: done"), std::string::npos) << lines;

  // AsymKey's key lives in the TPM: the slot keeps its handle, no private key file; the certificate chains to the
  // owner's CA and is for the key tpm2-tools reads at that handle.
  const std::string slot = root + "/asymkey/0";
  EXPECT_FALSE(std::filesystem::exists(slot + "/key.pem"));
  const std::string key_tpm = to_string(read_file(slot + "/key.tpm"));
  ASSERT_EQ(key_tpm.rfind("tpm-persistent-handle: 0x810201", 0), 0U) << key_tpm;
  const std::string handle = key_tpm.substr(23, 10);
  const RunResult verify =
      run_command({"openssl", "verify", "-CAfile", owner_dir + "/device-app-ca.cert.pem", slot + "/cert.pem"});
  EXPECT_EQ(verify.exit_code, 0) << verify.describe();
  ASSERT_EQ(tpm2({"tpm2_readpublic", "-c", handle, "-f", "pem", "-o", path("app.pub.pem")}).exit_code, 0);
  const RunResult tpm_pub = run_command({"openssl", "pkey", "-pubin", "-in", path("app.pub.pem")});
  const RunResult cert_pub = run_command({"openssl", "x509", "-in", slot + "/cert.pem", "-noout", "-pubkey"});
  EXPECT_EQ(cert_pub.out, tpm_pub.out) << "the certificate is not for the TPM's key";
  const RunResult app_attrs = tpm2({"tpm2_readpublic", "-c", handle});
  EXPECT_NE(app_attrs.out.find("fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"), std::string::npos)
      << app_attrs.out;

  // Something else booted: PCR 7 changes (extended by tpm2-tools, as firmware would), the device onboards again.
  const std::string new_guid = Json::parse(first.out)["new_guid"].str();
  ASSERT_EQ(tpm2({"tpm2_pcrextend", "7:sha256=" + std::string(64, 'a')}).exit_code, 0);
  std::filesystem::remove(root + "/marker.txt");
  await_registered(owner_dir, new_guid);
  const RunResult second =
      run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--json", "--reactivate", "--root", root});
  ASSERT_EQ(second.exit_code, 0) << second.describe() << owner->log();
  EXPECT_EQ(to_string(read_file(root + "/var/lib/fdo/attestation")).rfind("quarantine: PCR 7 is ", 0), 0U);
  EXPECT_FALSE(std::filesystem::exists(root + "/marker.txt")) << "fdo_sys ran in quarantine";
  const Json quarantined = status(owner_dir, new_guid);
  EXPECT_EQ(quarantined["state"].str(), "quarantined");
  lines.clear();
  for (std::size_t i = 0; i < quarantined["modules"].size(); ++i) {
    lines += quarantined["modules"].at(i).str() + "\n";
  }
  EXPECT_NE(lines.find("TPM-Attest: done: verdict quarantine: PCR 7"), std::string::npos) << lines;
  EXPECT_NE(lines.find("fdo_sys: skipped (quarantine)"), std::string::npos) << lines;
  EXPECT_NE(lines.find("fido_alliance: done"), std::string::npos) << lines;
}

// A power cut during onboarding: swtpm is killed at a sweep of instants while `fdo-device onboard --tpm` runs (every
// step of TO2 and of the journalled commit falls in one of them), then started again. Each time the device tool ends
// with a clear error (never a signal), the TPM holds one whole credential, old or new, its journal clear, and the
// next onboarding succeeds (FDO-in-TPM §6; docs/tpm-credentials.md "Atomic replacement").
TEST_F(TpmSupplyChain, PowerCutAtAnyInstantOfOnboardingLeavesOneWholeCredential) {
  std::string guid = tpm_device();
  const std::string owner_dir = owner_with(guid, "p256");
  const auto owner = serve(owner_dir);
  const std::string root = path("root");
  // How long one whole onboarding takes here: the sweep covers it in 14 steps and ends after it.
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--owner-url", owner->url(), "--root", root}).exit_code,
            0);
  const int whole_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  const int step_ms = std::max(1, whole_ms / 12);
  std::vector<int> delays;
  for (int d = 0; d <= whole_ms + 2 * step_ms; d += step_ms) {
    delays.push_back(d);
  }
  delays.push_back(4 * whole_ms + 200);  // surely after the commit, however slow this run is
  std::set<std::string> outcomes;
  for (const int delay_ms : delays) {
    SCOPED_TRACE("swtpm killed after " + std::to_string(delay_ms) + " ms");
    const std::string before = show_tpm()["guid"].str();
    std::vector<std::string> argv = {binary("fdo-device").string(), "onboard", "--tpm", tcti(), "--owner-url",
                                     owner->url(), "--reactivate", "--root", root, "--log-level", "error"};
    std::vector<char*> args;
    for (std::string& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    m_swtpm->kill();
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "fdo-device ended by signal " << WTERMSIG(status);
    ASSERT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1) << WEXITSTATUS(status);
    ASSERT_TRUE(m_swtpm->restart());
    const Json after = show_tpm();
    const std::string now = after["guid"].str();
    EXPECT_EQ(after["tpm"]["journal"].str(), "clear");
    outcomes.insert(now == before ? "old" : "new");
    // Whatever the cut left, the device onboards on its next try.
    const RunResult next = run_tool("fdo-device", {"onboard", "--tpm", tcti(), "--owner-url", owner->url(),
                                                   "--reactivate", "--root", root, "--json"});
    ASSERT_EQ(next.exit_code, 0) << next.describe() << owner->log();
    EXPECT_EQ(Json::parse(next.out)["guid"].str(), now);
  }
  // The sweep saw cuts before the commit (old credential kept) and after it (new credential).
  EXPECT_EQ(outcomes, (std::set<std::string>{"new", "old"}));
}

// A TPM in dictionary-attack lockout (made so with tpm2-tools: one allowed failure, then a wrong password) is named,
// not used; so is one whose NV memory is full.
TEST_F(TpmSupplyChain, LockoutAndFullNvAreClearErrors) {
  ASSERT_EQ(run_tool("fdo-tpm-provisioner", {"provision", "--tcti", tcti()}).exit_code, 0);
  ASSERT_EQ(tpm2({"tpm2_dictionarylockout", "--setup-parameters", "--max-tries=1", "--recovery-time=600",
                  "--lockout-recovery-time=600"})
                .exit_code,
            0);
  ASSERT_EQ(tpm2({"tpm2_nvdefine", "0x01500010", "-C", "o", "-s", "8", "-a", "ownerread|ownerwrite|authread|authwrite",
                  "-p", "right"})
                .exit_code,
            0);
  EXPECT_NE(tpm2({"tpm2_nvread", "0x01500010", "-C", "0x01500010", "-P", "wrong"}).exit_code, 0);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"fdo-device", "show", "--tpm", tcti()},
                                               std::vector<std::string>{"fdo-tpm-provisioner", "clear", "--tcti",
                                                                        tcti(), "--yes"}}) {
    const RunResult r = run_tool(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("lockout"), std::string::npos) << r.err;
  }
  ASSERT_EQ(tpm2({"tpm2_dictionarylockout", "--clear-lockout"}).exit_code, 0);

  // Fill the TPM's NV with indices of our own, then provisioning (after clear) cannot define its indices.
  ASSERT_EQ(run_tool("fdo-tpm-provisioner", {"clear", "--tcti", tcti(), "--yes"}).exit_code, 0);
  int defined = 0;
  for (int i = 0; i < 400; ++i) {
    char index[16];
    std::snprintf(index, sizeof index, "0x%08x", 0x01500100 + i);
    if (tpm2({"tpm2_nvdefine", index, "-C", "o", "-s", "2048", "-a", "ownerread|ownerwrite"}).exit_code != 0) {
      break;
    }
    ++defined;
  }
  ASSERT_GT(defined, 0);
  const RunResult full = run_tool("fdo-tpm-provisioner", {"provision", "--tcti", tcti()});
  EXPECT_EQ(full.exit_code, 1) << full.describe();
  EXPECT_NE(full.err.find("NV memory is full"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("nothing of the partial provisioning was kept"), std::string::npos) << full.err;
  const Json after = Json::parse(run_tool("fdo-tpm-provisioner", {"show", "--tcti", tcti(), "--json"}).out);
  EXPECT_FALSE(after["provisioned"].boolean());
  for (std::size_t i = 0; i < after["nv_indices"].size(); ++i) {
    EXPECT_FALSE(after["nv_indices"].at(i)["present"].boolean()) << after["nv_indices"].at(i)["name"].str();
  }
}

// fdo-loadgen to2 --tpm (docs/performance.md, TO2 with the device keys in a TPM): every simulated device signs and MACs in one TPM,
// which the loadgen provisions when it is empty; one run at a time.
TEST_F(TpmSupplyChain, LoadgenTo2WithATpmOnboardsEveryDeviceThroughIt) {
  const std::string dir = path("load-owner");
  ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", dir}).exit_code, 0);
  ServerProcess owner("fdo-owner", {"serve", "--dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", ""});
  const RunResult two = run_tool("fdo-loadgen", {"to2", "--url", owner.url(), "--owner-dir", dir, "--devices", "2",
                                                 "--concurrency", "2", "--tpm", tcti()});
  EXPECT_EQ(two.exit_code, 2) << two.describe();
  EXPECT_NE(two.err.find("--tpm needs --concurrency 1"), std::string::npos) << two.err;

  const RunResult run = run_tool("fdo-loadgen", {"to2", "--url", owner.url(), "--owner-dir", dir, "--devices", "3",
                                                 "--concurrency", "1", "--tpm", tcti(), "--json",
                                                 "--http-floor-requests", "0"});
  ASSERT_EQ(run.exit_code, 0) << run.describe() << owner.log();
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["runs"].integer(), 3);
  EXPECT_EQ(j["errors"].integer(), 0);
  // The loadgen provisioned the empty TPM; its device key signed every device's proofs.
  const Json tpm = Json::parse(run_tool("fdo-tpm-provisioner", {"show", "--tcti", tcti(), "--json"}).out);
  EXPECT_TRUE(tpm["provisioned"].boolean()) << tpm.dump();
  const Json devices = Json::parse(run_tool("fdo-owner", {"devices", "list", "--dir", dir, "--json"}).out)["devices"];
  std::size_t onboarded = 0;  // beside them, the three replacement vouchers for the new GUIDs
  for (std::size_t i = 0; i < devices.size(); ++i) {
    onboarded += devices.at(i)["state"].str() == "onboarded" ? 1 : 0;
  }
  EXPECT_EQ(onboarded, 3U) << devices.dump();
}

TEST_F(TpmSupplyChain, NoTpmIsAClearErrorNotACrash) {
  const std::string absent = "swtpm:host=127.0.0.1,port=1";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"fdo-device", "show", "--tpm", absent},
        std::vector<std::string>{"fdo-device", "di", "--url", m_mfg->url(), "--tpm", absent},
        std::vector<std::string>{"fdo-tpm-provisioner", "show", "--tcti", absent}}) {
    const RunResult r = run_tool(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("cannot reach a TPM at '" + absent + "'"), std::string::npos) << r.err;
  }
  // A TPM that holds no credential names what to do.
  const RunResult none = run_tool("fdo-device", {"onboard", "--tpm", tcti()});
  EXPECT_EQ(none.exit_code, 1) << none.describe();
  EXPECT_NE(none.err.find("fdo-device di --tpm"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace fdo::integration
