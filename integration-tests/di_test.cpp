// DI end to end with real processes: fdo-manufacturer serving, fdo-device running DI, fdo-reseller verifying,
// restarts and kills of the server, the conformance lines DI-01..DI-13 and the manufacturer's TR lines over
// HTTP, and fdo-device against a misbehaving in-process manufacturer (DEV-30, DEV-31).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/messages/di.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/protocol/di_device.h"
#include "libfdo/protocol/di_manufacturer.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/json.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::integration {
namespace {

constexpr std::string_view kRv = "http://127.0.0.1:8041";
constexpr const char* kKeyTypes[] = {"p256", "p384", "rsa2048", "rsa3072"};

// ---- Helpers ----

// A manufacturer directory made by `fdo-manufacturer init`, and servers started on it.
class DiIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    const RunResult init = run_tool(
        "fdo-manufacturer", {"init", "--dir", dir(), "--key-type", "p256", "--key-type", "p384"});
    ASSERT_EQ(init.exit_code, 0) << init.describe();
  }

  [[nodiscard]] std::string dir() const { return (m_tmp / "mfg").string(); }
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  std::unique_ptr<ServerProcess> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve",         "--dir",          dir(),         "--listen",
                                     "127.0.0.1:0",   "--admin-listen", "127.0.0.1:0", "--rv",
                                     std::string(kRv)};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<ServerProcess>("fdo-manufacturer", args);
  }

  // `vouchers list --json`, parsed.
  Json list() {
    const RunResult r = run_tool("fdo-manufacturer", {"vouchers", "list", "--dir", dir(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out)["vouchers"];
  }

  std::size_t count_for(const std::string& guid) {
    const Json vouchers = list();
    std::size_t n = 0;
    for (std::size_t i = 0; i < vouchers.size(); ++i) {
      n += vouchers.at(i)["guid"].str() == guid ? 1 : 0;
    }
    return n;
  }

  RunResult device_di(const std::string& url, const std::string& credential, const std::string& key_type,
                      const std::string& serial) {
    return run_tool("fdo-device", {"di", "--url", url, "--credential", credential, "--key-type", key_type,
                                   "--serial", serial, "--model", "IT-Model"});
  }

  Json show(const std::string& credential) {
    const RunResult r = run_tool("fdo-device", {"show", "--credential", credential, "--json", "--reveal"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out);
  }

  // `vouchers export` of one GUID to a file; returns the file.
  std::string export_voucher(const std::string& guid) {
    const std::string file = path(guid + ".voucher.pem");
    const RunResult r = run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", dir(), guid, "-o", file});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return file;
  }

  TempDir m_tmp;
};

voucher::OwnershipVoucher read_voucher(const std::string& file) {
  const std::vector<voucher::VoucherInput> in = voucher::read_vouchers(read_file(file));
  EXPECT_EQ(in.size(), 1u);
  return voucher::OwnershipVoucher::decode(in.at(0).cbor);
}

std::string rv_json(const RendezvousInfo& rv) {
  JsonWriter j;
  rv.to_json(j);
  return Json::parse(j.str()).dump();
}

// A DI.AppStart body for `key` (MfgInfo format (a), 5 elements).
Bytes app_start(const crypto::PrivateKey& key, const std::string& serial = "IT-SN-1", std::uint64_t key_type = 0,
                std::uint64_t key_enc = 1, std::optional<Bytes> csr = std::nullopt) {
  di::MfgInfo info;
  info.key_type = key_type != 0 ? static_cast<PkType>(key_type) : default_pk_type(key.public_key());
  info.key_enc = static_cast<PkEnc>(key_enc);
  info.serial_no = serial;
  info.device_info = "IT-Model";
  info.cert_info = csr ? *csr : crypto::make_csr(key, serial);
  return di::AppStart{info.encode()}.encode();
}

Bytes set_hmac(std::int64_t type, std::size_t size) {
  cbor::Writer w;
  w.array(1).array(2).int_(type).bstr(Bytes(size, 0x42));
  return std::move(w).take();
}

// The conformance form of an FDO error (checklist "→ N"): HTTP 500, application/cbor, Message-Type 255, no
// Authorization, a 5-element ErrorMessage with a bare uint timestamp, the code and EMPrevMsgID.
void expect_fdo_error(const HttpResponse& r, std::uint16_t code, std::uint8_t prev) {
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("Content-Type"), std::optional<std::string>("application/cbor"));
  EXPECT_EQ(r.header("Message-Type"), std::optional<std::string>("255"));
  EXPECT_FALSE(r.header("Authorization").has_value());
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body[0], 0x85);
  const ErrorMessage em = ErrorMessage::decode(r.body);
  EXPECT_EQ(em.em_error_code, code) << em.describe();
  EXPECT_EQ(em.em_prev_msg_id, prev) << em.describe();
  EXPECT_TRUE(em.em_error_ts.has_value());
}

// ---- DI with the real tools ----

