#include "libfdo/serviceinfo/device_module.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::serviceinfo {

void Outbox::send(std::string_view message, ByteView cbor_value) {
  m_queue.push_back(OutboxEntry{.kv = make_kv(m_module, message, cbor_value), .break_before = m_break});
  m_break = false;
}

void DeviceRegistry::add(std::string name, Factory factory) {
  if (m_factories.contains(name)) {
    throw_internal("device module \"" + name + "\" registered twice");
  }
  m_factories.emplace(std::move(name), std::move(factory));
}

bool DeviceRegistry::contains(std::string_view name) const { return m_factories.find(name) != m_factories.end(); }

std::vector<std::string> DeviceRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : m_factories) {
    out.push_back(name);
  }
  return out;
}

std::vector<std::unique_ptr<DeviceModule>> DeviceRegistry::create_all() const { return create(names()); }

std::vector<std::unique_ptr<DeviceModule>> DeviceRegistry::create(const std::vector<std::string>& only) const {
  std::vector<std::unique_ptr<DeviceModule>> out;
  for (const std::string& name : only) {
    const auto it = m_factories.find(name);
    if (it == m_factories.end()) {
      log::warn("device module \"" + name + "\" is not known; left out");
      continue;
    }
    out.push_back(it->second());
  }
  return out;
}

}  // namespace fdo::serviceinfo
