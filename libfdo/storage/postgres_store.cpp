#include "libfdo/storage/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::storage {
namespace {

// Every string of a record is bytea: storage never looks inside (records.h), and a text column would refuse the
// NUL bytes and invalid UTF-8 that a device may send in a serial number.
// Migration i takes the schema from version i to i + 1. A new version appends a step; steps never change.
constexpr std::array<std::string_view, kPostgresSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE sessions (
  token      bytea  NOT NULL PRIMARY KEY,
  protocol   bytea  NOT NULL,
  state      bytea  NOT NULL,
  expires_at bigint NOT NULL,
  version    bigint NOT NULL,
  source     bytea  NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_source ON sessions (source, expires_at);

CREATE SEQUENCE vouchers_stored;
CREATE TABLE vouchers (
  guid         bytea  NOT NULL PRIMARY KEY CHECK (length(guid) = 16),
  stored       bigint NOT NULL DEFAULT nextval('vouchers_stored'),
  serial       bytea  NOT NULL,
  device_info  bytea  NOT NULL,
  voucher      bytea  NOT NULL,
  created_at   bigint NOT NULL,
  owner_key_id bytea  NOT NULL
);
CREATE INDEX vouchers_by_serial ON vouchers (serial, created_at, stored);
CREATE INDEX vouchers_by_age ON vouchers (created_at, stored);

CREATE TABLE rv_registrations (
  guid          bytea  NOT NULL PRIMARY KEY CHECK (length(guid) = 16),
  to1d          bytea  NOT NULL,
  voucher       bytea  NOT NULL,
  owner_key     bytea  NOT NULL,
  device_key    bytea  NOT NULL,
  expires_at    bigint NOT NULL,
  registered_at bigint NOT NULL
);
CREATE INDEX rv_registrations_by_expiry ON rv_registrations (expires_at);

CREATE TABLE owner_devices (
  guid           bytea  NOT NULL PRIMARY KEY CHECK (length(guid) = 16),
  state          bytea  NOT NULL,
  step           bytea  NOT NULL,
  error          bytea  NOT NULL,
  new_guid       bytea  NOT NULL,
  to0_expires_at bigint NOT NULL,
  to0_detail     bytea  NOT NULL,
  onboard_count  bigint NOT NULL,
  updated_at     bigint NOT NULL,
  replaces       bytea  NOT NULL,
  modules        bytea  NOT NULL
);
CREATE INDEX owner_devices_by_update ON owner_devices (updated_at, guid);
)sql",
    // 1 → 2: the rate limit's token bucket per client address, shared by every instance (docs/security.md "Rate
    // limit").
    R"sql(
CREATE TABLE rate_buckets (
  source      bytea  NOT NULL PRIMARY KEY,
  millitokens bigint NOT NULL,
  updated     bigint NOT NULL
);
CREATE INDEX rate_buckets_by_update ON rate_buckets (updated);
)sql",
};

// The key of the advisory lock that migrations hold (any constant; "fdo" in ASCII).
constexpr std::int64_t kMigrationLock = 0x66646f;

// The prepared statements, named "fdo_<index>" on each connection.
enum class Sql : std::uint8_t {
  InsertSession,
  GetSession,
  UpdateSession,
  EndSession,
  EraseSession,
  PurgeSessions,
  CountSessions,
  CountSessionsFrom,
  ReclaimSessionsFrom,
  CreateRateBucket,
  LockRateBucket,
  UpdateRateBucket,
  PurgeRateBuckets,
  PutVoucher,
  GetVoucher,
  FindVoucherBySerial,
  ListVouchers,
  EraseVoucher,
  ListVouchersFirst,
  ListVouchersAfter,
  CountVouchersWithSerial,
  PutRvRegistration,
  GetRvRegistration,
  EraseRvRegistration,
  PurgeRvRegistrations,
  CountRvRegistrations,
  ListRvRegistrationsFirst,
  ListRvRegistrationsAfter,
  PutOwnerDevice,
  GetOwnerDevice,
  ListOwnerDevices,
  EraseOwnerDevice,
  Count,
};

