// Voucher verification throughput beside its crypto floor, measured in the same run (docs/performance.md).
//
// BM_VoucherVerify/N runs the full verification report (FDO 1.1 §3.4.2) on a voucher with N ES256 entries.
// BM_SignatureFloor/N runs only the N raw ECDSA P-256 verifications that verification cannot avoid, over
// Sig_structures prepared in advance. Their ratio is our overhead (goal: under 10 %).
// BM_CborSkip walks every item of a voucher with the strict reader (CBOR decode throughput).

#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "libfdo/cbor/reader.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/verify.h"

namespace {

using fdo::Bytes;
namespace crypto = fdo::crypto;
namespace voucher = fdo::voucher;

struct Fixture {
  Bytes voucher;
  // For the floor: each entry's Sig_structure, signature and the key that verifies it.
  std::vector<Bytes> sig_structures;
  std::vector<Bytes> signatures;
  std::vector<crypto::PublicKey> keys;
};

// A P-256 device certified by a P-256 CA, a P-256 manufacturer, and `entries` extensions to fresh owners.
Fixture make_fixture(int entries) {
  const auto device = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const auto ca = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const auto ca_cert = crypto::make_self_signed(ca, {"bench device CA", "fdo-cpp", 365, true});
  const auto leaf = crypto::issue_certificate(ca, ca_cert, device.public_key(), {"bench device", "fdo-cpp", 365, false});
  auto owner = crypto::PrivateKey::generate(crypto::KeyType::P256);

  const voucher::HeaderInput in{fdo::Guid::random(),
                                fdo::RendezvousInfo::from_urls(std::string_view("http://127.0.0.1:8041")), "bench",
                                fdo::PublicKey::from_key(owner.public_key()), {leaf.der(), ca_cert.der()}};
  const voucher::CreatedHeader header = voucher::make_header(in);
  const fdo::SecretBytes secret(Bytes(32, 7));
  auto ov = voucher::assemble_voucher(header.header_bytes, voucher::header_hmac(header.hash_family, secret, header.header_bytes),
                                      in.dev_cert_chain);
  Fixture f;
  for (int i = 0; i < entries; ++i) {
    auto next = crypto::PrivateKey::generate(crypto::KeyType::P256);
    f.keys.push_back(owner.public_key());
    ov = voucher::extend(ov, owner, fdo::PublicKey::from_key(next.public_key()));
    owner = std::move(next);
  }
  for (const voucher::OVEntry& e : ov.entries()) {
    f.sig_structures.push_back(e.sign1.sig_structure());
    f.signatures.emplace_back(e.sign1.signature().begin(), e.sign1.signature().end());
  }
  f.voucher = ov.encode();
  return f;
}

const Fixture& fixture(int entries) {
  static std::map<int, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[entries];
  if (!slot) {
    slot = std::make_unique<Fixture>(make_fixture(entries));
  }
  return *slot;
}

void BM_VoucherVerify(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const voucher::VerifyReport report = voucher::verify(f.voucher);
    if (!report.valid) {
      state.SkipWithError("voucher did not verify");
      break;
    }
    benchmark::DoNotOptimize(report);
  }
  state.counters["vouchers_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Cold caches: cycles through more distinct vouchers (distinct devices, device CAs and owners) than the key and
// certificate caches hold, so every key and certificate is parsed anew (docs/performance.md).
void BM_VoucherVerifyCold(benchmark::State& state) {
  static std::vector<Fixture> distinct = [] {
    std::vector<Fixture> v;
    for (int i = 0; i < 300; ++i) {
      v.push_back(make_fixture(1));
    }
    return v;
  }();
  std::size_t i = 0;
  for (auto _ : state) {
    const voucher::VerifyReport report = voucher::verify(distinct[i++ % distinct.size()].voucher);
    if (!report.valid) {
      state.SkipWithError("voucher did not verify");
      break;
    }
    benchmark::DoNotOptimize(report);
  }
  state.counters["vouchers_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_SignatureFloor(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (std::size_t i = 0; i < f.signatures.size(); ++i) {
      if (!f.keys[i].verify(crypto::SigAlg::ES256, f.sig_structures[i], f.signatures[i])) {
        state.SkipWithError("signature did not verify");
        return;
      }
    }
  }
  state.counters["vouchers_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["signatures_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * f.signatures.size()), benchmark::Counter::kIsRate);
}

void BM_CborSkip(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    fdo::cbor::Reader r(f.voucher);
    r.skip("voucher");
    r.expect_end();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.voucher.size()));
}

BENCHMARK(BM_VoucherVerify)->Arg(1)->Arg(5)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VoucherVerifyCold)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SignatureFloor)->Arg(1)->Arg(5)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CborSkip)->Arg(20);

}  // namespace

BENCHMARK_MAIN();
