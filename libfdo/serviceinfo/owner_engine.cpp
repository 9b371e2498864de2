#include "libfdo/serviceinfo/owner_engine.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::serviceinfo {
namespace {

constexpr std::string_view k68 = "TO2.DeviceServiceInfo";
constexpr std::uint64_t kStateVersion = 2;
constexpr std::size_t kStateItems = 13;
constexpr std::size_t kStepItems = 7;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// docs/service-info.md "Interop": fdo-rs aborts on a 69 with IsMoreServiceInfo; it lists only its own modules.
bool is_fdo_rs(const DevmodInfo& devmod) {
  const auto& m = devmod.modules;
  const bool standard = std::any_of(m.begin(), m.end(), [](const std::string& n) { return starts_with(n, "fdo."); });
  const bool fedora =
      std::any_of(m.begin(), m.end(), [](const std::string& n) { return starts_with(n, "org.fedoraiot."); });
  return fedora && !standard;
}

}  // namespace

std::string_view module_state_name(ModuleState state) {
  switch (state) {
    case ModuleState::Pending:
      return "pending";
    case ModuleState::Running:
      return "running";
    case ModuleState::Done:
      return "done";
    case ModuleState::Unsupported:
      return "unsupported";
    case ModuleState::Declined:
      return "declined";
    case ModuleState::Failed:
      return "failed";
    case ModuleState::Skipped:
      return "skipped (quarantine)";
  }
  return "unknown";
}

OwnerEngine::OwnerEngine(const OwnerRegistry& registry, OwnerOptions options)
    : m_registry(&registry), m_options(options) {}

OwnerEngine::OwnerEngine(Plan plan, const OwnerRegistry& registry, OwnerOptions options)
    : OwnerEngine(registry, options) {
  for (PlanStep& plan_step : plan.steps) {
    if (plan_step.module == kDevmod || find(plan_step.module) != nullptr || !registry.contains(plan_step.module)) {
      throw_internal("ServiceInfo plan: module \"" + plan_step.module + "\" is devmod, repeated or not registered");
    }
    Step step;
    step.plan = std::move(plan_step);
    m_steps.push_back(std::move(step));
  }
}

OwnerEngine::OwnerEngine(OwnerEngine&&) noexcept = default;
OwnerEngine& OwnerEngine::operator=(OwnerEngine&&) noexcept = default;
OwnerEngine::~OwnerEngine() = default;

OwnerEngine::Step* OwnerEngine::find(std::string_view module) {
  for (Step& step : m_steps) {
    if (step.plan.module == module) {
      return &step;
    }
  }
  return nullptr;
}

template <typename Fn>
auto OwnerEngine::call(Step& step, std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    step.state = ModuleState::Failed;
    step.error = e.what();
    // The device's input was malformed (100) or out of order (101): that code goes back in the 255.
    if (e.code() == ErrorCode::MessageBodyError || e.code() == ErrorCode::InvalidMessageError) {
      throw;
    }
    throw Error(ErrorCode::InternalServerError,
                "module " + step.plan.module + " " + std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    step.state = ModuleState::Failed;
    step.error = e.what();
    throw_internal("module " + step.plan.module + " " + std::string(what) + ": " + e.what());
  }
}

