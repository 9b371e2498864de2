// The servers on PostgreSQL, end to end (docs/scaling.md): fdo-manufacturer serving DI to fdo-device with its
// store in a throwaway PostgreSQL 15 cluster (libfdo/storage/postgres_test_support.h), the password from a 0600
// file, `vouchers list` reading the same database, two instances sharing the live-run cap, and the refusals at
// start. Label `postgres`.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/messages/di.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/storage/postgres_test_support.h"
#include "libfdo/types/public_key.h"

namespace fdo::integration {
namespace {

using storage::test::postgres_cluster;

class PostgresIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    m_db = postgres_cluster().create_database();
    const RunResult init = run_tool("fdo-manufacturer", {"init", "--dir", dir(), "--key-type", "p256"});
    ASSERT_EQ(init.exit_code, 0) << init.describe();
    {
      std::ofstream out(password_file());
      out << storage::test::PostgresCluster::kPassword << "\n";
    }
    ::chmod(password_file().c_str(), 0600);
  }

  [[nodiscard]] std::string dir() const { return (m_tmp / "mfg").string(); }
  [[nodiscard]] std::string password_file() const { return (m_tmp / "db-password").string(); }
  [[nodiscard]] std::string uri() const { return postgres_cluster().uri(m_db); }
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }
  std::string psql(const std::string& sql) { return postgres_cluster().psql(m_db, sql); }

  std::unique_ptr<ServerProcess> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--no-admin",
                                     "--rv", "http://127.0.0.1:8041", "--db", uri(), "--db-password-file",
                                     password_file(), "--db-pool-size", "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<ServerProcess>("fdo-manufacturer", args);
  }

 private:
  TempDir m_tmp;
  std::string m_db;
};

// A DI.AppStart body for a fresh P-256 key.
Bytes app_start(const std::string& serial) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  di::MfgInfo info;
  info.key_type = default_pk_type(key.public_key());
  info.key_enc = PkEnc::X509;
  info.serial_no = serial;
  info.device_info = "IT-Model";
  info.cert_info = crypto::make_csr(key, serial);
  return di::AppStart{info.encode()}.encode();
}

TEST_F(PostgresIntegration, PostgresManufacturerRunsDiAndListsTheVoucherFromTheDatabase) {
  const auto server = start();
  const RunResult di = run_tool("fdo-device", {"di", "--url", server->url(), "--credential", path("dev.bin"),
                                               "--serial", "SN-PG-1", "--model", "IT-Model"});
  ASSERT_EQ(di.exit_code, 0) << di.describe();
  EXPECT_EQ(psql("SELECT count(*) FROM vouchers"), "1\n");
  EXPECT_EQ(psql("SELECT convert_from(serial, 'UTF8') FROM vouchers"), "SN-PG-1\n");
  EXPECT_EQ(psql("SELECT count(*) FROM sessions"), "0\n");  // the run ended
  // The database is PostgreSQL: no SQLite file appeared in the directory.
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir()) / "manufacturer.db"));

  const RunResult list = run_tool("fdo-manufacturer", {"vouchers", "list", "--dir", dir(), "--db", uri(),
                                                       "--db-password-file", password_file(), "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  const Json vouchers = Json::parse(list.out)["vouchers"];
  ASSERT_EQ(vouchers.size(), 1u);
  EXPECT_EQ(vouchers.at(0)["serial"].str(), "SN-PG-1");
  const RunResult pem = run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", dir(), "--db", uri(),
                                                      "--db-password-file", password_file(), "--serial", "SN-PG-1"});
  ASSERT_EQ(pem.exit_code, 0) << pem.describe();
  EXPECT_NE(pem.out.find("-----BEGIN OWNERSHIP VOUCHER-----"), std::string::npos) << pem.out;
  EXPECT_EQ(server->stop(), 0);
}

