#include "libfdo/storage/sqlite_store.h"

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/storage/sqlite_connection.h"
#include "libfdo/storage/transaction_gate.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fdo::storage {
namespace {

constexpr std::string_view kStoreName = "sqlite store";
// How long begin() waits for a transaction of this process (the gate) and then of another process (SQLite's
// busy handler).
constexpr std::chrono::milliseconds kBusyTimeout{5000};

// Migration i takes the schema from user_version i to i + 1. A new version appends a step; steps never change.
// STRICT tables make SQLite refuse a value of the wrong type instead of converting it.
constexpr std::array<std::string_view, kSqliteSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE sessions (
  token      TEXT    NOT NULL PRIMARY KEY,
  protocol   TEXT    NOT NULL,
  state      BLOB    NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE vouchers (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  guid         BLOB    NOT NULL UNIQUE CHECK (length(guid) = 16),
  serial       TEXT    NOT NULL,
  device_info  TEXT    NOT NULL,
  voucher      BLOB    NOT NULL,
  created_at   INTEGER NOT NULL,
  owner_key_id TEXT    NOT NULL
) STRICT;
CREATE INDEX vouchers_by_serial ON vouchers (serial, created_at);

CREATE TABLE rv_registrations (
  guid          BLOB    NOT NULL PRIMARY KEY CHECK (length(guid) = 16),
  to1d          BLOB    NOT NULL,
  voucher       BLOB    NOT NULL,
  owner_key     BLOB    NOT NULL,
  device_key    BLOB    NOT NULL,
  expires_at    INTEGER NOT NULL,
  registered_at INTEGER NOT NULL
) STRICT;
CREATE INDEX rv_registrations_by_expiry ON rv_registrations (expires_at);
)sql",
    // 1 → 2: sessions carry a version, so that a message moves its run on only from the state it read.
    R"sql(
ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
)sql",
    // 2 → 3: the owner's per-device status (docs/owner.md).
    R"sql(
CREATE TABLE owner_devices (
  guid           BLOB    NOT NULL PRIMARY KEY CHECK (length(guid) = 16),
  state          TEXT    NOT NULL,
  step           TEXT    NOT NULL,
  error          TEXT    NOT NULL,
  new_guid       TEXT    NOT NULL,
  to0_expires_at INTEGER NOT NULL,
  to0_detail     TEXT    NOT NULL,
  onboard_count  INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  replaces       TEXT    NOT NULL,
  modules        TEXT    NOT NULL
) STRICT;
CREATE INDEX owner_devices_by_update ON owner_devices (updated_at, guid);
)sql",
    // 3 → 4: sessions carry the client address that opened them, for the per-source limit
    // (docs/security.md "Session-table limits").
    R"sql(
ALTER TABLE sessions ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_by_source ON sessions (source, expires_at);
)sql",
    // 4 → 5: the rate limit's token bucket per client address, shared by the processes on the file
    // (docs/security.md "Rate limit").
    R"sql(
CREATE TABLE rate_buckets (
  source      TEXT    NOT NULL PRIMARY KEY,
  millitokens INTEGER NOT NULL,
  updated     INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_buckets_by_update ON rate_buckets (updated);
)sql",
};

constexpr std::string_view kInsertSession =
    "INSERT INTO sessions (token, protocol, state, expires_at, version, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kGetSession =
    "SELECT token, protocol, state, expires_at, version, source FROM sessions WHERE token = ?1 AND expires_at > ?2";
constexpr std::string_view kUpdateSession =
    "UPDATE sessions SET protocol = ?2, state = ?3, expires_at = ?4, version = version + 1 "
    "WHERE token = ?1 AND version = ?5";
// The same when the expiry stays (every message of a run within one second): a row whose indexed columns are
// not SET keeps its index entries, so the commit writes one b-tree page fewer per index (docs/performance.md).
constexpr std::string_view kUpdateSessionSameExpiry =
    "UPDATE sessions SET protocol = ?2, state = ?3, version = version + 1 "
    "WHERE token = ?1 AND version = ?5 AND expires_at = ?4";