TEST_F(DiIntegration, EveryDeviceKeyTypeGetsAVoucherThatItsSecretVerifies) {
  const auto server = start();
  for (const char* key_type : kKeyTypes) {
    SCOPED_TRACE(key_type);
    const std::string cred = path(std::string("cred-") + key_type + ".bin");
    const RunResult di = device_di(server->url(), cred, key_type, std::string("SN-") + key_type);
    ASSERT_EQ(di.exit_code, 0) << di.describe();
    struct stat st{};
    ASSERT_EQ(::stat(cred.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    const Json device = show(cred);
    const std::string guid = device["guid"].str();
    EXPECT_EQ(device["key_type"].str(), key_type);
    EXPECT_EQ(device["storage"].str(), "file");
    EXPECT_EQ(count_for(guid), 1u);

    // The stored credential matches the voucher: GUID, RV info, manufacturer key hash.
    const std::string file = export_voucher(guid);
    const voucher::OwnershipVoucher ov = read_voucher(file);
    EXPECT_EQ(ov.header().ov_guid.hex(), guid);
    EXPECT_EQ(ov.header().ov_device_info, "IT-Model");
    EXPECT_EQ(device["device_info"].str(), "IT-Model");
    EXPECT_EQ(device["rendezvous_info"].dump(), rv_json(ov.header().ov_rv_info));
    EXPECT_EQ(ov.header().ov_rv_info, RendezvousInfo::from_urls(kRv));
    const crypto::HashAlg family = crypto::hash_family(*crypto::parse_key_type(key_type));
    EXPECT_EQ(device["manufacturer_key_hash"]["alg"].str(), hash_type_name(hash_type_for(family)));
    EXPECT_EQ(device["manufacturer_key_hash"]["hex"].str(),
              to_hex(crypto::hash(family, ov.header().ov_pub_key.raw())));

    // The device's secret verifies the header HMAC (in process, then with fdo-reseller below).
    const std::string secret = device["hmac_secret"].str();
    EXPECT_EQ(secret.size(), 2 * crypto::digest_size(family));
    voucher::VerifyOptions options;
    options.hmac_secret = SecretBytes(from_hex(secret));
    options.allow_zero_entries = true;
    options.check_dev_cert_chain_signatures = true;
    const voucher::VerifyReport report = voucher::verify(ov.encode(), options);
    EXPECT_TRUE(report.valid) << report.to_text();

    if (has_binary("fdo-reseller")) {
      const RunResult verify = run_tool("fdo-reseller", {"verify", file, "--hmac-secret", secret,
                                                         "--allow-zero-entries", "--check-device-chain", "--json"});
      EXPECT_EQ(verify.exit_code, 0) << verify.describe();
      const Json result = Json::parse(verify.out);
      EXPECT_TRUE(result["valid"].boolean());
      bool hmac_checked = false;
      for (std::size_t i = 0; i < result["checks"].size(); ++i) {
        hmac_checked |= result["checks"].at(i)["name"].str() == "header HMAC" && result["checks"].at(i)["ok"].boolean();
      }
      EXPECT_TRUE(hmac_checked) << verify.out;
    }
  }
  // fdo-reseller is part of every build: its absence is a failure, not a reason to skip.
  ASSERT_TRUE(has_binary("fdo-reseller")) << "fdo-reseller is not built: `fdo-reseller verify` did not run";
}

TEST_F(DiIntegration, FirstOwnerVouchersAreExtendedOnceAndVerifyWithoutOptions) {
  const crypto::PrivateKey owner = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const std::string owner_pem = path("owner.pub.pem");
  write_file_atomic(owner_pem, to_bytes(owner.public_key().to_pem()), 0644);
  const auto server = start({"--first-owner", owner_pem});
  const std::string cred = path("cred.bin");
  const RunResult di = device_di(server->url(), cred, "p384", "SN-FO");
  ASSERT_EQ(di.exit_code, 0) << di.describe();
  const Json device = show(cred);
  const Json vouchers = list();
  ASSERT_EQ(vouchers.size(), 1u);
  EXPECT_EQ(vouchers.at(0)["entries"].integer(), 1);
  const voucher::OwnershipVoucher ov = read_voucher(export_voucher(device["guid"].str()));
  EXPECT_TRUE(ov.owner_key().key().same_key(owner.public_key()));
  ASSERT_TRUE(has_binary("fdo-reseller")) << "fdo-reseller is not built";
  const RunResult verify = run_tool(
      "fdo-reseller", {"verify", export_voucher(device["guid"].str()), "--hmac-secret", device["hmac_secret"].str()});
  EXPECT_EQ(verify.exit_code, 0) << verify.describe();
}

TEST_F(DiIntegration, ARestartLosesNothingAndARunMaySpanIt) {
  auto server = start();
  ASSERT_EQ(device_di(server->url(), path("a.bin"), "p256", "SN-A").exit_code, 0);
  // Device B's run is open across the restart: AppStart before, SetHMAC after.
  const crypto::PrivateKey b = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const HttpResponse r11 = post_message(server->url(), 10, app_start(b, "SN-B"));
  const std::string token = expect_ok(r11, 11);
  EXPECT_EQ(server->stop(), 0);
  server = start();
  EXPECT_EQ(list().size(), 1u);
  const Bytes header = di::SetCredentials::decode(r11.body).ov_header;
  const SecretBytes secret(Bytes(32, 0x11));
  const HttpResponse r13 = post_message(
      server->url(), 12, di::SetHMAC{voucher::header_hmac(crypto::HashAlg::Sha256, secret, header)}.encode(), token);
  EXPECT_EQ(expect_ok(r13, 13), token);
  EXPECT_EQ(to_hex(r13.body), "80");
  ASSERT_EQ(device_di(server->url(), path("c.bin"), "p384", "SN-C").exit_code, 0);
  const Json vouchers = list();
  ASSERT_EQ(vouchers.size(), 3u);
  EXPECT_EQ(vouchers.at(0)["serial"].str(), "SN-A");
  EXPECT_EQ(vouchers.at(1)["serial"].str(), "SN-B");
  EXPECT_EQ(vouchers.at(2)["serial"].str(), "SN-C");
}

TEST_F(DiIntegration, EveryAcknowledgedVoucherSurvivesASigkillUnderLoad) {
  // Group commit (docs/adr/0006) answers DI.Done only once the voucher's commit is on disk. Eight devices run DI
  // in a loop against the real server; once some runs have finished, the server is killed mid-load. Every run
  // that got its DI.Done must then find its voucher in the store.
  auto server = start();
  const std::string url = server->url();
  std::mutex m;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> devices;
  for (int d = 0; d < 8; ++d) {
    devices.emplace_back([&, d] {
      for (int run = 0; run < 200 && !stop; ++run) {
        try {
          const protocol::SoftwareDeviceIdentity id = protocol::SoftwareDeviceIdentity::generate(crypto::KeyType::P256);
          transport::HttpTransport http(url);
          const protocol::DiResult result = protocol::run_di(
              http, protocol::DiDeviceOptions{.serial_no = "SN-K" + std::to_string(d) + "-" + std::to_string(run),
                                              .device_info = "kill-test", .key_enc = PkEnc::X509, .leniency = {}},
              id.signer(), id.hmac());
          const std::lock_guard lock(m);
          acknowledged.push_back(result.credential.dc_guid.hex());
        } catch (const Error&) {
          return;  // the server is gone
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    {
      const std::lock_guard lock(m);
      if (acknowledged.size() >= 40) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  server->kill();
  stop = true;
  for (std::thread& t : devices) {
    t.join();
  }
  ASSERT_GE(acknowledged.size(), 1u);
  std::set<std::string> stored;
  const Json vouchers = list();
  for (std::size_t i = 0; i < vouchers.size(); ++i) {
    stored.insert(vouchers.at(i)["guid"].str());
  }
  for (const std::string& guid : acknowledged) {
    EXPECT_TRUE(stored.contains(guid)) << "acknowledged DI of " << guid << " has no voucher after SIGKILL";
  }
}

TEST_F(DiIntegration, MaxSessionsBoundsTheDiRunsInProgress) {
  // Abandoned AppStarts cannot fill the table without bound: beyond --max-sessions a new run gets 500 and no
  // session; a finished run frees its place.
  const auto server = start({"--max-sessions", "2"});
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const std::string t1 = expect_ok(post_message(server->url(), 10, app_start(key, "SN-M1")), 11);
  expect_ok(post_message(server->url(), 10, app_start(key, "SN-M2")), 11);
  expect_fdo_error(post_message(server->url(), 10, app_start(key, "SN-M3")), 500, 10);
  expect_ok(post_message(server->url(), 12, set_hmac(5, 32), t1), 13);
  expect_ok(post_message(server->url(), 10, app_start(key, "SN-M4")), 11);
}

TEST_F(DiIntegration, AKilledServerLeavesNoHalfVoucherAndTheDeviceCanStartAgain) {
  auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const HttpResponse r11 = post_message(server->url(), 10, app_start(key, "SN-K"));
  const std::string token = expect_ok(r11, 11);
  server->kill();
  server = start();
  // Nothing of the half-done run is a voucher.
  EXPECT_EQ(list().size(), 0u);
  // The session was committed before 11 was sent, so it survives the kill (ADR 0003): the run can finish,
  // once; afterwards the token is dead.
  const Bytes header = di::SetCredentials::decode(r11.body).ov_header;
  const SecretBytes secret(Bytes(32, 0x22));
  const Bytes body = di::SetHMAC{voucher::header_hmac(crypto::HashAlg::Sha256, secret, header)}.encode();
  expect_ok(post_message(server->url(), 12, body, token), 13);
  expect_fdo_error(post_message(server->url(), 12, body, token), 1, 12);
  EXPECT_EQ(list().size(), 1u);
  // The device starts DI again from the beginning and gets a new GUID and voucher.
  const std::string cred = path("k.bin");
  ASSERT_EQ(device_di(server->url(), cred, "p256", "SN-K").exit_code, 0);
  const Json vouchers = list();
  ASSERT_EQ(vouchers.size(), 2u);
  EXPECT_EQ(vouchers.at(1)["guid"].str(), show(cred)["guid"].str());
  // Both vouchers of serial SN-K say that they share it.
  EXPECT_EQ(vouchers.at(0)["same_serial"].integer(), 2);
  EXPECT_EQ(vouchers.at(1)["same_serial"].integer(), 2);
  const RunResult table = run_tool("fdo-manufacturer", {"vouchers", "list", "--dir", dir()});
  EXPECT_NE(table.out.find("(2 vouchers share this serial)"), std::string::npos) << table.out;
  // export --serial gives the newest voucher of the serial, and says there are two and how to choose.
  const RunResult pem = run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", dir(), "--serial", "SN-K"});
  ASSERT_EQ(pem.exit_code, 0) << pem.describe();
  EXPECT_NE(pem.err.find("2 vouchers have serial SN-K; exporting the newest, GUID " + show(cred)["guid"].str()),
            std::string::npos)
      << pem.err;
  EXPECT_EQ(voucher::OwnershipVoucher::decode(voucher::read_vouchers(to_bytes(pem.out)).at(0).cbor).header().ov_guid.hex(),
            show(cred)["guid"].str());
}

TEST_F(DiIntegration, AdminEndpointsServeTheListAndThePemOnTheirOwnListenerWithTheToken) {
  const auto server = start();
  const std::string admin = server->admin_url();
  ASSERT_FALSE(admin.empty()) << server->log();
  ASSERT_FALSE(admin.empty());
  EXPECT_NE(admin, server->url());
  const std::string cred = path("cred.bin");
  ASSERT_EQ(device_di(server->url(), cred, "p256", "SN-ADMIN").exit_code, 0);
  const std::string guid = show(cred)["guid"].str();
  std::string token = to_string(read_file(dir() + "/admin-token"));
  token.pop_back();  // the newline
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + token}};

  // The DI port does not answer /admin/ at all.
  for (const std::string& p : std::vector<std::string>{"/admin/vouchers", "/admin/vouchers/" + guid}) {
    EXPECT_EQ(http_request(server->url(), "GET", p).status, 404) << p;
    EXPECT_EQ(http_request(server->url(), "GET", p, auth).status, 404) << p;
  }
  // Without the token, or with a wrong one: 401 and nothing else.
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {{"Authorization", "Bearer " + std::string(64, '0')}}, {{"Authorization", token}}}) {
    for (const std::string& p :
         std::vector<std::string>{"/admin/vouchers", "/admin/vouchers/" + guid, "/admin/vouchers/serial/SN-ADMIN"}) {
      const HttpResponse r = http_request(admin, "GET", p, headers);
      EXPECT_EQ(r.status, 401) << p;
      EXPECT_TRUE(r.body.empty()) << p;
    }
  }
  // FDO messages on the admin listener are refused.
  EXPECT_EQ(post_message(admin, 10, Bytes{0x80}).status, 500);

  const HttpResponse all = http_request(admin, "GET", "/admin/vouchers", auth);
  EXPECT_EQ(all.status, 200);
  const Json page = Json::parse(to_string(all.body));
  EXPECT_EQ(page["vouchers"].dump(), list().dump());
  EXPECT_EQ(page["total"].integer(), 1);
  EXPECT_EQ(page["offset"].integer(), 0);
  EXPECT_EQ(page["limit"].integer(), 100);
  const HttpResponse one = http_request(admin, "GET", "/admin/vouchers/" + guid, auth);
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(to_string(one.body), to_string(read_file(export_voucher(guid))));
  const HttpResponse by_serial = http_request(admin, "GET", "/admin/vouchers/serial/SN-ADMIN", auth);
  EXPECT_EQ(by_serial.body, one.body);
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchers/" + std::string(32, '0'), auth).status, 404);
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchers/xyz", auth).status, 400);
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchers/serial/none", auth).status, 404);
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchersx", auth).status, 404);
  for (const char* bad : {"?limit=0", "?limit=1001", "?offset=x"}) {
    EXPECT_EQ(http_request(admin, "GET", std::string("/admin/vouchers") + bad, auth).status, 400) << bad;
  }
}

TEST_F(DiIntegration, AdminVoucherListIsPagedWithTheTotal) {
  const auto server = start();
  const std::string admin = server->admin_url();
  ASSERT_FALSE(admin.empty()) << server->log();
  ASSERT_FALSE(admin.empty());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(device_di(server->url(), path("c" + std::to_string(i)), "p256", "SN-P" + std::to_string(i)).exit_code, 0);
  }
  std::string token = to_string(read_file(dir() + "/admin-token"));
  token.pop_back();
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + token}};
  const Json every = list();
  ASSERT_EQ(every.size(), 5u);
  const auto page = [&](const std::string& query) {
    const HttpResponse r = http_request(admin, "GET", "/admin/vouchers" + query, auth);
    EXPECT_EQ(r.status, 200) << query;
    return Json::parse(to_string(r.body));
  };
  const Json middle = page("?offset=1&limit=3");
  EXPECT_EQ(middle["total"].integer(), 5);
  EXPECT_EQ(middle["offset"].integer(), 1);
  EXPECT_EQ(middle["limit"].integer(), 3);
  ASSERT_EQ(middle["vouchers"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(middle["vouchers"].at(i)["guid"].str(), every.at(i + 1)["guid"].str()) << i;
  }
  const Json tail = page("?limit=2&offset=4");
  EXPECT_EQ(tail["total"].integer(), 5);
  ASSERT_EQ(tail["vouchers"].size(), 1u);
  EXPECT_EQ(tail["vouchers"].at(0)["guid"].str(), every.at(4)["guid"].str());
  const Json past = page("?offset=9");
  EXPECT_EQ(past["total"].integer(), 5);
  EXPECT_EQ(past["vouchers"].size(), 0u);
  EXPECT_EQ(page("?limit=1000")["vouchers"].size(), 5u);
}

TEST_F(DiIntegration, ConfigFileSetsServeOptionsAndUnknownKeysAreUsageErrors) {
  const std::string config = path("manufacturer.toml");
  write_file_atomic(config, to_bytes("listen = \"127.0.0.1:0\"\nrv = [\"http://127.0.0.1:9041\"]\n"
                                     "session_ttl = 60\ndevice-info-chars = \"A-Za-z0-9-\"\n"),
                    0644);
  {
    const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--config", config, "--no-admin"});
    const std::string cred = path("cred.bin");
    ASSERT_EQ(device_di(server.url(), cred, "p256", "SN-CFG").exit_code, 0);
    EXPECT_EQ(show(cred)["rendezvous_info"].dump(), rv_json(RendezvousInfo::from_urls("http://127.0.0.1:9041")));
    // deviceInfo policy from the file: '.' is not allowed.
    const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
    expect_fdo_error(post_message(server.url(), 10, app_start(key, "SN.DOT")), 101, 10);
  }
  write_file_atomic(config, to_bytes("rv = [\"http://127.0.0.1:9041\"]\nbogus = 1\n"), 0644);
  EXPECT_EQ(run_tool("fdo-manufacturer", {"serve", "--dir", dir(), "--config", config}).exit_code, 2);
  EXPECT_EQ(run_tool("fdo-manufacturer", {"serve", "--dir", dir()}).exit_code, 2);
  EXPECT_EQ(run_tool("fdo-manufacturer", {"serve", "--dir", dir(), "--rv", "ftp://x"}).exit_code, 2);
  EXPECT_EQ(run_tool("fdo-manufacturer", {"serve", "--help"}).exit_code, 0);
  EXPECT_EQ(run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", dir()}).exit_code, 2);
  EXPECT_EQ(run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", dir(), std::string(32, 'a')}).exit_code, 1);
  EXPECT_EQ(run_tool("fdo-device", {"show", "--credential", path("none.bin")}).exit_code, 1);
  EXPECT_EQ(run_tool("fdo-device", {"di", "--credential", path("x.bin")}).exit_code, 2);
}

TEST_F(DiIntegration, RvInfoFileIsTheRendezvousInfoOfTheCredentialAndTheVoucher) {
  // docs/cli.md "Rendezvous info": the full JSON form, with what the --rv form cannot say (a TLS pin, a Wi-Fi
  // network, a delay on an owner-only server, instructions out of variable order).
  const std::string file = path("rv.json");
  const std::string rv_info =
      R"([[{"variable":"RVDns","value":"rv.example.com"},{"variable":"RVDevPort","value":8041},)"
      R"({"variable":"RVProtocol","value":"https"},)"
      R"({"variable":"RVSvCertHash","value":{"alg":"SHA256","hex":")" + std::string(64, 'a') + R"("}},)"
      R"({"variable":"RVWifiSsid","value":"lab"},{"variable":"RVWifiPw","value":"s3cret"}],)"
      R"([{"variable":"RVOwnerOnly"},{"variable":"RVIPAddress","value":"127.0.0.1"},)"
      R"({"variable":"RVOwnerPort","value":9041},{"variable":"RVDelaysec","value":30}]])";
  write_file_atomic(file, to_bytes(rv_info), 0644);
  {
    const ServerProcess server("fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--no-admin",
                                                    "--rv-info", file});
    const std::string cred = path("cred.bin");
    ASSERT_EQ(device_di(server.url(), cred, "p256", "SN-RVINFO").exit_code, 0);
    // `show --reveal` writes the credential's DCRVInfo in the same form, Wi-Fi password included.
    const Json device = show(cred);
    EXPECT_EQ(device["rendezvous_info"].dump(), Json::parse(rv_info).dump());
    const RendezvousInfo expected = RendezvousInfo::from_json(rv_info, "rv.json");
    EXPECT_EQ(read_voucher(export_voucher(device["guid"].str())).header().ov_rv_info, expected);
  }
  // One form or the other; a bad file names the place (exit 2); a missing file is exit 1.
  RunResult r = run_tool("fdo-manufacturer", {"serve", "--dir", dir(), "--rv", "http://127.0.0.1:9", "--rv-info", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--rv and --rv-info exclude each other"), std::string::npos) << r.err;
  r = run_tool("fdo-manufacturer", {"serve", "--dir", dir()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--rv or --rv-info is required"), std::string::npos) << r.err;
  write_file_atomic(file, to_bytes(R"([[{"variable":"RVDns","value":"rv"},{"variable":"RVDevPort","value":"x"}]])"),
                    0644);
  r = run_tool("fdo-manufacturer", {"serve", "--dir", dir(), "--rv-info", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--rv-info " + file + ": [0][1] RVDevPort: value must be an integer 0..65535, got \"x\""),
            std::string::npos)
      << r.err;
  r = run_tool("fdo-manufacturer", {"serve", "--dir", dir(), "--rv-info", path("none.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read " + path("none.json")), std::string::npos) << r.err;
}

TEST_F(DiIntegration, InitKeepsExistingKeys) {
  const std::string key = (std::filesystem::path(dir()) / "manufacturer-p256.key.pem").string();
  const Bytes before = read_file(key);
  const RunResult again = run_tool("fdo-manufacturer", {"init", "--dir", dir(), "--key-type", "p256"});
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_NE(again.out.find("kept"), std::string::npos);
  EXPECT_EQ(read_file(key), before);
  struct stat st{};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(DiIntegration, LoadgenRunsDiAndPrintsOneJsonLine) {
  const auto server = start();
  const RunResult r = run_tool("fdo-loadgen",
                               {"di", "--url", server->url(), "--devices", "4", "--concurrency", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const Json line = Json::parse(r.out);
  EXPECT_EQ(line["protocol"].str(), "di");
  EXPECT_EQ(line["devices"].integer(), 4);
  EXPECT_EQ(line["concurrency"].integer(), 2);
  EXPECT_EQ(line["errors"].integer(), 0);
  EXPECT_TRUE(line.has("ops_per_s") && line.has("p50_ms") && line.has("p99_ms"));
  EXPECT_EQ(list().size(), 4u);
}

// ---- DI-01..DI-13 against the real process ----

TEST_F(DiIntegration, DI01_NotCbor) {
  const auto server = start();
  expect_fdo_error(post_message(server->url(), 10, Bytes{0xFF}), 100, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI02_MapAndTrailingByte) {
  const auto server = start();
  expect_fdo_error(post_message(server->url(), 10, from_hex("a10000")), 100, 10);
  Bytes body = app_start(crypto::PrivateKey::generate(crypto::KeyType::P256));
  body.push_back(0x00);
  expect_fdo_error(post_message(server->url(), 10, body), 100, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI03_TextMfgInfo) {
  const auto server = start();
  expect_fdo_error(post_message(server->url(), 10, di::AppStart{cbor::encode_tstr("serial-1")}.encode()), 100, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI04_ElementCounts) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const Bytes csr = crypto::make_csr(key, "SN-1");
  const auto mfg = [&](std::size_t n) {
    cbor::Writer w;
    w.array(n);
    const std::vector<std::function<void()>> mandatory = {
        [&] { w.uint(10); }, [&] { w.uint(1); }, [&] { w.tstr("SN-1"); }, [&] { w.tstr("IT-Model"); },
        [&] { w.bstr(csr); }};
    for (std::size_t i = 0; i < n; ++i) {
      if (i < mandatory.size()) {
        mandatory[i]();
      } else {
        w.bstr(Bytes{});
      }
    }
    return di::AppStart{std::move(w).take()}.encode();
  };
  expect_fdo_error(post_message(server->url(), 10, mfg(4)), 100, 10);
  expect_fdo_error(post_message(server->url(), 10, mfg(10)), 100, 10);
  for (const std::size_t n : {5u, 6u, 9u}) {
    expect_ok(post_message(server->url(), 10, mfg(n)), 11);
  }
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI05_KeyTypeAndEncoding) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  expect_fdo_error(post_message(server->url(), 10, app_start(key, "SN-1", 7)), 101, 10);
  expect_fdo_error(post_message(server->url(), 10, app_start(key, "SN-1", 10, 0)), 101, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI06_CsrSignatureBitFlipped) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  Bytes csr = crypto::make_csr(key, "SN-1");
  csr.back() ^= 0x01;
  expect_fdo_error(post_message(server->url(), 10, app_start(key, "SN-1", 10, 1, csr)), 101, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI07_P384CsrForKeyTypeSecp256r1) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P384);
  expect_fdo_error(post_message(server->url(), 10, app_start(key, "SN-1", 10)), 101, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI08_SetHmacNotAnHmacOrWrongLength) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  for (const auto& [type, size] : {std::pair{-16, 32u}, std::pair{5, 31u}, std::pair{6, 32u}}) {
    const std::string token = expect_ok(post_message(server->url(), 10, app_start(key)), 11);
    expect_fdo_error(post_message(server->url(), 12, set_hmac(type, size), token), 100, 12);
    expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), token), 1, 12);
  }
  EXPECT_EQ(list().size(), 0u);
  // A valid HMAC of the other family (HMAC-SHA384 from a P-256 device) is all FDO 1.1 §5.2.3 asks for.
  const std::string token = expect_ok(post_message(server->url(), 10, app_start(key)), 11);
  expect_ok(post_message(server->url(), 12, set_hmac(6, 48), token), 13);
  EXPECT_EQ(list().size(), 1u);
}

TEST_F(DiIntegration, DI09_SetHmacReplayedAfterDone) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const HttpResponse r11 = post_message(server->url(), 10, app_start(key));
  const std::string token = expect_ok(r11, 11);
  expect_ok(post_message(server->url(), 12, set_hmac(5, 32), token), 13);
  expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), token), 1, 12);
  const std::string guid = di::SetCredentials::decode(r11.body).header().ov_guid.hex();
  EXPECT_EQ(count_for(guid), 1u);
}

TEST_F(DiIntegration, DI10_NoTokenMadeUpTokenAndServerTypes) {
  const auto server = start();
  expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32)), 1, 12);
  expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), std::string("Bearer bWFkZS11cC10b2tlbg")), 1, 12);
  expect_fdo_error(post_message(server->url(), 11, from_hex("8140")), 100, 11);
  expect_fdo_error(post_message(server->url(), 13, from_hex("80")), 100, 13);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI11_DeviceErrorEndsTheRun) {
  const auto server = start();
  const std::string token =
      expect_ok(post_message(server->url(), 10, app_start(crypto::PrivateKey::generate(crypto::KeyType::P256))), 11);
  ErrorMessage em;
  em.em_error_code = 101;
  em.em_prev_msg_id = 11;
  em.em_error_str = "header check failed";
  const HttpResponse ack = post_message(server->url(), 255, em.encode(), token);
  EXPECT_EQ(ack.status, 200);
  EXPECT_TRUE(ack.body.empty());
  expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), token), 1, 12);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI12_OversizeAppStart) {
  const auto server = start();
  const HttpResponse r = post_message(server->url(), 10, Bytes(65536, 0x00));
  expect_fdo_error(r, 100, 10);
  EXPECT_EQ(list().size(), 0u);
}

