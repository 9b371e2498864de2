// `fdo-owner devices list|show`: what the owner knows about each device it holds a voucher for (docs/cli.md,
// docs/owner.md "Devices"): state, the step reached or failed, the last error, TO0 expiry, onboard count.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/guid_text.h"
#include "owner/commands.h"
#include "owner/config.h"
#include "owner/status_json.h"
#include "tools/common/cli.h"
#include "tools/common/db_options.h"

namespace fdo::owner_tool {
namespace {

struct DevicesConfig {
  std::filesystem::path dir;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  std::string guid;
  bool json = false;
};

struct Snapshot {
  std::vector<storage::OwnerDeviceRecord> devices;
  std::vector<Guid> stored;  // GUIDs with a stored voucher
};

Snapshot read_snapshot(const DevicesConfig& config) {
  const OwnerDir dir{config.dir};
  Snapshot s;
  if (const std::unique_ptr<storage::Store> store = open_owner_store(dir, command_store_spec(dir, config.db, config.db_password_file), false)) {
    const auto tx = store->begin();
    s.devices = tx->list_owner_devices();
    for (const storage::VoucherRecord& v : tx->list_vouchers()) {
      s.stored.push_back(v.guid);
    }
  }
  return s;
}

std::string expiry_text(std::int64_t to0_expires_at) {
  return to0_expires_at == 0 ? std::string("not registered") : "registered until " + utc_time(to0_expires_at);
}

int run_list(const DevicesConfig& config) {
  const Snapshot s = read_snapshot(config);
  if (config.json) {
    std::cout << devices_json(s.devices, s.stored, true) << "\n";
    return 0;
  }
  if (s.devices.empty()) {
    std::cout << "no devices in " << config.dir.string() << "\n";
    return 0;
  }
  for (const storage::OwnerDeviceRecord& d : s.devices) {
    std::cout << d.guid.hex() << "  " << d.state << "  " << (d.step.empty() ? "-" : d.step) << "  "
              << expiry_text(d.to0_expires_at) << "  onboarded " << d.onboard_count << "x"
              << (d.error.empty() ? "" : "  error: " + d.error) << "\n";
  }
  return 0;
}

int run_show(const DevicesConfig& config) {
  const Guid guid = parse_guid(config.guid);
  const Snapshot s = read_snapshot(config);
  for (const storage::OwnerDeviceRecord& d : s.devices) {
    if (d.guid != guid) {
      continue;
    }
    const bool stored = std::find(s.stored.begin(), s.stored.end(), guid) != s.stored.end();
    if (config.json) {
      std::cout << device_json(d, stored, true) << "\n";
      return 0;
    }
    std::cout << "guid:          " << d.guid.hex() << "\n"
              << "state:         " << d.state << "\n"
              << "step:          " << (d.step.empty() ? "-" : d.step) << "\n"
              << "error:         " << (d.error.empty() ? "-" : d.error) << "\n"
              << "new guid:      " << (d.new_guid.empty() ? "-" : d.new_guid) << "\n"
              << "to0:           " << expiry_text(d.to0_expires_at) << "\n";
    for (const std::string& line : detail_lines(d.to0_detail)) {
      std::cout << "               " << line << "\n";
    }
    std::cout << "onboarded:     " << d.onboard_count << " time" << (d.onboard_count == 1 ? "" : "s") << "\n"
              << "voucher:       " << (stored ? "stored" : "not stored") << "\n"
              << "updated:       " << utc_time(d.updated_at) << "\n";
    return 0;
  }
  std::cerr << "fdo-owner devices show: no device " << guid.hex() << " in " << config.dir.string() << "\n";
  return kFailure;
}

}  // namespace

void register_devices(Commands& commands) {
  const auto config = std::make_shared<DevicesConfig>();
  const auto subs = std::make_shared<std::vector<std::pair<CLI::App*, int (*)(const DevicesConfig&)>>>();
  CLI::App& cmd = commands.add("devices", "Show what the owner knows about its devices", [config, subs] {
    for (const auto& [sub, run] : *subs) {
      if (sub->parsed()) {
        return tool::run_reporting_errors("fdo-owner devices " + sub->get_name(), [&] { return run(*config); });
      }
    }
    return tool::kUsageError;
  });
  cmd.require_subcommand(1);
  cmd.footer("Example: fdo-owner devices list --dir owner --json");

  CLI::App* list_cmd = cmd.add_subcommand("list", "Every device: state, step, TO0 expiry, onboard count");
  list_cmd->add_option("--dir", config->dir, "The owner directory")->required();
  tool::add_db_options(*list_cmd, config->db, config->db_password_file, "owner.db");
  list_cmd->add_flag("--json", config->json, "One JSON document on stdout");
  list_cmd->footer("Example: fdo-owner devices list --dir owner");
  list_cmd->fallthrough();
  subs->emplace_back(list_cmd, &run_list);

  CLI::App* show_cmd = cmd.add_subcommand("show", "One device in full");
  show_cmd->add_option("GUID", config->guid, "The device GUID: 32 hex digits or 8-4-4-4-12 (UUID form)")
      ->required()
      ->check(tool::guid_validator());
  show_cmd->add_option("--dir", config->dir, "The owner directory")->required();
  tool::add_db_options(*show_cmd, config->db, config->db_password_file, "owner.db");
  show_cmd->add_flag("--json", config->json, "One JSON document on stdout");
  show_cmd->footer("Example: fdo-owner devices show 0123…cdef --dir owner --json");
  show_cmd->fallthrough();
  subs->emplace_back(show_cmd, &run_show);
}

}  // namespace fdo::owner_tool