constexpr std::string_view kEndSession = "DELETE FROM sessions WHERE token = ?1 AND version = ?2";
constexpr std::string_view kEraseSession = "DELETE FROM sessions WHERE token = ?1";
constexpr std::string_view kPurgeSessions = "DELETE FROM sessions WHERE expires_at <= ?1";
constexpr std::string_view kGetRateBucket = "SELECT millitokens, updated FROM rate_buckets WHERE source = ?1";
constexpr std::string_view kPutRateBucket =
    "INSERT OR REPLACE INTO rate_buckets (source, millitokens, updated) VALUES (?1, ?2, ?3)";
constexpr std::string_view kPurgeRateBuckets = "DELETE FROM rate_buckets WHERE updated < ?1";
constexpr std::string_view kCountSessions = "SELECT count(*) FROM sessions WHERE expires_at > ?1";
constexpr std::string_view kCountSessionsFrom =
    "SELECT count(*) FROM sessions WHERE source = ?2 AND expires_at > ?1";
constexpr std::string_view kReclaimSessionsFrom =
    "DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE source = ?1 AND expires_at > ?2 "
    "ORDER BY expires_at, token LIMIT ?3)";

// INSERT OR REPLACE deletes a row with the same GUID and inserts a new one, whose id is then the largest:
// id orders records by when they were stored.
constexpr std::string_view kPutVoucher =
    "INSERT OR REPLACE INTO vouchers (guid, serial, device_info, voucher, created_at, owner_key_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kGetVoucher =
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers WHERE guid = ?1";
constexpr std::string_view kFindVoucherBySerial =
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers WHERE serial = ?1 "
    "ORDER BY created_at DESC, id DESC LIMIT 1";
constexpr std::string_view kListVouchers =
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers ORDER BY created_at, id";
constexpr std::string_view kEraseVoucher = "DELETE FROM vouchers WHERE guid = ?1";
// Blobs compare with memcmp(), so GUIDs sort in byte order, as Guid does.
constexpr std::string_view kListVouchersFirst =
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers "
    "ORDER BY created_at, guid LIMIT ?1";
constexpr std::string_view kListVouchersAfter =
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers "
    "WHERE created_at > ?2 OR (created_at = ?2 AND guid > ?3) ORDER BY created_at, guid LIMIT ?1";
constexpr std::string_view kCountVouchersWithSerial = "SELECT count(*) FROM vouchers WHERE serial = ?1";

constexpr std::string_view kPutRvRegistration =
    "INSERT OR REPLACE INTO rv_registrations "
    "(guid, to1d, voucher, owner_key, device_key, expires_at, registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr std::string_view kGetRvRegistration =
    "SELECT guid, to1d, voucher, owner_key, device_key, expires_at, registered_at FROM rv_registrations "
    "WHERE guid = ?1 AND expires_at > ?2";
constexpr std::string_view kEraseRvRegistration = "DELETE FROM rv_registrations WHERE guid = ?1";
constexpr std::string_view kPurgeRvRegistrations = "DELETE FROM rv_registrations WHERE expires_at <= ?1";
constexpr std::string_view kCountRvRegistrations = "SELECT count(*) FROM rv_registrations WHERE expires_at > ?1";
constexpr std::string_view kListRvRegistrations =
    "SELECT guid, to1d, voucher, owner_key, device_key, expires_at, registered_at FROM rv_registrations "
    "WHERE expires_at > ?1 AND (?2 IS NULL OR guid > ?2) ORDER BY guid LIMIT ?3";

constexpr std::string_view kPutOwnerDevice =
    "INSERT OR REPLACE INTO owner_devices "
    "(guid, state, step, error, new_guid, to0_expires_at, to0_detail, onboard_count, updated_at, replaces, modules) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr std::string_view kGetOwnerDevice =
    "SELECT guid, state, step, error, new_guid, to0_expires_at, to0_detail, onboard_count, updated_at, replaces, modules "
    "FROM owner_devices WHERE guid = ?1";
constexpr std::string_view kListOwnerDevices =
    "SELECT guid, state, step, error, new_guid, to0_expires_at, to0_detail, onboard_count, updated_at, replaces, modules "
    "FROM owner_devices ORDER BY updated_at, guid";
