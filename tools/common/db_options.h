#pragma once
// --db and its companions, the same on every server and subcommand that opens a store (docs/cli.md "Databases",
// docs/scaling.md).

#include <CLI/CLI.hpp>

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace fdo::tool {

/// Adds `--db` ("SQLite file or postgresql:// URI (default DIR/<default_file>)") and `--db-password-file`; with
/// `pool_size`, also `--db-pool-size` (for `serve`).
void add_db_options(CLI::App& cmd, std::filesystem::path& db, std::filesystem::path& password_file,
                    std::string_view default_file, std::size_t* pool_size = nullptr);

}  // namespace fdo::tool
