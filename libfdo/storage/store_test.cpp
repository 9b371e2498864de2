// The storage conformance suite: every Store implementation must pass every test here (docs/style.md §9).
// A new back-end adds its Backend type to Backends. The PostgreSQL tests (named */Postgres.*) carry the ctest
// label `postgres` and start their own cluster (postgres_test_support.h).

#include "libfdo/storage/store.h"
#include "libfdo/core/error.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/storage/postgres_test_support.h"
#include "libfdo/storage/sqlite_store.h"
#include "libfdo/storage/store_test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace fdo::storage {
namespace {

using test::guid_of;
using test::kNow;
using test::make_registration;
using test::make_session;
using test::make_owner_device;
using test::make_voucher;

struct MemoryBackend {
  static std::unique_ptr<Store> open(const std::filesystem::path& /*dir*/) { return make_memory_store(); }
};

struct SqliteBackend {
  static std::unique_ptr<Store> open(const std::filesystem::path& dir) { return open_sqlite_store(dir / "fdo.db"); }
};

struct PostgresBackend {
  static std::unique_ptr<Store> open(const std::filesystem::path& /*dir*/) {
    return test::postgres_cluster().open_fresh_store();
  }
};

struct BackendNames {
  template <typename T>
  static std::string GetName(int /*index*/) {
    if (std::is_same_v<T, MemoryBackend>) {
      return "Memory";
    }
    return std::is_same_v<T, SqliteBackend> ? "Sqlite" : "Postgres";
  }
};

template <typename Backend>
class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : m_store(Backend::open(m_dir.path())) {}

  Store& store() { return *m_store; }
  void reset_store() { m_store.reset(); }

 private:
  test::TempDir m_dir;
  std::unique_ptr<Store> m_store;
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

// Sessions ------------------------------------------------------------------------------------------------------

TYPED_TEST(StoreTest, SessionRoundTripsAcrossTransactions) {
  const Session session = make_session("tok-1");
  {
    const auto tx = this->store().begin();
    tx->insert_session(session);
    tx->commit();
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_session("tok-1", kNow), session);
  EXPECT_EQ(tx->get_session("tok-2", kNow), std::nullopt);
}

TYPED_TEST(StoreTest, SessionIsGoneOnceExpired) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("tok", kNow + 10));
  EXPECT_TRUE(tx->get_session("tok", kNow + 9).has_value());
  EXPECT_FALSE(tx->get_session("tok", kNow + 10).has_value());
  EXPECT_FALSE(tx->get_session("tok", kNow + 11).has_value());
}

TYPED_TEST(StoreTest, SessionInsertWithStoredTokenThrowsInternalError) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("tok"));
  try {
    tx->insert_session(make_session("tok"));
    FAIL() << "duplicate token accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
    EXPECT_NE(std::string(e.what()).find("insert_session"), std::string::npos) << e.what();
  }
}

TYPED_TEST(StoreTest, SessionUpdateReplacesStateAndReportsUnknownToken) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("tok"));
  const Session changed{.token = "tok", .protocol = "to1", .state = Bytes{1, 2, 3, 4}, .expires_at = kNow + 7};
  EXPECT_TRUE(tx->update_session(changed));
  Session expected = changed;
  expected.version = 1;  // each update moves the version on
  EXPECT_EQ(tx->get_session("tok", kNow), expected);
  EXPECT_FALSE(tx->update_session(make_session("unknown")));
  EXPECT_FALSE(tx->get_session("unknown", kNow).has_value());
}