constexpr std::string_view kEraseOwnerDevice = "DELETE FROM owner_devices WHERE guid = ?1";

// Group commit (docs/adr/0006). The connection runs with synchronous=NORMAL, so COMMIT only writes the WAL; each
// committer then waits here until an fdatasync of the WAL that started after its COMMIT has finished. One thread
// at a time syncs; the commits that arrive meanwhile are covered together by the next sync. An acknowledged
// transaction is therefore as durable as under synchronous=FULL.
class WalSync {
 public:
  WalSync(std::filesystem::path wal, std::function<void()> before_sync)
      : m_wal(std::move(wal)), m_before_sync(std::move(before_sync)) {}
  WalSync(const WalSync&) = delete;
  WalSync& operator=(const WalSync&) = delete;
  ~WalSync() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }

  /// Called right after a COMMIT succeeded: the commit's ticket.
  std::uint64_t committed() {
    const std::lock_guard lock(m_mutex);
    return ++m_commits;
  }

  /// Returns once every commit up to `ticket` is on disk. Throws Error(InternalServerError) if fdatasync fails.
  void wait_durable(std::uint64_t ticket) {
    std::unique_lock lock(m_mutex);
    while (m_durable < ticket) {
      if (m_syncing) {
        m_done.wait(lock);
        continue;
      }
      m_syncing = true;
      const std::uint64_t target = m_commits;  // every COMMIT so far has written its frames to the WAL
      lock.unlock();
      std::string failure;
      try {
        sync_wal();
      } catch (const Error& e) {
        failure = e.what();
      }
      lock.lock();
      m_syncing = false;
      if (failure.empty()) {
        m_durable = std::max(m_durable, target);
        ++m_syncs;
      }
      m_done.notify_all();
      if (!failure.empty()) {
        throw_internal(failure);
      }
    }
  }

  SqliteSyncCounts counts() {
    const std::lock_guard lock(m_mutex);
    return SqliteSyncCounts{.commits = m_commits, .syncs = m_syncs};
  }

 private:
  void sync_wal() {
    if (m_before_sync) {
      m_before_sync();
    }
    if (m_fd < 0) {
      // The -wal file exists once a transaction has committed; SQLite keeps it while this store's connection is
      // open (it is reset and reused after checkpoints, never replaced), so one descriptor serves for good.
      m_fd = ::open(m_wal.c_str(), O_RDONLY | O_CLOEXEC);
      if (m_fd < 0) {
        throw_internal("sqlite: commit: cannot open " + m_wal.string() + " to sync it: " + std::strerror(errno));
      }
    }
    if (::fdatasync(m_fd) != 0) {
      throw_internal("sqlite: commit: fdatasync of " + m_wal.string() + " failed: " + std::strerror(errno) +
                     " (the transaction may not be durable)");
    }
  }

  const std::filesystem::path m_wal;
  const std::function<void()> m_before_sync;
  int m_fd = -1;  // only the syncing thread touches it
  std::mutex m_mutex;
  std::condition_variable m_done;
  std::uint64_t m_commits = 0;
  std::uint64_t m_durable = 0;
  std::uint64_t m_syncs = 0;
  bool m_syncing = false;
};

// The connection and the gate that gives it to one transaction at a time. Transactions share ownership, so one
// that outlives its Store still rolls back safely.
struct Shared {
  Shared(Connection c, std::filesystem::path wal, std::function<void()> before_sync)
      : conn(std::move(c)), sync(std::move(wal), std::move(before_sync)) {}
  TransactionGate gate;
  Connection conn;
  WalSync sync;
};

// A SQL transaction on a connection: BEGIN IMMEDIATE takes the database's write lock at once, so a
// read-modify-write cannot interleave with another connection's. Rolls back on destruction unless ended before.
// BEGIN, COMMIT and ROLLBACK run as cached prepared statements, not sqlite3_exec, which would compile them anew
// for every transaction (docs/performance.md, the TO1 profile).
class SqlScope {
 public:
  SqlScope(Connection& conn, std::string_view op) : m_conn(conn) {
    if (m_conn.in_transaction()) {
      // Left open by an earlier rollback that failed; never carry its changes into this transaction.
      m_conn.prepare("ROLLBACK", op).run();
    }
    m_conn.prepare("BEGIN IMMEDIATE", op).run();
  }
  SqlScope(const SqlScope&) = delete;
  SqlScope& operator=(const SqlScope&) = delete;
  ~SqlScope() { rollback(); }

