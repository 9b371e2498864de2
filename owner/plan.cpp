#include "owner/plan.h"

#include <CLI/CLI.hpp>

#include <sstream>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"

namespace fdo::owner_tool {
namespace {

// The module of a `[params."fdo.download"]` table: CLI11 splits a table name at every dot, quotes included, so the
// parts from `from` on are joined again and the quotes dropped.
std::string table_module(const std::vector<std::string>& parents, std::size_t from) {
  std::string name;
  for (std::size_t i = from; i < parents.size(); ++i) {
    name += (i == from ? "" : ".") + parents[i];
  }
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
  }
  return name;
}

// CLI11 marks section starts and ends with these pseudo-items.
bool is_section_marker(const CLI::ConfigItem& item) { return item.name == "++" || item.name == "--"; }

bool parse_bool(const CLI::ConfigItem& item, const std::string& where) {
  if (item.inputs.size() == 1 && (item.inputs[0] == "true" || item.inputs[0] == "false")) {
    return item.inputs[0] == "true";
  }
  throw_body_error(where + ": expected true or false");
}

void set_field(PlanEntry& entry, const CLI::ConfigItem& item, const std::string& where,
               const serviceinfo::OwnerRegistry& registry) {
  if (item.name == "reuse") {
    entry.reuse = parse_bool(item, where);
  } else if (item.name == "rendezvous") {
    if (item.inputs.empty()) {
      throw_body_error(where + ": expected a list of rendezvous URLs");
    }
    try {
      entry.rendezvous = RendezvousInfo::from_urls(std::span<const std::string>(item.inputs));
    } catch (const Error& e) {
      throw_body_error(where + ": " + e.what());
    }
  } else if (item.name == "modules") {
    std::vector<std::string> modules;
    for (const std::string& name : item.inputs) {
      if (name.empty()) {
        continue;  // `modules = []`
      }
      if (!registry.contains(name)) {
        std::string known;
        for (const std::string& n : registry.names()) {
          known += (known.empty() ? "" : ", ") + n;
        }
        throw_body_error(where + ": no ServiceInfo module \"" + name + "\" (this owner has: " +
                         (known.empty() ? std::string("none besides devmod") : known) + ")");
      }
      modules.push_back(name);
    }
    entry.modules = std::move(modules);
  } else {
    throw_body_error(where + ": unknown key (reuse, rendezvous, modules; in an override also guid or model)");
  }
}

// A module's parameters: the most specific table that gives any for it.
serviceinfo::ModuleParams module_params(const std::vector<const PlanEntry*>& layers, const std::string& module) {
  for (const PlanEntry* layer : layers) {
    if (const auto it = layer->params.find(module); it != layer->params.end()) {
      return serviceinfo::ModuleParams(module, it->second);
    }
  }
  return serviceinfo::ModuleParams(module, {});
}

}  // namespace