TEST_F(DiIntegration, DI13_PositiveRunByHandAndTheVoucherVerifies) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const HttpResponse r11 = post_message(server->url(), 10, app_start(key, "SN-13"));
  const std::string token = expect_ok(r11, 11);
  const di::SetCredentials creds = di::SetCredentials::decode(r11.body);
  const voucher::OVHeader header = creds.header();
  EXPECT_EQ(header.ovh_prot_ver, 101);
  EXPECT_EQ(header.ov_guid.bytes.size(), 16u);
  EXPECT_EQ(header.ov_rv_info, RendezvousInfo::from_urls(kRv));
  EXPECT_EQ(header.ov_device_info, "IT-Model");
  const SecretBytes secret(Bytes(32, 0x13));
  const HttpResponse r13 = post_message(
      server->url(), 12, di::SetHMAC{voucher::header_hmac(crypto::HashAlg::Sha256, secret, creds.ov_header)}.encode(),
      token);
  EXPECT_EQ(expect_ok(r13, 13), token) << "one token for the whole run";
  EXPECT_EQ(to_hex(r13.body), "80");
  const std::string file = export_voucher(header.ov_guid.hex());
  const voucher::OwnershipVoucher ov = read_voucher(file);
  ASSERT_TRUE(ov.dev_cert_chain().has_value());
  Bytes der;
  for (const Bytes& cert : *ov.dev_cert_chain()) {
    append(der, cert);
  }
  EXPECT_TRUE(header.ov_dev_cert_chain_hash->matches(der));
  EXPECT_TRUE(crypto::Certificate::from_der(ov.dev_cert_chain()->front()).public_key().same_key(key.public_key()));
  ASSERT_TRUE(has_binary("fdo-reseller")) << "fdo-reseller is not built";
  const RunResult verify = run_tool("fdo-reseller", {"verify", file, "--hmac-secret", to_hex(secret.view()),
                                                     "--allow-zero-entries", "--check-device-chain"});
  EXPECT_EQ(verify.exit_code, 0) << verify.describe();
  const RunResult wrong = run_tool("fdo-reseller", {"verify", file, "--hmac-secret", std::string(64, '0'),
                                                    "--allow-zero-entries"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.describe();
}

// ---- TR lines that concern the manufacturer ----

TEST_F(DiIntegration, TR01_ContentTypeOtherThanCborIs415) {
  const auto server = start();
  const Bytes body = app_start(crypto::PrivateKey::generate(crypto::KeyType::P256));
  for (const std::optional<std::string>& type :
       {std::optional<std::string>("text/plain"), std::optional<std::string>(),
        std::optional<std::string>("application/cbor; charset=utf-8")}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (type) {
      headers.emplace_back("Content-Type", *type);
    }
    const HttpResponse r = http_request(server->url(), "POST", "/fdo/101/msg/10", headers, body);
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(r.header("Message-Type"), std::optional<std::string>("255"));
    EXPECT_FALSE(r.header("Authorization").has_value());
    EXPECT_EQ(ErrorMessage::decode(r.body).em_error_code, 100);
  }
}

TEST_F(DiIntegration, TR02_TR03_MethodAndPath) {
  const auto server = start();
  EXPECT_EQ(http_request(server->url(), "GET", "/fdo/101/msg/10").status, 405);
  EXPECT_EQ(http_request(server->url(), "PUT", "/fdo/101/msg/10", {{"Content-Type", "application/cbor"}},
                         Bytes{0x80})
                .status,
            405);
  const HttpResponse v100 =
      http_request(server->url(), "POST", "/fdo/100/msg/10", {{"Content-Type", "application/cbor"}}, Bytes{0x80});
  EXPECT_EQ(v100.status, 404);
  EXPECT_FALSE(v100.header("Message-Type").has_value());
  EXPECT_EQ(
      http_request(server->url(), "POST", "/fdo/101/msg/10/x", {{"Content-Type", "application/cbor"}}, Bytes{0x80})
          .status,
      404);
}

TEST_F(DiIntegration, TR04_UnknownAndOtherProtocolTypesAre100) {
  const auto server = start();
  expect_fdo_error(post_message(server->url(), 99, Bytes{0x80}), 100, 99);
  expect_fdo_error(post_message(server->url(), 60, Bytes{0x80}), 100, 60);
  expect_fdo_error(post_message(server->url(), 20, Bytes{0x80}), 100, 20);
}

TEST_F(DiIntegration, TR05_OversizeMidRunKillsTheToken) {
  const auto server = start();
  const std::string token =
      expect_ok(post_message(server->url(), 10, app_start(crypto::PrivateKey::generate(crypto::KeyType::P256))), 11);
  expect_fdo_error(post_message(server->url(), 12, Bytes(65536, 0x00), token), 100, 12);
  expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), token), 1, 12);
}

