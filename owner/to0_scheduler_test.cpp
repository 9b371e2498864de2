// To0Scheduler (owner/to0_scheduler.h) against in-memory rendezvous servers over the loopback transport: first
// registration after import, renewal before expiry, failures and retries, which states it leaves alone, and the
// background thread.

#include "owner/to0_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/storage/memory_store.h"
#include "owner/voucher_import.h"

namespace fdo::owner_tool {
namespace {

using protocol::RendezvousPolicy;
using protocol::testing::make_test_voucher;
using protocol::testing::RvServer;
using protocol::testing::test_to2_addr;
using protocol::testing::TestVoucher;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kRvUrl = "http://127.0.0.1:8040";

class To0SchedulerTest : public ::testing::Test {
 protected:
  To0SchedulerTest() : m_tv(make_test_voucher("p256", "p256", 1, Guid::random(), kRvUrl)) {}

  /// Options whose transport reaches m_rv, or fails to connect while m_rv_down is set.
  To0SchedulerOptions options() {
    To0SchedulerOptions o;
    o.wait_seconds = 3600;
    o.make_transport = [this](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
      ++m_connects;
      if (m_rv_down || url != kRvUrl) {
        throw Error(ErrorCode::InternalServerError, "cannot connect to 127.0.0.1:8040: connection refused",
                    ErrorSource::Transport);
      }
      return std::make_unique<transport::LoopbackTransport>(m_rv.dispatcher);
    };
    return o;
  }

  void import(const TestVoucher& tv, std::int64_t now = kNow) {
    ASSERT_TRUE(import_vouchers(*m_store, *tv.owner, tv.bytes, now).at(0).ok);
  }

  storage::OwnerDeviceRecord device(const Guid& guid) { return *m_store->begin()->get_owner_device(guid); }

  void set_state(const Guid& guid, const std::string& state, const std::string& new_guid = {}) {
    const auto tx = m_store->begin();
    storage::OwnerDeviceRecord d = *tx->get_owner_device(guid);
    d.state = state;
    d.new_guid = new_guid;
    tx->put_owner_device(d);
    tx->commit();
  }

  std::unique_ptr<TestVoucher> m_tv;
  RvServer m_rv;
  std::unique_ptr<storage::Store> m_store = storage::make_memory_store();
  std::atomic<bool> m_rv_down{false};
  std::atomic<int> m_connects{0};
};

TEST_F(To0SchedulerTest, RegistersAnImportedDeviceAndRenewsOnlyNearExpiry) {
  import(*m_tv);
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), options());
  EXPECT_EQ(scheduler.run_once(kNow), 1u);
  const storage::OwnerDeviceRecord d = device(m_tv->guid());
  EXPECT_EQ(d.state, "registered");
  EXPECT_EQ(d.step, "TO0");
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.to0_expires_at, kNow + 3600);
  EXPECT_EQ(d.to0_detail, kRvUrl + ": 3600 s");
  EXPECT_TRUE(m_rv.registration(m_tv->guid()));
  // Renewed once less than a quarter of the 3600 s granted is left, not before.
  EXPECT_EQ(scheduler.run_once(kNow + 2600), 0u);
  EXPECT_EQ(scheduler.run_once(kNow + 2701), 1u);
  EXPECT_EQ(device(m_tv->guid()).to0_expires_at, kNow + 2701 + 3600);
}

TEST_F(To0SchedulerTest, RenewsAShortGrantWithTheMinimumMargin) {
  RendezvousPolicy strict = RvServer::default_policy();
  strict.max_wait_seconds = 100;
  RvServer short_rv(strict);
  To0SchedulerOptions o = options();
  o.make_transport = [&](const std::string&) -> std::unique_ptr<transport::MessageTransport> {
    return std::make_unique<transport::LoopbackTransport>(short_rv.dispatcher);
  };
  import(*m_tv);
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), o);
  ASSERT_EQ(scheduler.run_once(kNow), 1u);
  EXPECT_EQ(device(m_tv->guid()).to0_expires_at, kNow + 100);
  EXPECT_EQ(scheduler.run_once(kNow + 40), 0u);  // 60 s left: max(60, 100 / 4) is not yet reached
  EXPECT_EQ(scheduler.run_once(kNow + 41), 1u);
}