TYPED_TEST(StoreTest, SessionUpdateKeepsOrMovesTheExpiryAndChecksTheVersionEitherWay) {
  const auto tx = this->store().begin();
  Session s{.token = "tok", .protocol = "to2", .state = Bytes{1}, .expires_at = kNow + 5};
  tx->insert_session(s);
  s.state = Bytes{2};  // same expiry (messages of a run within one second)
  EXPECT_TRUE(tx->update_session(s));
  Session stored = *tx->get_session("tok", kNow);
  EXPECT_EQ(stored.state, Bytes{2});
  EXPECT_EQ(stored.version, 1u);
  EXPECT_EQ(stored.expires_at, kNow + 5);
  EXPECT_FALSE(tx->update_session(s)) << "version 0 is stale";
  stored.state = Bytes{3};
  stored.expires_at = kNow + 9;
  EXPECT_TRUE(tx->update_session(stored));
  const Session moved = *tx->get_session("tok", kNow);
  EXPECT_EQ(moved.state, Bytes{3});
  EXPECT_EQ(moved.version, 2u);
  EXPECT_EQ(moved.expires_at, kNow + 9);
  EXPECT_FALSE(tx->update_session(stored)) << "version 1 is stale, whatever the expiry";
  EXPECT_TRUE(tx->get_session("tok", kNow + 8).has_value());
  EXPECT_FALSE(tx->get_session("tok", kNow + 9).has_value());
}

TYPED_TEST(StoreTest, SessionMovesOnOnlyFromTheVersionThatWasRead) {
  // Two copies of one message both read version 0: the first update wins, the second finds version 1 and fails,
  // and neither an update nor an end from the stale version touches the session (docs/adr/0005).
  {
    const auto tx = this->store().begin();
    tx->insert_session(make_session("tok"));
    tx->commit();
  }
  Session first;
  Session second;
  {
    const auto tx = this->store().begin();
    first = *tx->get_session("tok", kNow);
    second = first;
  }
  EXPECT_EQ(first.version, 0u);
  first.state = Bytes{1};
  second.state = Bytes{2};
  {
    const auto tx = this->store().begin();
    EXPECT_TRUE(tx->update_session(first));
    tx->commit();
  }
  {
    const auto tx = this->store().begin();
    EXPECT_FALSE(tx->update_session(second));
    EXPECT_FALSE(tx->end_session(second));
    const Session now = *tx->get_session("tok", kNow);
    EXPECT_EQ(now.state, Bytes{1});
    EXPECT_EQ(now.version, 1u);
    // The current version may end the run.
    EXPECT_TRUE(tx->end_session(now));
    EXPECT_FALSE(tx->get_session("tok", kNow).has_value());
    EXPECT_FALSE(tx->end_session(now));
    tx->commit();
  }
}

TYPED_TEST(StoreTest, CountSessionsCountsOnlyLiveOnes) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("a"));
  Session old = make_session("b");
  old.expires_at = kNow;  // gone at kNow
  tx->insert_session(old);
  EXPECT_EQ(tx->count_sessions(kNow), 1u);
  EXPECT_EQ(tx->count_sessions(kNow - 1), 2u);
  EXPECT_EQ(tx->purge_expired_sessions(kNow), 1u);
  EXPECT_EQ(tx->count_sessions(kNow - 1), 1u);
}

// docs/security.md "Session-table limits": sessions are counted and reclaimed per source, least recently
// used (smallest expires_at) first, expired ones not counted.
TYPED_TEST(StoreTest, SessionsAreCountedAndReclaimedPerSource) {
  {
    const auto tx = this->store().begin();
    for (int i = 0; i < 5; ++i) {
      Session s = make_session("a" + std::to_string(i));
      s.source = "10.0.0.1";
      s.expires_at = kNow + 10 + i;
      tx->insert_session(s);
    }
    Session other = make_session("b");
    other.source = "10.0.0.2";
    tx->insert_session(other);
    Session expired = make_session("c");
    expired.source = "10.0.0.1";
    expired.expires_at = kNow;
    tx->insert_session(expired);
    tx->commit();
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_session("a0", kNow)->source, "10.0.0.1");
  EXPECT_EQ(tx->count_sessions_from("10.0.0.1", kNow), 5u);
  EXPECT_EQ(tx->count_sessions_from("10.0.0.2", kNow), 1u);
  EXPECT_EQ(tx->count_sessions_from("10.0.0.3", kNow), 0u);
  EXPECT_EQ(tx->reclaim_sessions_from("10.0.0.1", kNow, 5), 0u);
  EXPECT_EQ(tx->reclaim_sessions_from("10.0.0.1", kNow, 2), 3u);
  EXPECT_FALSE(tx->get_session("a2", kNow).has_value());
  EXPECT_TRUE(tx->get_session("a3", kNow).has_value());
  EXPECT_TRUE(tx->get_session("a4", kNow).has_value());
  EXPECT_TRUE(tx->get_session("b", kNow).has_value());
  EXPECT_EQ(tx->count_sessions(kNow), 3u);
}