TEST_F(DiIntegration, TR07_MalformedAuthorizationIs1) {
  const auto server = start();
  const std::string token =
      expect_ok(post_message(server->url(), 10, app_start(crypto::PrivateKey::generate(crypto::KeyType::P256))), 11);
  const std::string bare = token.substr(7);
  for (const std::string& auth : {std::string("Basic abc"), bare, std::string("Bearer")}) {
    expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), auth), 1, 12);
  }
}

TEST_F(DiIntegration, TR10_ExpiredSession) {
  const auto server = start({"--session-ttl", "1"});
  const std::string token =
      expect_ok(post_message(server->url(), 10, app_start(crypto::PrivateKey::generate(crypto::KeyType::P256))), 11);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  expect_fdo_error(post_message(server->url(), 12, set_hmac(5, 32), token), 1, 12);
}

TEST_F(DiIntegration, TR13_StaleAuthorizationOnAppStartGetsAFreshToken) {
  const auto server = start();
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const std::string first = expect_ok(post_message(server->url(), 10, app_start(key)), 11);
  const std::string second = expect_ok(post_message(server->url(), 10, app_start(key), first), 11);
  EXPECT_NE(first, second);
}

// ---- fdo-device against a misbehaving in-process manufacturer (DEV-30, DEV-31): no credential file ----

