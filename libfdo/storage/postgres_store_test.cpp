// PostgreSQL-specific tests (the shared contract is in store_test.cpp): schema and migration, several stores on
// one database, row-level concurrency, the pool, retries, and connection errors. Label `postgres`.

#include "libfdo/storage/postgres_store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "libfdo/core/error.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/storage/postgres_test_support.h"
#include "libfdo/storage/store_test_support.h"

namespace fdo::storage {
namespace {

using test::kNow;
using test::make_session;
using test::postgres_cluster;

// The exception `f` throws, which must be an InternalServerError.
template <typename F>
std::string internal_error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  PostgresStoreTest() : m_db(postgres_cluster().create_database()) {}

  [[nodiscard]] std::string uri() const { return postgres_cluster().uri(m_db); }
  std::unique_ptr<Store> open(std::size_t pool_size = 8) {
    return open_postgres_store(uri(), test::PostgresCluster::options(pool_size));
  }
  std::string psql(const std::string& sql) { return postgres_cluster().psql(m_db, sql); }
  [[nodiscard]] const std::string& db() const { return m_db; }

 private:
  std::string m_db;
};

TEST_F(PostgresStoreTest, MigratesAnEmptyDatabaseAndKeepsDataAcrossReopen) {
  {
    const std::unique_ptr<Store> store = open();
    const auto tx = store->begin();
    tx->insert_session(make_session("tok"));
    tx->commit();
  }
  EXPECT_EQ(psql("SELECT version FROM fdo_schema"), std::to_string(kPostgresSchemaVersion) + "\n");
  EXPECT_EQ(psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"),
            "fdo_schema,owner_devices,rate_buckets,rv_registrations,sessions,vouchers\n");
  const std::unique_ptr<Store> again = open();
  const auto tx = again->begin();
  EXPECT_TRUE(tx->get_session("tok", kNow).has_value());
  EXPECT_EQ(psql("SELECT count(*) FROM fdo_schema"), "1\n");
}

// Schema 1 → 2 adds the rate limit's buckets and keeps what version 1 held.
TEST_F(PostgresStoreTest, MigratesAVersion1DatabaseToTheRateBuckets) {
  {
    const std::unique_ptr<Store> store = open();
    test::create_counter(*store, "tok");
  }
  psql("DROP TABLE rate_buckets; UPDATE fdo_schema SET version = 1");
  const std::unique_ptr<Store> store = open();
  EXPECT_EQ(psql("SELECT version FROM fdo_schema"), "2\n");
  EXPECT_EQ(test::read_counter(*store, "tok"), 0u);
  const auto tx = store->begin();
  EXPECT_TRUE(tx->take_rate_token("10.0.0.1", RateLimit{.rate = 1, .burst = 1}, kNow));
  tx->commit();
  EXPECT_EQ(psql("SELECT millitokens, updated FROM rate_buckets"), "0|" + std::to_string(kNow) + "\n");
}

TEST_F(PostgresStoreTest, RefusesADatabaseWithANewerSchema) {
  (void)open();
  psql("UPDATE fdo_schema SET version = 99");
  const std::string what = internal_error_of([this] { (void)open(); });
  EXPECT_NE(what.find("schema version 99 is not supported"), std::string::npos) << what;
}

TEST_F(PostgresStoreTest, InstancesStartingTogetherMigrateOnce) {
  constexpr int kInstances = 4;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  std::vector<std::string> failures(kInstances);
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([this, i, &opened, &failures] {
      try {
        (void)open();
        ++opened;
      } catch (const Error& e) {
        failures[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(opened.load(), kInstances);
  EXPECT_EQ(failures, std::vector<std::string>(kInstances));
  EXPECT_EQ(psql("SELECT version FROM fdo_schema"), std::to_string(kPostgresSchemaVersion) + "\n");
}

TEST_F(PostgresStoreTest, TwoStoresOnOneDatabaseSeeEachOthersWrites) {
  const std::unique_ptr<Store> first = open();
  const std::unique_ptr<Store> second = open();
  {
    const auto tx = first->begin();
    tx->insert_session(make_session("tok"));
    tx->put_voucher(test::make_voucher(1, "SN1"));
    tx->commit();
  }
  {
    const auto tx = second->begin();
    std::optional<Session> session = tx->get_session("tok", kNow);
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(tx->find_voucher_by_serial("SN1"), test::make_voucher(1, "SN1"));
    session->state = Bytes{9};
    ASSERT_TRUE(tx->update_session(*session));
    tx->commit();
  }
  const auto tx = first->begin();
  EXPECT_EQ(tx->get_session("tok", kNow)->state, Bytes{9});
  EXPECT_EQ(tx->get_session("tok", kNow)->version, 1u);
  EXPECT_EQ(tx->count_sessions(kNow), 1u);
}

// docs/adr/0005: of two copies of one message, on two connections (two instances), exactly one moves the session
// on; the other waits for the first one's row lock, then finds the version changed.
TEST_F(PostgresStoreTest, ConcurrentUpdatesOfOneSessionFromTwoConnectionsHaveOneWinner) {
  const std::unique_ptr<Store> a = open();
  const std::unique_ptr<Store> b = open();
  test::create_counter(*a, "tok");
  const Session read = *read_only(*a, [](Transaction& tx) { return tx.get_session("tok", kNow); });
  Session from_a = read;
  from_a.state = test::encode_counter(1);
  Session from_b = read;
  from_b.state = test::encode_counter(2);

  const auto tx_a = a->begin();
  ASSERT_TRUE(tx_a->update_session(from_a));  // holds the row lock until commit
  std::atomic<int> b_result{-1};
  std::thread other([&b, &from_b, &b_result] {
    const auto tx_b = b->begin();
    const bool won = tx_b->update_session(from_b);
    if (won) {
      tx_b->commit();
    }
    b_result = won ? 1 : 0;
  });
  tx_a->commit();
  other.join();
  EXPECT_EQ(b_result.load(), 0);
  EXPECT_EQ(test::read_counter(*b, "tok"), 1u);

  // Many racing copies: exactly one wins, whatever the interleaving.
  constexpr int kCopies = 6;
  const Session now_read = *read_only(*a, [](Transaction& tx) { return tx.get_session("tok", kNow); });
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kCopies; ++i) {
    stores.push_back(open(1));
  }
  std::atomic<int> ready{0};
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCopies; ++i) {
    threads.emplace_back([&, i] {
      Session mine = now_read;
      mine.state = test::encode_counter(100 + static_cast<std::uint64_t>(i));
      const auto tx = stores[static_cast<std::size_t>(i)]->begin();
      ++ready;
      while (ready.load() < kCopies) {
        std::this_thread::yield();
      }
      if (tx->update_session(mine)) {
        tx->commit();
        ++winners;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(winners.load(), 1);
  const Session final_state = *read_only(*a, [](Transaction& tx) { return tx.get_session("tok", kNow); });
  EXPECT_EQ(final_state.version, now_read.version + 1);
  EXPECT_GE(test::decode_counter(final_state.state), 100u);
}

TEST_F(PostgresStoreTest, PoolExhaustionTimesOutWithAClearError) {
  PostgresOptions options = test::PostgresCluster::options(1);
  options.acquire_timeout = std::chrono::milliseconds(200);
  const std::unique_ptr<Store> store = open_postgres_store(uri(), std::move(options));
  const auto held = store->begin();
  std::string what;
  std::thread other([&store, &what] { what = internal_error_of([&store] { (void)store->begin(); }); });
  other.join();
  EXPECT_NE(what.find("all 1 connections are busy"), std::string::npos) << what;
  EXPECT_NE(what.find("begin"), std::string::npos) << what;
  held->commit();
  // Once the connection is back, the next transaction gets it.
  std::thread after([&store] {
    const auto tx = store->begin();
    tx->insert_session(make_session("tok"));
    tx->commit();
  });
  after.join();
  EXPECT_TRUE(read_only(*store, [](Transaction& tx) { return tx.get_session("tok", kNow); }).has_value());
}

// A trigger that raises `sqlstate` on the first `times` rows it sees (a sequence counts across rollbacks).
void inject_failures(const std::string& db, const std::string& when, int times, const std::string& sqlstate) {
  postgres_cluster().psql(
      db, "CREATE SEQUENCE injected; "
          "CREATE FUNCTION inject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF nextval('injected') <= " + std::to_string(times) + " THEN "
          "RAISE EXCEPTION 'injected failure' USING ERRCODE = '" + sqlstate + "'; END IF; "
          "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$; "
          "CREATE TRIGGER inject " + when + " ON sessions FOR EACH ROW EXECUTE FUNCTION inject()");
}

TEST_F(PostgresStoreTest, SerialisationFailureOfAFirstStatementIsRetried) {
  const std::unique_ptr<Store> store = open();
  inject_failures(db(), "BEFORE INSERT", 2, "40001");
  {
    const auto tx = store->begin();
    (void)tx->count_sessions(kNow);  // a read before the write: a restart of the transaction loses nothing
    tx->insert_session(make_session("tok"));
    tx->commit();
  }
  EXPECT_EQ(postgres_retry_count(*store), 2u);
  EXPECT_TRUE(read_only(*store, [](Transaction& tx) { return tx.get_session("tok", kNow); }).has_value());
}

// The servers' shutdown line names what this back-end measures (open_store.h), not SQLite's fdatasync.
TEST_F(PostgresStoreTest, ActivityCountsCommitsRetriesAndConnections) {
  const std::unique_ptr<Store> store = open();
  EXPECT_EQ(store_activity(*store), "postgresql: 0 commits, 0 retried statements, 1 connections opened");
  inject_failures(db(), "BEFORE INSERT", 1, "40001");
  test::create_counter(*store, "tok");
  {
    const auto tx = store->begin();
    (void)tx->count_sessions(kNow);  // rolled back: not a commit
  }
  EXPECT_EQ(postgres_counts(*store).commits, 1u);
  EXPECT_EQ(store_activity(*store), "postgresql: 1 commits, 1 retried statements, 1 connections opened");
}

TEST_F(PostgresStoreTest, DeadlockOfAPurgeAfterAWriteIsRetriedUnderASavepoint) {
  const std::unique_ptr<Store> store = open();
  {
    const auto tx = store->begin();
    tx->insert_session(make_session("old", kNow - 1));
    tx->commit();
  }
  inject_failures(db(), "BEFORE DELETE", 1, "40P01");
  const auto tx = store->begin();
  tx->insert_session(make_session("new"));
  EXPECT_EQ(tx->purge_expired_sessions(kNow), 1u);
  tx->commit();
  EXPECT_EQ(postgres_retry_count(*store), 1u);
  const auto check = store->begin();
  EXPECT_TRUE(check->get_session("new", kNow).has_value());
  EXPECT_FALSE(check->get_session("old", kNow - 10).has_value());
}

TEST_F(PostgresStoreTest, SerialisationFailureAfterAWriteIsReportedNotHidden) {
  const std::unique_ptr<Store> store = open();
  {
    const auto tx = store->begin();
    tx->insert_session(make_session("tok"));
    tx->commit();
  }
  inject_failures(db(), "BEFORE UPDATE", 1, "40001");
  {
    const auto tx = store->begin();
    tx->put_voucher(test::make_voucher(1, "SN1"));
    const std::string what = internal_error_of([&tx] { (void)tx->update_session(make_session("tok")); });
    EXPECT_NE(what.find("update_session"), std::string::npos) << what;
    EXPECT_NE(what.find("40001"), std::string::npos) << what;
    EXPECT_THROW(tx->commit(), Error);
  }
  EXPECT_FALSE(read_only(*store, [](Transaction& tx) { return tx.get_voucher(test::guid_of(1)); }).has_value());
}

TEST_F(PostgresStoreTest, UriWithAPasswordIsRefused) {
  const std::string port = std::to_string(postgres_cluster().port());
  for (const std::string& bad : {"postgresql://fdo:s3cret-word@127.0.0.1:" + port + "/postgres",
                                 "postgresql://fdo@127.0.0.1:" + port + "/postgres?password=s3cret-word"}) {
    const std::string what = internal_error_of([&bad] { (void)open_postgres_store(bad); });
    EXPECT_NE(what.find("the URI holds a password"), std::string::npos) << what;
    EXPECT_NE(what.find("--db-password-file"), std::string::npos) << what;
    EXPECT_EQ(what.find("s3cret-word"), std::string::npos) << what;
  }
}

TEST_F(PostgresStoreTest, WrongPortGivesAClearError) {
  // A port nobody listens on: bind one, then close it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const std::string bad = "postgresql://fdo@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/postgres";
  const std::string what = internal_error_of([&bad] { (void)open_postgres_store(bad); });
  EXPECT_NE(what.find("postgresql store: open: cannot connect to " + bad), std::string::npos) << what;
  EXPECT_NE(what.find("Connection refused"), std::string::npos) << what;
}

TEST_F(PostgresStoreTest, WrongPasswordGivesAClearErrorWithoutThePassword) {
  PostgresOptions options;
  const std::string wrong = "not-the-password";
  options.password = SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(wrong.data()), wrong.size()));
  const std::string what = internal_error_of([this, &options] { (void)open_postgres_store(uri(), std::move(options)); });
  EXPECT_NE(what.find("password authentication failed"), std::string::npos) << what;
  EXPECT_EQ(what.find(wrong), std::string::npos) << what;
}

TEST_F(PostgresStoreTest, ConnectionsSurviveARestartOfTheServer) {
  const std::unique_ptr<Store> store = open(1);
  test::create_counter(*store, "tok");
  postgres_cluster().restart();
  EXPECT_EQ(test::read_counter(*store, "tok"), 0u);  // the idle connection was cut; begin() reconnected once
}

// open_store(): the one factory the servers use.
TEST_F(PostgresStoreTest, OpenStoreReadsThePasswordFromAPrivateFile) {
  test::TempDir dir;
  const std::filesystem::path file = dir.path() / "db-password";
  {
    std::ofstream out(file);
    out << test::PostgresCluster::kPassword << "\n";
  }
  ::chmod(file.c_str(), 0640);
  StoreSpec spec{.db = uri(), .password_file = file, .pool_size = 2};
  const std::string what = internal_error_of([&spec] { (void)open_store(spec); });
  EXPECT_NE(what.find("readable by group or others"), std::string::npos) << what;
  ::chmod(file.c_str(), 0600);
  const std::unique_ptr<Store> store = open_store(spec);
  test::create_counter(*store, "tok");
  EXPECT_EQ(test::read_counter(*store, "tok"), 0u);
}

}  // namespace
}  // namespace fdo::storage