// Rate limits (docs/security.md "Rate limit") --------------------------------------------------------------------

TYPED_TEST(StoreTest, RateBucketsStartFullRefillPerSecondAndArePerSource) {
  const RateLimit limit{.rate = 2, .burst = 3};
  const auto take = [&](std::string_view source, std::int64_t now) {
    const auto tx = this->store().begin();
    const bool taken = tx->take_rate_token(source, limit, now);
    tx->commit();
    return taken;
  };
  EXPECT_TRUE(take("10.0.0.1", kNow));
  EXPECT_TRUE(take("10.0.0.1", kNow));
  EXPECT_TRUE(take("10.0.0.1", kNow));
  EXPECT_FALSE(take("10.0.0.1", kNow));  // the burst is spent
  EXPECT_TRUE(take("10.0.0.2", kNow));   // another source has its own bucket
  EXPECT_TRUE(take("10.0.0.1", kNow + 1));  // +2 tokens after one second
  EXPECT_TRUE(take("10.0.0.1", kNow + 1));
  EXPECT_FALSE(take("10.0.0.1", kNow + 1));
  EXPECT_FALSE(take("10.0.0.1", kNow));  // a clock that went back refills nothing
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(take("10.0.0.1", kNow + 100)) << i;  // refilled to the burst, not beyond
  }
  EXPECT_FALSE(take("10.0.0.1", kNow + 100));
}

TYPED_TEST(StoreTest, RateBucketsRollBackAndFullOnesArePurged) {
  const RateLimit limit{.rate = 0.5, .burst = 1};
  {
    const auto tx = this->store().begin();
    EXPECT_TRUE(tx->take_rate_token("a", limit, kNow));
    // not committed: the token is back
  }
  {
    const auto tx = this->store().begin();
    EXPECT_TRUE(tx->take_rate_token("a", limit, kNow));
    EXPECT_TRUE(tx->take_rate_token("b", limit, kNow + 5));
    tx->commit();
  }
  EXPECT_EQ(full_before(limit, kNow + 2), kNow);  // two seconds refill one token, the burst
  const auto tx = this->store().begin();
  EXPECT_FALSE(tx->take_rate_token("a", limit, kNow + 1));
  EXPECT_EQ(tx->purge_rate_buckets(full_before(limit, kNow + 2)), 0u);  // updated at kNow + 1: not full yet
  EXPECT_EQ(tx->purge_rate_buckets(full_before(limit, kNow + 4)), 1u);  // "a" is full again and goes; "b" stays
  EXPECT_FALSE(tx->take_rate_token("b", limit, kNow + 5));
  EXPECT_TRUE(tx->take_rate_token("a", limit, kNow + 5));  // forgotten: starts full
}

TYPED_TEST(StoreTest, ConcurrentRateTokensFromThreadsNeverExceedTheBurst) {
  const RateLimit limit{.rate = 0.001, .burst = 10};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        const auto tx = this->store().begin();
        const bool ok = tx->take_rate_token("10.0.0.9", limit, kNow);
        tx->commit();
        taken += ok ? 1 : 0;
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(taken.load(), 10);
}

TYPED_TEST(StoreTest, SessionEraseReportsWhetherStored) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("tok"));
  EXPECT_TRUE(tx->erase_session("tok"));
  EXPECT_FALSE(tx->erase_session("tok"));
  EXPECT_FALSE(tx->get_session("tok", kNow).has_value());
}

