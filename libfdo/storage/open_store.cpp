#include "libfdo/storage/open_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/storage/postgres_store.h"
#include "libfdo/storage/sqlite_store.h"

namespace fdo::storage {
namespace {

constexpr std::size_t kMaxPasswordFile = 4096;

// docs/scaling.md "Passwords": the file's first line, from a file only its owner may read.
SecretBytes read_password_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw_internal("--db-password-file " + path.string() + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    throw_internal("--db-password-file " + path.string() + " is readable by group or others; chmod 600 it");
  }
  SecretBytes raw(read_file(path, kMaxPasswordFile));
  const ByteView all = raw.view();
  std::size_t end = 0;
  while (end < all.size() && all[end] != '\n' && all[end] != '\r') {
    ++end;
  }
  if (end == 0) {
    throw_internal("--db-password-file " + path.string() + " is empty");
  }
  return SecretBytes(all.first(end));
}

}  // namespace

std::unique_ptr<Store> open_store(const StoreSpec& spec) {
  if (!is_postgres_uri(spec.db)) {
    if (!spec.password_file.empty()) {
      throw_internal("--db-password-file applies only to a postgresql:// database, not the SQLite file " + spec.db);
    }
    return open_sqlite_store(spec.db);
  }
  PostgresOptions options;
  options.pool_size = spec.pool_size;
  if (!spec.password_file.empty()) {
    options.password = read_password_file(spec.password_file);
  }
  return open_postgres_store(spec.db, std::move(options));
}

void register_store_metrics(metrics::Registry& registry, const Store& store) {
  if (is_sqlite_store(store)) {
    registry.sampled_counter("fdo_store_commits_total", "Store transactions committed", [&store] {
      return static_cast<double>(sqlite_sync_counts(store).commits);
    });
    registry.sampled_counter("fdo_store_fdatasync_total",
                             "fdatasync calls of the SQLite write-ahead log; one covers every commit that "
                             "arrived while the one before ran (docs/adr/0006-group-commit.md)",
                             [&store] { return static_cast<double>(sqlite_sync_counts(store).syncs); });
  } else if (is_postgres_store(store)) {
    registry.sampled_counter("fdo_store_commits_total", "Store transactions committed", [&store] {
      return static_cast<double>(postgres_counts(store).commits);
    });
    registry.sampled_counter("fdo_store_retried_statements_total",
                             "PostgreSQL statements retried after a serialisation failure or deadlock",
                             [&store] { return static_cast<double>(postgres_counts(store).retries); });
  }
}

std::string store_activity(const Store& store) {
  if (is_sqlite_store(store)) {
    const SqliteSyncCounts c = sqlite_sync_counts(store);
    return "sqlite: " + std::to_string(c.commits) + " commits, " + std::to_string(c.syncs) +
           " fdatasync (group commit)";
  }
  if (is_postgres_store(store)) {
    const PostgresCounts c = postgres_counts(store);
    return "postgresql: " + std::to_string(c.commits) + " commits, " + std::to_string(c.retries) +
           " retried statements, " + std::to_string(c.connections) + " connections opened";
  }
  return "in-memory store";
}

}  // namespace fdo::storage
