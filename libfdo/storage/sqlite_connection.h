#pragma once
// RAII owners for SQLite connections and prepared statements (docs/style.md §6). Used only by sqlite_store.cpp;
// SQLite's own header stays in the .cpp files of this layer.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "libfdo/core/bytes.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fdo::storage {

/// Closes a connection (sqlite3_close_v2).
struct SqliteClose {
  void operator()(sqlite3* db) const noexcept;
};
/// Finalizes a prepared statement (sqlite3_finalize).
struct SqliteFinalize {
  void operator()(sqlite3_stmt* stmt) const noexcept;
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteClose>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFinalize>;

/// One use of a prepared statement: bind parameters, step, read columns. Resets the statement and clears its
/// bindings when destroyed, so the cached statement is ready for the next use. Errors throw
/// Error(InternalServerError) naming the operation and SQLite's message, never the bound values.
class Statement {
 public:
  /// Wraps a prepared statement; `op` names the operation in errors and must outlive this (a literal).
  Statement(sqlite3_stmt* stmt, std::string_view op) : m_stmt(stmt), m_op(op) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  /// Binds parameter `index` (1-based, ?1 in the SQL).
  void bind_int64(int index, std::int64_t value);
  /// Binds text; an empty string is stored as '' (not NULL).
  void bind_text(int index, std::string_view value);
  /// Binds a blob; empty bytes are stored as a zero-length blob (not NULL).
  void bind_blob(int index, ByteView value);

  /// Steps once: true if a row is ready to read, false when the statement is done.
  [[nodiscard]] bool next_row();
  /// Steps a statement that returns no rows.
  void run();

  /// Integer column `col` (0-based) of the current row.
  [[nodiscard]] std::int64_t column_int64(int col) const;
  /// Text column `col` of the current row (embedded NULs kept).
  [[nodiscard]] std::string column_text(int col) const;
  /// Blob column `col` of the current row.
  [[nodiscard]] Bytes column_blob(int col) const;

 private:
  [[noreturn]] void fail(std::string_view call) const;

  sqlite3_stmt* m_stmt;
  std::string_view m_op;
};

/// One SQLite database connection with a cache of prepared statements. Not thread safe: one user at a time.
class Connection {
 public:
  /// Opens an existing database file read-write, with `busy_timeout` for locks held by other connections.
  static Connection open(const std::filesystem::path& path, std::chrono::milliseconds busy_timeout);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() = default;

  /// Runs fixed SQL without parameters (one or more statements), e.g. "BEGIN IMMEDIATE" or a schema step.
  void exec(std::string_view sql, std::string_view op);
  /// The cached statement for `sql` (prepared on first use), ready to bind. `sql` must be a string literal: the
  /// cache keeps the view.
  [[nodiscard]] Statement prepare(std::string_view sql, std::string_view op);
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  [[nodiscard]] std::int64_t changes() const;
  /// Whether a transaction is open on this connection.
  [[nodiscard]] bool in_transaction() const;

 private:
  explicit Connection(SqlitePtr db) : m_db(std::move(db)) {}
  [[noreturn]] void fail(std::string_view op, std::string_view call) const;

  SqlitePtr m_db;
  // Declared after m_db so the statements are finalized before the connection closes.
  std::unordered_map<std::string_view, SqliteStmtPtr> m_statements;
};

}  // namespace fdo::storage
