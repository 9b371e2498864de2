#include "integration-tests/loadgen_ceiling.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
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

// The RSA key ASYMKEX encrypts to (FDO 1.1 §3.6.3); other suites take any owner key (unused).
crypto::KeyType kex_owner_key_type(crypto::KexSuite suite) {
  switch (suite) {
    case crypto::KexSuite::AsymKex2048: return crypto::KeyType::Rsa2048;
    case crypto::KexSuite::AsymKex3072: return crypto::KeyType::Rsa3072;
    default: return crypto::KeyType::P256;
  }
}

// Repeats `once` until `budget_s` of thread CPU time has passed (at least kMinIterations); CPU µs per call.
template <typename F>
double time_loop(double budget_s, F&& once) {
  std::size_t n = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  while (n < kMinIterations || elapsed < budget_s) {
    once();
    ++n;
    elapsed = thread_cpu_seconds() - start;
  }
  return elapsed * 1e6 / static_cast<double>(n);
}

// CPU microseconds of one key-exchange step of `op.kex` on this thread.
double time_kex(const PkOp& op, double budget_s) {
  const crypto::PrivateKey owner_key = crypto::PrivateKey::generate(kex_owner_key_type(op.kex));
  const crypto::PublicKey owner_public = owner_key.public_key();
  const crypto::KexOwner owner = crypto::KexOwner::start(op.kex);
  const Bytes xa = owner.xa();
  const crypto::DeviceKex device = crypto::device_kex(op.kex, xa, owner_public);
  if (!std::ranges::equal(owner.finish(device.xb, &owner_key).shse.view(), device.secret.shse.view())) {
    throw_internal("ceiling: the two halves of " + pk_op_name(op) + " disagree");
  }
  switch (op.kind) {
    case PkOpKind::KexStart:
      return time_loop(budget_s, [&] {
        if (crypto::KexOwner::start(op.kex).xa().empty()) {
          throw_internal("ceiling: empty xA");
        }
      });
    case PkOpKind::KexFinish:
      return time_loop(budget_s, [&] {
        if (owner.finish(device.xb, &owner_key).shse.empty()) {
          throw_internal("ceiling: empty shared secret");
        }
      });
    default:
      return time_loop(budget_s, [&] {
        if (crypto::device_kex(op.kex, xa, owner_public).xb.empty()) {
          throw_internal("ceiling: empty xB");
        }
      });
  }
}

// CPU microseconds of one `op` on this thread: repeated until `budget_s` of thread CPU time has passed.
double time_op(const PkOp& op, double budget_s) {
  if (op.kind != PkOpKind::Sign && op.kind != PkOpKind::Verify) {
    return time_kex(op, budget_s);
  }
  const crypto::PrivateKey key = crypto::PrivateKey::generate(op.key_type);
  const crypto::PublicKey public_key = key.public_key();
  const crypto::SigAlg alg = crypto::default_sig_alg(op.key_type);
  const Bytes message = random_bytes(kMessageSize);
  const Bytes signature = key.sign(alg, message);
  if (!public_key.verify(alg, message, signature)) {
    throw_internal("ceiling: a fresh " + pk_op_name(op) + " signature does not verify");
  }
  if (op.kind == PkOpKind::Sign) {
    return time_loop(budget_s, [&] {
      if (key.sign(alg, message).empty()) {
        throw_internal("ceiling: empty signature");
      }
    });
  }
  return time_loop(budget_s, [&] {
    if (!public_key.verify(alg, message, signature)) {
      throw_internal("ceiling: a " + pk_op_name(op) + " signature stopped verifying");
    }
  });
}

bool same_op(const PkOp& a, const PkOp& b) {
  if (a.kind != b.kind) {
    return false;
  }
  return a.kind == PkOpKind::Sign || a.kind == PkOpKind::Verify ? a.key_type == b.key_type : a.kex == b.kex;
}

}  // namespace

std::string pk_op_name(const PkOp& op) {
  switch (op.kind) {
    case PkOpKind::Sign: return "sign_" + std::string(crypto::key_type_name(op.key_type));
    case PkOpKind::Verify: return "verify_" + std::string(crypto::key_type_name(op.key_type));
    default: break;
  }
  std::string suite(crypto::kex_suite_name(op.kex));
  for (char& c : suite) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const char* step = op.kind == PkOpKind::KexStart ? "kex_start_" : op.kind == PkOpKind::KexFinish ? "kex_finish_"
                                                                                                  : "kex_device_";
  return step + suite;
}

Ceiling measure_ceiling(const std::vector<PkOp>& run_ops, std::chrono::milliseconds budget) {
  if (run_ops.empty()) {
    throw_internal("ceiling: a run with no public-key operations has no crypto ceiling");
  }
  struct Distinct {
    PkOp op;
    std::size_t per_run;
  };
  std::vector<Distinct> distinct;
  for (const PkOp& op : run_ops) {
    const auto same = [&](const Distinct& d) { return same_op(d.op, op); };
    const auto found = std::find_if(distinct.begin(), distinct.end(), same);
    if (found == distinct.end()) {
      distinct.push_back(Distinct{op, 1});
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
    const double us = time_op(d.op, budget_s);
    c.ops.push_back(Ceiling::Op{.name = pk_op_name(d.op), .per_run = d.per_run, .cpu_us = us});
    us_per_run += us * static_cast<double>(d.per_run);
    for (const PkOp& op : run_ops) {
      if (op.by_server && same_op(op, d.op)) {
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

namespace {

// Fields 3 to 15 of /proc/PID/stat: after[0] is the state, after[1] the parent pid, after[11] and after[12] utime
// and stime in clock ticks; empty when the process does not exist. COMM may hold spaces and parentheses, so fields
// are counted after the last ')'.
std::vector<std::string> stat_fields(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return {};
  }
  std::istringstream fields(stat.substr(close + 1));
  std::vector<std::string> after;
  for (std::string f; fields >> f && after.size() < 13;) {
    after.push_back(f);
  }
  return after.size() < 13 ? std::vector<std::string>{} : after;
}

std::optional<double> cpu_of(const std::vector<std::string>& after) {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (after.empty() || ticks <= 0) {
    return std::nullopt;
  }
  try {
    return (std::stod(after[11]) + std::stod(after[12])) / static_cast<double>(ticks);
  } catch (const std::exception&) {  // std::stod on a field that is not a number: not a stat file we can read
    return std::nullopt;
  }
}

}  // namespace

std::optional<double> process_cpu_seconds(int pid) { return cpu_of(stat_fields(pid)); }

std::optional<double> process_tree_cpu_seconds(int pid) {
  const std::optional<double> root = process_cpu_seconds(pid);
  if (!root) {
    return std::nullopt;
  }
  // Parent of every process, then the descendants of `pid` by walking down from it.
  std::map<int, std::vector<int>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); })) {
      continue;
    }
    const std::vector<std::string> after = stat_fields(std::stoi(name));
    if (!after.empty()) {
      children[std::stoi(after[1])].push_back(std::stoi(name));
    }
  }
  double total = *root;
  std::vector<int> todo = children[pid];
  while (!todo.empty()) {
    const int p = todo.back();
    todo.pop_back();
    total += cpu_of(stat_fields(p)).value_or(0);
    const std::vector<int>& below = children[p];
    todo.insert(todo.end(), below.begin(), below.end());
  }
  return total;
}

}  // namespace fdo::loadgen