  /// Commits; on failure the scope stays open, to be rolled back.
  void commit(std::string_view op) {
    m_conn.prepare("COMMIT", op).run();
    m_ended = true;
  }
  /// Rolls back unless already ended; afterwards the scope never touches the connection again.
  void rollback() noexcept {
    if (m_ended) {
      return;
    }
    m_ended = true;
    if (!m_conn.in_transaction()) {
      return;
    }
    try {
      m_conn.prepare("ROLLBACK", "rollback").run();
    } catch (const Error& e) {
      log::error(e.what());
    }
  }
  [[nodiscard]] bool ended() const { return m_ended; }

 private:
  Connection& m_conn;
  bool m_ended = false;
};

Guid guid_column(const Statement& stmt, int col, std::string_view op) {
  const Bytes bytes = stmt.column_blob(col);
  if (bytes.size() != Guid::kSize) {
    throw_internal("sqlite: " + std::string(op) + ": stored GUID has " + std::to_string(bytes.size()) + " bytes");
  }
  return Guid::from(bytes);
}

// Column order of kGetVoucher, kFindVoucherBySerial and kListVouchers.
VoucherRecord read_voucher(const Statement& stmt, std::string_view op) {
  return VoucherRecord{
      .guid = guid_column(stmt, 0, op),
      .serial = stmt.column_text(1),
      .device_info = stmt.column_text(2),
      .voucher = stmt.column_blob(3),
      .created_at = stmt.column_int64(4),
      .owner_key_id = stmt.column_text(5),
  };
}