TEST_F(To0SchedulerTest, AFailureKeepsTheStateRecordsTheStepAndRetriesLater) {
  import(*m_tv);
  m_rv_down = true;
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), options());
  EXPECT_EQ(scheduler.run_once(kNow), 1u);
  storage::OwnerDeviceRecord d = device(m_tv->guid());
  EXPECT_EQ(d.state, "imported");
  EXPECT_EQ(d.step, "TO0 " + kRvUrl);
  EXPECT_EQ(d.error, "cannot connect to 127.0.0.1:8040: connection refused");
  EXPECT_EQ(d.to0_expires_at, 0);
  EXPECT_EQ(d.to0_detail, kRvUrl + ": error cannot connect to 127.0.0.1:8040: connection refused");
  EXPECT_EQ(scheduler.run_once(kNow + 29), 0u);
  m_rv_down = false;
  EXPECT_EQ(scheduler.run_once(kNow + 30), 1u);
  d = device(m_tv->guid());
  EXPECT_EQ(d.state, "registered");
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.step, "TO0");
}

TEST_F(To0SchedulerTest, ARendezvousRefusalIsRecordedWithItsCode) {
  RendezvousPolicy strict = RvServer::default_policy();
  strict.trusted_owner_keys = std::vector<crypto::PublicKey>{};
  RvServer refusing(strict);
  To0SchedulerOptions o = options();
  o.make_transport = [&](const std::string&) -> std::unique_ptr<transport::MessageTransport> {
    return std::make_unique<transport::LoopbackTransport>(refusing.dispatcher);
  };
  import(*m_tv);
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), o);
  EXPECT_EQ(scheduler.run_once(kNow), 1u);
  const storage::OwnerDeviceRecord d = device(m_tv->guid());
  EXPECT_EQ(d.state, "imported");
  EXPECT_EQ(d.error.rfind("INVALID_OWNERSHIP_VOUCHER (2): ", 0), 0u) << d.error;
}

TEST_F(To0SchedulerTest, KeepsEveryDeviceWithAStoredVoucherRegisteredButAnExportedOne) {
  const std::unique_ptr<TestVoucher> onboarding = make_test_voucher("p256", "p256", 1, Guid::random(), kRvUrl);
  const std::unique_ptr<TestVoucher> replaced = make_test_voucher("p256", "p256", 1, Guid::random(), kRvUrl);
  const std::unique_ptr<TestVoucher> reused = make_test_voucher("p256", "p256", 1, Guid::random(), kRvUrl);
  import(*onboarding);
  import(*replaced);
  import(*reused);
  set_state(onboarding->guid(), "onboarding");
  set_state(replaced->guid(), "onboarded", Guid::random().hex());
  set_state(reused->guid(), "onboarded");
  import(*m_tv);
  set_state(m_tv->guid(), "exported");
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), options());
  EXPECT_EQ(scheduler.run_once(kNow), 3u);
  EXPECT_FALSE(m_rv.registration(m_tv->guid()));
  // A run the owner lost in the middle, or whose TO2.Done2 may not have arrived, can come back under the old GUID.
  ASSERT_TRUE(m_rv.registration(onboarding->guid()));
  ASSERT_TRUE(m_rv.registration(replaced->guid()));
  ASSERT_TRUE(m_rv.registration(reused->guid()));
  // TO0 does not take over a TO2 state.
  EXPECT_EQ(device(onboarding->guid()).state, "onboarding");
  const storage::OwnerDeviceRecord d = device(reused->guid());
  EXPECT_EQ(d.state, "onboarded");
  EXPECT_EQ(d.to0_expires_at, kNow + 3600);
}

TEST_F(To0SchedulerTest, ADeviceWithoutItsVoucherIsSkipped) {
  import(*m_tv);
  {
    const auto tx = m_store->begin();
    ASSERT_TRUE(tx->erase_voucher(m_tv->guid()));
    tx->commit();
  }
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), options());
  EXPECT_EQ(scheduler.run_once(kNow), 0u);
  EXPECT_EQ(m_connects, 0);
}

TEST_F(To0SchedulerTest, TheBackgroundThreadRegistersAndStopsPromptly) {
  To0SchedulerOptions o = options();
  o.poll_interval = std::chrono::milliseconds(10);
  o.clock = [] { return kNow; };
  To0Scheduler scheduler(*m_store, *m_tv->owner, test_to2_addr(), o);
  scheduler.start();
  EXPECT_THROW(scheduler.start(), Error);
  import(*m_tv);
  scheduler.wake();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (device(m_tv->guid()).state != "registered" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(device(m_tv->guid()).state, "registered");
  const auto before = std::chrono::steady_clock::now();
  scheduler.stop();
  scheduler.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
}

}  // namespace
}  // namespace fdo::owner_tool
