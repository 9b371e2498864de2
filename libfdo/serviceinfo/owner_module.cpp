#include "libfdo/serviceinfo/owner_module.h"

#include <utility>

#include "libfdo/core/error.h"

namespace fdo::serviceinfo {

void OwnerRegistry::add(std::string name, Factory factory) {
  if (m_factories.contains(name)) {
    throw_internal("owner module \"" + name + "\" registered twice");
  }
  m_factories.emplace(std::move(name), std::move(factory));
}

bool OwnerRegistry::contains(std::string_view name) const { return m_factories.find(name) != m_factories.end(); }

std::vector<std::string> OwnerRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : m_factories) {
    out.push_back(name);
  }
  return out;
}

std::unique_ptr<OwnerModule> OwnerRegistry::create(std::string_view name, ByteView params) const {
  const auto it = m_factories.find(name);
  if (it == m_factories.end()) {
    throw_internal("owner module \"" + std::string(name) + "\" is not registered");
  }
  std::unique_ptr<OwnerModule> module = it->second(params);
  if (!module || module->name() != name) {
    throw_internal("owner module factory \"" + std::string(name) + "\" made no module of that name");
  }
  return module;
}

}  // namespace fdo::serviceinfo