TYPED_TEST(StoreTest, PurgeExpiredSessionsRemovesOnlyExpired) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("old", kNow - 1));
  tx->insert_session(make_session("edge", kNow));
  tx->insert_session(make_session("live", kNow + 1));
  EXPECT_EQ(tx->purge_expired_sessions(kNow), 2u);
  EXPECT_EQ(tx->purge_expired_sessions(kNow), 0u);
  // Purged rows are gone, not merely hidden: a later clock cannot bring them back.
  EXPECT_FALSE(tx->get_session("old", kNow - 100).has_value());
  EXPECT_TRUE(tx->get_session("live", kNow).has_value());
}

TYPED_TEST(StoreTest, EmptyBinaryAndExtremeValuesRoundTrip) {
  Bytes big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<std::uint8_t>(i * 7);
  }
  const Session empty{.token = "", .protocol = "", .state = {}, .expires_at = std::numeric_limits<std::int64_t>::max()};
  const Session binary{.token = std::string("t\0k\xff", 4), .protocol = "to2", .state = big, .expires_at = kNow + 1};
  const VoucherRecord voucher{.guid = guid_of(0),
                              .serial = std::string("s\0n", 3),
                              .device_info = "gerät ✓",
                              .voucher = {},
                              .created_at = std::numeric_limits<std::int64_t>::min(),
                              .owner_key_id = ""};
  RvRegistration registration = make_registration(0xff, std::numeric_limits<std::int64_t>::max());
  registration.device_key = {};
  registration.registered_at = -1;
  {
    const auto tx = this->store().begin();
    tx->insert_session(empty);
    tx->insert_session(binary);
    tx->put_voucher(voucher);
    tx->put_rv_registration(registration);
    tx->commit();
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_session("", kNow), empty);
  EXPECT_EQ(tx->get_session(std::string("t\0k\xff", 4), kNow), binary);
  EXPECT_FALSE(tx->get_session("t", kNow).has_value());
  EXPECT_EQ(tx->get_voucher(guid_of(0)), voucher);
  EXPECT_EQ(tx->find_voucher_by_serial(std::string("s\0n", 3)), voucher);
  EXPECT_FALSE(tx->find_voucher_by_serial("s").has_value());
  EXPECT_EQ(tx->get_rv_registration(guid_of(0xff), kNow), registration);
}

TYPED_TEST(StoreTest, ReadsOwnWritesInsideTransaction) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("tok"));
  tx->put_voucher(make_voucher(1, "SN1"));
  tx->put_rv_registration(make_registration(1));
  EXPECT_TRUE(tx->get_session("tok", kNow).has_value());
  EXPECT_TRUE(tx->get_voucher(guid_of(1)).has_value());
  EXPECT_EQ(tx->count_rv_registrations(kNow), 1u);
}

// Vouchers ------------------------------------------------------------------------------------------------------

TYPED_TEST(StoreTest, VoucherPutReplacesRecordWithSameGuid) {
  const VoucherRecord second = make_voucher(1, "SN-B", kNow + 5);
  {
    const auto tx = this->store().begin();
    tx->put_voucher(make_voucher(1, "SN-A"));
    tx->commit();
  }
  {
    const auto tx = this->store().begin();
    tx->put_voucher(second);
    tx->commit();
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_voucher(guid_of(1)), second);
  EXPECT_FALSE(tx->find_voucher_by_serial("SN-A").has_value());
  EXPECT_EQ(tx->list_vouchers(), std::vector<VoucherRecord>{second});
  EXPECT_FALSE(tx->get_voucher(guid_of(2)).has_value());
}

TYPED_TEST(StoreTest, FindVoucherBySerialReturnsNewest) {
  const auto tx = this->store().begin();
  tx->put_voucher(make_voucher(1, "SN", kNow + 10));
  tx->put_voucher(make_voucher(2, "SN", kNow + 30));
  tx->put_voucher(make_voucher(3, "SN", kNow + 20));
  tx->put_voucher(make_voucher(4, "OTHER", kNow + 99));
  EXPECT_EQ(tx->find_voucher_by_serial("SN")->guid, guid_of(2));
  // Equal created_at: the one stored last wins, including a re-stored older one.
  tx->put_voucher(make_voucher(5, "TIE", kNow));
  tx->put_voucher(make_voucher(6, "TIE", kNow));
  EXPECT_EQ(tx->find_voucher_by_serial("TIE")->guid, guid_of(6));
  tx->put_voucher(make_voucher(5, "TIE", kNow));
  EXPECT_EQ(tx->find_voucher_by_serial("TIE")->guid, guid_of(5));
  EXPECT_FALSE(tx->find_voucher_by_serial("NONE").has_value());
}

