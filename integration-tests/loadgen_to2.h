#pragma once
// fdo-loadgen's `to2` scenario (loadgen.cpp registers it): TO2 onboardings (FDO 1.1 §5.5) against a real
// `fdo-owner serve`, each by its own simulated device whose voucher is extended to that owner's key and written
// straight into the owner's store before the clock starts (docs/performance.md "TO2").

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "integration-tests/loadgen_rv.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"

namespace fdo::loadgen {

/// What the TO2 scenario needs besides the common options.
struct To2Load {
  /// The owner's TO2 URL (as `fdo-device onboard --owner-url`: no TO1).
  std::string url;
  /// Number of runs, one device each.
  std::size_t devices = 10;
  /// The devices' attestation key type (p256, p384, rsa2048, rsa3072).
  std::string key_type = "p256";
  /// The key exchange and cipher suite the devices ask for; nullopt: protocol::default_suites().
  std::optional<crypto::KexSuite> kex;
  std::optional<crypto::CipherSuite> cipher;
  /// The owner directory (`fdo-owner init`): DIR/owner.pub.pem is the key vouchers are extended to, DIR/owner.db
  /// the store they are written into unless `db` names another (`serve --db`).
  std::filesystem::path owner_dir;
  std::string db;
  /// PostgreSQL only (`db` a postgresql:// URI): the password file, as `serve --db-password-file`.
  std::filesystem::path db_password_file;
  /// The owner runs with `--reuse` (FDO 1.1 §5.5.7): no replacement voucher, one signature less per run.
  bool reuse = false;
  /// After writing the vouchers, wait up to this long for the owner's automatic TO0 to have tried each once, so
  /// that its pass is not inside the measured phase (0: do not wait).
  std::chrono::seconds to0_wait{30};
  /// A TCTI: every device's key and HMAC secret are the ones of this TPM (provisioned here when empty), so each run
  /// signs and MACs in the TPM (docs/performance.md "TPM"). Needs concurrency 1: one TPM serves one run at a time.
  std::string tpm;
};

/// `to2`: prepare(i) makes device i in-process (key, HMAC secret, certificate from a throwaway device CA, a voucher
/// from libfdo/voucher/create.h extended once by a throwaway manufacturer key to the owner's key); after_prepare
/// writes every voucher into the owner's store (put_voucher, put_owner_device "imported"; 1 000 per transaction)
/// and waits for the owner's TO0 pass; run(i) is one protocol::run_to2 over HTTP. Error(MessageBodyError) when the
/// owner's public key cannot be read or does not suit the key exchange.
RvRuns to2_runs(const To2Load& load);

}  // namespace fdo::loadgen
