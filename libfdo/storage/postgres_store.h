#pragma once
// The PostgreSQL store: several server instances on one database (docs/scaling.md, docs/adr/0003 and 0005).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "libfdo/core/secret_bytes.h"
#include "libfdo/storage/store.h"

namespace fdo::storage {

/// The schema version this build creates and reads, kept in the table fdo_schema.
inline constexpr int kPostgresSchemaVersion = 2;

/// Settings of a PostgreSQL store; the defaults are what servers use.
struct PostgresOptions {
  /// Most connections open at once; begin() waits for a free one.
  std::size_t pool_size = 8;
  /// How long begin() waits for a free connection before it fails.
  std::chrono::milliseconds acquire_timeout{5000};
  /// The password, when it comes from --db-password-file; empty: libpq's own PGPASSWORD, PGPASSFILE or ~/.pgpass.
  SecretBytes password;
};

/// Whether `db` names a PostgreSQL database (a postgresql:// or postgres:// URI) rather than a SQLite file.
[[nodiscard]] bool is_postgres_uri(std::string_view db);

/// Connects to the database at `uri` (libpq's URI syntax: sslmode and the other parameters are libpq's) and brings
/// its schema to kPostgresSchemaVersion under an advisory lock, so instances starting together migrate once.
/// Transactions run at READ COMMITTED; sessions move on by version (update_session, end_session), row locks
/// order concurrent writers, and a serialisation failure or deadlock (SQLSTATE 40001, 40P01) of a statement is
/// retried inside the store where that is safe. Throws Error(InternalServerError) if the URI holds a password
/// (docs/scaling.md "Passwords"), the database cannot be reached, or its schema is newer than this build's.
std::unique_ptr<Store> open_postgres_store(std::string_view uri, PostgresOptions options = {});

/// How many statements a PostgreSQL store retried after a serialisation failure or deadlock since it was opened
/// (for tests); 0 for a store that is not a PostgreSQL store.
[[nodiscard]] std::size_t postgres_retry_count(const Store& store);

/// What a PostgreSQL store did since it was opened (the servers' shutdown line, tests); zeros for another store.
struct PostgresCounts {
  std::size_t commits = 0;
  /// Statements retried after a serialisation failure or deadlock.
  std::size_t retries = 0;
  /// Connections opened: the first one, the pool's, and reconnections of cut ones.
  std::size_t connections = 0;
};
[[nodiscard]] PostgresCounts postgres_counts(const Store& store);
/// Whether `store` is a PostgreSQL store.
[[nodiscard]] bool is_postgres_store(const Store& store);

}  // namespace fdo::storage
