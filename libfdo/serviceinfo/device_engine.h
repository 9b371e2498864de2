#pragma once
// The device side of the TO2 ServiceInfo loop, TO2.DeviceServiceInfo (68) → TO2.OwnerServiceInfo (69):
// devmod first, then module replies, with the loop rules of docs/service-info.md "The 68/69 loop" (FDO 1.1 §5.5.10,
// §5.5.11, §3.8).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/serviceinfo/devmod.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"

namespace fdo::serviceinfo {

/// Round trips either side allows in one TO2 run (go-fdo and the C SDK use the same cap).
inline constexpr std::uint64_t kMaxRounds = 1'000'000;
/// The device's pause before an empty poll that follows an empty 69 (docs/service-info.md "The 68/69 loop", L5).
inline constexpr std::chrono::seconds kPollDelay{1};

/// Device engine settings.
struct DeviceOptions {
  /// Messages for an unknown or inactive module fail TO2 (101) instead of being skipped and logged.
  bool strict = false;
  /// The maxOwnerServiceInfoSz we announced in 66: a 69 whose ServiceInfo is larger is 101. 0: not checked.
  std::size_t receive_mtu = kDefaultMtu;
  std::uint64_t max_rounds = kMaxRounds;
};

/// One TO2.DeviceServiceInfo (68) body: [IsMoreServiceInfo, ServiceInfo].
struct DeviceSend {
  bool is_more = false;
  ServiceInfo kvs;
};

/// What one module did in a run, for `fdo-device --json`.
struct DeviceModuleReport {
  std::string name;
  bool active = false;  ///< the owner activated it at some point
  bool failed = false;
  std::string error;    ///< why it failed
  bool operator==(const DeviceModuleReport&) const = default;
};

/// Drives one TO2 run's ServiceInfo exchange on the device: call next_message() for each 68 and
/// on_owner_message() with each 69, until done(); then finish(). A thrown fdo::Error carries the code for the 255
/// the device sends instead of the next 68.
class DeviceEngine {
 public:
  /// `devmod` is sent as given, except `modules` and `nummodules`, which list "devmod" and every module here.
  DeviceEngine(std::vector<std::unique_ptr<DeviceModule>> modules, DevmodInfo devmod, DeviceOptions options = {});
  ~DeviceEngine();
  DeviceEngine(const DeviceEngine&) = delete;
  DeviceEngine& operator=(const DeviceEngine&) = delete;

  /// The next 68 body, whole plaintext body <= `send_mtu` (the owner's maxDeviceServiceInfoSz, see
  /// effective_mtu()). First devmod (devmod:modules starting a new message), then module output; [false, []] after a
  /// 69 with IsMoreServiceInfo (L3). A KV that cannot fit alone fails its module (500).
  DeviceSend next_message(std::size_t send_mtu);
  /// One 69 body. Order and size violations are Error(InvalidMessageError), undecodable values
  /// Error(MessageBodyError); module failures as DeviceModule says.
  void on_owner_message(bool is_more, bool is_done, const ServiceInfo& kvs);

  /// The owner sent IsDone: the device goes on with TO2.Done (70).
  [[nodiscard]] bool done() const { return m_done; }
  /// Whether to wait kPollDelay before the next 68: it will be an empty poll following an empty 69 (L5).
  [[nodiscard]] bool should_wait() const;
  /// Round trips so far.
  [[nodiscard]] std::uint64_t rounds() const { return m_rounds; }
  /// The devmod values sent (with the module list filled in).
  [[nodiscard]] const DevmodInfo& devmod() const { return m_devmod; }
  /// One entry per module, in module order.
  [[nodiscard]] std::vector<DeviceModuleReport> report() const;
  /// Calls on_end(success) on every module once (later calls do nothing); exceptions are logged and mark the module
  /// failed. The destructor calls finish(false) if nobody did.
  void finish(bool success);

 private:
  struct Slot {
    std::unique_ptr<DeviceModule> module;
    std::string name;
    bool active = false;
    bool ever_active = false;
    bool failed = false;
    std::string error;
  };
  Slot* find(std::string_view name);
  void dispatch(const ServiceInfoKv& kv);
  void activate(std::string_view module, bool on);
  template <typename Fn>
  void call(Slot& slot, std::string_view what, Fn&& fn);
  Slot* owner_of(const ServiceInfoKv& kv);

  std::vector<Slot> m_modules;
  DevmodInfo m_devmod;
  DeviceOptions m_options;
  std::deque<OutboxEntry> m_queue;
  std::optional<ServiceInfoKv> m_fragment;  // a split value's first part, when the owner sent IsMore
  std::uint64_t m_rounds = 0;
  std::size_t m_send_mtu = kMinMtu;  // the last next_message()'s, for Outbox::kv_budget()
  bool m_devmod_queued = false;
  bool m_awaiting_69 = false;  // a 68 went out and its 69 has not come back
  bool m_sent_more = false;    // our last 68 had IsMoreServiceInfo
  bool m_owner_more = false;   // the last 69 had IsMoreServiceInfo
  bool m_empty_69 = false;     // the last 69 was [false, false, []] answering a 68 without IsMore
  bool m_done = false;
  bool m_finished = false;
};

}  // namespace fdo::serviceinfo
