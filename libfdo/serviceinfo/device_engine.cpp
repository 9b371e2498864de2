#include "libfdo/serviceinfo/device_engine.h"

#include <exception>
#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::serviceinfo {
namespace {

constexpr std::string_view k69 = "TO2.OwnerServiceInfo";

}  // namespace

DeviceEngine::DeviceEngine(std::vector<std::unique_ptr<DeviceModule>> modules, DevmodInfo devmod,
                           DeviceOptions options)
    : m_devmod(std::move(devmod)), m_options(options) {
  m_devmod.modules = {std::string(kDevmod)};
  for (std::unique_ptr<DeviceModule>& module : modules) {
    if (!module) {
      throw_internal("device module list holds a null module");
    }
    std::string name(module->name());
    if (name == kDevmod || find(name) != nullptr || name.find(':') != std::string::npos) {
      throw_internal("device module name \"" + name + "\" is reserved, repeated or has a colon");
    }
    m_devmod.modules.push_back(name);
    Slot slot;
    slot.module = std::move(module);
    slot.name = std::move(name);
    m_modules.push_back(std::move(slot));
  }
  // FDO 1.1 §3.8: nummodules counts every module the device supports, devmod included.
  m_devmod.nummodules = m_devmod.modules.size();
}

DeviceEngine::~DeviceEngine() {
  try {
    finish(false);
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may leave a destructor (docs/style.md §4)
  }
}

DeviceEngine::Slot* DeviceEngine::find(std::string_view name) {
  for (Slot& slot : m_modules) {
    if (slot.name == name) {
      return &slot;
    }
  }
  return nullptr;
}

DeviceEngine::Slot* DeviceEngine::owner_of(const ServiceInfoKv& kv) {
  const std::size_t colon = kv.key.find(':');
  return find(std::string_view(kv.key).substr(0, colon));
}

template <typename Fn>
void DeviceEngine::call(Slot& slot, std::string_view what, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    slot.failed = true;
    slot.error = e.what();
    // The owner's input was malformed (100) or out of order (101): that code goes back in the 255.
    if (e.code() == ErrorCode::MessageBodyError || e.code() == ErrorCode::InvalidMessageError) {
      throw;
    }
    throw Error(ErrorCode::InternalServerError, "module " + slot.name + " " + std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    slot.failed = true;
    slot.error = e.what();
    throw_internal("module " + slot.name + " " + std::string(what) + ": " + e.what());
  }
}

DeviceSend DeviceEngine::next_message(std::size_t send_mtu) {
  if (m_done) {
    throw_internal("ServiceInfo: the owner already sent IsDone");
  }
  if (m_awaiting_69) {
    throw_internal("ServiceInfo: next 68 requested before the 69 answering the last one");
  }
  if (++m_rounds > m_options.max_rounds) {
    throw_invalid("ServiceInfo: more than " + std::to_string(m_options.max_rounds) + " round trips");
  }
  m_awaiting_69 = true;
  m_send_mtu = send_mtu;
  // L3: while the owner holds the floor the device only pulls, with [false, []].
  if (m_owner_more) {
    m_sent_more = false;
    return {};
  }
  if (!m_devmod_queued) {
    // L1: devmod first; devmod:modules starts a new message so the list gets the whole MTU (as go-fdo does).
    bool first_modules = true;
    for (ServiceInfoKv& kv : devmod_kvs(m_devmod, max_single_kv(send_mtu, kDeviceFlags))) {
      const bool is_modules = kv.key == "devmod:modules";
      m_queue.push_back(OutboxEntry{.kv = std::move(kv), .break_before = is_modules && first_modules});
      first_modules = first_modules && !is_modules;
    }
    m_devmod_queued = true;
  } else if (!m_sent_more) {
    for (Slot& slot : m_modules) {
      if (slot.active && !slot.failed) {
        Outbox out(slot.name, m_queue, max_single_kv(m_send_mtu, kDeviceFlags));
        call(slot, "poll", [&] { slot.module->on_poll(out); });
      }
    }
  }
  Packer packer(send_mtu, kDeviceFlags);
  while (!m_queue.empty()) {
    const OutboxEntry& entry = m_queue.front();
    if (entry.break_before && !packer.empty()) {
      break;
    }
    if (!packer.try_add(entry.kv)) {
      if (!packer.empty()) {
        break;
      }
      const std::string why = "ServiceInfo " + entry.kv.key + " of " + std::to_string(encoded_size(entry.kv)) +
                              " bytes does not fit a " + std::to_string(send_mtu) + "-byte 68";
      if (Slot* slot = owner_of(entry.kv); slot != nullptr) {
        slot->failed = true;
        slot->error = why;
      }
      throw_internal(why);
    }
    m_queue.pop_front();
  }
  m_sent_more = !m_queue.empty();
  return DeviceSend{.is_more = m_sent_more, .kvs = std::move(packer).take()};
}

