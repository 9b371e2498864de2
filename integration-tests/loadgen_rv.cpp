#include "integration-tests/loadgen_rv.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/types/public_key.h"
#include "libfdo/storage/sqlite_store.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/to0_owner.h"
#include "libfdo/protocol/to1_device.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/types/rvto2addr.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/extend.h"

namespace fdo::loadgen {
namespace {

/// The keys every device of a load run shares: manufacturer, owner, device CA.
struct Authority {
  crypto::KeyType type;
  crypto::PrivateKey manufacturer;
  crypto::PrivateKey owner;
  crypto::PrivateKey device_ca_key;
  crypto::Certificate device_ca;
  RendezvousInfo rv_info;
  RVTO2Addr to2_addr;

  static std::shared_ptr<const Authority> make(const RvLoad& load) {
    const std::optional<crypto::KeyType> type = crypto::parse_key_type(load.key_type);
    if (!type) {
      throw_body_error("--key-type: unknown key type " + load.key_type);
    }
    crypto::PrivateKey ca_key = crypto::PrivateKey::generate(*type);
    crypto::Certificate ca = crypto::make_self_signed(
        ca_key,
        {.common_name = "fdo-loadgen device CA", .organization = "fdo-loadgen", .validity_days = 365, .is_ca = true});
    return std::make_shared<const Authority>(
        Authority{.type = *type,
                  .manufacturer = crypto::PrivateKey::generate(*type),
                  .owner = crypto::PrivateKey::generate(*type),
                  .device_ca_key = std::move(ca_key),
                  .device_ca = std::move(ca),
                  .rv_info = RendezvousInfo::from_urls(load.url),
                  .to2_addr = RVTO2Addr::from_urls(std::vector<std::string>{"http://127.0.0.1:8042"})});
  }
};

/// Entries in every load-run voucher: make_device extends once, manufacturer to owner.
constexpr std::size_t kVoucherEntries = 1;

/// One device of a load run: its key, GUID and voucher (extended once, to the shared owner).
struct LoadDevice {
  protocol::SoftwareSigner signer;
  /// What run_to1 reads of the credential: the GUID and the RendezvousInfo.
  DeviceCredential credential;
  Bytes voucher;
};

/// What DI and a reseller would produce, in-process (FDO 1.1 §5.2, §3.4.2).
LoadDevice make_device(const Authority& a) {
  crypto::PrivateKey key = crypto::PrivateKey::generate(a.type);
  const crypto::Certificate leaf = crypto::issue_certificate(
      a.device_ca_key, a.device_ca, key.public_key(),
      {.common_name = "fdo-loadgen device", .organization = "fdo-loadgen", .validity_days = 365, .is_ca = false});
  const std::vector<Bytes> chain = {leaf.der(), a.device_ca.der()};
  const Guid guid = Guid::random();
  const voucher::CreatedHeader header =
      voucher::make_header({.guid = guid,
                            .rv_info = a.rv_info,
                            .device_info = "fdo-loadgen",
                            .manufacturer_key = PublicKey::from_key(a.manufacturer.public_key()),
                            .dev_cert_chain = chain});
  const SecretBytes secret(random_bytes(crypto::digest_size(header.hash_family)));
  const voucher::OwnershipVoucher fresh = voucher::assemble_voucher(
      header.header_bytes, voucher::header_hmac(header.hash_family, secret, header.header_bytes), chain);
  const voucher::OwnershipVoucher owned =
      voucher::extend(fresh, a.manufacturer, voucher::next_owner_key(fresh, a.owner.public_key()));
  DeviceCredential credential;
  credential.dc_guid = guid;
  credential.dc_rv_info = a.rv_info;
  credential.key_type = a.type;
  return LoadDevice{.signer = protocol::SoftwareSigner(std::move(key)),
                    .credential = std::move(credential),
                    .voucher = owned.encode()};
}

/// The devices of a run, made by prepare(i) on the loader's threads; each index is written by one thread only.
using Devices = std::vector<std::optional<LoadDevice>>;

/// TO0's public-key operations (FDO 1.1 §5.3.3): run_to0 signs to1d; To0Rendezvous::owner_sign verifies every
/// voucher entry (FDO 1.1 §3.4.2), the device chain only under --check-device-chain (leaf by CA, CA by
/// itself), and to1d with the last entry's key (check 7 in docs/protocols/to0.md). One key type for every key of a load
/// run.
std::vector<PkOp> to0_pk_ops(crypto::KeyType type, bool server_checks_device_chain) {
  std::vector<PkOp> ops = {{"owner signs to1d (TO0.OwnerSign)", PkOpKind::Sign, type}};
  if (server_checks_device_chain) {
    ops.push_back({"rendezvous verifies the device certificate with the device CA key", PkOpKind::Verify, type, true});
    ops.push_back({"rendezvous verifies the device CA's self-signature", PkOpKind::Verify, type, true});
  }
  for (std::size_t i = 0; i < kVoucherEntries; ++i) {
    ops.push_back({"rendezvous verifies voucher entry " + std::to_string(i), PkOpKind::Verify, type, true});
  }
  ops.push_back({"rendezvous verifies to1d with the owner key", PkOpKind::Verify, type, true});
  return ops;
}

/// TO1's public-key operations (FDO 1.1 §5.4.3): make_eat signs, To1Rendezvous::prove_to_rv verifies.
std::vector<PkOp> to1_pk_ops(crypto::KeyType type) {
  return {{"device signs the EAT (TO1.ProveToRV)", PkOpKind::Sign, type},
          {"rendezvous verifies the EAT with the device key", PkOpKind::Verify, type, true}};
}

}  // namespace

PreloadResult preload_registrations(const RvLoad& load) {
  PreloadResult out;
  if (load.preload == 0) {
    return out;
  }
  const std::shared_ptr<const Authority> authority = Authority::make(load);
  const LoadDevice sample = make_device(*authority);
  const Bytes owner_key = PublicKey::from_key(authority->owner.public_key()).encode();
  const Bytes device_key = sample.signer.public_key().spki_der();
  const auto file_bytes = [&load] {
    std::uintmax_t total = 0;
    for (const std::string suffix : {"", "-wal"}) {
      std::error_code ec;
      const std::uintmax_t n = std::filesystem::file_size(load.preload_db.string() + suffix, ec);
      total += ec ? 0 : n;
    }
    return total;
  };
  const std::unique_ptr<storage::Store> store = storage::open_sqlite_store(load.preload_db);
  const std::uintmax_t before = file_bytes();
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  constexpr std::size_t kBatch = 10'000;
  for (std::size_t done = 0; done < load.preload;) {
    const auto tx = store->begin();
    for (std::size_t i = 0; i < kBatch && done < load.preload; ++i, ++done) {
      tx->put_rv_registration(storage::RvRegistration{.guid = Guid::random(),
                                                      .to1d = random_bytes(120),
                                                      .voucher = sample.voucher,
                                                      .owner_key = owner_key,
                                                      .device_key = device_key,
                                                      .expires_at = now + 86'400,
                                                      .registered_at = now});
    }
    tx->commit();
  }
  out.rows = load.preload;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::uintmax_t after = file_bytes();
  out.bytes_per_row = after > before ? static_cast<double>(after - before) / static_cast<double>(out.rows) : 0;
  return out;
}

RvRuns to0_runs(const RvLoad& load) {
  const std::shared_ptr<const Authority> authority = Authority::make(load);
  auto devices = std::make_shared<Devices>(load.devices);
  RvRuns runs;
  runs.prepare = [authority, devices](std::size_t i) { (*devices)[i].emplace(make_device(*authority)); };
  runs.run = [authority, devices, load](std::size_t i) {
    transport::HttpTransport transport(load.url);
    static_cast<void>(
        protocol::run_to0(transport, (*devices)[i]->voucher, authority->owner, authority->to2_addr, load.wait_seconds));
  };
  runs.pk_ops = to0_pk_ops(authority->type, load.server_checks_device_chain);
  runs.name = [devices](std::size_t i) { return (*devices)[i]->credential.dc_guid.hex(); };
  return runs;
}

RvRuns to1_runs(const RvLoad& load) {
  const std::shared_ptr<const Authority> authority = Authority::make(load);
  auto devices = std::make_shared<Devices>(load.devices);
  RvRuns runs;
  runs.prepare = [authority, devices, load](std::size_t i) {
    LoadDevice& device = (*devices)[i].emplace(make_device(*authority));
    transport::HttpTransport transport(load.url);
    static_cast<void>(
        protocol::run_to0(transport, device.voucher, authority->owner, authority->to2_addr, load.wait_seconds));
  };
  runs.run = [authority, devices, load](std::size_t i) {
    const LoadDevice& device = *(*devices)[i];
    transport::HttpTransport transport(load.url);
    static_cast<void>(protocol::run_to1(transport, device.credential, device.signer));
  };
  runs.pk_ops = to1_pk_ops(authority->type);
  runs.name = [devices](std::size_t i) { return (*devices)[i]->credential.dc_guid.hex(); };
  return runs;
}

}  // namespace fdo::loadgen
