#include "integration-tests/loadgen_ceiling.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "libfdo/core/error.h"
#include "libfdo/core/random.h"

namespace fdo::loadgen {
namespace {

constexpr std::size_t kMessageSize = 256;
constexpr std::size_t kMinIterations = 16;

double thread_cpu_seconds() {
  timespec ts{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
    throw_internal("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
  }
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU microseconds of one `op` on this thread: repeated until `budget_s` of thread CPU time has passed.
double time_op(PkOpKind kind, crypto::KeyType type, double budget_s) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(type);
  const crypto::PublicKey public_key = key.public_key();
  const crypto::SigAlg alg = crypto::default_sig_alg(type);
  const Bytes message = random_bytes(kMessageSize);
  const Bytes signature = key.sign(alg, message);
  if (!public_key.verify(alg, message, signature)) {
    throw_internal("ceiling: a fresh " + pk_op_name(kind, type) + " signature does not verify");
  }
  std::size_t n = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  while (n < kMinIterations || elapsed < budget_s) {
    if (kind == PkOpKind::Sign) {
      const Bytes s = key.sign(alg, message);
      if (s.empty()) {
        throw_internal("ceiling: empty signature");
      }
    } else if (!public_key.verify(alg, message, signature)) {
      throw_internal("ceiling: a " + pk_op_name(kind, type) + " signature stopped verifying");
    }
    ++n;
    elapsed = thread_cpu_seconds() - start;
  }
  return elapsed * 1e6 / static_cast<double>(n);
}

}  // namespace

std::string pk_op_name(PkOpKind kind, crypto::KeyType type) {
  return std::string(kind == PkOpKind::Sign ? "sign_" : "verify_") + std::string(crypto::key_type_name(type));
}

Ceiling measure_ceiling(const std::vector<PkOp>& run_ops, std::chrono::milliseconds budget) {
  if (run_ops.empty()) {
    throw_internal("ceiling: a run with no public-key operations has no crypto ceiling");
  }
  struct Distinct {
    PkOpKind kind;
    crypto::KeyType type;
    std::size_t per_run;
  };
  std::vector<Distinct> distinct;
  for (const PkOp& op : run_ops) {
    const auto same = [&](const Distinct& d) { return d.kind == op.kind && d.type == op.key_type; };
    const auto found = std::find_if(distinct.begin(), distinct.end(), same);
    if (found == distinct.end()) {
      distinct.push_back(Distinct{op.kind, op.key_type, 1});
    } else {
      ++found->per_run;
    }
  }
  const double budget_s = std::chrono::duration<double>(budget).count() / static_cast<double>(distinct.size());
  Ceiling c;
  c.cores = std::max(1u, std::thread::hardware_concurrency());
  double us_per_run = 0;
  double server_us_per_run = 0;
  for (const Distinct& d : distinct) {
    const double us = time_op(d.kind, d.type, budget_s);
    c.ops.push_back(Ceiling::Op{.name = pk_op_name(d.kind, d.type), .per_run = d.per_run, .cpu_us = us});
    us_per_run += us * static_cast<double>(d.per_run);
    for (const PkOp& op : run_ops) {
      if (op.by_server && op.kind == d.kind && op.key_type == d.type) {
        server_us_per_run += us;
      }
    }
  }
  c.cpu_ms_per_run = us_per_run / 1000;
  c.server_cpu_ms_per_run = server_us_per_run / 1000;
  c.runs_per_s = static_cast<double>(c.cores) * 1e6 / us_per_run;
  return c;
}

double own_cpu_seconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) {
    throw_internal("getrusage(RUSAGE_SELF) failed");
  }
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::optional<double> process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses, so fields are counted after the last ')'.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(stat.substr(close + 1));
  std::vector<std::string> after;  // after[0] is field 3 (state); utime is field 14, stime field 15
  for (std::string f; fields >> f && after.size() < 13;) {
    after.push_back(f);
  }
  if (after.size() < 13) {
    return std::nullopt;
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks <= 0) {
    return std::nullopt;
  }
  try {
    const double total = std::stod(after[11]) + std::stod(after[12]);
    return total / static_cast<double>(ticks);
  } catch (const std::exception&) {  // std::stod on a field that is not a number: not a stat file we can read
    return std::nullopt;
  }
}

}  // namespace fdo::loadgen