// A real DI endpoint whose DI.SetCredentials is rewritten by `mutate`; records the types it received.
class MutatingManufacturer final : public transport::Responder {
 public:
  explicit MutatingManufacturer(std::function<Bytes(const Bytes&)> mutate)
      : m_store(storage::make_memory_store()),
        m_endpoint(keys(), options()),
        m_dispatcher(*m_store),
        m_mutate(std::move(mutate)) {
    m_dispatcher.add(m_endpoint);
  }

  transport::Response handle(const transport::Request& request) override {
    {
      const std::lock_guard<std::mutex> guard(m_lock);
      m_received.push_back(request.msg_type);
      if (request.msg_type == 255) {
        m_device_error = ErrorMessage::decode(request.body);
      }
    }
    transport::Response r = m_dispatcher.handle(request);
    if (r.msg_type == 11 && m_mutate) {
      r.body = m_mutate(r.body);
    }
    return r;
  }
  transport::Response reject(std::uint8_t type, std::optional<std::string> token, ErrorCode code,
                             std::string_view reason) override {
    return m_dispatcher.reject(type, std::move(token), code, reason);
  }
  std::vector<std::uint8_t> received() {
    const std::lock_guard<std::mutex> guard(m_lock);
    return m_received;
  }
  std::optional<ErrorMessage> device_error() {
    const std::lock_guard<std::mutex> guard(m_lock);
    return m_device_error;
  }