constexpr std::array<std::string_view, static_cast<std::size_t>(Sql::Count)> kStatements = {
    // A duplicate token inserts nothing (and does not abort the transaction); insert_session then throws.
    "INSERT INTO sessions (token, protocol, state, expires_at, version, source) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (token) DO NOTHING",
    "SELECT token, protocol, state, expires_at, version, source FROM sessions WHERE token = $1 AND expires_at > $2",
    // At READ COMMITTED a second writer waits for the first one's row lock and then re-checks the version against
    // the committed row, so of two copies of one message exactly one moves the session on (docs/adr/0005).
    "UPDATE sessions SET protocol = $2, state = $3, expires_at = $4, version = version + 1 "
    "WHERE token = $1 AND version = $5",
    "DELETE FROM sessions WHERE token = $1 AND version = $2",
    "DELETE FROM sessions WHERE token = $1",
    "DELETE FROM sessions WHERE expires_at <= $1",
    "SELECT count(*) FROM sessions WHERE expires_at > $1",
    "SELECT count(*) FROM sessions WHERE source = $2 AND expires_at > $1",
    "DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE source = $1 AND expires_at > $2 "
    "ORDER BY expires_at, token LIMIT $3)",
    // take_rate_token: a full bucket unless one is stored (waiting for a concurrent insert of the same source to
    // commit), then its row locked until the transaction ends, so instances take tokens one after the other.
    "INSERT INTO rate_buckets (source, millitokens, updated) VALUES ($1, $2, $3) ON CONFLICT (source) DO NOTHING",
    "SELECT millitokens, updated FROM rate_buckets WHERE source = $1 FOR UPDATE",
    "UPDATE rate_buckets SET millitokens = $2, updated = $3 WHERE source = $1",
    "DELETE FROM rate_buckets WHERE updated < $1",
    // A replaced voucher takes a new `stored`, as if deleted and stored anew: `stored` orders by storing.
    "INSERT INTO vouchers (guid, serial, device_info, voucher, created_at, owner_key_id) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (guid) DO UPDATE SET stored = nextval('vouchers_stored'), "
    "serial = EXCLUDED.serial, device_info = EXCLUDED.device_info, voucher = EXCLUDED.voucher, "
    "created_at = EXCLUDED.created_at, owner_key_id = EXCLUDED.owner_key_id",
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers WHERE guid = $1",
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers WHERE serial = $1 "
    "ORDER BY created_at DESC, stored DESC LIMIT 1",
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers ORDER BY created_at, stored",
    "DELETE FROM vouchers WHERE guid = $1",
    // bytea compares byte by byte, so GUIDs sort as Guid does.
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers "
    "ORDER BY created_at, guid LIMIT $1",
    "SELECT guid, serial, device_info, voucher, created_at, owner_key_id FROM vouchers "
    "WHERE created_at > $2 OR (created_at = $2 AND guid > $3) ORDER BY created_at, guid LIMIT $1",
    "SELECT count(*) FROM vouchers WHERE serial = $1",
    "INSERT INTO rv_registrations (guid, to1d, voucher, owner_key, device_key, expires_at, registered_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (guid) DO UPDATE SET to1d = EXCLUDED.to1d, "
    "voucher = EXCLUDED.voucher, owner_key = EXCLUDED.owner_key, device_key = EXCLUDED.device_key, "
    "expires_at = EXCLUDED.expires_at, registered_at = EXCLUDED.registered_at",
    "SELECT guid, to1d, voucher, owner_key, device_key, expires_at, registered_at FROM rv_registrations "
    "WHERE guid = $1 AND expires_at > $2",
    "DELETE FROM rv_registrations WHERE guid = $1",
    "DELETE FROM rv_registrations WHERE expires_at <= $1",
    "SELECT count(*) FROM rv_registrations WHERE expires_at > $1",
    "SELECT guid, to1d, voucher, owner_key, device_key, expires_at, registered_at FROM rv_registrations "
    "WHERE expires_at > $1 ORDER BY guid LIMIT $2",
    "SELECT guid, to1d, voucher, owner_key, device_key, expires_at, registered_at FROM rv_registrations "
    "WHERE expires_at > $1 AND guid > $3 ORDER BY guid LIMIT $2",
    "INSERT INTO owner_devices (guid, state, step, error, new_guid, to0_expires_at, to0_detail, onboard_count, "
    "updated_at, replaces, modules) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (guid) DO UPDATE SET state = EXCLUDED.state, step = EXCLUDED.step, error = EXCLUDED.error, "
    "new_guid = EXCLUDED.new_guid, to0_expires_at = EXCLUDED.to0_expires_at, to0_detail = EXCLUDED.to0_detail, "
    "onboard_count = EXCLUDED.onboard_count, updated_at = EXCLUDED.updated_at, replaces = EXCLUDED.replaces, "
    "modules = EXCLUDED.modules",
    "SELECT guid, state, step, error, new_guid, to0_expires_at, to0_detail, onboard_count, updated_at, replaces, "
    "modules FROM owner_devices WHERE guid = $1",
    "SELECT guid, state, step, error, new_guid, to0_expires_at, to0_detail, onboard_count, updated_at, replaces, "
    "modules FROM owner_devices ORDER BY updated_at, guid",
    "DELETE FROM owner_devices WHERE guid = $1",
};

// How often a statement runs in all after a serialisation failure or deadlock, and the pause before a retry.
constexpr int kMaxAttempts = 5;
constexpr std::chrono::milliseconds kRetryPause{10};

[[noreturn]] void fail(std::string_view op, std::string_view what) {
  throw_internal("postgresql store: " + std::string(op) + ": " + std::string(what));
}

