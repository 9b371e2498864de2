// open_store() with a SQLite path; the PostgreSQL side is in postgres_store_test.cpp.

#include "libfdo/storage/open_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/storage/postgres_store.h"
#include "libfdo/storage/sqlite_store.h"
#include "libfdo/storage/store_test_support.h"

namespace fdo::storage {
namespace {

TEST(OpenStoreTest, APathOpensSqliteAndAUriIsPostgres) {
  const test::TempDir dir;
  const std::unique_ptr<Store> store = open_store(StoreSpec{.db = (dir.path() / "fdo.db").string()});
  test::create_counter(*store, "tok");
  EXPECT_EQ(sqlite_sync_counts(*store).commits, 1u);
  EXPECT_TRUE(store_activity(*store).starts_with("sqlite: 1 commits, ")) << store_activity(*store);
  EXPECT_FALSE(is_postgres_store(*store));
  EXPECT_TRUE(is_postgres_uri("postgresql://fdo@127.0.0.1/fdo"));
  EXPECT_TRUE(is_postgres_uri("postgres:///fdo?host=/run/postgresql"));
  EXPECT_FALSE(is_postgres_uri("/var/lib/fdo/postgresql://x.db"));
  EXPECT_FALSE(is_postgres_uri("fdo.db"));
}

TEST(OpenStoreTest, APasswordFileForSqliteIsRefused) {
  const test::TempDir dir;
  try {
    (void)open_store(StoreSpec{.db = (dir.path() / "fdo.db").string(), .password_file = dir.path() / "pw"});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("applies only to a postgresql:// database"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "fdo.db"));
}

}  // namespace
}  // namespace fdo::storage
