// TPM operations per second on a private swtpm (docs/performance.md "TPM"), beside the same operation in software in
// the same run: what a TPM-backed device pays for each signature and HMAC of DI, TO1 and TO2. swtpm is a simulator:
// a hardware TPM is one to two orders of magnitude slower. The whole-onboarding comparison (file vs TPM device) is
// `fdo-loadgen to2 --tpm` (docs/performance.md "TPM").
//
// BM_TpmSign / BM_SoftwareSign: one ES256 signature over a 300-byte message (an EAT's size), policy session included.
// BM_TpmHmac / BM_SoftwareHmac: HMAC-SHA256 over a 600-byte OVHeader, as an HMAC sequence.
// BM_TpmNvRead / BM_TpmNvWrite: 512 bytes of DCTPM. BM_TpmCommit: a whole journalled credential replacement.
// BM_TpmQuote: TPM-Attest's quote over PCRs 0-7. BM_TpmAppKey: AsymKey's key made and its CSR signed in the TPM.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/swtpm_test_support.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/tpm/tpm_app_key.h"
#include "libfdo/tpm/tpm_attest.h"
#include "libfdo/tpm/tpm_identity.h"

namespace {

using fdo::Bytes;
namespace crypto = fdo::crypto;
namespace tpm = fdo::tpm;

struct Rig {
  std::unique_ptr<tpm::testing::Swtpm> swtpm;
  std::unique_ptr<tpm::Tpm> tpm;
  std::unique_ptr<tpm::FdoTpm> fdo;
};

Rig& rig() {
  static Rig r = [] {
    Rig made;
    std::string why;
    made.swtpm = tpm::testing::Swtpm::start(&why);
    if (!made.swtpm) {
      std::cerr << "tpm_bench: swtpm cannot start: " << why << "\n";
      std::exit(1);
    }
    made.tpm = tpm::Tpm::open(made.swtpm->tcti());
    made.fdo = std::make_unique<tpm::FdoTpm>(*made.tpm);
    made.fdo->provision({});
    fdo::DeviceCredential c;
    c.dc_device_info = "bench";
    c.dc_guid = fdo::Guid::random();
    c.dc_rv_info = fdo::RendezvousInfo::from_urls("http://127.0.0.1:8040");
    c.dc_pub_key_hash = fdo::Hash::compute(fdo::HashType::Sha256, Bytes{1});
    c.storage = fdo::CredentialStorage::Tpm;
    made.fdo->commit(c, std::nullopt);
    return made;
  }();
  return r;
}

void BM_TpmSign(benchmark::State& state) {
  const tpm::TpmSigner signer(*rig().fdo);
  const Bytes message(300, 0x42);
  for (auto _ : state) {
    benchmark::DoNotOptimize(signer.sign(message));
  }
}
BENCHMARK(BM_TpmSign)->Unit(benchmark::kMillisecond);

void BM_SoftwareSign(benchmark::State& state) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const Bytes message(300, 0x42);
  for (auto _ : state) {
    benchmark::DoNotOptimize(key.sign(crypto::SigAlg::ES256, message));
  }
}
BENCHMARK(BM_SoftwareSign)->Unit(benchmark::kMillisecond);

void BM_TpmHmac(benchmark::State& state) {
  const tpm::TpmHmac hmac(*rig().fdo);
  const Bytes header(600, 0x17);
  for (auto _ : state) {
    benchmark::DoNotOptimize(hmac.hmac(crypto::HashAlg::Sha256, header));
  }
}
BENCHMARK(BM_TpmHmac)->Unit(benchmark::kMillisecond);

void BM_SoftwareHmac(benchmark::State& state) {
  const Bytes key(32, 0x01);
  const Bytes header(600, 0x17);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::hmac(crypto::HashAlg::Sha256, key, header));
  }
}
BENCHMARK(BM_SoftwareHmac)->Unit(benchmark::kMillisecond);

void BM_TpmNvRead(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(rig().tpm->nv_read(tpm::handle::kDcTpm, tpm::kDcTpmSize));
  }
}
BENCHMARK(BM_TpmNvRead)->Unit(benchmark::kMillisecond);

void BM_TpmNvWrite(benchmark::State& state) {
  const Bytes data(tpm::kDcTpmSize, 0);
  Bytes current = rig().tpm->nv_read(tpm::handle::kDcTpm, tpm::kDcTpmSize);
  for (auto _ : state) {
    rig().tpm->nv_write(tpm::handle::kDcTpm, current);
  }
}
BENCHMARK(BM_TpmNvWrite)->Unit(benchmark::kMillisecond);

void BM_TpmCommit(benchmark::State& state) {
  const std::optional<fdo::DeviceCredential> c = rig().fdo->load();
  for (auto _ : state) {
    rig().fdo->commit(*c, rig().fdo->new_hmac_us());
  }
}
BENCHMARK(BM_TpmCommit)->Unit(benchmark::kMillisecond);

void BM_TpmQuote(benchmark::State& state) {
  rig().tpm->ensure_attestation_key(tpm::kAttestKeyHandle);
  const Bytes nonce(32, 0x33);
  for (auto _ : state) {
    benchmark::DoNotOptimize(rig().tpm->quote(tpm::kAttestKeyHandle, tpm::KeyAuth{}, nonce, {0, 1, 2, 3, 4, 5, 6, 7}, 32));
  }
}
BENCHMARK(BM_TpmQuote)->Unit(benchmark::kMillisecond);

void BM_TpmAppKey(benchmark::State& state) {
  tpm::TpmAppKeys keys(*rig().tpm);
  for (auto _ : state) {
    const std::unique_ptr<fdo::fsim::PendingAppKey> key = keys.generate(crypto::KeyType::P256);
    benchmark::DoNotOptimize(key->csr("bench"));
  }
}
BENCHMARK(BM_TpmAppKey)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
