#include "integration-tests/loadgen_to2.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/to2_device.h"
#include "libfdo/serviceinfo/devmod.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm_identity.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/extend.h"

namespace fdo::loadgen {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// What every device of a load run shares: the owner's public key, a throwaway manufacturer key of the same type
/// (one key type along a voucher's entries, docs/voucher.md) and a throwaway device CA of the devices' type.
struct To2Authority {
  crypto::KeyType device_type;
  crypto::PublicKey owner;
  crypto::PrivateKey manufacturer;
  crypto::PrivateKey device_ca_key;
  crypto::Certificate device_ca;
  /// Dev-only (FDO 1.1 §3.7): the owner's automatic TO0 finds no rendezvous server in it and leaves the network
  /// alone; the devices never use it (no TO1: the URL is given, as `fdo-device onboard --owner-url`).
  RendezvousInfo rv_info;
  serviceinfo::DevmodInfo devmod;

  static std::shared_ptr<const To2Authority> make(const To2Load& load) {
    const std::optional<crypto::KeyType> type = crypto::parse_key_type(load.key_type);
    if (!type) {
      throw_body_error("--key-type: unknown key type " + load.key_type);
    }
    const std::filesystem::path pub = load.owner_dir / "owner.pub.pem";
    const Bytes pem = read_file(pub);
    crypto::PublicKey owner = crypto::PublicKey::from_pem(std::string_view(reinterpret_cast<const char*>(pem.data()),
                                                                           pem.size()));
    const crypto::KexSuite kex = load.kex.value_or(protocol::default_suites(*type).kex);
    if (!crypto::kex_suits_owner_key(kex, owner)) {
      throw_body_error("--kex " + std::string(crypto::kex_suite_name(kex)) + " needs an RSA owner key of its size; " +
                       pub.string() + " holds a " + std::string(crypto::key_type_name(owner.type())) + " key");
    }
    crypto::PrivateKey ca_key = crypto::PrivateKey::generate(*type);
    crypto::Certificate ca = crypto::make_self_signed(
        ca_key,
        {.common_name = "fdo-loadgen device CA", .organization = "fdo-loadgen", .validity_days = 365, .is_ca = true});
    serviceinfo::DevmodInfo devmod = serviceinfo::devmod_from_os();
    devmod.device = "fdo-loadgen";
    const crypto::KeyType owner_type = owner.type();
    return std::make_shared<const To2Authority>(
        To2Authority{.device_type = *type,
                     .owner = std::move(owner),
                     .manufacturer = crypto::PrivateKey::generate(owner_type),
                     .device_ca_key = std::move(ca_key),
                     .device_ca = std::move(ca),
                     .rv_info = RendezvousInfo::from_urls(load.url + "?dev-only"),
                     .devmod = std::move(devmod)});
  }
};

/// One simulated device: what DI would have left in it, and the voucher a reseller would have extended to the owner.
struct To2Device {
  std::shared_ptr<protocol::DeviceSigner> signer;
  std::shared_ptr<protocol::DeviceHmac> hmac;
  DeviceCredential credential;
  storage::VoucherRecord record;
};

/// With --tpm: the one TPM whose keys every device uses.
struct TpmDevices {
  std::unique_ptr<tpm::TpmDevice> device;
  std::shared_ptr<tpm::TpmSigner> signer;
  std::shared_ptr<tpm::TpmHmac> hmac;