void DeviceEngine::on_owner_message(bool is_more, bool is_done, const ServiceInfo& kvs) {
  if (!m_awaiting_69) {
    throw_internal("ServiceInfo: a 69 without a 68 before it");
  }
  m_awaiting_69 = false;
  // L4: IsDone ends the loop, and IsMoreServiceInfo must then be false.
  if (is_more && is_done) {
    throw_invalid(std::string(k69) + ": IsMoreServiceInfo and IsDone both true");
  }
  if (m_options.receive_mtu != 0 && encoded_size(kvs) > m_options.receive_mtu) {
    throw_invalid(std::string(k69) + ": ServiceInfo of " + std::to_string(encoded_size(kvs)) +
                  " bytes exceeds the maxOwnerServiceInfoSz " + std::to_string(m_options.receive_mtu) + " we sent");
  }
  // L2: while the device holds the floor the owner answers [false, false, []].
  if (m_sent_more && (is_more || is_done || !kvs.empty())) {
    throw_invalid(std::string(k69) + ": expected [false, false, []] while the device has more ServiceInfo");
  }
  const ServiceInfo in = take_complete(m_fragment, kvs, is_more);  // a split value may go on in the next 69
  for (const ServiceInfoKv& kv : in) {
    dispatch(kv);
  }
  m_owner_more = is_more;
  m_empty_69 = !m_sent_more && !is_more && !is_done && kvs.empty();
  if (is_done) {
    m_done = true;
    if (!m_queue.empty()) {
      log::warn("ServiceInfo: IsDone arrived with " + std::to_string(m_queue.size()) + " device KVs unsent");
    }
  }
}

void DeviceEngine::dispatch(const ServiceInfoKv& kv) {
  const auto [module, message] = split_key(kv.key);
  if (message == kActive) {
    activate(module, read_bool_value(kv.value, kv.key));
    return;
  }
  Slot* slot = find(module);
  if (module == kDevmod || slot == nullptr || !slot->active) {
    const std::string why = module == kDevmod   ? "devmod takes no owner messages"
                            : slot == nullptr ? "unknown module"
                                              : "module not active";
    if (m_options.strict) {
      throw_invalid(std::string(k69) + " " + kv.key + ": " + why);
    }
    log::warn("ServiceInfo " + kv.key + " skipped: " + why);
    return;
  }
  Outbox out(slot->name, m_queue, max_single_kv(m_send_mtu, kDeviceFlags));
  const std::string_view name = message;  // clang 14 cannot capture a structured binding in a lambda
  call(*slot, name, [&] { slot->module->on_message(name, kv.value, out); });
}

void DeviceEngine::activate(std::string_view module, bool on) {
  // FDO 1.1 §3.8: the device answers an activation with module:active true if it has the module, false if not.
  if (module == kDevmod) {
    if (on) {
      m_queue.push_back(OutboxEntry{.kv = make_kv(kDevmod, kActive, bool_value(true)), .break_before = false});
    }
    return;
  }
  Slot* slot = find(module);
  if (slot == nullptr) {
    if (on) {
      log::info("ServiceInfo: owner activated unknown module " + std::string(module) + "; answering active=false");
      m_queue.push_back(OutboxEntry{.kv = make_kv(module, kActive, bool_value(false)), .break_before = false});
    }
    return;
  }
  if (on) {
    m_queue.push_back(OutboxEntry{.kv = make_kv(module, kActive, bool_value(true)), .break_before = false});
  }
  if (slot->active == on) {
    return;
  }
  slot->active = on;
  slot->ever_active = slot->ever_active || on;
  call(*slot, "activation", [&] { slot->module->on_active(on); });
}

bool DeviceEngine::should_wait() const {
  return !m_done && !m_awaiting_69 && m_devmod_queued && m_empty_69 && m_queue.empty();
}

std::vector<DeviceModuleReport> DeviceEngine::report() const {
  std::vector<DeviceModuleReport> out;
  for (const Slot& slot : m_modules) {
    out.push_back(
        DeviceModuleReport{.name = slot.name, .active = slot.ever_active, .failed = slot.failed, .error = slot.error});
  }
  return out;
}

void DeviceEngine::finish(bool success) {
  if (m_finished) {
    return;
  }
  m_finished = true;
  for (Slot& slot : m_modules) {
    try {
      slot.module->on_end(success);
    } catch (const std::exception& e) {
      log::error("module " + slot.name + " end: " + e.what());
      slot.failed = true;
      slot.error = e.what();
    }
  }
}

}  // namespace fdo::serviceinfo
