#include "tools/common/db_options.h"

#include <string>

namespace fdo::tool {

void add_db_options(CLI::App& cmd, std::filesystem::path& db, std::filesystem::path& password_file,
                    std::string_view default_file, std::size_t* pool_size) {
  cmd.add_option("--db", db, "SQLite file or postgresql:// URI (default DIR/" + std::string(default_file) + ")");
  cmd.add_option("--db-password-file", password_file,
                 "PostgreSQL: file holding the password, mode 0600 (else libpq's PGPASSWORD or PGPASSFILE; never in "
                 "the URI)");
  if (pool_size != nullptr) {
    cmd.add_option("--db-pool-size", *pool_size, "PostgreSQL: connections to the database at most")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  }
}

}  // namespace fdo::tool
