// `fdo-owner vouchers import|list|export`: the vouchers this owner holds (docs/cli.md, docs/owner.md "Vouchers").
// The checks are owner/voucher_import; this file reads and writes files and prints results.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/voucher.h"
#include "owner/commands.h"
#include "owner/config.h"
#include "owner/status_json.h"
#include "owner/voucher_import.h"
#include "tools/common/cli.h"
#include "tools/common/db_options.h"

namespace fdo::owner_tool {
namespace {

struct VouchersConfig {
  std::filesystem::path dir;
  std::filesystem::path db;
  std::filesystem::path db_password_file;
  std::vector<std::filesystem::path> files;
  std::string guid;
  std::filesystem::path out;
  bool cbor = false;
  bool json = false;
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int run_import(const VouchersConfig& config) {
  const OwnerDir dir{config.dir};
  const std::vector<crypto::PrivateKey> owner_keys = load_owner_keys(dir);
  const OwnerKeyRing key(owner_keys);
  // Every file is read before anything is stored: a missing file fails the command without a partial import.
  std::vector<Bytes> contents;
  for (const std::filesystem::path& file : config.files) {
    contents.push_back(read_file(file));
  }
  const std::unique_ptr<storage::Store> store = open_owner_store(dir, command_store_spec(dir, config.db, config.db_password_file), true);
  std::vector<ImportOutcome> all;
  std::vector<std::string> files;
  bool refused = false;
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const std::string name = config.files[i].string();
    for (ImportOutcome& o : import_vouchers(*store, key, contents[i], unix_now())) {
      if (o.ok) {
        if (!config.json) {
          std::cout << "imported " << o.guid.hex() << "\n";
        }
      } else {
        refused = true;
        std::cerr << "fdo-owner vouchers import: refused " << name << "#" << o.index << ": " << o.detail << "\n";
      }
      all.push_back(std::move(o));
      files.push_back(name);
    }
  }
  if (config.json) {
    std::cout << import_json(all, files, true) << "\n";
  }
  return refused ? kFailure : 0;
}

int run_list(const VouchersConfig& config) {
  const OwnerDir dir{config.dir};
  std::vector<storage::VoucherRecord> vouchers;
  std::vector<storage::OwnerDeviceRecord> devices;
  if (const std::unique_ptr<storage::Store> store = open_owner_store(dir, command_store_spec(dir, config.db, config.db_password_file), false)) {
    const auto tx = store->begin();
    vouchers = tx->list_vouchers();
    devices = tx->list_owner_devices();
  }
  if (config.json) {
    std::cout << vouchers_json(vouchers, devices, true) << "\n";
    return 0;
  }
  if (vouchers.empty()) {
    std::cout << "no vouchers in " << config.dir.string() << "\n";
    return 0;
  }
  for (const storage::VoucherRecord& v : vouchers) {
    std::string state = "-";
    for (const storage::OwnerDeviceRecord& d : devices) {
      if (d.guid == v.guid) {
        state = d.state;
      }
    }
    std::cout << v.guid.hex() << "  " << v.device_info << "  " << state << "  imported " << utc_time(v.created_at)
              << "\n";
  }
  return 0;
}

// Writes the voucher, then, in the same transaction, forgets it: the owner stops serving TO0 and TO2 for it.
int run_export(const VouchersConfig& config) {
  const OwnerDir dir{config.dir};
  const Guid guid = parse_guid(config.guid);
  const std::unique_ptr<storage::Store> store = open_owner_store(dir, command_store_spec(dir, config.db, config.db_password_file), false);
  const auto tx = store ? store->begin() : nullptr;
  const std::optional<storage::VoucherRecord> record = tx ? take_for_export(*tx, guid, unix_now()) : std::nullopt;
  if (!record) {
    const std::optional<storage::OwnerDeviceRecord> d = tx ? tx->get_owner_device(guid) : std::nullopt;
    std::cerr << "fdo-owner vouchers export: no voucher for GUID " << guid.hex()
              << (d && d->state == "exported" ? " (exported before)" : "") << "\n";
    return kFailure;
  }
  const Bytes data = config.cbor ? record->voucher : to_bytes(voucher::to_pem(record->voucher));
  if (config.out.empty()) {
    std::cout << to_string(data) << std::flush;
  } else {
    write_file_atomic(config.out, data, 0644);
  }
  tx->commit();
  std::cerr << "exported " << guid.hex() << (config.out.empty() ? "" : " to " + config.out.string())
            << "; this owner no longer serves it\n";
  return 0;
}

}  // namespace

void register_vouchers(Commands& commands) {
  const auto config = std::make_shared<VouchersConfig>();
  const auto subs = std::make_shared<std::vector<std::pair<CLI::App*, int (*)(const VouchersConfig&)>>>();
  CLI::App& cmd = commands.add("vouchers", "Import, list or export the vouchers this owner holds", [config, subs] {
    for (const auto& [sub, run] : *subs) {
      if (sub->parsed()) {
        return tool::run_reporting_errors("fdo-owner vouchers " + sub->get_name(), [&] { return run(*config); });
      }
    }
    return tool::kUsageError;
  });
  cmd.require_subcommand(1);
  cmd.footer(
      "Example: fdo-owner vouchers import --dir owner device.voucher.pem && fdo-owner vouchers list --dir owner");

  CLI::App* import_cmd = cmd.add_subcommand("import", "Verify vouchers and take those owned by this owner's key");
  import_cmd->add_option("--dir", config->dir, "The owner directory")->required();
  tool::add_db_options(*import_cmd, config->db, config->db_password_file, "owner.db");
  import_cmd->add_option("FILE", config->files, "Voucher files: PEM (one or many) or raw CBOR")->required();
  import_cmd->add_flag("--json", config->json, "One JSON document on stdout: the outcome per voucher");
  import_cmd->footer("Example: fdo-owner vouchers import --dir owner device.voucher.pem more.pem");
  import_cmd->fallthrough();
  subs->emplace_back(import_cmd, &run_import);

  CLI::App* list_cmd = cmd.add_subcommand("list", "List the stored vouchers and their devices' state");
  list_cmd->add_option("--dir", config->dir, "The owner directory")->required();
  tool::add_db_options(*list_cmd, config->db, config->db_password_file, "owner.db");
  list_cmd->add_flag("--json", config->json, "One JSON document on stdout");
  list_cmd->footer("Example: fdo-owner vouchers list --dir owner --json");
  list_cmd->fallthrough();
  subs->emplace_back(list_cmd, &run_list);

  CLI::App* export_cmd =
      cmd.add_subcommand("export", "Write one voucher (PEM) and stop serving it: for handing the device on");
  export_cmd->add_option("--dir", config->dir, "The owner directory")->required();
  tool::add_db_options(*export_cmd, config->db, config->db_password_file, "owner.db");
  export_cmd->add_option("GUID", config->guid, "The device GUID: 32 hex digits or 8-4-4-4-12 (UUID form)")
      ->required()
      ->check(tool::guid_validator());
  export_cmd->add_option("-o,--out", config->out, "Output file, written atomically (default stdout)");
  export_cmd->add_flag("--cbor", config->cbor, "Write raw CBOR instead of PEM");
  export_cmd->footer("Example: fdo-owner vouchers export --dir owner 0123…cdef -o device.voucher.pem");
  export_cmd->fallthrough();
  subs->emplace_back(export_cmd, &run_export);
}

}  // namespace fdo::owner_tool
