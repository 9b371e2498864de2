// The supply chain's scenario matrix, every role a real process on loopback (swtpm for the TPM-backed devices): a
// file-backed and a TPM-backed device, P-256 and P-384, with 0, 1 and 2 resellers between the manufacturer and the
// owner; each scenario checks every artifact: the voucher's chain, the credential before and after, the owner's
// device status, what the owner's plan installed on the device (a file and a script, passwords, a certificate, the
// TPM's attestation) and the platform's record of the device's first reading over mutual TLS. Then a resale to a
// second owner and many devices onboarding at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "integration-tests/supply_chain.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/tpm/swtpm_test_support.h"

namespace fdo::integration {
namespace {

struct Scenario {
  bool tpm;
  std::string curve;
  int resellers;
};

std::string scenario_name(const ::testing::TestParamInfo<Scenario>& info) {
  return std::string(info.param.tpm ? "Tpm" : "File") + (info.param.curve == "p256" ? "P256" : "P384") +
         std::to_string(info.param.resellers) + "Resellers";
}

class SupplyChainMatrix : public SupplyChain, public ::testing::WithParamInterface<Scenario> {
 protected:
  void SetUp() override {
    if (GetParam().tpm) {
      std::string why;
      m_swtpm = tpm::testing::Swtpm::start(&why);
      if (!m_swtpm) {
        GTEST_SKIP() << "swtpm cannot start: " << why;
      }
    }
    SupplyChain::SetUp();
  }

  /// `--tpm TCTI` or `--credential FILE`.
  [[nodiscard]] std::vector<std::string> device_args() const {
    if (m_swtpm) {
      return {"--tpm", m_swtpm->tcti()};
    }
    return {"--credential", path("device.cred")};
  }

  Json show_device() {
    std::vector<std::string> args = {"show", "--json"};
    const std::vector<std::string> d = device_args();
    args.insert(args.end(), d.begin(), d.end());
    const RunResult r = run_tool("fdo-device", args);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out);
  }

  /// The manufacturer's voucher of `guid` extended through `resellers` resellers to the owner of `owner_dir`.
  std::string extend_chain(const std::string& guid, const std::string& curve, int resellers,
                           const std::string& owner_dir) {
    std::string voucher = path(guid + ".0.pem");
    EXPECT_EQ(run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), guid, "-o", voucher}).exit_code,
              0);
    std::string key = path("mfg/manufacturer-" + curve + ".key.pem");
    for (int i = 1; i <= resellers + 1; ++i) {
      std::string next_pub;
      std::string next_key;
      if (i <= resellers) {
        next_key = path("reseller-" + std::to_string(i) + ".key.pem");
        next_pub = path("reseller-" + std::to_string(i) + ".pub.pem");
        EXPECT_EQ(run_tool("fdo-reseller", {"keygen", "--key-type", curve, "-o", next_key, "--pub", next_pub}).exit_code,
                  0);
      } else {
        next_pub = path("owner.pub.pem");
        EXPECT_EQ(run_tool("fdo-owner", {"pubkey", "--dir", owner_dir, "-o", next_pub}).exit_code, 0);
      }
      const std::string out = path(guid + "." + std::to_string(i) + ".pem");
      const RunResult r = run_tool("fdo-reseller", {"extend", voucher, "--owner-key", key, "--next-owner", next_pub,
                                                    "-o", out});
      EXPECT_EQ(r.exit_code, 0) << r.describe();
      voucher = out;
      key = next_key;
    }
    return voucher;
  }

  std::unique_ptr<tpm::testing::Swtpm> m_swtpm;
};