// RAII owners (docs/style.md §6).
struct PgFinish {
  void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
struct PgClear {
  void operator()(PGresult* res) const noexcept { PQclear(res); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgFinish>;
using PgResultPtr = std::unique_ptr<PGresult, PgClear>;

// libpq's messages end in a newline and may span lines; one line reads better in a log.
std::string one_line(const char* text) {
  std::string out = text != nullptr ? text : "";
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\t', ' ');
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

// The bound parameters of one statement, all in binary format. Byte values point into the caller's data, which
// outlives the call; integers are kept here in network byte order.
class Params {
 public:
  Params& bytes(ByteView value) {
    // A zero-length bytea still needs a non-null pointer (a null one is SQL NULL).
    m_values.push_back(value.empty() ? "" : reinterpret_cast<const char*>(value.data()));
    m_lengths.push_back(static_cast<int>(value.size()));
    return *this;
  }
  Params& text(std::string_view value) {
    return bytes(ByteView(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
  }
  Params& int64(std::int64_t value) {
    std::array<char, 8>& buf = m_ints.emplace_back();
    auto u = static_cast<std::uint64_t>(value);
    for (int i = 7; i >= 0; --i) {
      buf[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xff);
      u >>= 8;
    }
    m_values.push_back(buf.data());
    m_lengths.push_back(8);
    return *this;
  }
  [[nodiscard]] int size() const { return static_cast<int>(m_values.size()); }
  [[nodiscard]] const char* const* values() const { return m_values.data(); }
  [[nodiscard]] const int* lengths() const { return m_lengths.data(); }
  [[nodiscard]] const int* formats() {
    m_formats.assign(m_values.size(), 1);
    return m_formats.data();
  }

 private:
  std::vector<const char*> m_values;
  std::vector<int> m_lengths;
  std::vector<int> m_formats;
  std::deque<std::array<char, 8>> m_ints;  // a deque never moves what it holds
};

// A successful result in binary format.
class Rows {
 public:
  Rows(PgResultPtr res, std::string_view op) : m_res(std::move(res)), m_op(op) {}
  [[nodiscard]] int count() const { return PQntuples(m_res.get()); }
  [[nodiscard]] std::size_t affected() const {
    const char* n = PQcmdTuples(m_res.get());
    return n != nullptr && *n != '\0' ? static_cast<std::size_t>(std::stoull(n)) : 0;
  }
  [[nodiscard]] Bytes bytes(int row, int col) const {
    const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(m_res.get(), row, col));
    return Bytes(data, data + PQgetlength(m_res.get(), row, col));
  }
  [[nodiscard]] std::string text(int row, int col) const {
    return std::string(PQgetvalue(m_res.get(), row, col), static_cast<std::size_t>(PQgetlength(m_res.get(), row, col)));
  }
  [[nodiscard]] std::int64_t int64(int row, int col) const {
    if (PQgetlength(m_res.get(), row, col) != 8) {
      fail(m_op, "a bigint column has " + std::to_string(PQgetlength(m_res.get(), row, col)) + " bytes");
    }
    const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(m_res.get(), row, col));
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) {
      u = (u << 8) | data[i];
    }
    return static_cast<std::int64_t>(u);
  }
  [[nodiscard]] Guid guid(int row, int col) const {
    const Bytes b = bytes(row, col);
    if (b.size() != Guid::kSize) {
      fail(m_op, "stored GUID has " + std::to_string(b.size()) + " bytes");
    }
    return Guid::from(b);
  }

 private:
  PgResultPtr m_res;
  std::string_view m_op;
};

// What one call of a statement gave: rows, or the failure with its SQLSTATE.
struct Outcome {
  PgResultPtr res;
  std::string sqlstate;  // empty on success
  std::string message;   // the server's primary message or libpq's, never the bound values
};

// One connection with its prepared statements. One user at a time (the pool hands it out).
class Connection {
 public:
  explicit Connection(PgConnPtr conn) : m_conn(std::move(conn)) {}

  /// Runs fixed SQL without parameters (BEGIN, COMMIT, a migration step) in text format.
  Outcome exec(std::string_view sql) {
    return outcome(PgResultPtr(PQexec(m_conn.get(), std::string(sql).c_str())));
  }

  /// Runs prepared statement `id`, preparing it on first use.
  Outcome run(Sql id, Params& params) {
    const auto index = static_cast<std::size_t>(id);
    const std::string name = "fdo_" + std::to_string(index);
    if (!m_prepared[index]) {
      Outcome prepared = outcome(PgResultPtr(
          PQprepare(m_conn.get(), name.c_str(), std::string(kStatements[index]).c_str(), 0, nullptr)));
      if (!prepared.sqlstate.empty()) {
        return prepared;
      }
      m_prepared[index] = true;
    }
    return outcome(PgResultPtr(PQexecPrepared(m_conn.get(), name.c_str(), params.size(), params.values(),
                                              params.lengths(), params.formats(), 1)));
  }

  [[nodiscard]] bool broken() const { return PQstatus(m_conn.get()) != CONNECTION_OK; }
  [[nodiscard]] PGTransactionStatusType status() const { return PQtransactionStatus(m_conn.get()); }

  /// Reconnects with the same parameters; the server forgets prepared statements then.
  bool reset() {
    PQreset(m_conn.get());
    m_prepared.fill(false);
    return !broken();
  }

 private:
  Outcome outcome(PgResultPtr res) {
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      return Outcome{.res = std::move(res), .sqlstate = {}, .message = {}};
    }
    Outcome out;
    const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    // A lost connection has no SQLSTATE from the server; 08006 is "connection failure".
    out.sqlstate = state != nullptr ? state : "08006";
    const char* primary = res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    out.message = primary != nullptr ? one_line(primary) : one_line(PQerrorMessage(m_conn.get()));
    return out;
  }

  PgConnPtr m_conn;
  std::array<bool, static_cast<std::size_t>(Sql::Count)> m_prepared{};
};

bool retryable(std::string_view sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

std::string failure_text(const Outcome& o) { return o.message + " (SQLSTATE " + o.sqlstate + ")"; }

// How to reach the database: libpq's keywords and values, the password among them when it came from a file.
class ConnectParams {
 public:
  ConnectParams(std::string_view uri, SecretBytes password) : m_uri(uri), m_password(std::move(password)) {}

  PgConnPtr connect(std::string_view op) const {
    // Keywords after "dbname" override what the URI says; those before it are defaults the URI may override.
    std::string password(reinterpret_cast<const char*>(m_password.view().data()), m_password.size());
    std::vector<const char*> keys = {"fallback_application_name", "connect_timeout", "dbname"};
    std::vector<const char*> values = {"fdo", "10", m_uri.c_str()};
    if (!m_password.empty()) {
      keys.push_back("password");
      values.push_back(password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PgConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 1));
    std::fill(password.begin(), password.end(), '\0');
    if (!conn) {
      fail(op, "out of memory connecting to " + m_uri);
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      fail(op, "cannot connect to " + m_uri + ": " + one_line(PQerrorMessage(conn.get())));
    }
    return conn;
  }
  [[nodiscard]] const std::string& uri() const { return m_uri; }

 private:
  std::string m_uri;  // holds no password: open_postgres_store() refuses one
  SecretBytes m_password;
};

// The connections of one store, at most `size` of them, each used by one transaction at a time. It also refuses
// a second transaction on a thread that holds one (store.h: begin() must not deadlock on nesting).
class Pool {
 public:
  Pool(ConnectParams params, std::size_t size, std::chrono::milliseconds timeout)
      : m_params(std::move(params)), m_size(std::max<std::size_t>(size, 1)), m_timeout(timeout) {}

  /// A connection for the calling thread's transaction.
  std::unique_ptr<Connection> acquire() {
    const std::thread::id self = std::this_thread::get_id();
    std::unique_lock lock(m_mutex);
    if (std::find(m_holders.begin(), m_holders.end(), self) != m_holders.end()) {
      fail("begin", "this thread already holds an open transaction on this store");
    }
    if (!m_free.wait_for(lock, m_timeout, [this] { return !m_idle.empty() || m_open < m_size; })) {
      fail("begin", "all " + std::to_string(m_size) + " connections are busy (waited " +
                        std::to_string(m_timeout.count()) + " ms; raise --db-pool-size)");
    }
    m_holders.push_back(self);
    if (!m_idle.empty()) {
      std::unique_ptr<Connection> conn = std::move(m_idle.back());
      m_idle.pop_back();
      return conn;
    }
    ++m_open;
    lock.unlock();
    try {
      auto conn = std::make_unique<Connection>(m_params.connect("begin"));
      connects.fetch_add(1);
      return conn;
    } catch (...) {
      lock.lock();
      --m_open;
      forget(self);
      m_free.notify_one();
      throw;
    }
  }

  /// Takes back the connection of a transaction begun on `holder`; a broken one, or one still inside a
  /// transaction, is closed instead of reused.
  void release(std::unique_ptr<Connection> conn, std::thread::id holder) noexcept {
    const bool reusable = conn && !conn->broken() && conn->status() == PQTRANS_IDLE;
    if (!reusable) {
      conn.reset();
    }
    const std::lock_guard lock(m_mutex);
    forget(holder);
    if (reusable) {
      m_idle.push_back(std::move(conn));
    } else {
      --m_open;
    }
    m_free.notify_one();
  }

  /// Adds an already open connection (the one that migrated) to the idle ones.
  void adopt(std::unique_ptr<Connection> conn) {
    const std::lock_guard lock(m_mutex);
    ++m_open;
    m_idle.push_back(std::move(conn));
  }

  std::atomic<std::size_t> retries{0};
  std::atomic<std::size_t> commits{0};
  std::atomic<std::size_t> connects{0};

 private:
  void forget(std::thread::id holder) {
    const auto it = std::find(m_holders.begin(), m_holders.end(), holder);
    if (it != m_holders.end()) {
      m_holders.erase(it);
    }
  }

  const ConnectParams m_params;
  const std::size_t m_size;
  const std::chrono::milliseconds m_timeout;
  std::mutex m_mutex;
  std::condition_variable m_free;
  std::vector<std::unique_ptr<Connection>> m_idle;
  std::size_t m_open = 0;
  std::vector<std::thread::id> m_holders;
};

// How a statement may be retried after a serialisation failure or deadlock.
enum class Retry : std::uint8_t {
  // Only while the transaction has written nothing: it then restarts, which READ COMMITTED allows, since each of
  // its statements reads a fresh snapshot anyway.
  IfNothingWritten,
  // Always, under a savepoint: the bulk deletes, which take many row locks and are the likely deadlock victims.
  Savepoint,
};

class PgTransaction final : public Transaction {
 public:
  explicit PgTransaction(std::shared_ptr<Pool> pool)
      : m_pool(std::move(pool)), m_conn(m_pool->acquire()), m_holder(std::this_thread::get_id()) {
    try {
      start();
    } catch (...) {
      end();
      throw;
    }
  }
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction() override {
    if (m_conn && m_conn->status() != PQTRANS_IDLE) {
      // A failed ROLLBACK leaves the connection inside a transaction; release() then closes it.
      (void)m_conn->exec("ROLLBACK");
    }
    end();
  }

  void insert_session(const Session& session) override {
    Params p;
    p.text(session.token).text(session.protocol).bytes(session.state).int64(session.expires_at);
    p.int64(static_cast<std::int64_t>(session.version)).text(session.source);
    if (write(Sql::InsertSession, p, "insert_session").affected() != 1) {
      fail("insert_session", "a session with this token is already stored");
    }
  }

  std::optional<Session> get_session(std::string_view token, std::int64_t now) override {
    Params p;
    p.text(token).int64(now);
    const Rows rows = read(Sql::GetSession, p, "get_session");
    if (rows.count() == 0) {
      return std::nullopt;
    }
    return Session{
        .token = rows.text(0, 0),
        .protocol = rows.text(0, 1),
        .state = rows.bytes(0, 2),
        .expires_at = rows.int64(0, 3),
        .version = static_cast<std::uint64_t>(rows.int64(0, 4)),
        .source = rows.text(0, 5),
    };
  }

  bool update_session(const Session& session) override {
    Params p;
    p.text(session.token).text(session.protocol).bytes(session.state).int64(session.expires_at);
    p.int64(static_cast<std::int64_t>(session.version));
    return write(Sql::UpdateSession, p, "update_session").affected() == 1;
  }

  bool end_session(const Session& session) override {
    Params p;
    p.text(session.token).int64(static_cast<std::int64_t>(session.version));
    return write(Sql::EndSession, p, "end_session").affected() == 1;
  }

  bool erase_session(std::string_view token) override {
    Params p;
    p.text(token);
    return write(Sql::EraseSession, p, "erase_session").affected() == 1;
  }

  std::size_t purge_expired_sessions(std::int64_t now) override {
    Params p;
    p.int64(now);
    return write(Sql::PurgeSessions, p, "purge_expired_sessions", Retry::Savepoint).affected();
  }

  std::size_t count_sessions(std::int64_t now) override {
    Params p;
    p.int64(now);
    return count(Sql::CountSessions, p, "count_sessions");
  }

  std::size_t count_sessions_from(std::string_view source, std::int64_t now) override {
    Params p;
    p.int64(now).text(source);
    return count(Sql::CountSessionsFrom, p, "count_sessions_from");
  }

  std::size_t reclaim_sessions_from(std::string_view source, std::int64_t now, std::size_t keep) override {
    const std::size_t live = count_sessions_from(source, now);
    if (live <= keep) {
      return 0;
    }
    Params p;
    p.text(source).int64(now).int64(static_cast<std::int64_t>(live - keep));
    return write(Sql::ReclaimSessionsFrom, p, "reclaim_sessions_from", Retry::Savepoint).affected();
  }

  bool take_rate_token(std::string_view source, const RateLimit& limit, std::int64_t now) override {
    const RateBucket full = full_bucket(limit, now);
    Params create;
    create.text(source).int64(full.millitokens).int64(full.updated);
    (void)write(Sql::CreateRateBucket, create, "take_rate_token");
    Params lock;
    lock.text(source);
    const Rows rows = read(Sql::LockRateBucket, lock, "take_rate_token");
    if (rows.count() != 1) {
      fail("take_rate_token", "the bucket row is missing");
    }
    RateBucket bucket{rows.int64(0, 0), rows.int64(0, 1)};
    const bool taken = take_token(bucket, limit, now);
    Params update;
    update.text(source).int64(bucket.millitokens).int64(bucket.updated);
    (void)write(Sql::UpdateRateBucket, update, "take_rate_token");
    return taken;
  }

  std::size_t purge_rate_buckets(std::int64_t before) override {
    Params p;
    p.int64(before);
    return write(Sql::PurgeRateBuckets, p, "purge_rate_buckets", Retry::Savepoint).affected();
  }

  void put_voucher(const VoucherRecord& r) override {
    Params p;
    p.bytes(r.guid.view()).text(r.serial).text(r.device_info).bytes(r.voucher).int64(r.created_at);
    p.text(r.owner_key_id);
    (void)write(Sql::PutVoucher, p, "put_voucher");
  }

  std::optional<VoucherRecord> get_voucher(const Guid& guid) override {
    Params p;
    p.bytes(guid.view());
    return first_voucher(read(Sql::GetVoucher, p, "get_voucher"));
  }

  std::optional<VoucherRecord> find_voucher_by_serial(std::string_view serial) override {
    Params p;
    p.text(serial);
    return first_voucher(read(Sql::FindVoucherBySerial, p, "find_voucher_by_serial"));
  }

  std::vector<VoucherRecord> list_vouchers() override {
    Params p;
    const Rows rows = read(Sql::ListVouchers, p, "list_vouchers");
    std::vector<VoucherRecord> out;
    out.reserve(static_cast<std::size_t>(rows.count()));
    for (int i = 0; i < rows.count(); ++i) {
      out.push_back(voucher_at(rows, i));
    }
    return out;
  }

  bool erase_voucher(const Guid& guid) override {
    Params p;
    p.bytes(guid.view());
    return write(Sql::EraseVoucher, p, "erase_voucher").affected() == 1;
  }

  std::vector<VoucherRecord> list_vouchers_page(const std::optional<VoucherCursor>& after,
                                                std::size_t limit) override {
    Params p;
    p.int64(sql_limit(limit));
    if (after) {
      p.int64(after->created_at).bytes(after->guid.view());
    }
    const Rows rows = read(after ? Sql::ListVouchersAfter : Sql::ListVouchersFirst, p, "list_vouchers_page");
    std::vector<VoucherRecord> out;
    out.reserve(static_cast<std::size_t>(rows.count()));
    for (int i = 0; i < rows.count(); ++i) {
      out.push_back(voucher_at(rows, i));
    }
    return out;
  }

  std::size_t count_vouchers_with_serial(std::string_view serial) override {
    Params p;
    p.text(serial);
    return count(Sql::CountVouchersWithSerial, p, "count_vouchers_with_serial");
  }

  void put_rv_registration(const RvRegistration& r) override {
    Params p;
    p.bytes(r.guid.view()).bytes(r.to1d).bytes(r.voucher).bytes(r.owner_key).bytes(r.device_key);
    p.int64(r.expires_at).int64(r.registered_at);
    (void)write(Sql::PutRvRegistration, p, "put_rv_registration");
  }

  std::optional<RvRegistration> get_rv_registration(const Guid& guid, std::int64_t now) override {
    Params p;
    p.bytes(guid.view()).int64(now);
    const Rows rows = read(Sql::GetRvRegistration, p, "get_rv_registration");
    if (rows.count() == 0) {
      return std::nullopt;
    }
    return rv_registration_at(rows, 0);
  }

  std::vector<RvRegistration> list_rv_registrations(std::int64_t now, const std::optional<Guid>& after,
                                                    std::size_t limit) override {
    Params p;
    p.int64(now).int64(sql_limit(limit));
    if (after) {
      p.bytes(after->view());
    }
    const Rows rows = read(after ? Sql::ListRvRegistrationsAfter : Sql::ListRvRegistrationsFirst, p,
                           "list_rv_registrations");
    std::vector<RvRegistration> out;
    out.reserve(static_cast<std::size_t>(rows.count()));
    for (int i = 0; i < rows.count(); ++i) {
      out.push_back(rv_registration_at(rows, i));
    }
    return out;
  }

  bool erase_rv_registration(const Guid& guid) override {
    Params p;
    p.bytes(guid.view());
    return write(Sql::EraseRvRegistration, p, "erase_rv_registration").affected() == 1;
  }

  std::size_t purge_expired_rv_registrations(std::int64_t now) override {
    Params p;
    p.int64(now);
    return write(Sql::PurgeRvRegistrations, p, "purge_expired_rv_registrations", Retry::Savepoint).affected();
  }

  std::size_t count_rv_registrations(std::int64_t now) override {
    Params p;
    p.int64(now);
    return count(Sql::CountRvRegistrations, p, "count_rv_registrations");
  }

  void put_owner_device(const OwnerDeviceRecord& r) override {
    Params p;
    p.bytes(r.guid.view()).text(r.state).text(r.step).text(r.error).text(r.new_guid).int64(r.to0_expires_at);
    p.text(r.to0_detail).int64(r.onboard_count).int64(r.updated_at).text(r.replaces).text(r.modules);
    (void)write(Sql::PutOwnerDevice, p, "put_owner_device");
  }

  std::optional<OwnerDeviceRecord> get_owner_device(const Guid& guid) override {
    Params p;
    p.bytes(guid.view());
    const Rows rows = read(Sql::GetOwnerDevice, p, "get_owner_device");
    if (rows.count() == 0) {
      return std::nullopt;
    }
    return owner_device_at(rows, 0);
  }

  std::vector<OwnerDeviceRecord> list_owner_devices() override {
    Params p;
    const Rows rows = read(Sql::ListOwnerDevices, p, "list_owner_devices");
    std::vector<OwnerDeviceRecord> out;
    out.reserve(static_cast<std::size_t>(rows.count()));
    for (int i = 0; i < rows.count(); ++i) {
      out.push_back(owner_device_at(rows, i));
    }
    return out;
  }

  bool erase_owner_device(const Guid& guid) override {
    Params p;
    p.bytes(guid.view());
    return write(Sql::EraseOwnerDevice, p, "erase_owner_device").affected() == 1;
  }

  void commit() override {
    check_open("commit");
    // COMMIT of a failed transaction "succeeds" as a ROLLBACK; never report that as a commit.
    if (m_conn->status() == PQTRANS_INERROR) {
      fail("commit", "the transaction was rolled back by an earlier error");
    }
    const Outcome o = m_conn->exec("COMMIT");
    // Either way the transaction is over: a failed COMMIT rolls back.
    const std::string failure = o.sqlstate.empty() ? std::string() : failure_text(o);
    const std::shared_ptr<Pool> pool = m_pool;
    end();
    if (!failure.empty()) {
      fail("commit", failure);
    }
    pool->commits.fetch_add(1);
  }

 private:
  void start() {
    Outcome o = m_conn->exec("BEGIN ISOLATION LEVEL READ COMMITTED");
    // An idle connection may have been cut (a restarted server, an idle timeout): reconnect once.
    if (!o.sqlstate.empty() && m_conn->broken() && m_conn->reset()) {
      m_pool->connects.fetch_add(1);
      o = m_conn->exec("BEGIN ISOLATION LEVEL READ COMMITTED");
    }
    if (!o.sqlstate.empty()) {
      fail("begin", failure_text(o));
    }
    m_wrote = false;
  }

  void end() noexcept {
    if (m_conn) {
      m_pool->release(std::move(m_conn), m_holder);
    }
  }

  void check_open(std::string_view op) const {
    if (!m_conn) {
      fail(op, "transaction already committed");
    }
  }

  Rows read(Sql id, Params& p, std::string_view op) { return execute(id, p, op, Retry::IfNothingWritten); }

  Rows write(Sql id, Params& p, std::string_view op, Retry retry = Retry::IfNothingWritten) {
    Rows rows = execute(id, p, op, retry);
    m_wrote = true;
    return rows;
  }

  std::size_t count(Sql id, Params& p, std::string_view op) {
    const Rows rows = read(id, p, op);
    if (rows.count() != 1) {
      fail(op, "no result row");
    }
    return static_cast<std::size_t>(rows.int64(0, 0));
  }

  // Runs a statement, retrying a serialisation failure or deadlock where `retry` makes that safe.
  Rows execute(Sql id, Params& p, std::string_view op, Retry retry) {
    check_open(op);
    const bool savepoint = retry == Retry::Savepoint && m_wrote;
    for (int attempt = 1;; ++attempt) {
      if (savepoint) {
        expect_ok(m_conn->exec("SAVEPOINT fdo_retry"), op);
      }
      Outcome o = m_conn->run(id, p);
      if (o.sqlstate.empty()) {
        if (savepoint) {
          expect_ok(m_conn->exec("RELEASE SAVEPOINT fdo_retry"), op);
        }
        return Rows(std::move(o.res), op);
      }
      const bool can_retry = retryable(o.sqlstate) && attempt < kMaxAttempts && (savepoint || !m_wrote);
      if (!can_retry) {
        fail(op, failure_text(o));
      }
      m_pool->retries.fetch_add(1);
      log::debug("postgresql store: " + std::string(op) + ": " + failure_text(o) + "; retrying");
      if (savepoint) {
        expect_ok(m_conn->exec("ROLLBACK TO SAVEPOINT fdo_retry"), op);
      } else {
        expect_ok(m_conn->exec("ROLLBACK"), op);
      }
      std::this_thread::sleep_for(kRetryPause * attempt);
      if (!savepoint) {
        start();
      }
    }
  }

  static void expect_ok(const Outcome& o, std::string_view op) {
    if (!o.sqlstate.empty()) {
      fail(op, failure_text(o));
    }
  }

  static VoucherRecord voucher_at(const Rows& rows, int i) {
    return VoucherRecord{
        .guid = rows.guid(i, 0),
        .serial = rows.text(i, 1),
        .device_info = rows.text(i, 2),
        .voucher = rows.bytes(i, 3),
        .created_at = rows.int64(i, 4),
        .owner_key_id = rows.text(i, 5),
    };
  }
  static RvRegistration rv_registration_at(const Rows& rows, int i) {
    return RvRegistration{
        .guid = rows.guid(i, 0),
        .to1d = rows.bytes(i, 1),
        .voucher = rows.bytes(i, 2),
        .owner_key = rows.bytes(i, 3),
        .device_key = rows.bytes(i, 4),
        .expires_at = rows.int64(i, 5),
        .registered_at = rows.int64(i, 6),
    };
  }
  // A LIMIT value: bigint is signed.
  static std::int64_t sql_limit(std::size_t limit) {
    return static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  }
  static std::optional<VoucherRecord> first_voucher(const Rows& rows) {
    if (rows.count() == 0) {
      return std::nullopt;
    }
    return voucher_at(rows, 0);
  }
  static OwnerDeviceRecord owner_device_at(const Rows& rows, int i) {
    return OwnerDeviceRecord{
        .guid = rows.guid(i, 0),
        .state = rows.text(i, 1),
        .step = rows.text(i, 2),
        .error = rows.text(i, 3),
        .new_guid = rows.text(i, 4),
        .to0_expires_at = rows.int64(i, 5),
        .to0_detail = rows.text(i, 6),
        .onboard_count = rows.int64(i, 7),
        .updated_at = rows.int64(i, 8),
        .replaces = rows.text(i, 9),
        .modules = rows.text(i, 10),
    };
  }

  std::shared_ptr<Pool> m_pool;  // shared: a transaction that outlives its store still rolls back
  std::unique_ptr<Connection> m_conn;  // null once the transaction ended
  std::thread::id m_holder;
  bool m_wrote = false;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::shared_ptr<Pool> pool) : m_pool(std::move(pool)) {}

  std::unique_ptr<Transaction> begin() override { return std::make_unique<PgTransaction>(m_pool); }

  [[nodiscard]] PostgresCounts counts() const {
    return {m_pool->commits.load(), m_pool->retries.load(), m_pool->connects.load()};
  }

 private:
  std::shared_ptr<Pool> m_pool;
};

// Brings the schema to kPostgresSchemaVersion in one transaction. The advisory lock makes instances that start
// together migrate one after the other; DDL is transactional, so a failed step leaves the old schema.
void migrate(Connection& conn) {
  constexpr std::string_view kOp = "open: migrate";
  const auto step = [&conn, kOp](std::string_view sql) {
    Outcome o = conn.exec(sql);
    if (!o.sqlstate.empty()) {
      (void)conn.exec("ROLLBACK");
      fail(kOp, failure_text(o));
    }
    return std::move(o.res);
  };
  step("BEGIN");
  step("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
  step("CREATE TABLE IF NOT EXISTS fdo_schema (version integer NOT NULL)");
  const PgResultPtr res = step("SELECT version FROM fdo_schema");
  int version = 0;
  if (PQntuples(res.get()) > 1) {
    (void)conn.exec("ROLLBACK");
    fail(kOp, "the table fdo_schema has more than one row");
  }
  if (PQntuples(res.get()) == 1) {
    version = std::stoi(PQgetvalue(res.get(), 0, 0));
  }
  if (version < 0 || version > kPostgresSchemaVersion) {
    (void)conn.exec("ROLLBACK");
    fail(kOp, "database schema version " + std::to_string(version) + " is not supported by this build (newest " +
                  std::to_string(kPostgresSchemaVersion) + ")");
  }
  if (version == kPostgresSchemaVersion) {
    step("COMMIT");
    return;
  }
  for (auto i = static_cast<std::size_t>(version); i < kMigrations.size(); ++i) {
    step(kMigrations[i]);
  }
  // The value is our own constant, not foreign text.
  step(version == 0 ? "INSERT INTO fdo_schema (version) VALUES (" + std::to_string(kPostgresSchemaVersion) + ")"
                    : "UPDATE fdo_schema SET version = " + std::to_string(kPostgresSchemaVersion));
  step("COMMIT");
  log::info("postgresql store: schema " + (version == 0 ? std::string("created") : "migrated from version " +
                                                                                      std::to_string(version)) +
            " at version " + std::to_string(kPostgresSchemaVersion));
}

}  // namespace

bool is_postgres_uri(std::string_view db) {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::unique_ptr<Store> open_postgres_store(std::string_view uri, PostgresOptions options) {
  if (!is_postgres_uri(uri)) {
    fail("open", "not a postgresql:// URI");
  }
  {
    // docs/scaling.md "Passwords": never on the command line or in the config text, where others can read it.
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(std::string(uri).c_str(), &error);
    if (parsed == nullptr) {
      const std::string why = one_line(error);
      PQfreemem(error);
      fail("open", "the URI does not parse: " + why);
    }
    bool has_password = false;
    for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr) {
        has_password = true;
      }
    }
    PQconninfoFree(parsed);
    if (has_password) {
      throw_internal(
          "postgresql store: open: the URI holds a password; give it with --db-password-file FILE (mode 0600), "
          "PGPASSWORD or PGPASSFILE instead");
    }
  }
  ConnectParams params(uri, std::move(options.password));
  auto first = std::make_unique<Connection>(params.connect("open"));
  migrate(*first);
  auto pool = std::make_shared<Pool>(std::move(params), options.pool_size, options.acquire_timeout);
  pool->adopt(std::move(first));
  pool->connects.fetch_add(1);
  return std::make_unique<PostgresStore>(std::move(pool));
}

std::size_t postgres_retry_count(const Store& store) { return postgres_counts(store).retries; }

bool is_postgres_store(const Store& store) { return dynamic_cast<const PostgresStore*>(&store) != nullptr; }

PostgresCounts postgres_counts(const Store& store) {
  if (const auto* pg = dynamic_cast<const PostgresStore*>(&store)) {
    return pg->counts();
  }
  return {};
}

}  // namespace fdo::storage
