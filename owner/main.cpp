// fdo-owner: the device owner's tool (docs/cli.md). One line per subcommand; each lives in its <name>_command.cpp.

#include <CLI/CLI.hpp>

#include "owner/commands.h"

int main(int argc, char** argv) {
  return fdo::tool::run_reporting_errors("fdo-owner", [argc, argv] {
    CLI::App app{"fdo-owner: the FDO owner (keys, vouchers, TO0 registration, the TO2 owner service)", "fdo-owner"};
    fdo::tool::setup_app(app, "fdo-owner");
    app.footer(
        "Example: fdo-owner init --dir owner && fdo-owner pubkey --dir owner -o owner.pub.pem && "
        "fdo-owner to0 --dir owner --voucher device.voucher.pem --to2-url http://127.0.0.1:8042");
    fdo::owner_tool::Commands commands(app, "owner");
    fdo::owner_tool::register_init(commands);
    fdo::owner_tool::register_pubkey(commands);
    fdo::owner_tool::register_to0(commands);
    fdo::owner_tool::register_serve(commands);
    fdo::owner_tool::register_vouchers(commands);
    fdo::owner_tool::register_devices(commands);
    return commands.run(argc, argv);
  });
}