TEST_P(SupplyChainMatrix, TheDeviceOnboardsAndEveryArtifactIsAsTheStorySays) {
  const Scenario& s = GetParam();
  // DI at the factory.
  std::vector<std::string> di = {"di", "--url", m_mfg->url(), "--key-type", s.curve, "--serial", "SN-MATRIX",
                                 "--model", "matrix-sensor"};
  const std::vector<std::string> dev = device_args();
  di.insert(di.end(), dev.begin(), dev.end());
  const RunResult made = run_tool("fdo-device", di);
  ASSERT_EQ(made.exit_code, 0) << made.describe();
  const Json before = show_device();
  const std::string guid = before["guid"].str();
  EXPECT_EQ(before["storage"].str(), s.tpm ? "tpm" : "file");
  EXPECT_EQ(before["key_type"].str(), s.curve);
  EXPECT_TRUE(before["active"].boolean());

  // The voucher leaves the factory and crosses the resellers to the owner.
  const std::string owner_dir = path("owner");
  ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", owner_dir, "--key-type", s.curve}).exit_code, 0);
  const std::string voucher = extend_chain(guid, s.curve, s.resellers, owner_dir);
  const RunResult shown = run_tool("fdo-reseller", {"show", voucher, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.describe();
  const Json v = Json::parse(shown.out)["vouchers"].at(0);
  EXPECT_EQ(v["guid"].str(), guid);
  EXPECT_EQ(v["device_info"].str(), "matrix-sensor");
  ASSERT_EQ(v["entry_count"].integer(), s.resellers + 1);
  for (std::size_t i = 0; i < v["entries"].size(); ++i) {
    EXPECT_EQ(v["entries"].at(i)["next_owner_key"]["key_type"].str(), s.curve) << "entry " << i;
  }
  EXPECT_EQ(v["device_certificates"].at(0)["key_type"].str(), s.curve);
  EXPECT_EQ(run_tool("fdo-reseller", {"verify", voucher}).exit_code, 0);
  const RunResult imported = run_tool("fdo-owner", {"vouchers", "import", "--dir", owner_dir, voucher});
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();

  // The owner's plan: a file and a script, the operator's password set and root locked, a device certificate
  // enrolled through AsymKey (its key made in the TPM on a TPM device), and on a TPM device the TPM attested first.
  const std::string plan_dir = path("plan");
  std::filesystem::create_directories(plan_dir);
  write_file_atomic(plan_dir + "/setup.sh", to_bytes("echo configured > etc/configured\n"), 0644);
  std::string plan = R"(modules = [)" + std::string(s.tpm ? R"("TPM-Attest", )" : "") +
                     R"("fdo_sys", "Password-Manager", "AsymKey"]
[params.fdo_sys]
files = ["setup.sh"]
exec = ["sh", "setup.sh"]
[params.Password-Manager]
user = "operator"
password = "Matrix-0perator"
disable = ["root"]
[params.AsymKey]
slot = "0"
curve = ")" + std::string(s.curve == "p256" ? "secp256r1" : "secp384r1") + R"("
subject = "CN=matrix-sensor"
)";
  if (s.tpm) {
    // The TPM maker certifies the attestation key; the owner expects the TPM's PCR 7 as it is now.
    const RunResult pcr = run_command({"tpm2_pcrread", "-T", m_swtpm->tcti(), "sha256:7", "-o", path("pcr7.bin")});
    ASSERT_EQ(pcr.exit_code, 0) << pcr.describe();
    const RunResult ca = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("maker-ca.key.pem"), "-out",
                                      plan_dir + "/maker-ca.pem", "-subj", "/CN=TPM maker CA", "-days", "30"});
    ASSERT_EQ(ca.exit_code, 0) << ca.describe();
    const RunResult certify = run_tool("fdo-tpm-provisioner", {"certify-ak", "--tcti", m_swtpm->tcti(), "--ca-key",
                                                               path("maker-ca.key.pem"), "--ca-cert",
                                                               plan_dir + "/maker-ca.pem"});
    ASSERT_EQ(certify.exit_code, 0) << certify.describe();
    plan += R"([params."TPM-Attest"]
pcrs = ["7"]
expect = ["7=)" + to_hex(read_file(path("pcr7.bin"))) + R"("]
ak-ca = ["maker-ca.pem"]
)";
  }
  write_file_atomic(plan_dir + "/plan.toml", to_bytes(plan), 0644);
  const auto owner = serve(owner_dir, {"--plan", plan_dir + "/plan.toml", "--platform-listen", "127.0.0.1:0"});
  await_registered(owner_dir, guid);

  // The device powers on: TO1 finds the owner, TO2 onboards it.
  const std::string root = path("root");
  std::filesystem::create_directories(root + "/etc");
  write_file_atomic(root + "/etc/shadow", to_bytes("root:$6$old$hash:19000:0:99999:7:::\noperator:*:19000:0:99999:7:::\n"),
                    0600);
  std::vector<std::string> onboard = {"onboard", "--json", "--root", root, "--shadow-file", root + "/etc/shadow"};
  onboard.insert(onboard.end(), dev.begin(), dev.end());
  const RunResult r = run_tool("fdo-device", onboard);
  ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();
  const Json out = Json::parse(r.out);
  EXPECT_TRUE(out["onboarded"].boolean());
  EXPECT_EQ(out["rendezvous"].str(), m_rv->url());
  EXPECT_EQ(out["owner_url"].str(), owner->url());
  EXPECT_EQ(out["kex"].str(), s.curve == "p256" ? "ECDH256" : "ECDH384");
  const std::string new_guid = out["new_guid"].str();
  EXPECT_NE(new_guid, guid);

  // The credential after: the new GUID, dormant, same key, same storage.
  const Json after = show_device();
  EXPECT_EQ(after["guid"].str(), new_guid);
  EXPECT_FALSE(after["active"].boolean());
  EXPECT_EQ(after["key_type"].str(), s.curve);
  EXPECT_EQ(after["storage"].str(), s.tpm ? "tpm" : "file");
  // The owner's records and what it installed.
  const Json st = status(owner_dir, guid);
  EXPECT_EQ(st["state"].str(), "onboarded");
  EXPECT_EQ(st["new_guid"].str(), new_guid);
  std::string modules;
  for (std::size_t i = 0; i < st["modules"].size(); ++i) {
    modules += st["modules"].at(i).str() + "\n";
  }
  for (const std::string done : {"fdo_sys: done", "Password-Manager: done", "AsymKey: done"}) {
    EXPECT_NE(modules.find(done), std::string::npos) << done << " in " << modules;
  }
  if (s.tpm) {
    EXPECT_NE(modules.find("TPM-Attest: done: verdict normal"), std::string::npos) << modules;
  }
  EXPECT_EQ(to_string(read_file(root + "/etc/configured")), "configured\n");
  const std::string shadow = to_string(read_file(root + "/etc/shadow"));
  EXPECT_NE(shadow.find("root:!$6$old$hash:"), std::string::npos) << shadow;
  EXPECT_NE(shadow.find("operator:$6$"), std::string::npos) << shadow;
  const std::string slot = root + "/asymkey/0";
  EXPECT_EQ(std::filesystem::exists(slot + "/key.tpm"), s.tpm);
  EXPECT_EQ(std::filesystem::exists(slot + "/key.pem"), !s.tpm);
  EXPECT_EQ(status(owner_dir, new_guid)["state"].str(), "imported");

  // What onboarding is for: the device reports to its owner's platform over mutual TLS with the certificate it
  // was just given, and the platform takes it only because that certificate chains to the owner's CA.
  std::vector<std::string> report = {"report", "--json", "--root", root, "--url", owner->platform_url(), "--reading",
                                     R"({"temperature_c":21.5})"};
  if (s.tpm) {
    report.insert(report.end(), {"--tpm", m_swtpm->tcti()});
  }
  const RunResult reported = run_tool("fdo-device", report);
  ASSERT_EQ(reported.exit_code, 0) << reported.describe() << owner->log();
  EXPECT_TRUE(Json::parse(reported.out)["accepted"].boolean());
  const std::string readings = to_string(read_file(owner_dir + "/platform/readings.jsonl"));
  const Json line = Json::parse(readings.substr(0, readings.find('\n')));
  EXPECT_EQ(line["subject"].str(), "CN=matrix-sensor");
  EXPECT_EQ(line["issuer"].str(), "CN=FDO owner device-application CA,O=fdo-cpp owner");
  const std::vector<crypto::Certificate> enrolled = crypto::Certificate::from_pem_all(to_string(read_file(slot + "/cert.pem")));
  ASSERT_EQ(enrolled.size(), 1U);
  EXPECT_EQ(line["certificate_sha256"].str(), to_hex(crypto::hash(crypto::HashAlg::Sha256, enrolled[0].der())));
  EXPECT_EQ(line["reading"].str(), R"({"temperature_c":21.5})");

  // A certificate from anyone else gets no reading in: a self-made one in another slot is refused in the handshake.
  const std::string fake = root + "/asymkey/9";
  std::filesystem::create_directories(fake);
  ASSERT_EQ(run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", fake + "/key.pem", "-out", fake + "/cert.pem", "-subj", "/CN=matrix-sensor",
                         "-days", "1"})
                .exit_code,
            0);
  const RunResult refused = run_tool("fdo-device", {"report", "--root", root, "--slot", "9", "--url",
                                                    owner->platform_url(), "--ca-file", slot + "/chain.pem"});
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_EQ(std::count(readings.begin(), readings.end(), '\n'), 1);
  EXPECT_EQ(to_string(read_file(owner_dir + "/platform/readings.jsonl")), readings);
}

