// fdo-loadgen: drives many protocol runs against a real server from several threads and prints throughput and
// latency beside the crypto ceiling measured in the same run (a tool, not a test; performance figures never become
// test assertions, docs/style.md §9; docs/performance.md).
//
//   fdo-loadgen di --url URL --devices N --concurrency C [--key-type T] [--retries R] [--acked FILE] --json
//   fdo-loadgen to2 --url OWNER_URL --owner-dir DIR --devices N --concurrency C [--kex S] [--reuse] [--tpm TCTI]
//     [--server-pid PID] --json
//   → {"protocol":"di","devices":N,"concurrency":C,"runs":…,"ops_per_s":…,"p50_ms":…,"p99_ms":…,"errors":…,"cores":…,
//      "pk_ops_per_run":{"sign_p256":2,…},"pk_op_cpu_us":{…},"pk_cpu_ms_per_run":…,"ceiling_ops_per_s":…,
//      "ratio_to_ceiling":…,"loadgen_cpu_ms_per_run":…,"server_pk_cpu_ms_per_run":…
//      [,"server_cpu_ms_per_run":…,"server_efficiency":…][,"store_commits_per_run":…,"store_fdatasync_per_run":…]
//      [,"http_floor_us":…,"http_ours_us":…]}
//   server_efficiency = the server's own public-key CPU per run (timed here) / its total CPU per run
//   (--server-pid, repeatable: the instances' CPU is summed); http_floor_us / http_ours_us = CPU per request of
//   cpp-httplib alone / of our binding; store_*_per_run = the servers' commits and fdatasync calls over the measured
//   phase (--server-metrics ADMIN_URL --server-admin-token FILE, from GET /metrics). With --retries a failed run is tried again (a new run of the same device),
//   "retried" counts those attempts; --acked FILE lists what names each succeeded run in the server's store (the
//   serial number for di, the GUID otherwise), one per line: what the clients saw acknowledged (the kill test of
//   integration-tests/multi_instance_test.cpp compares it with the database).
//
// Each protocol is one subcommand: a function that prepares run i outside the clock, a function that runs it, and
// the public-key operations one run performs on both sides (a Scenario). To add one, write its Scenario and
// register it in main() like `di`.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/loadgen_ceiling.h"
#include "integration-tests/loadgen_rv.h"
#include "integration-tests/loadgen_to2.h"
#include "libfdo/transport/http_fetch.h"
#include "libfdo/transport/http_floor.h"
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
  /// Thread CPU time spent timing the public-key operations for the ceiling.
  std::size_t ceiling_ms = 1000;
  /// When set, the servers' CPU time over the measured phase is read from /proc and reported per run (summed over
  /// the instances given).
  std::vector<int> server_pids;
  /// A database server (PostgreSQL's postmaster: it and its backends) and a load balancer whose CPU over the
  /// measured phase is reported per run too; nullopt: not measured.
  std::optional<int> db_pid;
  std::optional<int> proxy_pid;
  /// Further attempts of a failed run (a new run of the same device) before it counts as an error.
  std::size_t retries = 0;
  /// Where to write the names of the runs that succeeded; empty: nowhere.
  std::string acked_file;
  /// Requests timed for the HTTP floor after the load (0: not measured).
  std::size_t http_floor_requests = 300;
  /// Admin listeners (base URLs) whose /metrics give the store's commits and fdatasync calls over the measured
  /// phase, and the admin-token files that go with them, in the same order.
  std::vector<std::string> server_metrics;
  std::vector<std::string> server_admin_tokens;
};

/// One kind of protocol run: prepare(i) builds run i's inputs before the clock starts (key generation is not
/// what is measured); run(i) performs it and throws fdo::Error on failure; pk_ops are the public-key operations
/// one run(i) performs, client and server together (the ceiling's input); after_prepare, when set, runs once after
/// every prepare(i), still before the clock (to2 writes its vouchers into the owner's store there).
struct Scenario {
  std::string protocol;
  std::function<void(std::size_t)> prepare;
  std::function<void(std::size_t)> run;
  std::vector<fdo::loadgen::PkOp> pk_ops;
  std::function<void()> after_prepare;
  /// What names run i in the server's store once it succeeded (--acked).
  std::function<std::string(std::size_t)> name;
};

