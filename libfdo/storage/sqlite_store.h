#pragma once
// The SQLite store: the servers' embedded default (docs/adr/0003-server-session-storage.md).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "libfdo/storage/store.h"

namespace fdo::storage {

/// The schema version this build creates and reads, kept in the database's PRAGMA user_version.
inline constexpr int kSqliteSchemaVersion = 5;

/// Settings of a SQLite store; the defaults are what servers use.
struct SqliteOptions {
  /// Test hook: runs just before each fdatasync of the WAL, on the syncing thread.
  std::function<void()> before_sync;
};

/// Opens the SQLite database at `path`, creating the file with mode 0600 if it does not exist, and brings its
/// schema to kSqliteSchemaVersion. The file uses WAL journaling; every transaction is BEGIN IMMEDIATE, so several
/// server processes may share the file and their transactions serialise. Durability is that of synchronous=FULL,
/// with group commit (docs/adr/0006): commit() returns only once the WAL holding the transaction is on disk, and
/// transactions that commit while one fdatasync runs share the next one.
/// Throws Error(InternalServerError) if the file cannot be opened, is not a database, or has a newer schema.
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path, SqliteOptions options = {});

/// How many commits and how many fdatasync calls of the WAL a store made since it was opened (for benchmarks
/// and tests); zeros for a store that is not a SQLite store.
struct SqliteSyncCounts {
  std::uint64_t commits = 0;
  std::uint64_t syncs = 0;
};
SqliteSyncCounts sqlite_sync_counts(const Store& store);
/// Whether `store` is a SQLite store.
[[nodiscard]] bool is_sqlite_store(const Store& store);

}  // namespace fdo::storage