INSTANTIATE_TEST_SUITE_P(Matrix, SupplyChainMatrix,
                         ::testing::Values(Scenario{false, "p256", 0}, Scenario{false, "p256", 1},
                                           Scenario{false, "p256", 2}, Scenario{false, "p384", 0},
                                           Scenario{false, "p384", 1}, Scenario{false, "p384", 2},
                                           Scenario{true, "p256", 0}, Scenario{true, "p256", 1},
                                           Scenario{true, "p256", 2}, Scenario{true, "p384", 0},
                                           Scenario{true, "p384", 1}, Scenario{true, "p384", 2}),
                         scenario_name);

// A resale: the first owner onboards the device, then exports its replacement voucher to a second owner, who imports
// it; the device, reactivated, finds the second owner through the rendezvous server and onboards there.
TEST_F(SupplyChain, AResoldDeviceOnboardsToItsNextOwner) {
  const std::string credential = path("resold.cred");
  const std::string guid = device(credential, "p256");
  const std::string first_dir = owner_with(guid, "p256");
  std::string second_guid;
  {
    const auto first = serve(first_dir);
    await_registered(first_dir, guid);
    const RunResult r = onboard(credential);
    ASSERT_EQ(r.exit_code, 0) << r.describe() << first->log();
    second_guid = Json::parse(r.out)["new_guid"].str();
  }
  // The first owner sells the device: its voucher for the new GUID, extended to the second owner.
  const std::string second_dir = path("second-owner");
  ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", second_dir, "--key-type", "p256"}).exit_code, 0);
  ASSERT_EQ(run_tool("fdo-owner", {"pubkey", "--dir", second_dir, "-o", path("second.pub.pem")}).exit_code, 0);
  const RunResult exported = run_tool("fdo-owner", {"vouchers", "export", "--dir", first_dir, second_guid, "-o",
                                                    path("sold.pem")});
  ASSERT_EQ(exported.exit_code, 0) << exported.describe();
  EXPECT_EQ(status(first_dir, second_guid)["state"].str(), "exported");
  const RunResult extended =
      run_tool("fdo-reseller", {"extend", path("sold.pem"), "--owner-key", first_dir + "/owner.key.pem",
                                "--next-owner", path("second.pub.pem"), "-o", path("second.pem")});
  ASSERT_EQ(extended.exit_code, 0) << extended.describe();
  const Json sold = Json::parse(run_tool("fdo-reseller", {"show", path("second.pem"), "--json"}).out);
  EXPECT_EQ(sold["vouchers"].at(0)["guid"].str(), second_guid);
  EXPECT_EQ(sold["vouchers"].at(0)["entry_count"].integer(), 2);  // the first owner's own entry, then the sale
  ASSERT_EQ(run_tool("fdo-owner", {"vouchers", "import", "--dir", second_dir, path("second.pem")}).exit_code, 0);

  const auto second = serve(second_dir);
  await_registered(second_dir, second_guid);
  const RunResult again = onboard(credential, {"--reactivate"});
  ASSERT_EQ(again.exit_code, 0) << again.describe() << second->log();
  const Json out = Json::parse(again.out);
  EXPECT_EQ(out["owner_url"].str(), second->url());
  EXPECT_EQ(out["guid"].str(), second_guid);
  EXPECT_EQ(status(second_dir, second_guid)["state"].str(), "onboarded");
  EXPECT_EQ(show(credential)["guid"].str(), out["new_guid"].str());
}