TYPED_TEST(StoreTest, ListVouchersOldestFirstAndEraseVoucher) {
  const auto tx = this->store().begin();
  EXPECT_TRUE(tx->list_vouchers().empty());
  tx->put_voucher(make_voucher(1, "A", kNow + 2));
  tx->put_voucher(make_voucher(2, "B", kNow + 1));
  tx->put_voucher(make_voucher(3, "C", kNow + 2));
  std::vector<Guid> order;
  for (const VoucherRecord& r : tx->list_vouchers()) {
    order.push_back(r.guid);
  }
  EXPECT_EQ(order, (std::vector<Guid>{guid_of(2), guid_of(1), guid_of(3)}));
  EXPECT_TRUE(tx->erase_voucher(guid_of(1)));
  EXPECT_FALSE(tx->erase_voucher(guid_of(1)));
  EXPECT_FALSE(tx->get_voucher(guid_of(1)).has_value());
  EXPECT_EQ(tx->list_vouchers().size(), 2u);
}

// Guids of the records, in order.
template <typename Record>
std::vector<Guid> guids(const std::vector<Record>& records) {
  std::vector<Guid> out;
  for (const Record& r : records) {
    out.push_back(r.guid);
  }
  return out;
}

TYPED_TEST(StoreTest, VoucherPagesFollowCreationTimeThenGuidFromACursor) {
  const auto tx = this->store().begin();
  EXPECT_TRUE(tx->list_vouchers_page(std::nullopt, 10).empty());
  // Ties in created_at are broken by the GUID's bytes, unsigned (0x80 after 0x7f), not by storing order.
  tx->put_voucher(make_voucher(0x80, "A", kNow + 1));
  tx->put_voucher(make_voucher(0x7f, "A", kNow + 1));
  tx->put_voucher(make_voucher(0x01, "B", kNow + 2));
  tx->put_voucher(make_voucher(0x05, "C", kNow));
  const std::vector<Guid> all = {guid_of(0x05), guid_of(0x7f), guid_of(0x80), guid_of(0x01)};
  EXPECT_EQ(guids(tx->list_vouchers_page(std::nullopt, 100)), all);
  const std::vector<VoucherRecord> first = tx->list_vouchers_page(std::nullopt, 2);
  ASSERT_EQ(guids(first), (std::vector<Guid>{all[0], all[1]}));
  EXPECT_EQ(first[1], make_voucher(0x7f, "A", kNow + 1));
  const VoucherCursor after{.created_at = first[1].created_at, .guid = first[1].guid};
  EXPECT_EQ(guids(tx->list_vouchers_page(after, 2)), (std::vector<Guid>{all[2], all[3]}));
  EXPECT_TRUE(tx->list_vouchers_page(VoucherCursor{.created_at = kNow + 2, .guid = guid_of(0x01)}, 2).empty());
  // A cursor whose record was removed still finds its place.
  EXPECT_TRUE(tx->erase_voucher(guid_of(0x7f)));
  EXPECT_EQ(guids(tx->list_vouchers_page(after, 5)), (std::vector<Guid>{all[2], all[3]}));
  EXPECT_TRUE(tx->list_vouchers_page(std::nullopt, 0).empty());
  EXPECT_EQ(tx->count_vouchers_with_serial("A"), 1u);
  EXPECT_EQ(tx->count_vouchers_with_serial("B"), 1u);
  EXPECT_EQ(tx->count_vouchers_with_serial("none"), 0u);
}

// Rendezvous registrations ----------------------------------------------------------------------------------------

