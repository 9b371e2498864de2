// What only the SQLite store promises: durability across reopen, file permissions, schema versioning, and
// serialisation between connections and processes sharing one file. The shared suite is store_test.cpp.

#include "libfdo/storage/sqlite_store.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/storage/store_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fdo::storage {
namespace {

using test::guid_of;
using test::kNow;
using test::make_registration;
using test::make_owner_device;
using test::make_session;
using test::make_voucher;

class SqliteStoreTest : public ::testing::Test {
 protected:
  [[nodiscard]] std::filesystem::path db() const { return m_dir.path() / "fdo.db"; }

 private:
  test::TempDir m_dir;
};

unsigned file_mode(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return 0;
  }
  return st.st_mode & 0777U;
}

// SQLite file format §1.3: the 4-byte big-endian "user version" sits at offset 60 of the database header.
constexpr std::streamoff kUserVersionOffset = 60;

std::uint32_t header_user_version(const std::filesystem::path& path) {
  const Bytes file = read_file(path);
  if (file.size() < 100) {
    return 0;
  }
  const auto at = static_cast<std::size_t>(kUserVersionOffset);
  return (std::uint32_t{file[at]} << 24) | (std::uint32_t{file[at + 1]} << 16) | (std::uint32_t{file[at + 2]} << 8) |
         std::uint32_t{file[at + 3]};
}

void write_header_user_version(const std::filesystem::path& path, std::uint32_t version) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(kUserVersionOffset);
  const char bytes[4] = {static_cast<char>(version >> 24), static_cast<char>(version >> 16),
                         static_cast<char>(version >> 8), static_cast<char>(version)};
  f.write(bytes, sizeof bytes);
  ASSERT_TRUE(f.good());
}

// Runs `body` in a child process, which exits with the code `body` returns (1 on an exception); returns its pid.
// The parent must not have the database open: SQLite connections do not survive fork(), so the child opens its own.
template <typename Body>
pid_t run_child(Body body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = body();
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  return pid;
}