 private:
  static protocol::ManufacturerKeys keys() {
    crypto::PrivateKey ca = crypto::PrivateKey::generate(crypto::KeyType::P256);
    crypto::Certificate cert = crypto::make_self_signed(
        ca, {.common_name = "IT CA", .organization = "it", .validity_days = 30, .is_ca = true});
    protocol::ManufacturerKeys k{.signing_keys = {},
                                 .default_key_type = crypto::KeyType::P256,
                                 .device_ca_key = std::move(ca),
                                 .device_ca_chain = {std::move(cert)}};
    k.signing_keys.push_back(protocol::ManufacturerKey{crypto::PrivateKey::generate(crypto::KeyType::P256), {}});
    return k;
  }
  static protocol::DiManufacturerOptions options() {
    protocol::DiManufacturerOptions o;
    o.rv_info = RendezvousInfo::from_urls(kRv);
    return o;
  }

  std::unique_ptr<storage::Store> m_store;
  protocol::DiManufacturer m_endpoint;
  protocol::Dispatcher m_dispatcher;
  std::function<Bytes(const Bytes&)> m_mutate;
  std::mutex m_lock;
  std::vector<std::uint8_t> m_received;
  std::optional<ErrorMessage> m_device_error;
};

void expect_device_aborts(const std::function<Bytes(const Bytes&)>& mutate, std::uint16_t expected_code) {
  MutatingManufacturer scripted(mutate);
  transport::HttpServer server(scripted);
  server.start();
  const TempDir tmp;
  const std::string cred = (tmp / "cred.bin").string();
  const RunResult r = run_tool("fdo-device", {"di", "--url", server.url(), "--credential", cred});
  server.stop();
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_FALSE(std::filesystem::exists(cred)) << "no credential file on failure";
  EXPECT_EQ(scripted.received(), (std::vector<std::uint8_t>{10, 255}));
  ASSERT_TRUE(scripted.device_error().has_value());
  EXPECT_EQ(scripted.device_error()->em_error_code, expected_code);
  EXPECT_EQ(scripted.device_error()->em_prev_msg_id, 11);
}

