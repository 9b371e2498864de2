#pragma once
// fdo-loadgen's crypto ceiling (docs/performance.md): the public-key operations one protocol run needs on both
// sides, timed in-process on one thread with libfdo's crypto API (OpenSSL underneath), and the runs per second
// they allow when spread over this machine's cores. Also the CPU time a process spent, to see where the rest goes.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/crypto/kex.h"
#include "libfdo/crypto/keys.h"

namespace fdo::loadgen {

/// What a public-key operation does. The key-exchange kinds are TO2's (FDO 1.1 §3.6), timed through
/// libfdo/crypto/kex.h: KexStart = KexOwner::start + xA (ECDH or DH ephemeral key, ASYMKEX OwnerRandom);
/// KexFinish = KexOwner::finish (ECDH derive, DH modexp, RSA-OAEP decrypt); KexDevice = device_kex (the device's
/// ephemeral key and derive, or RSA-OAEP encrypt).
enum class PkOpKind { Sign, Verify, KexStart, KexFinish, KexDevice };

/// One public-key operation of a protocol run: who performs it and why, and on which key type.
struct PkOp {
  /// For the text report, e.g. "device signs the CSR (DI.AppStart)".
  std::string role;
  PkOpKind kind = PkOpKind::Sign;
  crypto::KeyType key_type = crypto::KeyType::P256;
  /// The server performs it (not the loadgen's device or owner): counted in server_efficiency.
  bool by_server = false;
  /// The key exchange of a Kex* kind (key_type is then unused).
  crypto::KexSuite kex = crypto::KexSuite::Ecdh256;
};

/// "sign_p256", "verify_rsa2048", "kex_finish_dhkexid14": an operation's name in the JSON line.
std::string pk_op_name(const PkOp& op);

/// The crypto ceiling of one kind of protocol run, measured on this machine.
struct Ceiling {
  /// One distinct operation: its name, how often one run performs it, and its CPU time on one thread.
  struct Op {
    std::string name;
    std::size_t per_run = 0;
    double cpu_us = 0;
  };
  /// In the order of their first appearance in the run.
  std::vector<Op> ops;
  /// CPU milliseconds of all public-key operations of one run, client and server together.
  double cpu_ms_per_run = 0;
  /// CPU milliseconds of the server's own public-key operations of one run.
  double server_cpu_ms_per_run = 0;
  /// Cores the operations may spread over: std::thread::hardware_concurrency() (at least 1).
  unsigned cores = 1;
  /// cores / (CPU seconds per run): runs per second no implementation on this machine can exceed.
  double runs_per_s = 0;
};

/// Times each distinct operation of `run_ops` for about budget / (number of distinct operations) of thread CPU
/// time (at least 16 operations each), with one key per operation made beforehand and a 256-byte message (the
/// size of a typical Sig_structure or to-be-signed certificate). Signatures made for the verify timings are
/// checked; throws Error(InternalServerError) if one does not verify or `run_ops` is empty.
Ceiling measure_ceiling(const std::vector<PkOp>& run_ops, std::chrono::milliseconds budget);

/// CPU seconds (user + system) this process has used so far.
double own_cpu_seconds();

/// CPU seconds (user + system) process `pid` has used so far, read from /proc/PID/stat (Linux; 10 ms ticks);
/// nullopt when the process does not exist or /proc cannot be read.
std::optional<double> process_cpu_seconds(int pid);

/// The same for `pid` and every process below it (a PostgreSQL postmaster and its backends): nullopt when `pid`
/// does not exist. A child that exited is no longer counted.
std::optional<double> process_tree_cpu_seconds(int pid);

}  // namespace fdo::loadgen