// The child's exit code, or -1 if it did not exit normally.
int wait_child(pid_t pid) {
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

TEST_F(SqliteStoreTest, PersistsAcrossReopen) {
  {
    const auto store = open_sqlite_store(db());
    const auto tx = store->begin();
    tx->insert_session(make_session("tok"));
    tx->put_voucher(make_voucher(1, "SN1"));
    tx->put_rv_registration(make_registration(1));
    tx->put_owner_device(make_owner_device(1));
    tx->commit();
  }
  const auto store = open_sqlite_store(db());
  const auto tx = store->begin();
  EXPECT_EQ(tx->get_owner_device(guid_of(1)), make_owner_device(1));
  EXPECT_EQ(tx->get_session("tok", kNow), make_session("tok"));
  EXPECT_EQ(tx->get_voucher(guid_of(1)), make_voucher(1, "SN1"));
  EXPECT_EQ(tx->get_rv_registration(guid_of(1), kNow), make_registration(1));
}

TEST_F(SqliteStoreTest, UncommittedChangesAreLostOnReopen) {
  {
    const auto store = open_sqlite_store(db());
    const auto tx = store->begin();
    tx->insert_session(make_session("tok"));
  }
  const auto store = open_sqlite_store(db());
  EXPECT_FALSE(store->begin()->get_session("tok", kNow).has_value());
}

TEST_F(SqliteStoreTest, CreatesDatabaseAndWalFilesWithMode0600) {
  const auto store = open_sqlite_store(db());
  const auto tx = store->begin();
  tx->put_voucher(make_voucher(1, "SN1"));
  tx->commit();
  EXPECT_EQ(file_mode(db()), 0600U);
  // The -wal file exists while a connection is open: the store uses WAL journaling.
  const std::filesystem::path wal = db().string() + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_EQ(file_mode(wal), 0600U);
}

TEST_F(SqliteStoreTest, RecordsSchemaVersionInDatabaseHeader) {
  open_sqlite_store(db()).reset();
  // Closing the last connection checkpoints the WAL into the main file.
  EXPECT_EQ(header_user_version(db()), static_cast<std::uint32_t>(kSqliteSchemaVersion));
  open_sqlite_store(db()).reset();
  EXPECT_EQ(header_user_version(db()), static_cast<std::uint32_t>(kSqliteSchemaVersion));
}

TEST_F(SqliteStoreTest, MigratesASchemaOneDatabaseAndKeepsItsSessions) {
  // A database written before sessions had a version (schema 1), with one live session: opening it adds the
  // column (migration 2), and the session reads at version 0 and moves on from there.
  const std::filesystem::path sql = db().string() + ".sql";
  {
    std::ofstream f(sql);
    f << "CREATE TABLE sessions (token TEXT NOT NULL PRIMARY KEY, protocol TEXT NOT NULL, state BLOB NOT NULL,"
         " expires_at INTEGER NOT NULL) STRICT;\n"
         "CREATE INDEX sessions_by_expiry ON sessions (expires_at);\n"
         "CREATE TABLE vouchers (id INTEGER PRIMARY KEY AUTOINCREMENT, guid BLOB NOT NULL UNIQUE CHECK (length(guid) = 16),"
         " serial TEXT NOT NULL, device_info TEXT NOT NULL, voucher BLOB NOT NULL, created_at INTEGER NOT NULL,"
         " owner_key_id TEXT NOT NULL) STRICT;\n"
         "CREATE TABLE rv_registrations (guid BLOB NOT NULL PRIMARY KEY CHECK (length(guid) = 16), to1d BLOB NOT NULL,"
         " voucher BLOB NOT NULL, owner_key BLOB NOT NULL, device_key BLOB NOT NULL, expires_at INTEGER NOT NULL,"
         " registered_at INTEGER NOT NULL) STRICT;\n"
         "INSERT INTO sessions VALUES ('tok', 'to0', x'81', "
      << kNow + 100 << ");\nPRAGMA user_version = 1;\n";
  }
  // scripts/setup.sh installs the sqlite3 command.
  ASSERT_EQ(std::system(("sqlite3 '" + db().string() + "' < '" + sql.string() + "'").c_str()), 0);
  const std::unique_ptr<Store> store = open_sqlite_store(db());
  const auto tx = store->begin();
  std::optional<Session> session = tx->get_session("tok", kNow);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->version, 0u);
  EXPECT_EQ(session->state, Bytes{0x81});
  EXPECT_EQ(session->source, "");  // migration 4: a session of an older schema has no source
  EXPECT_TRUE(tx->update_session(*session));
  EXPECT_EQ(tx->get_session("tok", kNow)->version, 1u);
  tx->put_owner_device(make_owner_device(1));  // every later migration ran too
  EXPECT_EQ(tx->get_owner_device(guid_of(1)), make_owner_device(1));
  tx->commit();
}

TEST_F(SqliteStoreTest, MigratesASchemaTwoDatabaseAndKeepsItsVouchers) {
  // A database written before the owner kept per-device status (schema 2), holding a voucher: opening it adds the
  // owner_devices table (migration 3) and keeps the voucher.
  const std::filesystem::path sql = db().string() + ".sql";
  {
    std::ofstream f(sql);
    f << "CREATE TABLE sessions (token TEXT NOT NULL PRIMARY KEY, protocol TEXT NOT NULL, state BLOB NOT NULL,"
         " expires_at INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 0) STRICT;\n"
         "CREATE INDEX sessions_by_expiry ON sessions (expires_at);\n"
         "CREATE TABLE vouchers (id INTEGER PRIMARY KEY AUTOINCREMENT, guid BLOB NOT NULL UNIQUE CHECK (length(guid) = 16),"
         " serial TEXT NOT NULL, device_info TEXT NOT NULL, voucher BLOB NOT NULL, created_at INTEGER NOT NULL,"
         " owner_key_id TEXT NOT NULL) STRICT;\n"
         "CREATE INDEX vouchers_by_serial ON vouchers (serial, created_at);\n"
         "CREATE TABLE rv_registrations (guid BLOB NOT NULL PRIMARY KEY CHECK (length(guid) = 16), to1d BLOB NOT NULL,"
         " voucher BLOB NOT NULL, owner_key BLOB NOT NULL, device_key BLOB NOT NULL, expires_at INTEGER NOT NULL,"
         " registered_at INTEGER NOT NULL) STRICT;\n"
         "INSERT INTO vouchers (guid, serial, device_info, voucher, created_at, owner_key_id) VALUES "
         "(x'01010101010101010101010101010101', 'SN1', 'test-device', x'85186501', "
      << kNow << ", 'ab01');\nPRAGMA user_version = 2;\n";
  }
  ASSERT_EQ(std::system(("sqlite3 '" + db().string() + "' < '" + sql.string() + "'").c_str()), 0);
  {
    const std::unique_ptr<Store> store = open_sqlite_store(db());
    const auto tx = store->begin();
    EXPECT_EQ(tx->get_voucher(guid_of(1)), make_voucher(1, "SN1"));
    EXPECT_TRUE(tx->list_owner_devices().empty());
    tx->put_owner_device(make_owner_device(1));
    tx->commit();
  }
  EXPECT_EQ(header_user_version(db()), static_cast<std::uint32_t>(kSqliteSchemaVersion));
  const std::unique_ptr<Store> store = open_sqlite_store(db());
  EXPECT_EQ(store->begin()->get_owner_device(guid_of(1)), make_owner_device(1));
}

