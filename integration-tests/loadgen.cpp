// fdo-loadgen: drives many protocol runs against a real server from several threads and prints throughput and
// latency (a tool, not a test; performance figures never become test assertions, STYLE.md §9).
//
//   fdo-loadgen di --url URL --devices N --concurrency C [--key-type T] --json
//   → {"protocol":"di","devices":N,"concurrency":C,"ops_per_s":…,"p50_ms":…,"p99_ms":…,"errors":…}
//
// Each protocol is one subcommand: a function that prepares run i outside the clock and a function that runs it
// (a Scenario). To add one, write its Scenario and register it in main() like `di`.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/loadgen_rv.h"
#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/protocol/di_device.h"
#include "libfdo/transport/http_transport.h"

namespace {

using Clock = std::chrono::steady_clock;

/// The common options of every subcommand.
struct LoadOptions {
  std::string url;
  std::size_t devices = 10;
  std::size_t concurrency = 2;
  bool json = false;
  std::string log_level = "warn";
};

/// One kind of protocol run: prepare(i) builds run i's inputs before the clock starts (key generation is not
/// what is measured); run(i) performs it and throws fdo::Error on failure.
struct Scenario {
  std::string protocol;
  std::function<void(std::size_t)> prepare;
  std::function<void(std::size_t)> run;
};

/// What a load run measured.
struct LoadResult {
  std::vector<double> latencies_ms;  // successful runs
  std::size_t errors = 0;
  double seconds = 0;
  std::optional<std::string> first_error;
};

// Runs f(0..n-1) on `threads` threads, each taking the next index.
void parallel(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& f) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < std::max<std::size_t>(1, std::min(threads, n)); ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < n; i = next++) {
        f(i);
      }
    });
  }
  for (std::thread& th : pool) {
    th.join();
  }
}