TEST(DiDeviceTool, DEV30_ProtocolVersion100AbortsWithoutCredential) {
  expect_device_aborts(
      [](const Bytes& body) {
        Bytes header = di::SetCredentials::decode(body).ov_header;
        header[2] = 0x64;  // OVHProtVer 101 → 100
        return di::SetCredentials{header}.encode();
      },
      101);
}

TEST(DiDeviceTool, DEV31_BareHeaderArrayAbortsWithoutCredential) {
  expect_device_aborts([](const Bytes& body) { return di::SetCredentials::decode(body).ov_header; }, 100);
}

TEST(DiDeviceTool, UnmodifiedInProcessManufacturerWorks) {
  MutatingManufacturer scripted(nullptr);
  transport::HttpServer server(scripted);
  server.start();
  const TempDir tmp;
  const std::string cred = (tmp / "cred.bin").string();
  const RunResult r = run_tool("fdo-device", {"di", "--url", server.url(), "--credential", cred, "--key-type", "p384"});
  server.stop();
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(std::filesystem::exists(cred));
  EXPECT_EQ(scripted.received(), (std::vector<std::uint8_t>{10, 12}));
  const DeviceCredential c = DeviceCredential::decode(read_file(cred));
  EXPECT_EQ(c.key_type, crypto::KeyType::P384);
  EXPECT_EQ(c.dc_hmac_secret.size(), 48u);
}

}  // namespace
}  // namespace fdo::integration
