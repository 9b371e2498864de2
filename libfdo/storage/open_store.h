#pragma once
// The one way the servers and tools open their store from --db (docs/cli.md "Databases", docs/scaling.md).

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "libfdo/core/metrics.h"
#include "libfdo/storage/store.h"

namespace fdo::storage {

/// What --db and its companion options say.
struct StoreSpec {
  /// A SQLite file, or a postgresql:// (postgres://) URI without a password.
  std::string db = {};
  /// PostgreSQL only: a file holding the password (mode 0600 or stricter); empty: libpq's PGPASSWORD/PGPASSFILE.
  std::filesystem::path password_file = {};
  /// PostgreSQL only: the most connections open at once.
  std::size_t pool_size = 8;
};

/// Opens the SQLite store at spec.db, or the PostgreSQL store when spec.db is a postgresql:// URI. Throws
/// Error(InternalServerError) when the store cannot be opened, when a password file is given for SQLite, or when
/// the password file is missing, empty, or readable by group or others.
std::unique_ptr<Store> open_store(const StoreSpec& spec);

/// What the store did since it was opened, for the servers' shutdown line, in the terms of its back-end:
/// "sqlite: N commits, M fdatasync (group commit)" or "postgresql: N commits, M retried statements, K connections
/// opened" (docs/scaling.md); "in-memory store" for any other.
[[nodiscard]] std::string store_activity(const Store& store);

/// Adds the store's own counters to `registry` (docs/operations.md "Metrics"): fdo_store_commits_total, and
/// fdo_store_fdatasync_total (SQLite: one may cover several commits) or fdo_store_retried_statements_total
/// (PostgreSQL). `store` must outlive every scrape.
void register_store_metrics(metrics::Registry& registry, const Store& store);

}  // namespace fdo::storage