// A LIMIT value: SQLite's integers are signed.
std::int64_t sql_limit(std::size_t limit) {
  return static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

// Column order of kGetRvRegistration and kListRvRegistrations.
RvRegistration read_rv_registration(const Statement& stmt, std::string_view op) {
  return RvRegistration{
      .guid = guid_column(stmt, 0, op),
      .to1d = stmt.column_blob(1),
      .voucher = stmt.column_blob(2),
      .owner_key = stmt.column_blob(3),
      .device_key = stmt.column_blob(4),
      .expires_at = stmt.column_int64(5),
      .registered_at = stmt.column_int64(6),
  };
}

// Column order of kGetOwnerDevice and kListOwnerDevices.
OwnerDeviceRecord read_owner_device(const Statement& stmt, std::string_view op) {
  return OwnerDeviceRecord{
      .guid = guid_column(stmt, 0, op),
      .state = stmt.column_text(1),
      .step = stmt.column_text(2),
      .error = stmt.column_text(3),
      .new_guid = stmt.column_text(4),
      .to0_expires_at = stmt.column_int64(5),
      .to0_detail = stmt.column_text(6),
      .onboard_count = stmt.column_int64(7),
      .updated_at = stmt.column_int64(8),
      .replaces = stmt.column_text(9),
      .modules = stmt.column_text(10),
  };
}

std::size_t changed_rows(const Connection& conn) { return static_cast<std::size_t>(conn.changes()); }

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(std::shared_ptr<Shared> shared, TransactionGate::Pass pass)
      : m_shared(std::move(shared)), m_pass(std::in_place, std::move(pass)), m_scope(m_shared->conn, "begin") {}

  ~SqliteTransaction() override {
    // The SQL transaction must end before the gate lets the next one use the connection.
    m_scope.rollback();
    m_pass.reset();
  }

  void insert_session(const Session& session) override {
    Statement stmt = prepare(kInsertSession, "insert_session");
    stmt.bind_text(1, session.token);
    stmt.bind_text(2, session.protocol);
    stmt.bind_blob(3, session.state);
    stmt.bind_int64(4, session.expires_at);
    stmt.bind_int64(5, static_cast<std::int64_t>(session.version));
    stmt.bind_text(6, session.source);
    stmt.run();
  }

  std::optional<Session> get_session(std::string_view token, std::int64_t now) override {
    Statement stmt = prepare(kGetSession, "get_session");
    stmt.bind_text(1, token);
    stmt.bind_int64(2, now);
    if (!stmt.next_row()) {
      return std::nullopt;
    }
    return Session{
        .token = stmt.column_text(0),
        .protocol = stmt.column_text(1),
        .state = stmt.column_blob(2),
        .expires_at = stmt.column_int64(3),
        .version = static_cast<std::uint64_t>(stmt.column_int64(4)),
        .source = stmt.column_text(5),
    };
  }

  bool update_session(const Session& session) override {
    for (const std::string_view sql : {kUpdateSessionSameExpiry, kUpdateSession}) {
      Statement stmt = prepare(sql, "update_session");
      stmt.bind_text(1, session.token);
      stmt.bind_text(2, session.protocol);
      stmt.bind_blob(3, session.state);
      stmt.bind_int64(4, session.expires_at);
      stmt.bind_int64(5, static_cast<std::int64_t>(session.version));
      stmt.run();
      if (changed_rows(conn()) == 1) {
        return true;
      }
    }
    return false;
  }

  bool end_session(const Session& session) override {
    Statement stmt = prepare(kEndSession, "end_session");
    stmt.bind_text(1, session.token);
    stmt.bind_int64(2, static_cast<std::int64_t>(session.version));
    stmt.run();
    return changed_rows(conn()) == 1;
  }

  bool erase_session(std::string_view token) override {
    Statement stmt = prepare(kEraseSession, "erase_session");
    stmt.bind_text(1, token);
    stmt.run();
    return changed_rows(conn()) == 1;
  }

  std::size_t count_sessions(std::int64_t now) override { return count_live(kCountSessions, "count_sessions", now); }

  std::size_t count_sessions_from(std::string_view source, std::int64_t now) override {
    Statement stmt = prepare(kCountSessionsFrom, "count_sessions_from");
    stmt.bind_int64(1, now);
    stmt.bind_text(2, source);
    if (!stmt.next_row()) {
      throw_internal("sqlite: count_sessions_from: no result row");
    }
    return static_cast<std::size_t>(stmt.column_int64(0));
  }

  std::size_t reclaim_sessions_from(std::string_view source, std::int64_t now, std::size_t keep) override {
    const std::size_t live = count_sessions_from(source, now);
    if (live <= keep) {
      return 0;
    }
    Statement stmt = prepare(kReclaimSessionsFrom, "reclaim_sessions_from");
    stmt.bind_text(1, source);
    stmt.bind_int64(2, now);
    stmt.bind_int64(3, static_cast<std::int64_t>(live - keep));
    stmt.run();
    return changed_rows(conn());
  }

  // BEGIN IMMEDIATE holds the file's write lock for the whole transaction, so the read and the write below are one
  // step for every process on the file.
  bool take_rate_token(std::string_view source, const RateLimit& limit, std::int64_t now) override {
    RateBucket bucket = full_bucket(limit, now);
    {
      Statement stmt = prepare(kGetRateBucket, "take_rate_token");
      stmt.bind_text(1, source);
      if (stmt.next_row()) {
        bucket = RateBucket{stmt.column_int64(0), stmt.column_int64(1)};
      }
    }
    const bool taken = take_token(bucket, limit, now);
    Statement stmt = prepare(kPutRateBucket, "take_rate_token");
    stmt.bind_text(1, source);
    stmt.bind_int64(2, bucket.millitokens);
    stmt.bind_int64(3, bucket.updated);
    stmt.run();
    return taken;
  }

  std::size_t purge_rate_buckets(std::int64_t before) override {
    Statement stmt = prepare(kPurgeRateBuckets, "purge_rate_buckets");
    stmt.bind_int64(1, before);
    stmt.run();
    return changed_rows(conn());
  }

  std::size_t purge_expired_sessions(std::int64_t now) override {
    Statement stmt = prepare(kPurgeSessions, "purge_expired_sessions");
    stmt.bind_int64(1, now);
    stmt.run();
    return changed_rows(conn());
  }

  void put_voucher(const VoucherRecord& record) override {
    Statement stmt = prepare(kPutVoucher, "put_voucher");
    stmt.bind_blob(1, record.guid.view());
    stmt.bind_text(2, record.serial);
    stmt.bind_text(3, record.device_info);
    stmt.bind_blob(4, record.voucher);
    stmt.bind_int64(5, record.created_at);
    stmt.bind_text(6, record.owner_key_id);
    stmt.run();
  }

  std::optional<VoucherRecord> get_voucher(const Guid& guid) override {
    constexpr std::string_view kOp = "get_voucher";
    Statement stmt = prepare(kGetVoucher, kOp);
    stmt.bind_blob(1, guid.view());
    if (!stmt.next_row()) {
      return std::nullopt;
    }
    return read_voucher(stmt, kOp);
  }

  std::optional<VoucherRecord> find_voucher_by_serial(std::string_view serial) override {
    constexpr std::string_view kOp = "find_voucher_by_serial";
    Statement stmt = prepare(kFindVoucherBySerial, kOp);
    stmt.bind_text(1, serial);
    if (!stmt.next_row()) {
      return std::nullopt;
    }
    return read_voucher(stmt, kOp);
  }

  std::vector<VoucherRecord> list_vouchers() override {
    constexpr std::string_view kOp = "list_vouchers";
    Statement stmt = prepare(kListVouchers, kOp);
    std::vector<VoucherRecord> out;
    while (stmt.next_row()) {
      out.push_back(read_voucher(stmt, kOp));
    }
    return out;
  }

  bool erase_voucher(const Guid& guid) override {
    Statement stmt = prepare(kEraseVoucher, "erase_voucher");
    stmt.bind_blob(1, guid.view());
    stmt.run();
    return changed_rows(conn()) == 1;
  }

  std::vector<VoucherRecord> list_vouchers_page(const std::optional<VoucherCursor>& after,
                                                std::size_t limit) override {
    constexpr std::string_view kOp = "list_vouchers_page";
    Statement stmt = prepare(after ? kListVouchersAfter : kListVouchersFirst, kOp);
    stmt.bind_int64(1, sql_limit(limit));
    if (after) {
      stmt.bind_int64(2, after->created_at);
      stmt.bind_blob(3, after->guid.view());
    }
    std::vector<VoucherRecord> out;
    while (stmt.next_row()) {
      out.push_back(read_voucher(stmt, kOp));
    }
    return out;
  }

  std::size_t count_vouchers_with_serial(std::string_view serial) override {
    constexpr std::string_view kOp = "count_vouchers_with_serial";
    Statement stmt = prepare(kCountVouchersWithSerial, kOp);
    stmt.bind_text(1, serial);
    if (!stmt.next_row()) {
      throw_internal("sqlite: " + std::string(kOp) + ": no row");
    }
    return static_cast<std::size_t>(stmt.column_int64(0));
  }

  void put_rv_registration(const RvRegistration& registration) override {
    Statement stmt = prepare(kPutRvRegistration, "put_rv_registration");
    stmt.bind_blob(1, registration.guid.view());
    stmt.bind_blob(2, registration.to1d);
    stmt.bind_blob(3, registration.voucher);
    stmt.bind_blob(4, registration.owner_key);
    stmt.bind_blob(5, registration.device_key);
    stmt.bind_int64(6, registration.expires_at);
    stmt.bind_int64(7, registration.registered_at);
    stmt.run();
  }

  std::optional<RvRegistration> get_rv_registration(const Guid& guid, std::int64_t now) override {
    constexpr std::string_view kOp = "get_rv_registration";
    Statement stmt = prepare(kGetRvRegistration, kOp);
    stmt.bind_blob(1, guid.view());
    stmt.bind_int64(2, now);
    if (!stmt.next_row()) {
      return std::nullopt;
    }
    return read_rv_registration(stmt, kOp);
  }

  std::vector<RvRegistration> list_rv_registrations(std::int64_t now, const std::optional<Guid>& after,
                                                    std::size_t limit) override {
    constexpr std::string_view kOp = "list_rv_registrations";
    Statement stmt = prepare(kListRvRegistrations, kOp);
    stmt.bind_int64(1, now);
    if (after) {
      stmt.bind_blob(2, after->view());
    }
    stmt.bind_int64(3, sql_limit(limit));
    std::vector<RvRegistration> out;
    while (stmt.next_row()) {
      out.push_back(read_rv_registration(stmt, kOp));
    }
    return out;
  }

  bool erase_rv_registration(const Guid& guid) override {
    Statement stmt = prepare(kEraseRvRegistration, "erase_rv_registration");
    stmt.bind_blob(1, guid.view());
    stmt.run();
    return changed_rows(conn()) == 1;
  }

  std::size_t purge_expired_rv_registrations(std::int64_t now) override {
    Statement stmt = prepare(kPurgeRvRegistrations, "purge_expired_rv_registrations");
    stmt.bind_int64(1, now);
    stmt.run();
    return changed_rows(conn());
  }

  std::size_t count_rv_registrations(std::int64_t now) override {
    return count_live(kCountRvRegistrations, "count_rv_registrations", now);
  }

  void put_owner_device(const OwnerDeviceRecord& record) override {
    Statement stmt = prepare(kPutOwnerDevice, "put_owner_device");
    stmt.bind_blob(1, record.guid.view());
    stmt.bind_text(2, record.state);
    stmt.bind_text(3, record.step);
    stmt.bind_text(4, record.error);
    stmt.bind_text(5, record.new_guid);
    stmt.bind_int64(6, record.to0_expires_at);
    stmt.bind_text(7, record.to0_detail);
    stmt.bind_int64(8, record.onboard_count);
    stmt.bind_int64(9, record.updated_at);
    stmt.bind_text(10, record.replaces);
    stmt.bind_text(11, record.modules);
    stmt.run();
  }

  std::optional<OwnerDeviceRecord> get_owner_device(const Guid& guid) override {
    constexpr std::string_view kOp = "get_owner_device";
    Statement stmt = prepare(kGetOwnerDevice, kOp);
    stmt.bind_blob(1, guid.view());
    if (!stmt.next_row()) {
      return std::nullopt;
    }
    return read_owner_device(stmt, kOp);
  }

  std::vector<OwnerDeviceRecord> list_owner_devices() override {
    constexpr std::string_view kOp = "list_owner_devices";
    Statement stmt = prepare(kListOwnerDevices, kOp);
    std::vector<OwnerDeviceRecord> out;
    while (stmt.next_row()) {
      out.push_back(read_owner_device(stmt, kOp));
    }
    return out;
  }

  bool erase_owner_device(const Guid& guid) override {
    Statement stmt = prepare(kEraseOwnerDevice, "erase_owner_device");
    stmt.bind_blob(1, guid.view());
    stmt.run();
    return changed_rows(conn()) == 1;
  }

  void commit() override {
    check_open("commit");
    m_scope.commit("commit");
    const std::uint64_t ticket = m_shared->sync.committed();
    m_pass.reset();  // the next transaction may run while this one waits for its sync, and share the next one
    m_shared->sync.wait_durable(ticket);
  }

 private:
  void check_open(std::string_view op) const {
    if (m_scope.ended()) {
      throw_internal("sqlite: " + std::string(op) + ": transaction already committed");
    }
    // Some failures (disk full, I/O errors) make SQLite roll back by itself; later statements would then run
    // outside any transaction.
    if (!m_shared->conn.in_transaction()) {
      throw_internal("sqlite: " + std::string(op) + ": transaction was rolled back by an earlier error");
    }
  }
  Connection& conn() { return m_shared->conn; }
  // Runs a `SELECT count(*) … WHERE expires_at > ?1` statement.
  std::size_t count_live(std::string_view sql, std::string_view op, std::int64_t now) {
    Statement stmt = prepare(sql, op);
    stmt.bind_int64(1, now);
    if (!stmt.next_row()) {
      throw_internal("sqlite: " + std::string(op) + ": no result row");
    }
    return static_cast<std::size_t>(stmt.column_int64(0));
  }
  Statement prepare(std::string_view sql, std::string_view op) {
    check_open(op);
    return conn().prepare(sql, op);
  }

  std::shared_ptr<Shared> m_shared;
  // Held until commit or destruction; while held, no other transaction of this process can use the connection.
  std::optional<TransactionGate::Pass> m_pass;
  SqlScope m_scope;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<Shared> shared) : m_shared(std::move(shared)) {}

  std::unique_ptr<Transaction> begin() override {
    TransactionGate::Pass pass = m_shared->gate.enter(kStoreName, kBusyTimeout);
    return std::make_unique<SqliteTransaction>(m_shared, std::move(pass));
  }

  [[nodiscard]] SqliteSyncCounts counts() const { return m_shared->sync.counts(); }

 private:
  std::shared_ptr<Shared> m_shared;
};

