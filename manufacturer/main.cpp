// fdo-manufacturer: the DI server (FDO 1.1 §5.2) and its voucher store (docs/cli.md, docs/manufacturer.md).
// Options are parsed here; the work is in manufacturer/*.cpp and libfdo/protocol/di_manufacturer.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/storage/postgres_store.h"
#include "manufacturer/config.h"
#include "manufacturer/keys.h"
#include "manufacturer/serve.h"
#include "manufacturer/vouchers.h"
#include "tools/common/cli.h"
#include "tools/common/db_options.h"
#include "tools/common/key_files.h"

namespace {

using fdo::tool::add_log_level;
using fdo::tool::kFailure;
using fdo::tool::kUsageError;

int run_init(const fdo::manufacturer::InitConfig& config) {
  fdo::tool::print_init_steps(fdo::manufacturer::init_directory(config.dir, config.key_types, config.ca_key_type));
  return 0;
}

// The voucher database of `config`, opened only when it exists: listing must not create one. Throws when DIR does
// not exist (a mistyped --dir is a failure, not an empty list).
std::unique_ptr<fdo::storage::Store> open_existing_store(const fdo::manufacturer::VouchersConfig& config) {
  if (!std::filesystem::is_directory(config.dir)) {
    fdo::throw_internal("no directory " + config.dir.string() + " (made by `fdo-manufacturer init --dir " +
                        config.dir.string() + "`)");
  }
  const std::filesystem::path db = fdo::manufacturer::database_path(config.dir, config.db);
  if (!fdo::storage::is_postgres_uri(db.string()) && !std::filesystem::exists(db)) {
    return nullptr;  // `serve` has not run yet: no voucher was made
  }
  return fdo::storage::open_store(
      fdo::storage::StoreSpec{.db = db.string(), .password_file = config.db_password_file, .pool_size = 1});
}

int run_list(const fdo::manufacturer::VouchersConfig& config) {
  std::vector<fdo::storage::VoucherRecord> records;
  if (const std::unique_ptr<fdo::storage::Store> store = open_existing_store(config)) {
    auto tx = store->begin();
    records = tx->list_vouchers();
  }
  if (config.json) {
    std::cout << fdo::manufacturer::vouchers_json(records) + "\n";
  } else if (records.empty()) {
    std::cout << "no vouchers in " << config.dir.string() << "\n";
  } else {
    std::cout << fdo::manufacturer::vouchers_table(records);
  }
  return 0;
}

int run_export(const fdo::manufacturer::VouchersConfig& config) {
  const std::unique_ptr<fdo::storage::Store> store = open_existing_store(config);
  if (!store) {
    std::cerr << "fdo-manufacturer vouchers export: no vouchers in " << config.dir.string() << "\n";
    return kFailure;
  }
  const auto record = fdo::manufacturer::find_voucher(*store, config.guid, config.serial);
  if (!record) {
    std::cerr << "fdo-manufacturer vouchers export: no voucher for "
              << (config.guid.empty() ? "serial " + config.serial : "GUID " + config.guid) << "\n";
    return kFailure;
  }
  if (config.guid.empty()) {
    // Duplicate DI of one device (or one serial on several devices): say which one --serial picks, and how to
    // choose; the device's credential holds the GUID of the voucher it kept (`fdo-device show`).
    const std::size_t twins = fdo::manufacturer::count_serial(*store, config.serial);
    if (twins > 1) {
      std::cerr << "fdo-manufacturer vouchers export: " << twins << " vouchers have serial " << config.serial
                << "; exporting the newest, GUID " << record->guid.hex()
                << ". The device kept the GUID that `fdo-device show` prints: export by that GUID to be sure.\n";
    }
  }
  const std::string pem = fdo::manufacturer::voucher_pem(*record);
  if (config.out.empty()) {
    std::cout << pem;
  } else {
    fdo::tool::write_public_file(config.out, pem);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fdo-manufacturer: the FDO DI server and its ownership vouchers"};
  fdo::tool::setup_app(app, "fdo-manufacturer");
  app.require_subcommand(1);
  app.footer("Example: fdo-manufacturer init --dir mfg && fdo-manufacturer serve --dir mfg --rv http://127.0.0.1:8041");
  std::string log_level = "info";

  fdo::manufacturer::InitConfig init;
  CLI::App* init_cmd = app.add_subcommand(
      "init", "Create the manufacturer key(s), the device CA and the admin token (0600, only when absent)");
  init_cmd->add_option("--dir", init.dir, "Directory for keys and certificates")->required();
  init_cmd->add_option("--key-type", init.key_types, "Manufacturer key type(s), repeatable: p256|p384|rsa2048|rsa3072")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  init_cmd->add_option("--ca-key-type", init.ca_key_type, "Key type of the device CA")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  add_log_level(*init_cmd, log_level);
  init_cmd->footer("Example: fdo-manufacturer init --dir mfg --key-type p256 --key-type p384");

  fdo::manufacturer::ServeConfig serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve DI (FDO 1.1 §5.2) until SIGTERM/SIGINT");
  fdo::manufacturer::add_serve_options(app, *serve_cmd, serve);
  serve_cmd->footer(
      "Example: fdo-manufacturer serve --dir mfg --listen 127.0.0.1:8038 --rv http://127.0.0.1:8041\n"
      "         fdo-manufacturer serve --dir mfg --config manufacturer.toml");

  fdo::manufacturer::VouchersConfig vouchers;
  CLI::App* vouchers_cmd = app.add_subcommand("vouchers", "List or export the vouchers made by DI");
  vouchers_cmd->require_subcommand(1);
  CLI::App* list_cmd = vouchers_cmd->add_subcommand("list", "List the vouchers");
  list_cmd->add_option("--dir", vouchers.dir, "The manufacturer directory")->required();
  fdo::tool::add_db_options(*list_cmd, vouchers.db, vouchers.db_password_file, fdo::manufacturer::kDefaultDbName);
  list_cmd->add_flag("--json", vouchers.json, "One JSON document on stdout");
  add_log_level(*list_cmd, log_level);
  list_cmd->footer("Example: fdo-manufacturer vouchers list --dir mfg --json");
  CLI::App* export_cmd = vouchers_cmd->add_subcommand("export", "Write one voucher as PEM");
  export_cmd->add_option("--dir", vouchers.dir, "The manufacturer directory")->required();
  fdo::tool::add_db_options(*export_cmd, vouchers.db, vouchers.db_password_file, fdo::manufacturer::kDefaultDbName);
  CLI::Option* guid_opt =
      export_cmd->add_option("GUID", vouchers.guid, "The device GUID: 32 hex digits or 8-4-4-4-12 (UUID form)")
          ->check(fdo::tool::guid_validator());
  CLI::Option* serial_opt = export_cmd->add_option("--serial", vouchers.serial, "The newest voucher of this serial");
  guid_opt->excludes(serial_opt);
  // No upper bound: --dir, the store options, GUID or --serial, -o and the log options may all be given.
  export_cmd->require_option(1, 0);
  export_cmd->add_option("-o,--out", vouchers.out, "Output file (default stdout)");
  add_log_level(*export_cmd, log_level);
  export_cmd->footer("Example: fdo-manufacturer vouchers export --dir mfg 0123…cdef -o device.voucher.pem");

  if (const std::optional<int> status = fdo::tool::parse(app, argc, argv)) {
    return *status;
  }
  if (export_cmd->parsed() && vouchers.guid.empty() && vouchers.serial.empty()) {
    return fdo::tool::parse_error_status(app, CLI::ValidationError("vouchers export", "give a GUID or --serial"));
  }

  const std::string& level = serve_cmd->parsed() ? serve.log_level : log_level;
  fdo::log::configure(fdo::log::parse_level(level), "manufacturer");
  std::string command = "fdo-manufacturer";
  for (const CLI::App* cmd : {init_cmd, serve_cmd, vouchers_cmd, list_cmd, export_cmd}) {
    command += cmd->parsed() ? " " + cmd->get_name() : "";
  }
  return fdo::tool::run_reporting_errors(command, [&] {
    if (init_cmd->parsed()) {
      return run_init(init);
    }
    if (serve_cmd->parsed()) {
      const std::optional<fdo::manufacturer::ServeSettings> settings =
          fdo::tool::check_options(command, [&serve] { return fdo::manufacturer::ServeSettings::from(serve); });
      return settings ? fdo::manufacturer::serve(*settings) : kUsageError;
    }
    if (list_cmd->parsed()) {
      return run_list(vouchers);
    }
    return run_export(vouchers);
  });
}