TEST_F(SqliteStoreTest, RefusesDatabaseWithNewerSchema) {
  open_sqlite_store(db()).reset();
  write_header_user_version(db(), kSqliteSchemaVersion + 1);
  try {
    open_sqlite_store(db());
    FAIL() << "newer schema accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
    EXPECT_NE(std::string(e.what()).find("schema version " + std::to_string(kSqliteSchemaVersion + 1)),
              std::string::npos)
        << e.what();
  }
}

TEST_F(SqliteStoreTest, CommitsThatArriveDuringAnFdatasyncShareTheNextOne) {
  // Group commit (docs/adr/0006): the first commit's fdatasync is held in the test hook until two more
  // transactions have committed and are waiting; those two are then made durable by one further fdatasync.
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  int syncs_started = 0;
  SqliteOptions options;
  options.before_sync = [&] {
    std::unique_lock lock(m);
    if (++syncs_started == 1) {
      cv.wait(lock, [&] { return release; });
    }
  };
  const std::unique_ptr<Store> store = open_sqlite_store(db(), options);
  const auto commit_voucher = [&](std::uint8_t n) {
    const auto tx = store->begin();
    tx->put_voucher(make_voucher(n, "SN-" + std::to_string(n), kNow));
    tx->commit();
  };
  std::thread first([&] { commit_voucher(1); });
  // Wait until the first commit is inside its fdatasync.
  while (true) {
    {
      const std::lock_guard lock(m);
      if (syncs_started == 1) {
        break;
      }
    }
    std::this_thread::yield();
  }
  std::thread second([&] { commit_voucher(2); });
  std::thread third([&] { commit_voucher(3); });
  while (sqlite_sync_counts(*store).commits < 3) {
    std::this_thread::yield();  // both have committed and now wait for durability
  }
  {
    const std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  first.join();
  second.join();
  third.join();
  const SqliteSyncCounts counts = sqlite_sync_counts(*store);
  EXPECT_EQ(counts.commits, 3u);
  EXPECT_EQ(counts.syncs, 2u) << "the second and third commit share one fdatasync";
  const auto tx = store->begin();
  EXPECT_EQ(tx->list_vouchers().size(), 3u);
}

TEST_F(SqliteStoreTest, EveryCommitIsSyncedBeforeItReturns) {
  // One thread: each commit waits for its own fdatasync, and a reopened store sees every committed record.
  {
    const std::unique_ptr<Store> store = open_sqlite_store(db());
    for (std::uint8_t n = 1; n <= 5; ++n) {
      const auto tx = store->begin();
      tx->put_voucher(make_voucher(n, "SN", kNow + n));
      tx->commit();
      EXPECT_EQ(sqlite_sync_counts(*store).syncs, n);
    }
    // A rolled-back transaction needs no sync.
    { const auto tx = store->begin(); }
    EXPECT_EQ(sqlite_sync_counts(*store).syncs, 5u);
  }
  const std::unique_ptr<Store> reopened = open_sqlite_store(db());
  const auto tx = reopened->begin();
  EXPECT_EQ(tx->list_vouchers().size(), 5u);
}

TEST_F(SqliteStoreTest, RefusesFileThatIsNotADatabase) {
  {
    std::ofstream f(db(), std::ios::binary);
    f << std::string(4096, 'x');
  }
  try {
    open_sqlite_store(db());
    FAIL() << "garbage accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
  }
}

TEST_F(SqliteStoreTest, RefusesPathInMissingDirectory) {
  try {
    open_sqlite_store(db().parent_path() / "missing" / "fdo.db");
    FAIL() << "opened a database in a missing directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
  }
}

TEST_F(SqliteStoreTest, TwoConnectionsSerialiseReadModifyWrite) {
  constexpr int kIncrements = 10;
  const auto first = open_sqlite_store(db());
  const auto second = open_sqlite_store(db());
  test::create_counter(*first, "counter");
  int failures = 0;
  std::thread other([&second, &failures] {
    for (int i = 0; i < kIncrements; ++i) {
      try {
        test::increment_counter(*second, "counter", [] { std::this_thread::yield(); });
      } catch (const Error&) {
        ++failures;
      }
    }
  });
  for (int i = 0; i < kIncrements; ++i) {
    test::increment_counter(*first, "counter", [] { std::this_thread::yield(); });
  }
  other.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(test::read_counter(*first, "counter"), static_cast<std::uint64_t>(2 * kIncrements));
}

TEST_F(SqliteStoreTest, TwoProcessesSerialiseReadModifyWrite) {
  constexpr int kIncrements = 10;
  {
    const auto store = open_sqlite_store(db());
    test::create_counter(*store, "counter");
  }
  const std::filesystem::path path = db();
  const auto child_body = [&path] {
    const auto store = open_sqlite_store(path);
    for (int i = 0; i < kIncrements; ++i) {
      // Sleeping between read and write gives the other process every chance to interleave.
      test::increment_counter(*store, "counter", [] { ::usleep(200); });
    }
    return 0;
  };
  const pid_t a = run_child(child_body);
  const pid_t b = run_child(child_body);
  EXPECT_EQ(wait_child(a), 0);
  EXPECT_EQ(wait_child(b), 0);
  const auto store = open_sqlite_store(db());
  EXPECT_EQ(test::read_counter(*store, "counter"), static_cast<std::uint64_t>(2 * kIncrements));
}

TEST_F(SqliteStoreTest, ProcessDyingBeforeCommitLeavesNothingVisible) {
  const Session session = make_session("tok");
  const VoucherRecord voucher = make_voucher(1, "SN1");
  {
    const auto store = open_sqlite_store(db());
    const auto tx = store->begin();
    tx->insert_session(session);
    tx->put_voucher(voucher);
    tx->commit();
  }
  const std::filesystem::path path = db();
  const pid_t pid = run_child([&path] {
    const auto store = open_sqlite_store(path);
    const auto tx = store->begin();
    (void)tx->update_session(Session{.token = "tok", .protocol = "to1", .state = {}, .expires_at = kNow + 1});
    (void)tx->erase_voucher(guid_of(1));
    // Larger than SQLite's default 2 MB page cache, so uncommitted pages spill into the WAL file.
    VoucherRecord big = make_voucher(2, "SN2");
    big.voucher.assign(4 << 20, 0x5a);
    tx->put_voucher(big);
    // Dies without commit and without running destructors, like a crash.
    ::_exit(42);
    return 0;
  });
  ASSERT_EQ(wait_child(pid), 42);
  const auto store = open_sqlite_store(db());
  {
    const auto tx = store->begin();
    EXPECT_EQ(tx->get_session("tok", kNow), session);
    EXPECT_EQ(tx->get_voucher(guid_of(1)), voucher);
    EXPECT_FALSE(tx->get_voucher(guid_of(2)).has_value());
    // The dead process's lock is gone: writing works.
    tx->put_voucher(make_voucher(3, "SN3"));
    tx->commit();
  }
  EXPECT_EQ(store->begin()->list_vouchers().size(), 2U);
}

}  // namespace
}  // namespace fdo::storage
