#pragma once
// The owner's plans (docs/owner.md "Plans"): what TO2 does with each device — credential reuse or replacement, the
// RendezvousInfo a replaced credential gets, and the ServiceInfo modules to run — read from a TOML file:
//
//   reuse = false                                  # the default for every device
//   rendezvous = ["http://127.0.0.1:8041"]         # RendezvousInfo of replaced credentials (default: the voucher's)
//   modules = ["fdo_sys"]                          # ServiceInfo modules, in order (devmod always runs)
//
//   [params.fdo_sys]                               # a module's parameters (docs/service-info.md, per module)
//   files = ["setup.sh"]
//
//   [override.lab]                                 # any name; a GUID override wins over a model one
//   model = "model-t"                              # OVDeviceInfo of the voucher
//   reuse = true
//
//   [override.one]
//   guid = "5a5a5a5a000011112222333344445555"
//   rendezvous = ["http://127.0.0.1:9041"]
//   [override.one.params.fdo_sys]                  # parameters for this device only
//   files = ["other.sh"]

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/fixed_bytes.h"
#include "libfdo/protocol/to2_owner.h"
#include "libfdo/serviceinfo/owner_module.h"
#include "libfdo/serviceinfo/params.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo::owner_tool {

/// One table of the plan file: each field given or not.
struct PlanEntry {
  std::optional<bool> reuse;
  std::optional<RendezvousInfo> rendezvous;
  std::optional<std::vector<std::string>> modules;
  /// Module parameters given in this table, by module.
  std::map<std::string, serviceinfo::ModuleParams::Values, std::less<>> params;
};

/// The whole plan file, checked.
struct OwnerPlans {
  PlanEntry defaults;
  std::map<Guid, PlanEntry> by_guid;
  std::map<std::string, PlanEntry, std::less<>> by_model;

  /// Reads the file above. Error(MessageBodyError) naming the file, the key and what is wrong for an unknown key,
  /// a bad GUID or URL, an override with neither or both of guid and model, a module `registry` lacks, or module
  /// parameters its module refuses (each module of each table is made once with them, so a missing file shows now).
  static OwnerPlans parse(std::string_view text, std::string_view file_name, const serviceinfo::OwnerRegistry& registry);
  static OwnerPlans load(const std::filesystem::path& file, const serviceinfo::OwnerRegistry& registry);

  /// The plan of one device: the GUID override, else the model override, else the defaults, field by field over
  /// `fallback` (the serve flags).
  [[nodiscard]] protocol::DevicePlan resolve(const Guid& guid, std::string_view model,
                                             const PlanEntry& fallback) const;

 private:
  [[nodiscard]] std::vector<const PlanEntry*> layers(const Guid* guid, std::string_view model,
                                                     const PlanEntry& fallback) const;
};

}  // namespace fdo::owner_tool
