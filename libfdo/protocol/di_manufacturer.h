#pragma once
// The manufacturer's side of DI, Device Initialize (FDO 1.1 §5.2): the DI server endpoint.
// DI.AppStart (10) → DI.SetCredentials (11), DI.SetHMAC (12) → DI.Done (13).

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/messages/di.h"
#include "libfdo/protocol/endpoint.h"
#include "libfdo/storage/store.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo::protocol {

/// Which characters a serial number or device-info string from DI.AppStart may hold, and how long it may
/// be (docs/interop.md "device-info-text": Java PRI allows only `[A-Za-z0-9_-]`; we emit printable
/// ASCII in OVDeviceInfo).
class DeviceInfoPolicy {
 public:
  /// The default character class: letters, digits and `_ . : -`.
  static constexpr std::string_view kDefaultCharacters = "A-Za-z0-9_.:-";
  static constexpr std::size_t kDefaultMaxLength = 128;

  /// The default policy.
  DeviceInfoPolicy() : DeviceInfoPolicy(kDefaultCharacters, kDefaultMaxLength) {}
  /// `characters` is a class of printable ASCII characters and ranges, as in a regular expression's
  /// brackets without them: "A-Za-z0-9_-" (a '-' first or last is literal). Throws
  /// Error(MessageBodyError) for an empty class, a reversed range or a non-printable character.
  DeviceInfoPolicy(std::string_view characters, std::size_t max_length);

  /// Why `value` (named `field` in the text) breaks the policy, or nullopt when it passes: empty, longer
  /// than the maximum, or holding a character outside the class.
  [[nodiscard]] std::optional<std::string> problem(std::string_view field, std::string_view value) const;
  /// The class as given.
  [[nodiscard]] const std::string& characters() const { return m_characters; }
  [[nodiscard]] std::size_t max_length() const { return m_max_length; }

 private:
  std::string m_characters;
  std::bitset<128> m_allowed;
  std::size_t m_max_length;
};

/// One manufacturer key: what OVPubKey holds, and what signs entry 0 when the voucher is extended at once.
struct ManufacturerKey {
  crypto::PrivateKey private_key;
  /// A certificate for the key, leaf first, to answer a keyEnc of X5CHAIN; empty refuses X5CHAIN.
  std::vector<crypto::Certificate> chain;
};

/// The manufacturer's keys (FDO 1.1 §5.2): OVPubKey keys, at most one per key type, and the device CA.
struct ManufacturerKeys {
  /// The manufacturer keys. The one whose type fits MfgInfo keyType is used; otherwise the default one.
  std::vector<ManufacturerKey> signing_keys;
  /// The key type used when no key fits keyType; must be the type of one of `signing_keys`.
  crypto::KeyType default_key_type = crypto::KeyType::P256;
  /// The device CA: issues the device certificate from the CSR in MfgInfo certInfo.
  crypto::PrivateKey device_ca_key;
  /// The CA's certificate chain, CA first; appended to the device certificate in OVDevCertChain.
  std::vector<crypto::Certificate> device_ca_chain;
};

/// How the manufacturer builds headers and vouchers.
struct DiManufacturerOptions {
  /// OVRVInfo of every new voucher (FDO 1.1 §3.7); at least one directive.
  RendezvousInfo rv_info;
  /// When set, each voucher is extended at once to this key (FDO 1.1 §3.4.2; go-fdo-server's
  /// BeforeVoucherPersist). Its key type must be held among the manufacturer keys: that key signs
  /// every header, so that the voucher keeps one key type (FDO 1.1 §3.4.2).
  std::optional<crypto::PublicKey> first_owner;
  /// Rule for serialNo and deviceInfo.
  DeviceInfoPolicy policy;
  /// O= of issued device certificates.
  std::string organization = "fdo-cpp manufacturer";
  /// Validity of issued device certificates (go-fdo: 30 × 360 days).
  int certificate_validity_days = 30 * 360;
};

/// Where a DI run stands: the message the session accepts next (docs/style.md §7).
enum class DiState : std::uint8_t {
  /// After DI.SetCredentials: the device owes DI.SetHMAC (12).
  AwaitSetHmac = 1,
};

/// The state of one DI run between DI.AppStart and DI.SetHMAC, persisted whole in the session record:
/// ```
/// DiSession = [state: uint, guid: bstr .size 16, serial: tstr, device_info: tstr,
///              header: bstr, dev_cert_chain: [+ bstr], hmac_type: int, manufacturer_key: tstr]
/// ```
/// The header is serialised once, at AppStart, and these bytes become OVHeaderTag (FDO 1.1 §5.2.2).
struct DiSession {
  DiState state = DiState::AwaitSetHmac;
  Guid guid;
  std::string serial;
  std::string device_info;
  /// The canonical OVHeader bytes sent in DI.SetCredentials.
  Bytes header;
  /// OVDevCertChain: device certificate, then the CA chain (DER).
  std::vector<Bytes> dev_cert_chain;
  /// The HMAC type the device must answer with: HMAC-H of the voucher hash family
  /// (docs/voucher.md "Which hash algorithm").
  HashType hmac_type = HashType::HmacSha256;
  /// Type of the manufacturer key in OVPubKey ("p256", …), to sign the first-owner entry with.
  crypto::KeyType manufacturer_key = crypto::KeyType::P256;

  [[nodiscard]] Bytes encode() const;
  /// Error(InternalServerError) for a state this build did not write.
  static DiSession decode(ByteView in);
};

/// The DI server endpoint (FDO 1.1 §5.2). Thread-safe: handlers only read the keys and options.
class DiManufacturer final : public Endpoint {
 public:
  /// Error(InternalServerError) if the default key type or the first owner's key type has no key.
  DiManufacturer(ManufacturerKeys keys, DiManufacturerOptions options);

  [[nodiscard]] Protocol protocol() const override { return Protocol::Di; }
  /// Decodes the session and the request, runs its handler, saves the session.
  Answer handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) override;

  /// DI.AppStart (10) → DI.SetCredentials (11): checks the MfgInfo and its CSR, issues the device
  /// certificate, builds the OVHeader once and keeps it in the session.
  di::SetCredentials handle(const di::AppStart& request, DiSession& session, Context& ctx) const;
  /// DI.SetHMAC (12) → DI.Done (13): checks the HMac type and assembles the voucher (extended to the first
  /// owner when configured) into `record`, which the dispatcher stores in the transaction that ends the session.
  di::Done handle(const di::SetHMAC& request, DiSession& session, storage::VoucherRecord& record, Context& ctx) const;

 private:
  [[nodiscard]] const ManufacturerKey& key_of(crypto::KeyType type) const;
  [[nodiscard]] crypto::PublicKey check_device(const di::MfgInfo& info) const;
  [[nodiscard]] crypto::KeyType manufacturer_key_type(crypto::KeyType device_key_type) const;
  [[nodiscard]] PublicKey ov_pub_key(crypto::KeyType type, PkType key_type, PkEnc key_enc) const;
  [[nodiscard]] std::vector<Bytes> issue_device_chain(const crypto::PublicKey& device_key,
                                                      const std::string& serial) const;

  ManufacturerKeys m_keys;
  DiManufacturerOptions m_options;
};

}  // namespace fdo::protocol