TYPED_TEST(StoreTest, RvRegistrationPagesAreLiveOnesByGuidAfterACursor) {
  const auto tx = this->store().begin();
  EXPECT_TRUE(tx->list_rv_registrations(kNow, std::nullopt, 10).empty());
  tx->put_rv_registration(make_registration(0x80));
  tx->put_rv_registration(make_registration(0x02));
  tx->put_rv_registration(make_registration(0x7f));
  tx->put_rv_registration(make_registration(0x10, kNow));  // expired at kNow
  EXPECT_EQ(guids(tx->list_rv_registrations(kNow, std::nullopt, 10)),
            (std::vector<Guid>{guid_of(0x02), guid_of(0x7f), guid_of(0x80)}));
  const std::vector<RvRegistration> first = tx->list_rv_registrations(kNow, std::nullopt, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], make_registration(0x02));
  EXPECT_EQ(guids(tx->list_rv_registrations(kNow, guid_of(0x02), 1)), (std::vector<Guid>{guid_of(0x7f)}));
  EXPECT_EQ(guids(tx->list_rv_registrations(kNow, guid_of(0x7f), 5)), (std::vector<Guid>{guid_of(0x80)}));
  EXPECT_TRUE(tx->list_rv_registrations(kNow, guid_of(0x80), 5).empty());
  // The expired one is listed while it was live.
  EXPECT_EQ(guids(tx->list_rv_registrations(kNow - 1, guid_of(0x02), 1)), (std::vector<Guid>{guid_of(0x10)}));
}

TYPED_TEST(StoreTest, RvRegistrationPutReplacesForGuid) {
  RvRegistration renewed = make_registration(1, kNow + 7200);
  renewed.to1d = Bytes{0xd2, 0x84, 0x99};
  renewed.owner_key = Bytes{0x83, 0x0a, 0x01, 0x99};
  {
    const auto tx = this->store().begin();
    tx->put_rv_registration(make_registration(1));
    tx->put_rv_registration(make_registration(2));
    tx->commit();
  }
  {
    const auto tx = this->store().begin();
    tx->put_rv_registration(renewed);
    tx->commit();
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_rv_registration(guid_of(1), kNow), renewed);
  EXPECT_EQ(tx->get_rv_registration(guid_of(2), kNow), make_registration(2));
  EXPECT_EQ(tx->count_rv_registrations(kNow), 2u);
  EXPECT_TRUE(tx->erase_rv_registration(guid_of(1)));
  EXPECT_FALSE(tx->erase_rv_registration(guid_of(1)));
  EXPECT_FALSE(tx->get_rv_registration(guid_of(1), kNow).has_value());
}

TYPED_TEST(StoreTest, RvRegistrationExpiresAndIsCountedOnlyWhileLive) {
  const auto tx = this->store().begin();
  tx->put_rv_registration(make_registration(1, kNow + 10));
  tx->put_rv_registration(make_registration(2, kNow + 20));
  EXPECT_TRUE(tx->get_rv_registration(guid_of(1), kNow + 9).has_value());
  EXPECT_FALSE(tx->get_rv_registration(guid_of(1), kNow + 10).has_value());
  EXPECT_EQ(tx->count_rv_registrations(kNow), 2u);
  EXPECT_EQ(tx->count_rv_registrations(kNow + 10), 1u);
  EXPECT_EQ(tx->count_rv_registrations(kNow + 20), 0u);
  // A renewal revives an expired GUID.
  tx->put_rv_registration(make_registration(1, kNow + 100));
  EXPECT_TRUE(tx->get_rv_registration(guid_of(1), kNow + 50).has_value());
}

TYPED_TEST(StoreTest, PurgeExpiredRvRegistrationsRemovesOnlyExpired) {
  const auto tx = this->store().begin();
  tx->put_rv_registration(make_registration(1, kNow - 5));
  tx->put_rv_registration(make_registration(2, kNow));
  tx->put_rv_registration(make_registration(3, kNow + 5));
  EXPECT_EQ(tx->purge_expired_rv_registrations(kNow), 2u);
  EXPECT_FALSE(tx->get_rv_registration(guid_of(1), kNow - 100).has_value());
  EXPECT_TRUE(tx->get_rv_registration(guid_of(3), kNow).has_value());
  EXPECT_EQ(tx->count_rv_registrations(kNow - 100), 1u);
}

