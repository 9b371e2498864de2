#pragma once
// The owner side of the TO2 ServiceInfo loop: answers each TO2.DeviceServiceInfo (68) with a
// TO2.OwnerServiceInfo (69), collecting devmod and running the plan's modules one at a time
// (FDO 1.1 §5.5.10, §5.5.11, §3.8; docs/service-info.md "The 68/69 loop").

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/serviceinfo/devmod.h"
#include "libfdo/serviceinfo/device_engine.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::serviceinfo {

/// Owner engine settings (stored with the engine state).
struct OwnerOptions {
  /// The maxDeviceServiceInfoSz we announced in 67: a 68 whose ServiceInfo is larger is 101. 0: not checked.
  std::size_t receive_mtu = kDefaultMtu;
  std::uint64_t max_rounds = kMaxRounds;
  bool operator==(const OwnerOptions&) const = default;
};

/// One TO2.OwnerServiceInfo (69) body: [IsMoreServiceInfo, IsDone, ServiceInfo].
struct OwnerReply {
  bool is_more = false;
  bool is_done = false;
  ServiceInfo kvs;
  bool operator==(const OwnerReply&) const = default;
};

/// Where one plan step stands.
enum class ModuleState : std::uint8_t {
  Pending = 0,      ///< not started (waiting for devmod or its turn)
  Running = 1,      ///< activated, not done
  Done = 2,         ///< finished
  Unsupported = 3,  ///< not in devmod:modules, or the device answered active = false
  Declined = 4,     ///< the module's on_devmod() opted out for this device
  Failed = 5,       ///< raised an error; the run failed
  Skipped = 6,      ///< not run: an earlier module quarantined the device and this one is not in its plan
};

/// The spec-free name of a state for logs and JSON ("pending", "running", ...).
std::string_view module_state_name(ModuleState state);

/// One plan step's outcome, for the owner's device status.
struct ModuleOutcome {
  std::string module;
  bool required = false;
  ModuleState state = ModuleState::Pending;
  std::string error;
  /// OwnerModule::summary() of the module, when it exists in this run.
  std::string summary;
  bool operator==(const ModuleOutcome&) const = default;
};

/// Runs the ServiceInfo loop of one TO2 run on the owner. Keeps a pointer to the registry, which must outlive it.
/// Between messages the server stores save() in the session and continues with restore() in any process.
class OwnerEngine {
 public:
  /// Error(InternalServerError) if the plan names a module the registry lacks, or one twice.
  OwnerEngine(Plan plan, const OwnerRegistry& registry, OwnerOptions options = {});
  OwnerEngine(Plan plan, const OwnerRegistry&& registry, OwnerOptions options = {}) = delete;
  OwnerEngine(OwnerEngine&&) noexcept;
  OwnerEngine& operator=(OwnerEngine&&) noexcept;
  ~OwnerEngine();

  /// The 69 answering one 68 whose plaintext body may be up to `send_mtu` (the device's maxOwnerServiceInfoSz, see
  /// effective_mtu()). Order and size violations are Error(InvalidMessageError), undecodable values
  /// Error(MessageBodyError), a failed or unsupported required module Error(InternalServerError).
  OwnerReply on_device_message(bool is_more, const ServiceInfo& kvs, std::size_t send_mtu);

  /// The complete state (plan, devmod, loop flags, queue, every module's save()) as CBOR.
  [[nodiscard]] Bytes save() const;
  /// The engine save() made; Error(InternalServerError) if the bytes are not one.
  static OwnerEngine restore(ByteView state, const OwnerRegistry& registry);
  static OwnerEngine restore(ByteView state, const OwnerRegistry&& registry) = delete;

  /// devmod as received so far.
  [[nodiscard]] const DevmodInfo& devmod() const { return m_devmod; }
  /// Whether the device has finished sending devmod (a 68 without IsMoreServiceInfo arrived).
  [[nodiscard]] bool devmod_complete() const { return m_devmod_complete; }
  /// Whether the owner has sent IsDone.
  [[nodiscard]] bool done() const { return m_done_sent; }
  [[nodiscard]] std::uint64_t rounds() const { return m_rounds; }
  /// Whether a module quarantined the device in this run (Produced::quarantine).
  [[nodiscard]] bool quarantined() const { return m_quarantined; }
  /// The same, read from save()'s output without rebuilding the engine and its modules (TO2.Done).
  /// Error(InternalServerError) if the bytes are not an engine state.
  static bool quarantined_in(ByteView state);
  /// One entry per plan step, in plan order.
  [[nodiscard]] std::vector<ModuleOutcome> outcomes() const;

 private:
  struct Step {
    PlanStep plan;
    ModuleState state = ModuleState::Pending;
    bool active_sent = false;
    std::string error;
    std::unique_ptr<OwnerModule> module;
  };
  OwnerEngine(const OwnerRegistry& registry, OwnerOptions options);
  Step* find(std::string_view module);
  void dispatch(const ServiceInfoKv& kv);
  void complete_devmod();
  void mark_unsupported(Step& step, const std::string& why);
  OwnerReply produce(std::size_t send_mtu);
  template <typename Fn>
  auto call(Step& step, std::string_view what, Fn&& fn);

  const OwnerRegistry* m_registry;
  OwnerOptions m_options;
  std::vector<Step> m_steps;
  DevmodInfo m_devmod;
  std::deque<ServiceInfoKv> m_queue;        // produced, not yet sent
  std::optional<ServiceInfoKv> m_fragment;  // a split value's first part, when the device sent IsMore
  std::size_t m_current = 0;                // the step that produces now
  std::uint64_t m_rounds = 0;
  bool m_devmod_complete = false;
  bool m_owner_more = false;  // our last 69 had IsMoreServiceInfo
  bool m_done_sent = false;
  bool m_never_more = false;  // the device cannot take IsMoreServiceInfo (fdo-rs)
  bool m_quarantined = false;
};

}  // namespace fdo::serviceinfo
