// fdo-device: the FDO device (docs/cli.md). One line per subcommand; each lives in its <name>_command.cpp.

#include <CLI/CLI.hpp>

#include "device/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"fdo-device: an FDO device with its credential in a file or in a TPM", "fdo-device"};
  fdo::tool::setup_app(app, "fdo-device");
  app.footer("Example: fdo-device di --url http://127.0.0.1:8038 --credential cred.bin && "
             "fdo-device show --credential cred.bin");
  return fdo::tool::run_reporting_errors("fdo-device", [&app, argc, argv] {
    fdo::device_tool::Commands commands(app, "device");
    fdo::device_tool::register_di(commands);
    fdo::device_tool::register_show(commands);
    fdo::device_tool::register_to1(commands);
    fdo::device_tool::register_onboard(commands);
    fdo::device_tool::register_report(commands);
    return commands.run(argc, argv);
  });
}