// Owner devices ---------------------------------------------------------------------------------------------------

TYPED_TEST(StoreTest, OwnerDevicePutReplacesRecordWithSameGuid) {
  {
    const auto tx = this->store().begin();
    EXPECT_FALSE(tx->get_owner_device(guid_of(1)).has_value());
    tx->put_owner_device(make_owner_device(1));
    tx->commit();
  }
  OwnerDeviceRecord changed = make_owner_device(1, "failed", kNow + 9);
  changed.error = "INVALID_MESSAGE_ERROR (101): bad signature";
  changed.new_guid = "0102030405060708090a0b0c0d0e0f10";
  changed.to0_expires_at = 0;
  changed.to0_detail = "http://a: 3600 s\nhttp://b: error cannot connect";
  changed.onboard_count = std::numeric_limits<std::int64_t>::max();
  {
    const auto tx = this->store().begin();
    EXPECT_EQ(tx->get_owner_device(guid_of(1)), make_owner_device(1));
    tx->put_owner_device(changed);
    tx->commit();
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_owner_device(guid_of(1)), changed);
  EXPECT_EQ(tx->list_owner_devices(), std::vector<OwnerDeviceRecord>{changed});
}

TYPED_TEST(StoreTest, ListOwnerDevicesByUpdateTimeThenGuidAndErase) {
  const auto tx = this->store().begin();
  EXPECT_TRUE(tx->list_owner_devices().empty());
  tx->put_owner_device(make_owner_device(3, "imported", kNow + 1));
  tx->put_owner_device(make_owner_device(2, "registered", kNow + 1));
  tx->put_owner_device(make_owner_device(9, "onboarded", kNow));
  std::vector<Guid> order;
  for (const OwnerDeviceRecord& r : tx->list_owner_devices()) {
    order.push_back(r.guid);
  }
  EXPECT_EQ(order, (std::vector<Guid>{guid_of(9), guid_of(2), guid_of(3)}));
  EXPECT_TRUE(tx->erase_owner_device(guid_of(2)));
  EXPECT_FALSE(tx->erase_owner_device(guid_of(2)));
  EXPECT_FALSE(tx->get_owner_device(guid_of(2)).has_value());
  EXPECT_EQ(tx->list_owner_devices().size(), 2u);
  tx->commit();
}

TYPED_TEST(StoreTest, OwnerDeviceChangesRollBackWithoutCommit) {
  const OwnerDeviceRecord kept = make_owner_device(1);
  {
    const auto tx = this->store().begin();
    tx->put_owner_device(kept);
    tx->put_owner_device(make_owner_device(2));
    tx->commit();
  }
  {
    const auto tx = this->store().begin();
    tx->put_owner_device(make_owner_device(1, "exported", kNow + 5));
    ASSERT_TRUE(tx->erase_owner_device(guid_of(2)));
    tx->put_owner_device(make_owner_device(3));
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_owner_device(guid_of(1)), kept);
  EXPECT_TRUE(tx->get_owner_device(guid_of(2)).has_value());
  EXPECT_FALSE(tx->get_owner_device(guid_of(3)).has_value());
}

// Transactions ----------------------------------------------------------------------------------------------------

