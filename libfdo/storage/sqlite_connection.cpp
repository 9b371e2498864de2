#include "libfdo/storage/sqlite_connection.h"

#include "libfdo/core/error.h"

#include <sqlite3.h>

#include <climits>
#include <string>

namespace fdo::storage {
namespace {

// SQLite takes lengths as int; our records are far smaller, but a length is checked, not assumed.
int checked_length(std::size_t size, std::string_view op) {
  if (size > static_cast<std::size_t>(INT_MAX)) {
    throw_internal("sqlite: " + std::string(op) + ": value of " + std::to_string(size) + " bytes is too large");
  }
  return static_cast<int>(size);
}

}  // namespace

void SqliteClose::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

void SqliteFinalize::operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }

Statement::~Statement() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

void Statement::fail(std::string_view call) const {
  throw_internal("sqlite: " + std::string(m_op) + ": " + std::string(call) + ": " +
                 sqlite3_errmsg(sqlite3_db_handle(m_stmt)));
}

void Statement::bind_int64(int index, std::int64_t value) {
  if (sqlite3_bind_int64(m_stmt, index, value) != SQLITE_OK) {
    fail("bind");
  }
}

void Statement::bind_text(int index, std::string_view value) {
  // A null pointer would bind NULL, so an empty view gets a pointer to an empty literal.
  const char* data = value.empty() ? "" : value.data();
  if (sqlite3_bind_text(m_stmt, index, data, checked_length(value.size(), m_op), SQLITE_TRANSIENT) != SQLITE_OK) {
    fail("bind");
  }
}

void Statement::bind_blob(int index, ByteView value) {
  const int rc = value.empty() ? sqlite3_bind_zeroblob(m_stmt, index, 0)
                               : sqlite3_bind_blob(m_stmt, index, value.data(), checked_length(value.size(), m_op),
                                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) {
    fail("bind");
  }
}

bool Statement::next_row() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  fail("step");
}

void Statement::run() {
  if (next_row()) {
    throw_internal("sqlite: " + std::string(m_op) + ": statement returned rows");
  }
}

std::int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(m_stmt, col); }

std::string Statement::column_text(int col) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
  const int size = sqlite3_column_bytes(m_stmt, col);
  if (text == nullptr || size <= 0) {
    return {};
  }
  return std::string(text, static_cast<std::size_t>(size));
}

Bytes Statement::column_blob(int col) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, col));
  const int size = sqlite3_column_bytes(m_stmt, col);
  if (data == nullptr || size <= 0) {
    return {};
  }
  return Bytes(data, data + size);
}

Connection Connection::open(const std::filesystem::path& path, std::chrono::milliseconds busy_timeout) {
  // Connections move between server threads (one user at a time), which a single-threaded build forbids.
  if (sqlite3_threadsafe() == 0) {
    throw_internal("sqlite: open: the SQLite library was built without thread support");
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  // sqlite3_open_v2 returns a handle even on failure (for the message); the owner closes it either way.
  Connection conn{SqlitePtr(raw)};
  if (raw == nullptr) {
    throw_internal("sqlite: open " + path.string() + ": out of memory");
  }
  if (rc != SQLITE_OK) {
    conn.fail("open " + path.string(), "sqlite3_open_v2");
  }
  sqlite3_extended_result_codes(raw, 1);
  if (sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count())) != SQLITE_OK) {
    conn.fail("open", "sqlite3_busy_timeout");
  }
  // Refuse writes that could corrupt the file through the SQL interface (PRAGMA writable_schema and the like).
  if (sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr) != SQLITE_OK) {
    conn.fail("open", "SQLITE_DBCONFIG_DEFENSIVE");
  }
  return conn;
}

void Connection::fail(std::string_view op, std::string_view call) const {
  throw_internal("sqlite: " + std::string(op) + ": " + std::string(call) + ": " + sqlite3_errmsg(m_db.get()));
}

void Connection::exec(std::string_view sql, std::string_view op) {
  const std::string text(sql);
  if (sqlite3_exec(m_db.get(), text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail(op, "exec");
  }
}

Statement Connection::prepare(std::string_view sql, std::string_view op) {
  auto it = m_statements.find(sql);
  if (it == m_statements.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(m_db.get(), sql.data(), checked_length(sql.size(), op), SQLITE_PREPARE_PERSISTENT,
                                      &raw, nullptr);
    SqliteStmtPtr stmt(raw);
    if (rc != SQLITE_OK || !stmt) {
      fail(op, "prepare");
    }
    it = m_statements.emplace(sql, std::move(stmt)).first;
  }
  return Statement(it->second.get(), op);
}

std::int64_t Connection::changes() const { return sqlite3_changes64(m_db.get()); }

bool Connection::in_transaction() const { return sqlite3_get_autocommit(m_db.get()) == 0; }

}  // namespace fdo::storage