// `fdo-device --trace DIR` and `fdo-owner serve --trace DIR`: all four protocols; DI, TO1 and TO2 of one device as one
// transcript, a file per message in order, each
// top-level value named as FDO 1.1 §5 names it, the tunnel's messages also decrypted, ServiceInfo values masked.
TEST_F(SupplyChain, TraceWritesEveryMessageFieldNamedWithSecretsMasked) {
  const std::string credential = path("traced.cred");
  const std::string trace = path("trace");
  const RunResult di = run_tool("fdo-device", {"di", "--url", m_mfg->url(), "--credential", credential, "--trace", trace});
  ASSERT_EQ(di.exit_code, 0) << di.describe();
  const std::string guid = show(credential)["guid"].str();
  const std::string owner_dir = owner_with(guid, "p256");
  const std::string plan = path("plan.toml");
  write_file_atomic(plan, to_bytes(R"(modules = ["Password-Manager"]
[params.Password-Manager]
user = "operator"
password = "Tr4ce-S3cret"
)"), 0644);
  const std::string owner_trace = path("owner-trace");
  const auto owner = serve(owner_dir, {"--plan", plan, "--trace", owner_trace});
  await_registered(owner_dir, guid);
  // The owner's side: its automatic TO0 (20-23).
  std::string to0;
  for (const auto& entry : std::filesystem::directory_iterator(owner_trace)) {
    to0 += entry.path().filename().string() + "\n" + to_string(read_file(entry.path()));
  }
  for (const std::string part :
       {"-20-TO0-Hello", "-21-TO0-HelloAck", "-22-TO0-OwnerSign", "-23-TO0-AcceptOwner", "/ NonceTO0Sign /", "/ to0d /",
        "/ to1d /", "/ WaitSeconds /", "/ OwnershipVoucher /", "/ OVHeaderTag /", "/ OVEntry 1 /",
        "/ to1dTO0dHash: [hashtype = SHA256, hash] /"}) {
    EXPECT_NE(to0.find(part), std::string::npos) << part;
  }
  const std::string root = path("root");
  std::filesystem::create_directories(root);
  write_file_atomic(root + "/shadow", to_bytes("operator:*:19000:0:99999:7:::\n"), 0600);
  const RunResult r = onboard(credential, {"--trace", trace, "--root", root, "--shadow-file", root + "/shadow"});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();

  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(trace)) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(std::stoi(files[i].substr(0, 3)), static_cast<int>(i + 1)) << files[i];  // one numbering, no gap
  }
  std::string all;
  for (const std::string& f : files) {
    all += f + "\n" + to_string(read_file(trace + "/" + f));
  }
  for (const std::string type : {"-10-DI-AppStart", "-11-DI-SetCredentials", "-12-DI-SetHMAC", "-13-DI-Done",
                                 "-30-TO1-HelloRV", "-31-TO1-HelloRVAck", "-32-TO1-ProveToRV", "-33-TO1-RVRedirect",
                                 "-60-TO2-HelloDevice", "-61-TO2-ProveOVHdr", "-62-TO2-GetOVNextEntry",
                                 "-63-TO2-OVNextEntry", "-64-TO2-ProveDevice", "-65-TO2-SetupDevice-decrypted",
                                 "-66-TO2-DeviceServiceInfoReady-decrypted", "-67-TO2-OwnerServiceInfoReady-decrypted",
                                 "-68-TO2-DeviceServiceInfo-decrypted", "-69-TO2-OwnerServiceInfo-decrypted",
                                 "-70-TO2-Done-decrypted", "-71-TO2-Done2-decrypted"}) {
    EXPECT_NE(all.find(type), std::string::npos) << type;
  }
  // Nested structures are field-named too: the header inside the voucher, its RendezvousInfo, the entries, the EAT.
  for (const std::string field :
       {"/ maxDeviceMessageSize /", "/ NonceTO2ProveOV /", "/ NumOVEntries /",
        "/ ReplacementHMac: [hashtype = HMAC-SHA256, hash] /", "/ IsDone /", "/ NonceTO2SetupDv /", "/ OVHeader /",
        "/ OVGuid /", "/ RVIPAddress /", "/ OVEHashPrevEntry: [hashtype = SHA256, hash] /",
        "/ OVEPubKey: [pkType = SECP256R1, pkEnc = X509, pkBody] /", "/ EAT-NONCE /", "/ CUPHOwnerPubKey: [pkType",
        "/ EUPHNonce /", "/ xBKeyExchange /", "/ RVTO2AddrEntry 0: [RVIP, RVDNS, RVPort, RVProtocol = ProtHTTP] /",
        "\"Password-Manager:pass\", <masked"}) {
    EXPECT_NE(all.find(field), std::string::npos) << field;
  }
  EXPECT_EQ(all.find("Tr4ce-S3cret"), std::string::npos) << "a password reached the trace";
}

