#pragma once
// Automatic TO0 (FDO 1.1 §5.3; docs/owner.md "Automatic TO0"): registers every device the owner holds a voucher
// for with the rendezvous servers of its RendezvousInfo, right after import and again before each registration
// lapses, and records the outcome in the device's status (storage::OwnerDeviceRecord).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "libfdo/core/fixed_bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/protocol/to0_owner.h"
#include "libfdo/storage/store.h"
#include "owner/config.h"
#include "libfdo/types/rvto2addr.h"

namespace fdo::owner_tool {

/// Settings of a To0Scheduler.
struct To0SchedulerOptions {
  /// The WaitSeconds asked for in TO0.OwnerSign (FDO 1.1 §5.3.2).
  std::uint32_t wait_seconds = 3600;
  /// A registration is renewed when less than max(refresh_margin, a quarter of the time granted) is left.
  std::int64_t refresh_margin = 60;
  /// Seconds after a failed attempt before the next one.
  std::int64_t retry_after_failure = 30;
  /// How often the background thread looks for due devices.
  std::chrono::milliseconds poll_interval{2000};
  /// The transport per rendezvous URL; empty means HTTP(S).
  protocol::TransportFactory make_transport;
  /// Unix seconds for the background thread; empty means the system clock.
  std::function<std::int64_t()> clock;
};

/// Keeps the owner's devices registered at their rendezvous servers. A device is due when it has a stored voucher,
/// is in any state but "exported" (a run interrupted while "onboarding", or "onboarded" with a new GUID whose
/// TO2.Done2 may have been lost, can come back under the old GUID: docs/owner.md "Crash safety"), and either its last
/// attempt failed at some server (to0_detail holds an error) at least retry_after_failure before, or it succeeded
/// and its registration is missing or within the refresh margin. All of it is read from the store, so a restarted
/// owner carries on where it stopped. Thread safe: run_once() calls serialise.
class To0Scheduler {
 public:
  /// `store` and the keys of `owner_keys` must outlive the scheduler; each voucher is registered with the key its last
  /// entry names.
  To0Scheduler(storage::Store& store, OwnerKeyRing owner_keys, RVTO2Addr to2_addr,
               To0SchedulerOptions options = {});
  /// Stops the background thread.
  ~To0Scheduler();
  To0Scheduler(const To0Scheduler&) = delete;
  To0Scheduler& operator=(const To0Scheduler&) = delete;

  /// Starts the background thread, which calls run_once() every poll_interval and logs what fails (it never
  /// throws). Error(InternalServerError) if it already runs.
  void start();
  /// Stops the background thread after the registration in progress, if any; idempotent.
  void stop();
  /// Makes the background thread look for due devices now (after an import).
  void wake();

  /// Runs TO0 (protocol::register_with_all) for every due device at time `now`, then records per device: on
  /// success at one server or more, to0_expires_at = now + the least WaitSeconds granted, to0_detail one line per
  /// server ("URL: 3600 s", "URL: error …"), state "registered" (a device "failed" at TO2 or "onboarded" keeps
  /// its state, step and error); on failure everywhere the state is kept and error and step ("TO0 URL") say what
  /// failed. Returns how many devices were tried. Throws only on storage failures.
  std::size_t run_once(std::int64_t now);

 private:
  void loop();

  storage::Store& m_store;
  OwnerKeyRing m_owner_keys;
  RVTO2Addr m_to2_addr;
  To0SchedulerOptions m_options;
  std::mutex m_run_mutex;  // one run_once at a time
  std::mutex m_mutex;      // guards m_stop and m_wake
  std::condition_variable m_cv;
  bool m_stop = false;
  bool m_wake = false;
  std::thread m_thread;
};

}  // namespace fdo::owner_tool