OwnerReply OwnerEngine::on_device_message(bool is_more, const ServiceInfo& kvs, std::size_t send_mtu) {
  if (++m_rounds > m_options.max_rounds) {
    throw_invalid("ServiceInfo: more than " + std::to_string(m_options.max_rounds) + " round trips");
  }
  if (m_options.receive_mtu != 0 && encoded_size(kvs) > m_options.receive_mtu) {
    throw_invalid(std::string(k68) + ": ServiceInfo of " + std::to_string(encoded_size(kvs)) +
                  " bytes exceeds the maxDeviceServiceInfoSz " + std::to_string(m_options.receive_mtu) + " we sent");
  }
  if (m_done_sent) {
    // L4: the C SDK may send 68s after IsDone (active = false for modules it lacks): answer IsDone again.
    if (is_more) {
      throw_invalid(std::string(k68) + ": IsMoreServiceInfo after the owner sent IsDone");
    }
    for (const ServiceInfoKv& kv : kvs) {
      const auto [module, message] = split_key(kv.key);
      Step* step = find(module);
      if (message == kActive && step != nullptr && !read_bool_value(kv.value, kv.key)) {
        step->state = ModuleState::Unsupported;
        step->error = "device answered active=false";
      }
      log::info("ServiceInfo " + kv.key + " after IsDone: noted, not processed");
    }
    return OwnerReply{.is_more = false, .is_done = true, .kvs = {}};
  }
  // L3: after a 69 with IsMoreServiceInfo the device must send [false, []].
  if (m_owner_more && (is_more || !kvs.empty())) {
    throw_invalid(std::string(k68) + ": expected [false, []] after a 69 with IsMoreServiceInfo");
  }
  const ServiceInfo in = take_complete(m_fragment, kvs, is_more);  // a split value may go on in the next 68
  // Device KVs are merged from every 68, not only those with IsMoreServiceInfo.
  for (const ServiceInfoKv& kv : in) {
    dispatch(kv);
  }
  if (!m_devmod_complete && !is_more) {
    complete_devmod();
  }
  // L2: while the device holds the floor the owner answers [false, false, []].
  if (is_more) {
    m_owner_more = false;
    return OwnerReply{};
  }
  return produce(send_mtu);
}

void OwnerEngine::dispatch(const ServiceInfoKv& kv) {
  const auto [module, message] = split_key(kv.key);
  if (module == kDevmod) {
    if (m_devmod_complete) {
      throw_invalid(std::string(k68) + " " + kv.key + ": devmod after the device ended devmod");
    }
    merge_devmod(m_devmod, message, kv.value);
    return;
  }
  Step* step = find(module);
  if (message == kActive) {
    const bool on = read_bool_value(kv.value, kv.key);
    if (step == nullptr) {
      log::info("ServiceInfo: device reports " + kv.key + "=" + (on ? "true" : "false") + ", not in the plan");
    } else if (!on && step->state != ModuleState::Unsupported && step->state != ModuleState::Declined &&
               step->state != ModuleState::Failed) {
      mark_unsupported(*step, "device answered active=false");
    }
    return;
  }
  if (step == nullptr || !step->module || step->state == ModuleState::Unsupported ||
      step->state == ModuleState::Declined || step->state == ModuleState::Failed ||
      step->state == ModuleState::Skipped) {
    log::warn("ServiceInfo " + kv.key + " from the device skipped: module not running");
    return;
  }
  const std::string_view name = message;  // clang 14 cannot capture a structured binding in a lambda
  call(*step, name, [&] { step->module->on_message(name, kv.value); });
}

void OwnerEngine::mark_unsupported(Step& step, const std::string& why) {
  step.state = ModuleState::Unsupported;
  step.error = why;
  step.module.reset();
  log::info("ServiceInfo module " + step.plan.module + " unsupported: " + why);
  if (step.plan.required) {
    step.state = ModuleState::Failed;
    throw_internal("ServiceInfo: required module " + step.plan.module + " unsupported: " + why);
  }
}

void OwnerEngine::complete_devmod() {
  m_devmod_complete = true;
  const std::vector<std::string> missing = missing_required(m_devmod);
  if (!missing.empty()) {
    std::string list;
    for (const std::string& key : missing) {
      list += (list.empty() ? "" : ", ") + key;
    }
    log::warn("devmod lacks required " + list);
  }
  if (m_devmod.nummodules != 0 && m_devmod.nummodules != m_devmod.modules.size()) {
    log::info("devmod:nummodules " + std::to_string(m_devmod.nummodules) + " but " +
              std::to_string(m_devmod.modules.size()) + " names in devmod:modules");
  }
  if (is_fdo_rs(m_devmod)) {
    m_never_more = true;
    log::info("devmod looks like fdo-rs: no IsMoreServiceInfo in 69s");
  }
  const auto& listed = m_devmod.modules;
  for (Step& step : m_steps) {
    if (step.state != ModuleState::Pending) {
      continue;
    }
    // Only modules the device listed get activated (docs/service-info.md "Activation").
    if (std::find(listed.begin(), listed.end(), step.plan.module) == listed.end()) {
      mark_unsupported(step, "not in devmod:modules");
      continue;
    }
    step.module = m_registry->create(step.plan.module, step.plan.params);
    const bool wanted = call(step, "devmod", [&] { return step.module->on_devmod(m_devmod); });
    if (!wanted) {
      step.state = ModuleState::Declined;
      step.module.reset();
      log::info("ServiceInfo module " + step.plan.module + " declined this device");
    }
  }
}

