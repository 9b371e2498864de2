// fdo-rendezvous: the FDO rendezvous server, TO0 (FDO 1.1 §5.3) and TO1 (§5.4) (CLI.md, docs/rendezvous.md).
// Options are parsed here; the work is in rendezvous/serve.cpp and libfdo/protocol/to{0,1}_rendezvous.

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "rendezvous/config.h"
#include "rendezvous/serve.h"

namespace {

constexpr int kFailure = 1;
constexpr int kUsageError = 2;

int run(int argc, char** argv) {
  CLI::App app{"fdo-rendezvous: the FDO rendezvous server (TO0 and TO1)"};
  app.require_subcommand(1);
  app.footer("Example: fdo-rendezvous serve --dir rv --listen 127.0.0.1:8041 --max-wait-seconds 3600");

  fdo::rendezvous::ServeConfig config;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve TO0 and TO1 until SIGTERM/SIGINT");
  fdo::rendezvous::add_serve_options(app, *serve_cmd, config);
  serve_cmd->footer(
      "Example: fdo-rendezvous serve --dir rv --listen 127.0.0.1:8041 --trust-manufacturer-keys rv/manufacturers\n"
      "         fdo-rendezvous serve --dir rv --config rendezvous.toml");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUsageError;
  }
  fdo::log::configure(fdo::log::parse_level(config.log_level), "rendezvous");
  std::optional<fdo::rendezvous::ServeSettings> settings;
  try {
    settings = fdo::rendezvous::ServeSettings::from(config);
  } catch (const fdo::Error& e) {
    std::cerr << "fdo-rendezvous serve: " << e.what() << "\n";
    return kUsageError;
  }
  try {
    return fdo::rendezvous::serve(*settings);
  } catch (const fdo::Error& e) {
    std::cerr << "fdo-rendezvous: " << e.what() << "\n";
    return kFailure;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fdo-rendezvous: " << e.what() << "\n";
    return kFailure;
  }
}
