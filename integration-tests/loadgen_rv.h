#pragma once
// fdo-loadgen's rendezvous scenarios (loadgen.cpp registers them as `to0` and `to1`): TO0 registrations and TO1
// look-ups against a real fdo-rendezvous, with vouchers and devices made in-process before the clock starts.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "integration-tests/loadgen_ceiling.h"

namespace fdo::loadgen {

/// What the rendezvous scenarios need besides the common options.
struct RvLoad {
  /// The rendezvous server's base URL.
  std::string url;
  /// Number of runs, one device (GUID) each.
  std::size_t devices = 10;
  /// Key type of the device, manufacturer and owner keys: "p256" or "p384".
  std::string key_type = "p256";
  /// WaitSeconds requested at TO0.
  std::uint32_t wait_seconds = 3600;
  /// Whether the server runs with --check-device-chain (for the ceiling only: two more verifications at TO0).
  bool server_checks_device_chain = false;
};

/// One kind of run as loadgen.cpp's Scenario takes it: prepare(i) before the clock, run(i) measured; both throw
/// fdo::Error on failure. pk_ops: the public-key operations one run(i) performs, owner or device and server.
struct RvRuns {
  std::function<void(std::size_t)> prepare;
  std::function<void(std::size_t)> run;
  std::vector<PkOp> pk_ops;
};

/// `to0`: prepare(i) makes voucher i (a new device extended once to the owner); run(i) is one TO0 (FDO 1.1 §5.3):
/// the owner signs to1d, the server verifies the voucher's entry and to1d (and the device chain when asked to).
RvRuns to0_runs(const RvLoad& load);
/// `to1`: prepare(i) makes device i and registers its voucher by TO0; run(i) is one TO1 (FDO 1.1 §5.4): the device
/// signs the EAT, the server verifies it.
RvRuns to1_runs(const RvLoad& load);

}  // namespace fdo::loadgen