/// Counters of the servers' stores, summed over --server-metrics (docs/operations.md "Metrics").
struct StoreCounts {
  double commits = 0;
  double fdatasyncs = 0;
};

// The value of the sample `name` (no labels but the role) in a Prometheus text page; 0 when absent (PostgreSQL
// has no fdatasync counter).
double metric_value(const std::string& page, const std::string& name) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return 0;
}

// An admin-token file's token (its first line).
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    fdo::throw_internal("--server-admin-token: cannot read a token from " + path);
  }
  return token;
}

std::optional<StoreCounts> scrape_store_counts(const LoadOptions& options) {
  if (options.server_metrics.empty()) {
    return std::nullopt;
  }
  StoreCounts sum;
  for (std::size_t i = 0; i < options.server_metrics.size(); ++i) {
    fdo::transport::FetchOptions fetch;
    fetch.timeout = std::chrono::seconds(10);
    fetch.bearer_token = read_token(options.server_admin_tokens.at(i));
    const fdo::Bytes body = fdo::transport::http_get(options.server_metrics[i] + "/metrics", fetch);
    const std::string page(body.begin(), body.end());
    sum.commits += metric_value(page, "fdo_store_commits_total");
    sum.fdatasyncs += metric_value(page, "fdo_store_fdatasync_total");
  }
  return sum;
}

