#pragma once
// The owner's side of TO2 (FDO 1.1 §5.5): prove ownership through the voucher, build the encrypted tunnel, run the
// ServiceInfo plan and replace (or reuse) the device's credential. docs/protocols/to2.md walks through it.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/messages/to2.h"
#include "libfdo/protocol/endpoint.h"
#include "libfdo/serviceinfo/owner_engine.h"
#include "libfdo/storage/store.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo::protocol {

/// The owner's plan for one device (docs/owner.md "Plans").
struct DevicePlan {
  /// The device keeps its credential (FDO 1.1 §5.5.7 credential reuse) instead of getting a new GUID and a
  /// replacement voucher.
  bool reuse = false;
  /// The RendezvousInfo a replaced credential gets (TO2.SetupDevice); nullopt keeps the voucher's.
  std::optional<RendezvousInfo> rendezvous_info;
  /// The ServiceInfo modules to run, in order (FDO 1.1 §3.8; docs/service-info.md); empty runs only devmod.
  serviceinfo::Plan service_info;
};

/// What the owner allows and does in TO2 (docs/owner.md).
struct To2OwnerPolicy {
  /// The owner's private key that matches a voucher's current owner key (its last OVEPubKey), or nullptr: the owner
  /// then does not hold this voucher (FDO 1.1 §5.5.1 → 6). Must be thread-safe.
  std::function<const crypto::PrivateKey*(const PublicKey& voucher_owner_key)> owner_key_for;
  /// Key exchanges the owner accepts; empty accepts every one it implements (FDO 1.1 §3.6.1). ASYMKEX* also
  /// needs an RSA owner key of the matching size, whatever this says.
  std::set<crypto::KexSuite> kex_suites;
  /// Cipher suites the owner accepts; empty accepts all ten (FDO 1.1 §3.6.5).
  std::set<crypto::CipherSuite> cipher_suites;
  /// What the owner does with a device (docs/owner.md "Plans"), asked at TO2.ProveDevice with the voucher's GUID and
  /// OVDeviceInfo (the model); empty means replacement with the voucher's RendezvousInfo and only devmod.
  std::function<DevicePlan(const Guid& guid, std::string_view device_info)> plan_for;
  /// The owner modules plans name; must outlive the endpoint.
  const serviceinfo::OwnerRegistry* modules = nullptr;
  /// Named deviations accepted from devices (docs/interop.md).
  Leniency leniency;
  /// maxOwnerMessageSize of TO2.ProveOVHdr: the largest message the owner receives (FDO 1.1 §5.5.2).
  std::uint16_t max_owner_message_size = 65535;
  /// maxDeviceServiceInfoSz of TO2.OwnerServiceInfoReady: the largest ServiceInfo the owner receives.
  std::uint16_t max_device_service_info_sz = 8192;
  /// A TO2 run's wall-clock limit in seconds (docs/service-info.md "loop rules": 1 h).
  std::int64_t max_run_seconds = 3600;
};

/// The owner's typed TO2 session (FDO 1.1 §4.3), stored between messages so that any owner process sharing the
/// store can serve the next message of a run. It holds the ephemeral key exchange state and, from
/// TO2.ProveDevice on, the session keys: stored sessions are secret (docs/security.md).
struct To2Session {
  MessageType next = MessageType::To2GetOVNextEntry;
  Guid guid;
  std::int64_t started_at = 0;
  SigInfo ea_sig_info;
  crypto::KexSuite kex = crypto::KexSuite::Ecdh256;
  crypto::CipherSuite cipher = crypto::CipherSuite::A128GCM;
  std::uint8_t num_ov_entries = 0;
  /// One flag per voucher entry: sent in a TO2.OVNextEntry.
  Bytes entries_sent;
  Nonce nonce_to2_prove_dv;
  Nonce nonce_to2_setup_dv;
  /// KexOwner::save() until TO2.ProveDevice, then empty.
  SecretBytes kex_state;
  /// SessionCipher::save() from TO2.ProveDevice on.
  SecretBytes cipher_state;
  /// TO2.SetupDevice's payload (its CBOR), from TO2.ProveDevice on.
  Bytes setup_payload;
  bool reuse_offered = false;
  /// TO2.DeviceServiceInfoReady's ReplacementHMac (its CBOR; empty for reuse).
  Bytes replacement_hmac;
  /// The owner's ServiceInfo send limit (the device's maxOwnerServiceInfoSz).
  std::uint16_t owner_send_mtu = 1300;
  /// OwnerEngine::save() from TO2.DeviceServiceInfoReady on.
  Bytes engine_state;
  /// The last TO2.OwnerServiceInfo had IsDone.
  bool done_sent = false;
  /// SubjectPublicKeyInfo DER of OVDevCertChain[0], parsed once at TO2.HelloDevice.
  Bytes device_key;
  /// When the voucher is a replacement voucher: the GUID of the voucher it replaced, dropped once the device has
  /// proven itself under the new GUID (TO2.ProveDevice). Empty otherwise.
  Bytes replaces;
  /// From the voucher, read once at TO2.HelloDevice for TO2.ProveDevice: the CBOR of its current owner key, the
  /// RendezvousInfo of its header as stored, and its OVDeviceInfo (the plan's model).
  Bytes owner_key;
  Bytes rv_info;
  std::string device_info;

  [[nodiscard]] Bytes encode() const;
  /// Error(InternalServerError) if the stored state does not decode (our own bytes).
  static To2Session decode(ByteView state);
};

/// The owner's TO2 endpoint, FDO 1.1 §5.5: 60→61, 62→63 (per entry), 64→65, 66→67, 68→69 (loop), 70→71. Checks,
/// codes and what is stored at each step are in docs/protocols/to2.md. Device status records (the owner's
/// `devices` view) follow each step; a failed run is recorded with its step and error.
class To2Owner final : public Endpoint {
 public:
  /// `policy` must outlive the endpoint.
  explicit To2Owner(const To2OwnerPolicy& policy);
  [[nodiscard]] Protocol protocol() const override { return Protocol::To2; }
  Answer handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) override;
  void on_failure(MessageType type, ByteView state, const Error& error, storage::Store& store,
                  const Context& ctx) override;

 private:
  Answer hello_device(ByteView body, Bytes& state, storage::Store& store, Context& ctx);
  Answer get_ov_next_entry(ByteView body, To2Session& session, storage::Store& store);
  Answer prove_device(ByteView body, To2Session& session, storage::Store& store, Context& ctx);
  Answer device_service_info_ready(ByteView body, To2Session& session, Context& ctx);
  Answer device_service_info(ByteView body, To2Session& session, Context& ctx);
  Answer done(ByteView body, To2Session& session, storage::Store& store, Context& ctx);

  const To2OwnerPolicy& m_policy;
};

}  // namespace fdo::protocol
