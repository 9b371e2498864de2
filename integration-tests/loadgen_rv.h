#pragma once
// fdo-loadgen's rendezvous scenarios (loadgen.cpp registers them as `to0` and `to1`): TO0 registrations and TO1
// look-ups against a real fdo-rendezvous, with vouchers and devices made in-process before the clock starts.

#include <cstddef>
#include <cstdint>
#include <filesystem>
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
  /// Registrations written straight into `preload_db` (the server's database file) before the runs, so that TO1
  /// can be measured against a large table; 0: none.
  std::size_t preload = 0;
  std::filesystem::path preload_db;
};

/// What preload_registrations() did.
struct PreloadResult {
  std::size_t rows = 0;
  double seconds = 0;
  /// Growth of the database file (with its -wal) divided by the rows written.
  double bytes_per_row = 0;
};

/// Writes `load.preload` live registrations of realistic size (a real load-run voucher, to1d, owner and device
/// keys; random GUIDs) into `load.preload_db`, 10 000 per transaction. The server may be running: SQLite
/// serialises the two processes' transactions.
PreloadResult preload_registrations(const RvLoad& load);

/// One kind of run as loadgen.cpp's Scenario takes it: prepare(i) before the clock, then after_prepare() once (when
/// set), then run(i) measured; all throw fdo::Error on failure. pk_ops: the public-key operations one run(i)
/// performs, owner or device and server.
struct RvRuns {
  std::function<void(std::size_t)> prepare;
  std::function<void(std::size_t)> run;
  std::vector<PkOp> pk_ops;
  std::function<void()> after_prepare;
  /// What names run i in the server's store once it succeeded (the device GUID in hex), for --acked.
  std::function<std::string(std::size_t)> name;
};

/// `to0`: prepare(i) makes voucher i (a new device extended once to the owner); run(i) is one TO0 (FDO 1.1 §5.3):
/// the owner signs to1d, the server verifies the voucher's entry and to1d (and the device chain when asked to).
RvRuns to0_runs(const RvLoad& load);
/// `to1`: prepare(i) makes device i and registers its voucher by TO0; run(i) is one TO1 (FDO 1.1 §5.4): the device
/// signs the EAT, the server verifies it.
RvRuns to1_runs(const RvLoad& load);

}  // namespace fdo::loadgen