/// What a load run measured.
struct LoadResult {
  std::vector<double> latencies_ms;  // successful runs
  std::size_t errors = 0;
  /// Failed attempts that were tried again (--retries).
  std::size_t retried = 0;
  /// The names of the successful runs (Scenario::name), when asked for.
  std::vector<std::string> acked;
  double seconds = 0;
  std::optional<std::string> first_error;
  /// CPU seconds this process and (when its pid was given) the server used during the measured phase.
  double loadgen_cpu_seconds = 0;
  std::optional<double> server_cpu_seconds;
  std::optional<double> db_cpu_seconds;
  std::optional<double> proxy_cpu_seconds;
  /// The servers' store commits and fdatasync calls over the measured phase (--server-metrics).
  std::optional<StoreCounts> store;
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

// Runs prepare(0..n-1) before the clock. A failure there is fatal (the run would measure nothing): the first one is
// thrown again on the calling thread, since an exception leaving a pool thread would end the process.
void prepare_all(const Scenario& scenario, const LoadOptions& options) {
  std::mutex lock;
  std::optional<std::string> first_error;
  std::atomic<bool> failed{false};
  parallel(options.devices, options.concurrency, [&](std::size_t i) {
    if (failed) {
      return;
    }
    try {
      scenario.prepare(i);
    } catch (const std::exception& e) {  // fdo::Error, or a local failure such as std::bad_alloc
      const std::lock_guard<std::mutex> guard(lock);
      if (!first_error) {
        first_error = "preparing run " + std::to_string(i) + " (before the clock) failed: " + e.what();
      }
      failed = true;
    }
  });
  if (first_error) {
    fdo::throw_internal(*first_error);
  }
}

// The CPU seconds of every server process together; nullopt when none is given or one cannot be read.
std::optional<double> servers_cpu_seconds(const std::vector<int>& pids) {
  if (pids.empty()) {
    return std::nullopt;
  }
  double sum = 0;
  for (const int pid : pids) {
    const std::optional<double> s = fdo::loadgen::process_cpu_seconds(pid);
    if (!s) {
      return std::nullopt;
    }
    sum += *s;
  }
  return sum;
}

LoadResult run_load(const Scenario& scenario, const LoadOptions& options) {
  prepare_all(scenario, options);
  if (scenario.after_prepare) {
    scenario.after_prepare();
  }
  LoadResult result;
  std::mutex lock;
  const double own_cpu_start = fdo::loadgen::own_cpu_seconds();
  const std::optional<double> server_cpu_start = servers_cpu_seconds(options.server_pids);
  const auto tree_cpu = [](const std::optional<int>& pid) {
    return pid ? fdo::loadgen::process_tree_cpu_seconds(*pid) : std::nullopt;
  };
  const std::optional<double> db_cpu_start = tree_cpu(options.db_pid);
  const std::optional<double> proxy_cpu_start = tree_cpu(options.proxy_pid);
  const std::optional<StoreCounts> store_start = scrape_store_counts(options);
  const Clock::time_point start = Clock::now();
  parallel(options.devices, options.concurrency, [&](std::size_t i) {
    const Clock::time_point t0 = Clock::now();
    for (std::size_t attempt = 0;; ++attempt) {
      try {
        scenario.run(i);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        const std::lock_guard<std::mutex> guard(lock);
        result.latencies_ms.push_back(ms);
        if (!options.acked_file.empty() && scenario.name) {
          result.acked.push_back(scenario.name(i));
        }
        return;
      } catch (const std::exception& e) {  // fdo::Error from the run, or a local failure: counted, not fatal
        const std::lock_guard<std::mutex> guard(lock);
        if (attempt < options.retries) {
          ++result.retried;
          std::cerr << "fdo-loadgen: run " << i << " failed, trying again: " << e.what() << "\n";
          continue;
        }
        ++result.errors;
        if (!result.first_error) {
          result.first_error = e.what();
        }
        return;
      }
    }
  });
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.loadgen_cpu_seconds = fdo::loadgen::own_cpu_seconds() - own_cpu_start;
  if (server_cpu_start) {
    if (const std::optional<double> end = servers_cpu_seconds(options.server_pids)) {
      result.server_cpu_seconds = *end - *server_cpu_start;
    }
  }
  if (const std::optional<double> end = tree_cpu(options.db_pid); end && db_cpu_start) {
    result.db_cpu_seconds = *end - *db_cpu_start;
  }
  if (const std::optional<double> end = tree_cpu(options.proxy_pid); end && proxy_cpu_start) {
    result.proxy_cpu_seconds = *end - *proxy_cpu_start;
  }
  if (const std::optional<StoreCounts> end = scrape_store_counts(options); end && store_start) {
    result.store = StoreCounts{.commits = end->commits - store_start->commits,
                               .fdatasyncs = end->fdatasyncs - store_start->fdatasyncs};
  }
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

std::string fixed3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// CPU milliseconds per run over all runs attempted (failed runs cost CPU too).
double ms_per_run(double cpu_seconds, std::size_t runs) {
  return runs == 0 ? 0 : cpu_seconds * 1000 / runs;
}

int report(const Scenario& scenario, const LoadOptions& options, const fdo::loadgen::Ceiling& ceiling,
           const LoadResult& result, const std::optional<fdo::transport::HttpFloor>& http) {
  const double ops = result.seconds > 0 ? static_cast<double>(result.latencies_ms.size()) / result.seconds : 0;
  const double ratio = ceiling.runs_per_s > 0 ? ops / ceiling.runs_per_s : 0;
  const double p50 = percentile(result.latencies_ms, 0.50);
  const double p99 = percentile(result.latencies_ms, 0.99);
  if (options.json) {
    std::cout << "{\"protocol\":\"" << scenario.protocol << "\",\"devices\":" << options.devices
              << ",\"concurrency\":" << options.concurrency << ",\"runs\":" << result.latencies_ms.size()
              << ",\"ops_per_s\":" << fixed(ops)
              << ",\"p50_ms\":" << fixed(p50) << ",\"p99_ms\":" << fixed(p99) << ",\"errors\":" << result.errors
              << ",\"retried\":" << result.retried << ",\"servers\":" << options.server_pids.size()
              << ",\"cores\":" << ceiling.cores << ",\"pk_ops_per_run\":{";
    for (std::size_t i = 0; i < ceiling.ops.size(); ++i) {
      std::cout << (i > 0 ? "," : "") << "\"" << ceiling.ops[i].name << "\":" << ceiling.ops[i].per_run;
    }
    std::cout << "},\"pk_op_cpu_us\":{";
    for (std::size_t i = 0; i < ceiling.ops.size(); ++i) {
      std::cout << (i > 0 ? "," : "") << "\"" << ceiling.ops[i].name << "\":" << fixed(ceiling.ops[i].cpu_us);
    }
    std::cout << "},\"pk_cpu_ms_per_run\":" << fixed3(ceiling.cpu_ms_per_run)
              << ",\"ceiling_ops_per_s\":" << fixed(ceiling.runs_per_s) << ",\"ratio_to_ceiling\":" << fixed3(ratio)
              << ",\"loadgen_cpu_ms_per_run\":" << fixed3(ms_per_run(result.loadgen_cpu_seconds, options.devices));
    std::cout << ",\"server_pk_cpu_ms_per_run\":" << fixed3(ceiling.server_cpu_ms_per_run);
    if (result.server_cpu_seconds) {
      const double server_ms = ms_per_run(*result.server_cpu_seconds, options.devices);
      std::cout << ",\"server_cpu_ms_per_run\":" << fixed3(server_ms);
      // The share of the server's CPU per run that is its own public-key work (1.0: nothing else).
      std::cout << ",\"server_efficiency\":" << fixed3(server_ms > 0 ? ceiling.server_cpu_ms_per_run / server_ms : 0);
    }
    if (result.db_cpu_seconds) {
      std::cout << ",\"db_cpu_ms_per_run\":" << fixed3(ms_per_run(*result.db_cpu_seconds, options.devices));
    }
    if (result.proxy_cpu_seconds) {
      std::cout << ",\"proxy_cpu_ms_per_run\":" << fixed3(ms_per_run(*result.proxy_cpu_seconds, options.devices));
    }
    if (result.store) {
      const double runs = static_cast<double>(std::max<std::size_t>(options.devices, 1));
      std::cout << ",\"store_commits_per_run\":" << fixed3(result.store->commits / runs)
                << ",\"store_fdatasync_per_run\":" << fixed3(result.store->fdatasyncs / runs);
    }
    if (http) {
      std::cout << ",\"http_floor_us\":" << fixed(http->raw_us) << ",\"http_ours_us\":" << fixed(http->ours_us);
    }
    std::cout << "}" << std::endl;
  } else {
    std::cout << scenario.protocol << ": " << options.devices << " runs, concurrency " << options.concurrency << ", "
              << fixed(ops) << " runs/s, p50 " << fixed(p50) << " ms, p99 " << fixed(p99) << " ms, " << result.errors
              << " errors\n"
              << "public-key operations of one run (not key generation, which happens before the clock):\n";
    for (const fdo::loadgen::PkOp& op : scenario.pk_ops) {
      std::cout << "  " << op.role << " [" << fdo::loadgen::pk_op_name(op) << "]\n";
    }
    for (const fdo::loadgen::Ceiling::Op& op : ceiling.ops) {
      std::cout << "  " << op.name << ": " << op.per_run << " per run, " << fixed(op.cpu_us) << " us CPU each\n";
    }
    std::cout << "crypto ceiling: " << fixed3(ceiling.cpu_ms_per_run) << " ms CPU per run on " << ceiling.cores
              << " cores = " << fixed(ceiling.runs_per_s) << " runs/s; measured/ceiling " << fixed3(ratio) << "\n"
              << "CPU per run: loadgen " << fixed3(ms_per_run(result.loadgen_cpu_seconds, options.devices)) << " ms";
    if (result.server_cpu_seconds) {
      const double server_ms = ms_per_run(*result.server_cpu_seconds, options.devices);
      std::cout << ", server " << fixed3(server_ms) << " ms, of which its public-key work "
                << fixed3(ceiling.server_cpu_ms_per_run) << " ms (server efficiency "
                << fixed3(server_ms > 0 ? ceiling.server_cpu_ms_per_run / server_ms : 0) << ")";
    }
    std::cout << "\n";
    if (result.store) {
      const double runs = static_cast<double>(std::max<std::size_t>(options.devices, 1));
      std::cout << "store per run: " << fixed3(result.store->commits / runs) << " commits, "
                << fixed3(result.store->fdatasyncs / runs) << " fdatasync\n";
    }
    if (http) {
      std::cout << "HTTP floor (CPU per request, both sides, new connection): cpp-httplib alone " << fixed(http->raw_us)
                << " us, our server + binding + client " << fixed(http->ours_us) << " us\n";
    }
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
  /// What the server was started with, for the ceiling only: its device CA key type (`init --ca-key-type`) and,
  /// when it extends every voucher (`serve --first-owner`), that owner's key type.
  std::string server_ca_key_type = "p256";
  std::string server_first_owner_key_type;
};

// DI's public-key operations (FDO 1.1 §5.2.1-§5.2.3): run_di's CSR is signed by the device key (make_csr);
// DiManufacturer::check_device verifies it (parse_csr), issue_device_chain signs the device certificate with the
// device CA key, and with --first-owner DI.SetHMAC extends the voucher, signed by the manufacturer key of the first
// owner's type. The device key is generated in prepare(i), before the clock.
std::vector<fdo::loadgen::PkOp> di_pk_ops(const DiLoad& di) {
  using fdo::loadgen::PkOpKind;
  const fdo::crypto::KeyType device = *fdo::crypto::parse_key_type(di.key_type);
  std::vector<fdo::loadgen::PkOp> ops = {{"device signs the CSR (DI.AppStart)", PkOpKind::Sign, device, false},
                                         {"manufacturer verifies the CSR", PkOpKind::Verify, device, true},
                                         {"manufacturer signs the device certificate with the device CA key",
                                          PkOpKind::Sign, *fdo::crypto::parse_key_type(di.server_ca_key_type), true}};
  if (!di.server_first_owner_key_type.empty()) {
    ops.push_back({"manufacturer signs the voucher entry to the first owner (DI.SetHMAC)", PkOpKind::Sign,
                   *fdo::crypto::parse_key_type(di.server_first_owner_key_type), true});
  }
  return ops;
}

Scenario di_scenario(const LoadOptions& options, const DiLoad& di) {
  // Identities are made before the clock starts; each run then uses its own, over a new HTTP connection.
  auto identities =
      std::make_shared<std::vector<std::optional<fdo::protocol::SoftwareDeviceIdentity>>>(options.devices);
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
  s.pk_ops = di_pk_ops(di);
  s.name = [prefix = di.serial_prefix + run_id + "-"](std::size_t i) { return prefix + std::to_string(i); };
  return s;
}

// ---- to0 / to1: rendezvous registrations and look-ups (FDO 1.1 §5.3-§5.4), in loadgen_rv.cpp ----

Scenario rv_scenario(const std::string& protocol, fdo::loadgen::RvRuns runs) {
  return Scenario{protocol, std::move(runs.prepare), std::move(runs.run), std::move(runs.pk_ops),
                  std::move(runs.after_prepare), std::move(runs.name)};
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
  cmd.add_option("--ceiling-ms", options.ceiling_ms,
                 "CPU time spent timing one run's public-key operations before the load (the crypto ceiling)")
      ->capture_default_str()
      ->check(CLI::Range(10, 60'000));
  cmd.add_option("--http-floor-requests", options.http_floor_requests,
                 "Requests timed after the load for the HTTP floor: cpp-httplib alone and our binding (0: skip)")
      ->capture_default_str();
  cmd.add_option("--server-pid", options.server_pids,
                 "The server's process id, to report its CPU time per run (read from /proc; same machine); "
                 "repeat it for several instances behind a load balancer (their CPU is summed)");
  cmd.add_option("--db-pid", options.db_pid,
                 "A database server's process id (PostgreSQL's postmaster): its CPU and its children's per run "
                 "(db_cpu_ms_per_run)");
  cmd.add_option("--proxy-pid", options.proxy_pid,
                 "A load balancer's process id (haproxy): its CPU per run (proxy_cpu_ms_per_run)");
  cmd.add_option("--server-metrics", options.server_metrics,
                 "A server's admin base URL (http://127.0.0.1:PORT): its store's commits and fdatasync calls over "
                 "the measured phase, per run, from GET /metrics; repeatable, summed; with --server-admin-token");
  cmd.add_option("--server-admin-token", options.server_admin_tokens,
                 "The admin-token file of each --server-metrics, in the same order");
  cmd.add_option("--retries", options.retries,
                 "Further attempts of a failed run (a new run of the same device) before it counts as an error")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  cmd.add_option("--acked", options.acked_file,
                 "Write what names each succeeded run in the server's store (di: the serial number; to0, to1, to2: "
                 "the GUID) to FILE, one per line");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fdo-loadgen: run many FDO protocol runs against a server and report throughput and latency beside the "
      "crypto ceiling (the runs per second the public-key operations of a run allow on this machine's cores)"};
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
  di_cmd
      ->add_option("--server-ca-key-type", di.server_ca_key_type,
                   "The server's device CA key type, for the ceiling (`fdo-manufacturer init --ca-key-type`)")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  di_cmd
      ->add_option("--server-first-owner-key-type", di.server_first_owner_key_type,
                   "Key type of the server's --first-owner, if it has one, for the ceiling (one more signature)")
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
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
    cmd->add_option("--preload", rv.preload,
                    "Live registrations written into --preload-db before the runs (a large table for TO1)")
        ->capture_default_str();
    cmd->add_option("--preload-db", rv.preload_db, "The rendezvous server's database file, for --preload");
    cmd->add_flag("--server-checks-device-chain", rv.server_checks_device_chain,
                  "The server runs with --check-device-chain (for the ceiling: two more verifications per TO0)");
    cmd->footer("Example: fdo-loadgen " + cmd->get_name() +
                " --url http://127.0.0.1:8041 --devices 1000 --concurrency 16 --json");
  }

  fdo::loadgen::To2Load to2;
  std::string to2_kex;
  std::string to2_cipher;
  std::size_t to0_wait = 30;
  CLI::App* to2_cmd = app.add_subcommand(
      "to2", "TO2 onboardings against fdo-owner serve, one new device each (vouchers written into its store first)");
  add_common(*to2_cmd, options);
  to2_cmd->add_option("--owner-dir", to2.owner_dir,
                      "The owner's directory (fdo-owner init): vouchers are extended to DIR/owner.pub.pem and "
                      "written into DIR/owner.db")
      ->required();
  to2_cmd->add_option("--preload-db", to2.db,
                      "The owner's database when serve runs with --db: a SQLite file or a postgresql:// URI "
                      "(default DIR/owner.db)");
  to2_cmd->add_option("--preload-db-password-file", to2.db_password_file,
                      "PostgreSQL only: the password file of --preload-db, as serve --db-password-file");
  to2_cmd->add_option("--key-type", to2.key_type, "Device key type: p256|p384|rsa2048|rsa3072")
      ->capture_default_str()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  to2_cmd->add_option("--kex", to2_kex, "Key exchange the devices ask for (default: the device key's, ECDH256/ECDH384)")
      ->check(CLI::IsMember({"ECDH256", "ECDH384", "DHKEXid14", "DHKEXid15", "ASYMKEX2048", "ASYMKEX3072"}));
  to2_cmd->add_option("--cipher", to2_cipher, "Cipher suite the devices ask for (default: A128GCM/A256GCM)");
  to2_cmd->add_flag("--reuse", to2.reuse,
                    "The owner runs with --reuse (credential reuse: no replacement voucher, one signature less)");
  to2_cmd->add_option("--tpm", to2.tpm,
                      "Every device signs and MACs in this TPM (TCTI; provisioned when empty); needs --concurrency 1");
  to2_cmd
      ->add_option("--to0-wait", to0_wait,
                   "Seconds to wait for the owner's automatic TO0 to try the new vouchers before the clock (0: none)")
      ->capture_default_str();
  to2_cmd->footer(
      "Example: fdo-loadgen to2 --url http://127.0.0.1:8042 --owner-dir owner --devices 500 --concurrency 4 --json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    fdo::log::configure(fdo::log::parse_level(options.log_level), "loadgen");
    rv.url = options.url;
    rv.devices = options.devices;
    for (const std::optional<int>& pid : {options.db_pid, options.proxy_pid}) {
      if (pid && !fdo::loadgen::process_cpu_seconds(*pid)) {
        std::cerr << "fdo-loadgen: --db-pid/--proxy-pid: cannot read /proc/" << *pid << "/stat\n";
        return 1;
      }
    }
    for (const int pid : options.server_pids) {
      if (!fdo::loadgen::process_cpu_seconds(pid)) {
        std::cerr << "fdo-loadgen: --server-pid: cannot read /proc/" << pid << "/stat\n";
        return 1;
      }
    }
    if (options.server_metrics.size() != options.server_admin_tokens.size()) {
      std::cerr << "fdo-loadgen: give one --server-admin-token for each --server-metrics\n";
      return 2;
    }
    if (rv.preload > 0) {
      if (rv.preload_db.empty()) {
        std::cerr << "fdo-loadgen: --preload needs --preload-db (the server's database file)\n";
        return 2;
      }
      const fdo::loadgen::PreloadResult p = fdo::loadgen::preload_registrations(rv);
      std::cerr << "fdo-loadgen: preloaded " << p.rows << " registrations in " << fixed(p.seconds) << " s, "
                << fixed(p.bytes_per_row) << " bytes each in the store\n";
    }
    if (to2_cmd->parsed()) {
      to2.url = options.url;
      to2.devices = options.devices;
      to2.to0_wait = std::chrono::seconds(to0_wait);
      if (!to2.tpm.empty() && options.concurrency != 1) {
        std::cerr << "fdo-loadgen: --tpm needs --concurrency 1 (one TPM serves one run at a time)\n";
        return 2;
      }
      if (!to2_kex.empty()) {
        to2.kex = fdo::crypto::parse_kex_suite(to2_kex);
      }
      if (!to2_cipher.empty()) {
        to2.cipher = fdo::crypto::parse_cipher_suite(to2_cipher);
        if (!to2.cipher) {
          std::cerr << "fdo-loadgen: --cipher: unknown cipher suite " << to2_cipher << "\n";
          return 2;
        }
      }
    }
    const Scenario scenario = to0_cmd->parsed()   ? rv_scenario("to0", fdo::loadgen::to0_runs(rv))
                              : to1_cmd->parsed() ? rv_scenario("to1", fdo::loadgen::to1_runs(rv))
                              : to2_cmd->parsed() ? rv_scenario("to2", fdo::loadgen::to2_runs(to2))
                                                  : di_scenario(options, di);
    // The ceiling is timed first, while the server is idle; the load run follows.
    const fdo::loadgen::Ceiling ceiling =
        fdo::loadgen::measure_ceiling(scenario.pk_ops, std::chrono::milliseconds(options.ceiling_ms));
    const LoadResult result = run_load(scenario, options);
    if (!options.acked_file.empty()) {
      std::ofstream acked(options.acked_file);
      for (const std::string& name : result.acked) {
        acked << name << "\n";
      }
      if (!acked) {
        std::cerr << "fdo-loadgen: --acked: cannot write " << options.acked_file << "\n";
        return 1;
      }
    }
    // The HTTP floor is timed after the load, in this process: cpp-httplib alone, then our binding (both sides).
    std::optional<fdo::transport::HttpFloor> http;
    if (options.http_floor_requests > 0) {
      http = fdo::transport::measure_http_floor(options.http_floor_requests);
    }
    return report(scenario, options, ceiling, result, http);
  } catch (const std::exception& e) {
    std::cerr << "fdo-loadgen: " << e.what() << "\n";
    return 1;
  }
}