  static std::shared_ptr<TpmDevices> open(const std::string& tcti, crypto::KeyType type) {
    auto t = std::make_shared<TpmDevices>();
    t->device = tpm::TpmDevice::open(tcti);
    if (!t->device->fdo().provisioned()) {
      t->device->fdo().provision({.curve = type, .device_info = "fdo-loadgen"});
    } else if (t->device->fdo().key_type() != type) {
      throw_body_error("--tpm: the TPM's device key is " +
                       std::string(crypto::key_type_name(t->device->fdo().key_type())) + ", not --key-type's");
    }
    t->signer = std::make_shared<tpm::TpmSigner>(t->device->fdo());
    t->hmac = std::make_shared<tpm::TpmHmac>(t->device->fdo());
    return t;
  }
};

// DI in-process (FDO 1.1 §5.2): device key, HMAC secret, certificate, header, HMAC; then one extension to the owner
// (§3.4.2), as `fdo-reseller extend` would.
To2Device make_device(const To2Authority& a, const TpmDevices* tpm_devices) {
  std::optional<crypto::PrivateKey> key;
  if (tpm_devices == nullptr) {
    key = crypto::PrivateKey::generate(a.device_type);
  }
  const crypto::Certificate leaf = crypto::issue_certificate(
      a.device_ca_key, a.device_ca, key ? key->public_key() : tpm_devices->signer->public_key(),
      {.common_name = "fdo-loadgen device", .organization = "fdo-loadgen", .validity_days = 365, .is_ca = false});
  const std::vector<Bytes> chain = {leaf.der(), a.device_ca.der()};
  const Guid guid = Guid::random();
  const PublicKey manufacturer = PublicKey::from_key(a.manufacturer.public_key());
  const voucher::CreatedHeader header = voucher::make_header({.guid = guid,
                                                              .rv_info = a.rv_info,
                                                              .device_info = "fdo-loadgen",
                                                              .manufacturer_key = manufacturer,
                                                              .dev_cert_chain = chain});
  SecretBytes secret(random_bytes(crypto::digest_size(header.hash_family)));
  // DI.SetHMAC's HMAC (FDO 1.1 §5.2.3): the TPM's HMAC key computes it for a TPM device.
  const Hash header_hmac =
      tpm_devices == nullptr
          ? voucher::header_hmac(header.hash_family, secret, header.header_bytes)
          : Hash(header.hash_family == crypto::HashAlg::Sha384 ? HashType::HmacSha384 : HashType::HmacSha256,
                 tpm_devices->hmac->hmac(header.hash_family, header.header_bytes));
  const voucher::OwnershipVoucher fresh = voucher::assemble_voucher(header.header_bytes, header_hmac, chain);
  const voucher::OwnershipVoucher owned =
      voucher::extend(fresh, a.manufacturer, voucher::next_owner_key(fresh, a.owner));
  DeviceCredential credential;
  credential.dc_device_info = "fdo-loadgen";
  credential.dc_guid = guid;
  credential.dc_rv_info = a.rv_info;
  // DCPubKeyHash over OVPubKey's CBOR with the voucher's hash family, as run_di computes it.
  credential.dc_pub_key_hash = Hash::compute(hash_type_for(header.hash_family), manufacturer.raw());
  credential.key_type = a.device_type;
  std::shared_ptr<protocol::DeviceSigner> signer;
  std::shared_ptr<protocol::DeviceHmac> hmac;
  if (tpm_devices == nullptr) {
    credential.dc_hmac_secret = secret.clone();
    credential.device_key_pkcs8 = key->to_pkcs8_der();
    signer = std::make_shared<protocol::SoftwareSigner>(std::move(*key));
    hmac = std::make_shared<protocol::SoftwareHmac>(std::move(secret));
  } else {
    credential.storage = CredentialStorage::Tpm;
    credential.tpm = TpmKeyRef{.device_key_handle = tpm::handle::kDeviceKey, .hmac_key_handle = tpm::handle::kHmacKey};
    signer = tpm_devices->signer;
    hmac = tpm_devices->hmac;
  }
  const std::int64_t now = unix_now();
  return To2Device{
      .signer = std::move(signer),
      .hmac = std::move(hmac),
      .credential = std::move(credential),
      // As `fdo-owner vouchers import` stores it (docs/owner.md "Importing vouchers").
      .record = storage::VoucherRecord{.guid = guid,
                                       .serial = {},
                                       .device_info = "fdo-loadgen",
                                       .voucher = owned.encode(),
                                       .created_at = now,
                                       .owner_key_id = to_hex(crypto::hash(crypto::HashAlg::Sha256,
                                                                           owned.owner_key().raw()))}};
}

using Devices = std::vector<std::optional<To2Device>>;

// Writes every voucher and an "imported" device record, 1 000 per transaction. The owner may be running: SQLite
// serialises the two processes' transactions, and the owner reads vouchers from the store at each TO2.HelloDevice.
void write_vouchers(storage::Store& store, const Devices& devices) {
  constexpr std::size_t kBatch = 1000;
  const std::int64_t now = unix_now();
  for (std::size_t done = 0; done < devices.size();) {
    const auto tx = store.begin();
    for (std::size_t i = 0; i < kBatch && done < devices.size(); ++i, ++done) {
      const To2Device& d = *devices[done];
      tx->put_voucher(d.record);
      tx->put_owner_device(storage::OwnerDeviceRecord{.guid = d.record.guid,
                                                      .state = "imported",
                                                      .step = {},
                                                      .error = {},
                                                      .new_guid = {},
                                                      .to0_expires_at = 0,
                                                      .to0_detail = {},
                                                      .onboard_count = 0,
                                                      .updated_at = now,
                                                      .replaces = {},
                                                      .modules = {}});
    }
    tx->commit();
  }
}

// Waits until the owner's TO0 scheduler (docs/owner.md "Automatic TO0") has tried every new device once: its pass
// (one store transaction per device) then stays out of the measured phase. Returns whether it did within `limit`.
bool await_to0_pass(storage::Store& store, const Devices& devices, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const std::size_t tried = storage::read_only(store, [&](storage::Transaction& tx) {
      std::size_t n = 0;
      for (const std::optional<To2Device>& d : devices) {
        const std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(d->record.guid);
        n += r && (!r->to0_detail.empty() || !r->error.empty()) ? 1 : 0;
      }
      return n;
    });
    if (tried == devices.size()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

/// TO2's public-key operations (FDO 1.1 §5.5), as to2_owner.cpp and to2_device.cpp perform them: O is the owner's
/// key type (the manufacturer's too), D the device's.
std::vector<PkOp> to2_pk_ops(crypto::KeyType device, crypto::KeyType owner, crypto::KexSuite kex, bool reuse) {
  std::vector<PkOp> ops = {
      {"owner signs TO2.ProveOVHdr", PkOpKind::Sign, owner, true},
      {"owner makes its key-exchange half xA (TO2.ProveOVHdr)", PkOpKind::KexStart, owner, true, kex},
      {"device verifies TO2.ProveOVHdr with the owner key", PkOpKind::Verify, owner},
      {"device verifies voucher entry 0 with the manufacturer key", PkOpKind::Verify, owner},
      {"device makes xB and the shared secret (TO2.ProveDevice)", PkOpKind::KexDevice, device, false, kex},
      {"device signs the EAT (TO2.ProveDevice)", PkOpKind::Sign, device},
      {"owner verifies the EAT with the device key", PkOpKind::Verify, device, true},
      {"owner derives the shared secret from xB", PkOpKind::KexFinish, owner, true, kex},
      {"owner signs TO2.SetupDevice with Owner2Key", PkOpKind::Sign, owner, true},
      {"device verifies TO2.SetupDevice with Owner2Key", PkOpKind::Verify, owner},
  };
  if (!reuse) {
    ops.push_back({"owner extends the replacement voucher to its own key (TO2.Done)", PkOpKind::Sign, owner, true});
  }
  return ops;
}

}  // namespace

RvRuns to2_runs(const To2Load& load) {
  const std::shared_ptr<const To2Authority> authority = To2Authority::make(load);
  auto devices = std::make_shared<Devices>(load.devices);
  const storage::StoreSpec db{.db = load.db.empty() ? (load.owner_dir / "owner.db").string() : load.db,
                              .password_file = load.db_password_file,
                              .pool_size = 2};
  std::shared_ptr<TpmDevices> tpm_devices;
  if (!load.tpm.empty()) {
    tpm_devices = TpmDevices::open(load.tpm, authority->device_type);
  }
  RvRuns runs;
  runs.prepare = [authority, devices, tpm_devices](std::size_t i) {
    (*devices)[i].emplace(make_device(*authority, tpm_devices.get()));
  };
  runs.after_prepare = [devices, db, wait = load.to0_wait] {
    const std::unique_ptr<storage::Store> store = storage::open_store(db);
    const auto start = std::chrono::steady_clock::now();
    write_vouchers(*store, *devices);
    const double wrote = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "fdo-loadgen: wrote " << devices->size() << " vouchers into " << db.db << " in " << wrote
              << " s\n";
    if (wait.count() > 0 && !await_to0_pass(*store, *devices, wait)) {
      std::cerr << "fdo-loadgen: the owner's automatic TO0 did not try every new voucher within " << wait.count()
                << " s (is it running on this store?); its pass may fall inside the measured phase\n";
    }
  };
  runs.run = [authority, devices, load, tpm_devices](std::size_t i) {
    const To2Device& d = *(*devices)[i];
    protocol::To2DeviceOptions options;
    options.kex = load.kex;
    options.cipher = load.cipher;
    options.devmod = authority->devmod;
    transport::HttpTransport transport(load.url);
    const protocol::To2Result result =
        protocol::run_to2(transport, d.credential, *d.signer, *d.hmac, std::move(options));
    if (result.reused != load.reuse) {
      throw_internal(std::string("TO2 ended with credential ") + (result.reused ? "reuse" : "replacement") +
                     ": the owner's plan and --reuse disagree");
    }
  };
  const crypto::KexSuite kex = load.kex.value_or(protocol::default_suites(authority->device_type).kex);
  runs.pk_ops = to2_pk_ops(authority->device_type, authority->owner.type(), kex, load.reuse);
  runs.name = [devices](std::size_t i) { return (*devices)[i]->credential.dc_guid.hex(); };
  return runs;
}

}  // namespace fdo::loadgen