TYPED_TEST(StoreTest, DestroyingWithoutCommitRollsBackEveryChange) {
  const Session session = make_session("kept");
  const VoucherRecord voucher = make_voucher(1, "SN1");
  const RvRegistration registration = make_registration(1);
  {
    const auto tx = this->store().begin();
    tx->insert_session(session);
    tx->insert_session(make_session("stale", kNow - 1));
    tx->put_voucher(voucher);
    tx->put_voucher(make_voucher(2, "SN2"));
    tx->put_rv_registration(registration);
    tx->put_rv_registration(make_registration(2, kNow - 1));
    tx->commit();
  }
  {
    const auto tx = this->store().begin();
    tx->insert_session(make_session("new"));
    ASSERT_TRUE(tx->update_session(Session{.token = "kept", .protocol = "x", .state = {}, .expires_at = 1}));
    ASSERT_EQ(tx->purge_expired_sessions(kNow), 2u);
    tx->put_voucher(make_voucher(1, "CHANGED"));
    ASSERT_TRUE(tx->erase_voucher(guid_of(2)));
    tx->put_voucher(make_voucher(3, "SN3"));
    tx->put_rv_registration(make_registration(1, kNow + 1));
    ASSERT_EQ(tx->purge_expired_rv_registrations(kNow + 5), 2u);
    tx->put_rv_registration(make_registration(3));
  }
  const auto tx = this->store().begin();
  EXPECT_EQ(tx->get_session("kept", kNow), session);
  EXPECT_TRUE(tx->get_session("stale", kNow - 2).has_value());
  EXPECT_FALSE(tx->get_session("new", kNow).has_value());
  EXPECT_EQ(tx->get_voucher(guid_of(1)), voucher);
  EXPECT_TRUE(tx->get_voucher(guid_of(2)).has_value());
  EXPECT_FALSE(tx->get_voucher(guid_of(3)).has_value());
  EXPECT_EQ(tx->find_voucher_by_serial("SN1"), voucher);
  EXPECT_EQ(tx->get_rv_registration(guid_of(1), kNow), registration);
  EXPECT_TRUE(tx->get_rv_registration(guid_of(2), kNow - 2).has_value());
  EXPECT_FALSE(tx->get_rv_registration(guid_of(3), kNow).has_value());
}

TYPED_TEST(StoreTest, FailedOperationLeavesWholeTransactionToRollBack) {
  {
    const auto tx = this->store().begin();
    tx->insert_session(make_session("first"));
    EXPECT_THROW(tx->insert_session(make_session("first")), Error);
  }
  const auto tx = this->store().begin();
  EXPECT_FALSE(tx->get_session("first", kNow).has_value());
}

TYPED_TEST(StoreTest, OperationsAfterCommitThrow) {
  const auto tx = this->store().begin();
  tx->insert_session(make_session("tok"));
  tx->commit();
  EXPECT_THROW(tx->commit(), Error);
  EXPECT_THROW((void)tx->get_session("tok", kNow), Error);
  EXPECT_THROW(tx->put_voucher(make_voucher(1, "SN")), Error);
  EXPECT_THROW((void)tx->count_rv_registrations(kNow), Error);
  EXPECT_THROW(tx->put_owner_device(make_owner_device(1)), Error);
  EXPECT_THROW((void)tx->list_owner_devices(), Error);
}

TYPED_TEST(StoreTest, NestedBeginOnOneThreadThrowsInsteadOfDeadlocking) {
  const auto outer = this->store().begin();
  try {
    const auto inner = this->store().begin();
    FAIL() << "nested transaction started";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
  }
  outer->insert_session(make_session("tok"));
  outer->commit();
  const auto next = this->store().begin();
  EXPECT_TRUE(next->get_session("tok", kNow).has_value());
}

// A store that serialises transactions never lets an update fail; one with row-level locking (PostgreSQL) lets
// the second of two concurrent read-modify-writes find the version moved on. Either way no update is lost: each
// increment that reported success is in the final count, and a thread retries one that did not.
TYPED_TEST(StoreTest, ConcurrentIncrementsFromThreadsLoseNoUpdates) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 10;
  test::create_counter(this->store(), "counter");
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < kIncrements; ++i) {
        try {
          while (!test::try_increment_counter(this->store(), "counter", [] { std::this_thread::yield(); })) {
          }
        } catch (const Error&) {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  EXPECT_EQ(test::read_counter(this->store(), "counter"), static_cast<std::uint64_t>(kThreads * kIncrements));
}

TYPED_TEST(StoreTest, TransactionOutlivingItsStoreStillRollsBack) {
  std::unique_ptr<Transaction> tx = this->store().begin();
  tx->insert_session(make_session("tok"));
  this->reset_store();
  EXPECT_TRUE(tx->get_session("tok", kNow).has_value());
  tx.reset();
}

}  // namespace
}  // namespace fdo::storage