LoadResult run_load(const Scenario& scenario, const LoadOptions& options) {
  parallel(options.devices, options.concurrency, scenario.prepare);
  LoadResult result;
  std::mutex lock;
  const Clock::time_point start = Clock::now();
  parallel(options.devices, options.concurrency, [&](std::size_t i) {
    const Clock::time_point t0 = Clock::now();
    try {
      scenario.run(i);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      const std::lock_guard<std::mutex> guard(lock);
      result.latencies_ms.push_back(ms);
    } catch (const std::exception& e) {  // fdo::Error from the run, or a local failure: counted, not fatal
      const std::lock_guard<std::mutex> guard(lock);
      ++result.errors;
      if (!result.first_error) {
        result.first_error = e.what();
      }
    }
  });
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

std::string fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

int report(const Scenario& scenario, const LoadOptions& options, const LoadResult& result) {
  const double ops = result.seconds > 0 ? static_cast<double>(result.latencies_ms.size()) / result.seconds : 0;
  if (options.json) {
    std::cout << "{\"protocol\":\"" << scenario.protocol << "\",\"devices\":" << options.devices
              << ",\"concurrency\":" << options.concurrency << ",\"ops_per_s\":" << fixed(ops)
              << ",\"p50_ms\":" << fixed(percentile(result.latencies_ms, 0.50))
              << ",\"p99_ms\":" << fixed(percentile(result.latencies_ms, 0.99)) << ",\"errors\":" << result.errors
              << "}" << std::endl;
  } else {
    std::cout << scenario.protocol << ": " << options.devices << " runs, concurrency " << options.concurrency << ", "
              << fixed(ops) << " runs/s, p50 " << fixed(percentile(result.latencies_ms, 0.50)) << " ms, p99 "
              << fixed(percentile(result.latencies_ms, 0.99)) << " ms, " << result.errors << " errors\n";
  }
  if (result.first_error) {
    std::cerr << "fdo-loadgen: first error: " << *result.first_error << "\n";
  }
  return result.errors == 0 ? 0 : 1;
}

// ---- di: Device Initialize (FDO 1.1 §5.2), one new device per run ----

struct DiLoad {
  std::string key_type = "p256";
  std::string serial_prefix = "load-";
};

Scenario di_scenario(const LoadOptions& options, const DiLoad& di) {
  // Identities are made before the clock starts; each run then uses its own, over a new HTTP connection.
  auto identities = std::make_shared<std::vector<std::optional<fdo::protocol::SoftwareDeviceIdentity>>>(options.devices);
  const fdo::crypto::KeyType type = *fdo::crypto::parse_key_type(di.key_type);
  const std::string run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  Scenario s;
  s.protocol = "di";
  s.prepare = [identities, type](std::size_t i) {
    (*identities)[i].emplace(fdo::protocol::SoftwareDeviceIdentity::generate(type));
  };
  s.run = [identities, url = options.url, prefix = di.serial_prefix + run_id + "-"](std::size_t i) {
    fdo::protocol::DiDeviceOptions device;
    device.serial_no = prefix + std::to_string(i);
    device.device_info = "fdo-loadgen";
    fdo::transport::HttpTransport transport(url);
    const fdo::protocol::SoftwareDeviceIdentity& id = *(*identities)[i];
    static_cast<void>(fdo::protocol::run_di(transport, device, id.signer(), id.hmac()));
  };
  return s;
}

// ---- to0 / to1: rendezvous registrations and look-ups (FDO 1.1 §5.3-§5.4), in loadgen_rv.cpp ----

Scenario rv_scenario(const std::string& protocol, fdo::loadgen::RvRuns runs) {
  return Scenario{protocol, std::move(runs.prepare), std::move(runs.run)};
}

void add_common(CLI::App& cmd, LoadOptions& options) {
  cmd.add_option("--url", options.url, "The server's base URL, http(s)://HOST:PORT")->required();
  cmd.add_option("--devices", options.devices, "Number of runs (one device each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  cmd.add_option("--concurrency", options.concurrency, "Runs in flight at once (threads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd.add_flag("--json", options.json, "Print one JSON line");
  cmd.add_option("--log-level", options.log_level, "error|warn|info|debug|trace (logs go to stderr)")
      ->capture_default_str()
      ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fdo-loadgen: run many FDO protocol runs against a server and report throughput and latency"};
  app.require_subcommand(1);
  LoadOptions options;

  DiLoad di;
  CLI::App* di_cmd = app.add_subcommand("di", "DI runs against a manufacturer, one new device each");
  add_common(*di_cmd, options);
  di_cmd->add_option("--key-type", di.key_type, "Device key type: p256|p384|rsa2048|rsa3072")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  di_cmd->add_option("--serial-prefix", di.serial_prefix, "Serial numbers are PREFIX<run id>-<i>")
      ->capture_default_str();
  di_cmd->footer("Example: fdo-loadgen di --url http://127.0.0.1:8038 --devices 1000 --concurrency 16 --json");

  fdo::loadgen::RvLoad rv;
  CLI::App* to0_cmd = app.add_subcommand("to0", "TO0 runs against a rendezvous server, one new voucher each");
  CLI::App* to1_cmd = app.add_subcommand("to1", "TO1 runs against a rendezvous server, one registered device each");
  for (CLI::App* cmd : {to0_cmd, to1_cmd}) {
    add_common(*cmd, options);
    cmd->add_option("--key-type", rv.key_type, "Device, manufacturer and owner key type: p256|p384")
        ->capture_default_str()
        ->check(CLI::IsMember({"p256", "p384"}));
    cmd->add_option("--wait-seconds", rv.wait_seconds, "WaitSeconds requested at TO0")->capture_default_str();
    cmd->footer("Example: fdo-loadgen " + cmd->get_name() +
                " --url http://127.0.0.1:8041 --devices 1000 --concurrency 16 --json");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    fdo::log::configure(fdo::log::parse_level(options.log_level), "loadgen");
    rv.url = options.url;
    rv.devices = options.devices;
    const Scenario scenario = to0_cmd->parsed()   ? rv_scenario("to0", fdo::loadgen::to0_runs(rv))
                              : to1_cmd->parsed() ? rv_scenario("to1", fdo::loadgen::to1_runs(rv))
                                                  : di_scenario(options, di);
    return report(scenario, options, run_load(scenario, options));
  } catch (const std::exception& e) {
    std::cerr << "fdo-loadgen: " << e.what() << "\n";
    return 1;
  }
}