// Eight devices power on at once and onboard to one owner.
TEST_F(SupplyChain, ManyDevicesOnboardAtOnce) {
  constexpr int kDevices = 8;
  std::vector<std::string> guids;
  std::string owner_dir;
  for (int i = 0; i < kDevices; ++i) {
    const std::string credential = path("many-" + std::to_string(i) + ".cred");
    const RunResult di = run_tool("fdo-device", {"di", "--url", m_mfg->url(), "--credential", credential, "--serial",
                                                 "SN-MANY-" + std::to_string(i)});
    ASSERT_EQ(di.exit_code, 0) << di.describe();
    guids.push_back(show(credential)["guid"].str());
    owner_dir = owner_with(guids.back(), "p256", i == 0 ? std::string() : owner_dir);
  }
  const auto owner = serve(owner_dir);
  for (const std::string& g : guids) {
    await_registered(owner_dir, g);
  }
  std::vector<RunResult> results(kDevices);
  std::vector<std::thread> threads;
  for (int i = 0; i < kDevices; ++i) {
    threads.emplace_back([this, i, &results] { results[i] = onboard(path("many-" + std::to_string(i) + ".cred")); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (int i = 0; i < kDevices; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << "device " << i << ": " << results[i].describe();
    EXPECT_EQ(status(owner_dir, guids[i])["state"].str(), "onboarded") << guids[i];
  }
}

}  // namespace
}  // namespace fdo::integration