// docs/scaling.md "Limits": the live-run cap is counted in the database, so it holds across instances.
TEST_F(PostgresIntegration, PostgresInstancesShareTheLiveRunCap) {
  const auto a = start({"--max-sessions", "2"});
  const auto b = start({"--max-sessions", "2"});
  expect_ok(post_message(a->url(), 10, app_start("SN-A1")), 11);
  expect_ok(post_message(b->url(), 10, app_start("SN-B1")), 11);
  const HttpResponse third = post_message(b->url(), 10, app_start("SN-B2"));
  EXPECT_EQ(third.status, 500);
  EXPECT_EQ(ErrorMessage::decode(third.body).em_error_code, 500);
  EXPECT_EQ(psql("SELECT count(*) FROM sessions"), "2\n");
}

// The rendezvous server and the owner open their stores the same way: each creates its schema in its own database
// and keeps no SQLite file; the owner's subcommands read the same database.
TEST_F(PostgresIntegration, PostgresRendezvousAndOwnerServeOnTheirOwnDatabases) {
  const std::string rv_db = postgres_cluster().create_database();
  const std::string owner_db = postgres_cluster().create_database();
  const std::string rv_dir = path("rv");
  const std::string owner_dir = path("owner");
  const RunResult init = run_tool("fdo-owner", {"init", "--dir", owner_dir});
  ASSERT_EQ(init.exit_code, 0) << init.describe();
  {
    ServerProcess rv("fdo-rendezvous", {"serve", "--dir", rv_dir, "--listen", "127.0.0.1:0", "--db",
                                        postgres_cluster().uri(rv_db), "--db-password-file", password_file()});
    ServerProcess owner("fdo-owner", {"serve", "--dir", owner_dir, "--listen", "127.0.0.1:0", "--admin-listen", "",
                                      "--db", postgres_cluster().uri(owner_db), "--db-password-file",
                                      password_file(), "--db-pool-size", "2"});
    EXPECT_EQ(rv.stop(), 0);
    EXPECT_EQ(owner.stop(), 0);
  }
  for (const std::string& db : {rv_db, owner_db}) {
    EXPECT_EQ(postgres_cluster().psql(db, "SELECT version FROM fdo_schema"),
              std::to_string(storage::kPostgresSchemaVersion) + "\n");
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(rv_dir) / "rendezvous.db"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(owner_dir) / "owner.db"));
  const RunResult devices = run_tool("fdo-owner", {"devices", "list", "--dir", owner_dir, "--db",
                                                   postgres_cluster().uri(owner_db), "--db-password-file",
                                                   password_file(), "--json"});
  EXPECT_EQ(devices.exit_code, 0) << devices.describe();
}

TEST_F(PostgresIntegration, PostgresServeRefusesAPasswordInTheUriAndAPublicPasswordFile) {
  const std::string with_password =
      "postgresql://fdo:" + std::string(storage::test::PostgresCluster::kPassword) + "@127.0.0.1:" +
      std::to_string(postgres_cluster().port()) + "/postgres";
  const RunResult in_uri = run_tool("fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "127.0.0.1:0",
                                                         "--no-admin", "--rv", "http://127.0.0.1:8041", "--db",
                                                         with_password});
  EXPECT_EQ(in_uri.exit_code, 1) << in_uri.describe();
  EXPECT_NE(in_uri.err.find("the URI holds a password"), std::string::npos) << in_uri.err;
  EXPECT_EQ(in_uri.err.find(storage::test::PostgresCluster::kPassword), std::string::npos) << in_uri.err;

  ::chmod(password_file().c_str(), 0644);
  const RunResult public_file = run_tool(
      "fdo-manufacturer", {"serve", "--dir", dir(), "--listen", "127.0.0.1:0", "--no-admin", "--rv",
                           "http://127.0.0.1:8041", "--db", uri(), "--db-password-file", password_file()});
  EXPECT_EQ(public_file.exit_code, 1) << public_file.describe();
  EXPECT_NE(public_file.err.find("readable by group or others"), std::string::npos) << public_file.err;

  const RunResult no_password = run_tool("fdo-manufacturer", {"vouchers", "list", "--dir", dir(), "--db", uri()});
  EXPECT_EQ(no_password.exit_code, 1) << no_password.describe();
  EXPECT_NE(no_password.err.find("cannot connect"), std::string::npos) << no_password.err;
}

}  // namespace
}  // namespace fdo::integration