OwnerReply OwnerEngine::produce(std::size_t send_mtu) {
  Packer packer(send_mtu, kOwnerFlags);
  // Whole KVs in queue order while they fit; a KV that cannot fit an empty 69 is its module's bug.
  const auto drain = [&] {
    while (!m_queue.empty()) {
      if (packer.try_add(m_queue.front())) {
        m_queue.pop_front();
        continue;
      }
      if (packer.empty()) {
        const std::string why = "ServiceInfo " + m_queue.front().key + " of " +
                                std::to_string(encoded_size(m_queue.front())) + " bytes does not fit a " +
                                std::to_string(send_mtu) + "-byte 69";
        const std::size_t colon = m_queue.front().key.find(':');
        if (Step* step = find(std::string_view(m_queue.front().key).substr(0, colon)); step != nullptr) {
          step->state = ModuleState::Failed;
          step->error = why;
        }
        throw_internal(why);
      }
      return;
    }
  };
  drain();
  bool block = false;
  while (m_queue.empty() && m_current < m_steps.size()) {
    Step& step = m_steps[m_current];
    if ((step.state != ModuleState::Pending && step.state != ModuleState::Running) || !step.module) {
      ++m_current;
      continue;
    }
    if (!step.active_sent) {
      // FDO 1.1 §3.8: module:active = true before any other message of the module.
      m_queue.push_back(make_kv(step.plan.module, kActive, bool_value(true)));
      step.active_sent = true;
      step.state = ModuleState::Running;
      drain();
      if (!m_queue.empty()) {
        break;
      }
    }
    Produced out = call(step, "produce", [&] { return step.module->produce(packer.room()); });
    for (ServiceInfoKv& kv : out.kvs) {
      if (kv.key.find(':') == std::string::npos) {
        step.state = ModuleState::Failed;
        throw_internal("module " + step.plan.module + " produced key \"" + kv.key + "\" without a colon");
      }
      m_queue.push_back(std::move(kv));
    }
    block = block || out.block_device;
    if (out.quarantine) {
      // Only the quarantine plan's modules run after this step (docs/service-info.md "TPM-Attest").
      m_quarantined = true;
      for (std::size_t i = m_current + 1; i < m_steps.size(); ++i) {
        Step& later = m_steps[i];
        const auto& keep = *out.quarantine;
        if (later.state == ModuleState::Pending &&
            std::find(keep.begin(), keep.end(), later.plan.module) == keep.end()) {
          later.state = ModuleState::Skipped;
          later.module.reset();
        }
      }
      log::warn("ServiceInfo: " + step.plan.module + " quarantined the device; only the quarantine plan runs");
    }
    if (out.done) {
      step.state = ModuleState::Done;
      ++m_current;
    }
    drain();
    if ((!out.done && out.kvs.empty()) || out.block_device) {
      break;  // waiting for the device, or keeping the floor
    }
  }
  // L4, L5: IsDone only when every module is done and nothing is left to send; its list is empty.
  if (m_current >= m_steps.size() && m_queue.empty() && packer.empty()) {
    m_done_sent = true;
    m_owner_more = false;
    return OwnerReply{.is_more = false, .is_done = true, .kvs = {}};
  }
  bool more = !m_queue.empty() || block;
  if (more && m_never_more) {
    more = false;  // the rest goes in the answer to the device's next 68
  }
  m_owner_more = more;
  return OwnerReply{.is_more = more, .is_done = false, .kvs = std::move(packer).take()};
}

std::vector<ModuleOutcome> OwnerEngine::outcomes() const {
  std::vector<ModuleOutcome> out;
  for (const Step& step : m_steps) {
    out.push_back(ModuleOutcome{.module = step.plan.module,
                                .required = step.plan.required,
                                .state = step.state,
                                .error = step.error,
                                .summary = step.module ? step.module->summary() : std::string()});
  }
  return out;
}

