#pragma once
// The SQLite store: the servers' embedded default (docs/adr/0003-server-session-storage.md).

#include <filesystem>
#include <memory>

#include "libfdo/storage/store.h"

namespace fdo::storage {

/// The schema version this build creates and reads, kept in the database's PRAGMA user_version.
inline constexpr int kSqliteSchemaVersion = 2;

/// Opens the SQLite database at `path`, creating the file with mode 0600 if it does not exist, and brings its
/// schema to kSqliteSchemaVersion. The file uses WAL journaling and synchronous=FULL; every transaction is
/// BEGIN IMMEDIATE, so several server processes may share the file and their transactions serialise.
/// Throws Error(InternalServerError) if the file cannot be opened, is not a database, or has a newer schema.
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path);

}  // namespace fdo::storage