// Creates the file with mode 0600 before SQLite does (SQLite would use 0644); the -wal and -shm files SQLite
// creates later copy the database file's mode. An existing file keeps its mode.
void create_private_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw_internal("sqlite: open " + path.string() + ": " + std::strerror(errno));
  }
  ::close(fd);
}

void use_wal(Connection& conn) {
  constexpr std::string_view kOp = "open: journal_mode";
  // journal_mode is a property of the file; it is set once and reported by every later connection.
  Statement stmt = conn.prepare("PRAGMA journal_mode = WAL", kOp);
  if (!stmt.next_row() || stmt.column_text(0) != "wal") {
    throw_internal("sqlite: open: the database cannot use WAL journal mode");
  }
}

// Brings the schema to kSqliteSchemaVersion in one transaction, so concurrent openers migrate once.
void migrate(Connection& conn) {
  constexpr std::string_view kOp = "open: migrate";
  SqlScope scope(conn, kOp);
  std::int64_t version = 0;
  {
    Statement stmt = conn.prepare("PRAGMA user_version", kOp);
    if (!stmt.next_row()) {
      throw_internal("sqlite: open: migrate: PRAGMA user_version returned no row");
    }
    version = stmt.column_int64(0);
  }
  if (version < 0 || version > kSqliteSchemaVersion) {
    throw_internal("sqlite: open: database schema version " + std::to_string(version) +
                   " is not supported by this build (newest " + std::to_string(kSqliteSchemaVersion) + ")");
  }
  if (version == kSqliteSchemaVersion) {
    return;
  }
  for (auto step = static_cast<std::size_t>(version); step < kMigrations.size(); ++step) {
    conn.exec(kMigrations[step], kOp);
  }
  // PRAGMA takes no parameters; the value is our own constant, not foreign text.
  conn.exec("PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion), kOp);
  scope.commit(kOp);
  if (version > 0) {
    log::info("sqlite store: schema migrated from version " + std::to_string(version) + " to " +
              std::to_string(kSqliteSchemaVersion));
  }
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path, SqliteOptions options) {
  // Absolute, so the name ":memory:" is a file and a later chdir does not move the database.
  const std::filesystem::path file = std::filesystem::absolute(path);
  create_private_file(file);
  Connection conn = Connection::open(file, kBusyTimeout);
  use_wal(conn);
  conn.exec("PRAGMA synchronous = FULL", "open: synchronous");
  migrate(conn);
  // From here on NORMAL: COMMIT writes the WAL without syncing it; WalSync makes each commit durable before
  // commit() returns.
  conn.exec("PRAGMA synchronous = NORMAL", "open: synchronous");
  std::filesystem::path wal = file;
  wal += "-wal";
  return std::make_unique<SqliteStore>(
      std::make_shared<Shared>(std::move(conn), std::move(wal), std::move(options.before_sync)));
}

SqliteSyncCounts sqlite_sync_counts(const Store& store) {
  if (const auto* sqlite = dynamic_cast<const SqliteStore*>(&store)) {
    return sqlite->counts();
  }
  return {};
}

bool is_sqlite_store(const Store& store) { return dynamic_cast<const SqliteStore*>(&store) != nullptr; }

}  // namespace fdo::storage