// Stored state (ours, not a wire format):
//   [version, [receive_mtu, max_rounds], [* Step], devmod: bstr, queue: ServiceInfo, fragment: ServiceInfo,
//    current, rounds, devmod_complete, owner_more, done_sent, never_more, quarantined]
//   Step = [module, params: bstr, required, state, active_sent, error, module_state: bstr / null]
Bytes OwnerEngine::save() const {
  cbor::Writer w;
  w.array(kStateItems).uint(kStateVersion);
  w.array(2).uint(m_options.receive_mtu).uint(m_options.max_rounds);
  w.array(m_steps.size());
  for (const Step& step : m_steps) {
    w.array(kStepItems).tstr(step.plan.module).bstr(step.plan.params).boolean(step.plan.required);
    w.uint(static_cast<std::uint8_t>(step.state)).boolean(step.active_sent).tstr(step.error);
    if (step.module) {
      w.bstr(step.module->save());
    } else {
      w.null();
    }
  }
  w.bstr(m_devmod.encode());
  encode_service_info(w, ServiceInfo(m_queue.begin(), m_queue.end()));
  encode_service_info(w, m_fragment ? ServiceInfo{*m_fragment} : ServiceInfo{});
  w.uint(m_current).uint(m_rounds);
  w.boolean(m_devmod_complete).boolean(m_owner_more).boolean(m_done_sent).boolean(m_never_more);
  w.boolean(m_quarantined);
  return std::move(w).take();
}

bool OwnerEngine::quarantined_in(ByteView state) {
  try {
    cbor::Reader r(state, "stored ServiceInfo state");
    r.read_array_of("", kStateItems);
    if (r.read_uint("version") != kStateVersion) {
      r.fail("version", "unknown version");
    }
    for (std::size_t i = 1; i + 1 < kStateItems; ++i) {
      r.skip("item");
    }
    return r.read_bool("quarantined");
  } catch (const Error& e) {
    throw_internal(e.what());
  }
}

OwnerEngine OwnerEngine::restore(ByteView state, const OwnerRegistry& registry) {
  try {
    cbor::Reader r(state, "stored ServiceInfo state");
    r.read_array_of("", kStateItems);
    if (r.read_uint("version") != kStateVersion) {
      r.fail("version", "unknown version");
    }
    r.read_array_of("options", 2);
    OwnerOptions options;
    options.receive_mtu = static_cast<std::size_t>(r.read_uint("receive_mtu"));
    options.max_rounds = r.read_uint("max_rounds");
    OwnerEngine engine(registry, options);
    const std::size_t steps = r.read_array("steps");
    for (std::size_t i = 0; i < steps; ++i) {
      r.read_array_of("step", kStepItems);
      Step step;
      step.plan.module = r.read_tstr("module");
      step.plan.params = r.read_bstr("params");
      step.plan.required = r.read_bool("required");
      step.state = static_cast<ModuleState>(
          r.read_uint_max("state", static_cast<std::uint64_t>(ModuleState::Skipped)));
      step.active_sent = r.read_bool("active_sent");
      step.error = r.read_tstr("error");
      if (!r.try_read_null()) {
        const Bytes module_state = r.read_bstr("module_state");
        step.module = registry.create(step.plan.module, step.plan.params);
        step.module->restore(module_state);
      }
      engine.m_steps.push_back(std::move(step));
    }
    engine.m_devmod = DevmodInfo::decode(r.read_bstr("devmod"));
    for (ServiceInfoKv& kv : decode_service_info(r)) {
      engine.m_queue.push_back(std::move(kv));
    }
    ServiceInfo fragment = decode_service_info(r);
    if (!fragment.empty()) {
      engine.m_fragment = std::move(fragment.front());
    }
    engine.m_current = static_cast<std::size_t>(r.read_uint_max("current", engine.m_steps.size()));
    engine.m_rounds = r.read_uint("rounds");
    engine.m_devmod_complete = r.read_bool("devmod_complete");
    engine.m_owner_more = r.read_bool("owner_more");
    engine.m_done_sent = r.read_bool("done_sent");
    engine.m_never_more = r.read_bool("never_more");
    engine.m_quarantined = r.read_bool("quarantined");
    r.expect_end();
    return engine;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InternalServerError) {
      throw;
    }
    throw_internal(e.what());
  } catch (const std::exception& e) {
    throw_internal(std::string("stored ServiceInfo state: ") + e.what());
  }
}

}  // namespace fdo::serviceinfo
