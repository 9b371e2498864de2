// fdo-manufacturer: the DI server (FDO 1.1 §5.2) and its voucher store (CLI.md, docs/manufacturer.md).
// Options are parsed here; the work is in manufacturer/*.cpp and libfdo/protocol/di_manufacturer.

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>

#include "libfdo/core/log.h"
#include "libfdo/storage/sqlite_store.h"
#include "manufacturer/config.h"
#include "manufacturer/keys.h"
#include "manufacturer/serve.h"
#include "manufacturer/vouchers.h"
#include "tools/common/cli.h"
#include "tools/common/key_files.h"

namespace {

using fdo::tool::add_log_level;
using fdo::tool::kFailure;
using fdo::tool::kUsageError;

int run_init(const fdo::manufacturer::InitConfig& config) {
  fdo::tool::print_init_steps(fdo::manufacturer::init_directory(config.dir, config.key_types, config.ca_key_type));
  return 0;
}

int run_list(const fdo::manufacturer::VouchersConfig& config) {
  const auto store = fdo::storage::open_sqlite_store(fdo::manufacturer::database_path(config.dir, config.db));
  auto tx = store->begin();
  const auto records = tx->list_vouchers();
  tx.reset();
  std::cout << (config.json ? fdo::manufacturer::vouchers_json(records) + "\n"
                            : fdo::manufacturer::vouchers_table(records));
  return 0;
}

int run_export(const fdo::manufacturer::VouchersConfig& config) {
  const auto store = fdo::storage::open_sqlite_store(fdo::manufacturer::database_path(config.dir, config.db));
  const auto record = fdo::manufacturer::find_voucher(*store, config.guid, config.serial);
  if (!record) {
    std::cerr << "fdo-manufacturer: no voucher for "
              << (config.guid.empty() ? "serial " + config.serial : "GUID " + config.guid) << "\n";
    return kFailure;
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
  app.require_subcommand(1);
  app.footer("Example: fdo-manufacturer init --dir mfg && fdo-manufacturer serve --dir mfg --rv http://127.0.0.1:8041");
  std::string log_level = "info";

  fdo::manufacturer::InitConfig init;
  CLI::App* init_cmd = app.add_subcommand("init", "Create the manufacturer key(s) and the device CA (0600, only when absent)");
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
  list_cmd->add_option("--db", vouchers.db, "SQLite database (default DIR/manufacturer.db)");
  list_cmd->add_flag("--json", vouchers.json, "One JSON document on stdout");
  add_log_level(*list_cmd, log_level);
  list_cmd->footer("Example: fdo-manufacturer vouchers list --dir mfg --json");
  CLI::App* export_cmd = vouchers_cmd->add_subcommand("export", "Write one voucher as PEM");
  export_cmd->add_option("--dir", vouchers.dir, "The manufacturer directory")->required();
  export_cmd->add_option("--db", vouchers.db, "SQLite database (default DIR/manufacturer.db)");
  CLI::Option* guid_opt = export_cmd->add_option("GUID", vouchers.guid, "The device GUID (32 hex digits)");
  CLI::Option* serial_opt = export_cmd->add_option("--serial", vouchers.serial, "The newest voucher of this serial");
  guid_opt->excludes(serial_opt);
  export_cmd->require_option(1, 3);
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
  std::optional<fdo::manufacturer::ServeSettings> settings;
  if (serve_cmd->parsed()) {
    settings = fdo::tool::check_options("fdo-manufacturer serve",
                                        [&serve] { return fdo::manufacturer::ServeSettings::from(serve); });
    if (!settings) {
      return kUsageError;
    }
  }
  return fdo::tool::run_reporting_errors("fdo-manufacturer", [&] {
    if (init_cmd->parsed()) {
      return run_init(init);
    }
    if (settings) {
      return fdo::manufacturer::serve(*settings);
    }
    if (list_cmd->parsed()) {
      return run_list(vouchers);
    }
    return run_export(vouchers);
  });
}