OwnerPlans OwnerPlans::parse(std::string_view text, std::string_view file_name,
                             const serviceinfo::OwnerRegistry& registry) {
  std::istringstream in{std::string(text)};
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const std::exception& e) {
    throw_body_error(std::string(file_name) + ": " + e.what());
  }
  OwnerPlans plans;
  struct Override {
    PlanEntry entry;
    std::optional<std::string> guid;
    std::optional<std::string> model;
  };
  std::map<std::string, Override> overrides;
  for (const CLI::ConfigItem& item : items) {
    if (is_section_marker(item)) {
      continue;
    }
    const std::string where = std::string(file_name) + ": " + item.fullname();
    if (item.parents.empty()) {
      set_field(plans.defaults, item, where, registry);
    } else if (item.parents.size() >= 2 && item.parents[0] == "params") {
      plans.defaults.params[table_module(item.parents, 1)][item.name] = item.inputs;
    } else if (item.parents.size() >= 4 && item.parents[0] == "override" && item.parents[2] == "params") {
      overrides[item.parents[1]].entry.params[table_module(item.parents, 3)][item.name] = item.inputs;
    } else if (item.parents.size() == 2 && item.parents[0] == "override") {
      Override& o = overrides[item.parents[1]];
      if (item.name == "guid" || item.name == "model") {
        if (item.inputs.size() != 1 || item.inputs[0].empty()) {
          throw_body_error(where + ": expected one string");
        }
        (item.name == "guid" ? o.guid : o.model) = item.inputs[0];
      } else {
        set_field(o.entry, item, where, registry);
      }
    } else {
      throw_body_error(where + ": unknown table ([params.MODULE], [override.NAME] and [override.NAME.params.MODULE] are "
                       "allowed)");
    }
  }
  for (auto& [name, o] : overrides) {
    const std::string where = std::string(file_name) + ": [override." + name + "]";
    if (o.guid.has_value() == o.model.has_value()) {
      throw_body_error(where + ": give exactly one of guid and model");
    }
    if (o.guid) {
      Bytes raw;
      try {
        raw = from_hex(*o.guid);
      } catch (const Error&) {
      }
      if (raw.size() != Guid::kSize) {
        throw_body_error(where + ": guid must be 32 hex digits");
      }
      plans.by_guid[Guid::from(raw)] = std::move(o.entry);
    } else {
      plans.by_model[*o.model] = std::move(o.entry);
    }
  }
  // Every module each table would run is made once with the parameters it would get, so that a bad parameter or a
  // missing file is reported at start-up (docs/owner.md "Plans").
  const PlanEntry none;
  std::vector<std::pair<std::string, const PlanEntry*>> tables{{"top level", &plans.defaults}};
  for (const auto& [guid, entry] : plans.by_guid) {
    tables.emplace_back("override for " + guid.hex(), &entry);
  }
  for (const auto& [model, entry] : plans.by_model) {
    tables.emplace_back("override for model " + model, &entry);
  }
  for (const auto& [what, entry] : tables) {
    const std::vector<const PlanEntry*> chain{entry, &plans.defaults};
    const std::vector<std::string> modules =
        entry->modules ? *entry->modules : plans.defaults.modules.value_or(std::vector<std::string>{});
    for (const std::string& module : modules) {
      try {
        (void)registry.create(module, module_params(chain, module).encode());
      } catch (const Error& e) {
        throw_body_error(std::string(file_name) + ": " + what + ": " + e.what());
      }
    }
  }
  return plans;
}

OwnerPlans OwnerPlans::load(const std::filesystem::path& file, const serviceinfo::OwnerRegistry& registry) {
  return parse(to_string(read_file(file)), file.string(), registry);
}

std::vector<const PlanEntry*> OwnerPlans::layers(const Guid* guid, std::string_view model,
                                                 const PlanEntry& fallback) const {
  std::vector<const PlanEntry*> out;  // most specific first
  if (guid != nullptr) {
    if (const auto it = by_guid.find(*guid); it != by_guid.end()) {
      out.push_back(&it->second);
    }
  }
  if (const auto it = by_model.find(model); it != by_model.end()) {
    out.push_back(&it->second);
  }
  out.push_back(&defaults);
  out.push_back(&fallback);
  return out;
}

protocol::DevicePlan OwnerPlans::resolve(const Guid& guid, std::string_view model, const PlanEntry& fallback) const {
  const std::vector<const PlanEntry*> layers = this->layers(&guid, model, fallback);
  protocol::DevicePlan plan;
  auto pick = [&](auto member) -> std::remove_cvref_t<decltype(PlanEntry{}.*member)> {
    for (const PlanEntry* layer : layers) {
      if (layer->*member) {
        return layer->*member;
      }
    }
    return std::nullopt;
  };
  plan.reuse = pick(&PlanEntry::reuse).value_or(false);
  plan.rendezvous_info = pick(&PlanEntry::rendezvous);
  for (const std::string& module : pick(&PlanEntry::modules).value_or(std::vector<std::string>{})) {
    plan.service_info.steps.push_back(serviceinfo::PlanStep{
        .module = module, .params = module_params(layers, module).encode(), .required = false});
  }
  return plan;
}

}  // namespace fdo::owner_tool
