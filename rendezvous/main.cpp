// fdo-rendezvous: the FDO rendezvous server, TO0 (FDO 1.1 §5.3) and TO1 (§5.4) (docs/cli.md, docs/rendezvous.md).
// Options are parsed here; the work is in rendezvous/serve.cpp and libfdo/protocol/to{0,1}_rendezvous.

#include <CLI/CLI.hpp>

#include <optional>

#include "libfdo/core/log.h"
#include "rendezvous/config.h"
#include "rendezvous/serve.h"
#include "tools/common/cli.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"fdo-rendezvous: the FDO rendezvous server (TO0 and TO1)"};
  fdo::tool::setup_app(app, "fdo-rendezvous");
  app.require_subcommand(1);
  app.footer("Example: fdo-rendezvous serve --dir rv --listen 127.0.0.1:8041 --max-wait-seconds 3600");

  fdo::rendezvous::ServeConfig config;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve TO0 and TO1 until SIGTERM/SIGINT");
  fdo::rendezvous::add_serve_options(app, *serve_cmd, config);
  serve_cmd->footer(
      "Example: fdo-rendezvous serve --dir rv --listen 127.0.0.1:8041 --trust-manufacturer-keys rv/manufacturers\n"
      "         fdo-rendezvous serve --dir rv --config rendezvous.toml");

  if (const std::optional<int> status = fdo::tool::parse(app, argc, argv)) {
    return *status;
  }
  fdo::log::configure(fdo::log::parse_level(config.log_level), "rendezvous");
  const std::optional<fdo::rendezvous::ServeSettings> settings = fdo::tool::check_options(
      "fdo-rendezvous serve", [&config] { return fdo::rendezvous::ServeSettings::from(config); });
  if (!settings) {
    return fdo::tool::kUsageError;
  }
  return fdo::rendezvous::serve(*settings);
}

}  // namespace

int main(int argc, char** argv) {
  return fdo::tool::run_reporting_errors("fdo-rendezvous serve", [argc, argv] { return run(argc, argv); });
}
