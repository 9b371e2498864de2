#pragma once
// FDO credentials in a TPM, as "Securing FDO Credentials in the TPM" (FDO-in-TPM, review draft 2023-10-10) lays
// them out (docs/tpm-credentials.md): DCActive and DCTPM in NV, the device key and the HMAC key as Endorsement primaries made
// from Unique Strings (U/S) kept in NV and used only through the Table 12 policy, plus our journal that makes a
// credential replacement atomic.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/json.h"

namespace fdo::tpm {

/// Handles of FDO-in-TPM Tables 4 and 5 (values the draft gives for testing) and of our journal (docs/tpm-credentials.md).
namespace handle {
constexpr std::uint32_t kDcActive = 0x01D10000;
constexpr std::uint32_t kDcTpm = 0x01D10001;
constexpr std::uint32_t kDcOv = 0x01D10002;
constexpr std::uint32_t kHmacUs = 0x01D10003;
constexpr std::uint32_t kDeviceKeyUs = 0x01D10004;
constexpr std::uint32_t kCertificate = 0x01D10005;
constexpr std::uint32_t kDeviceKey = 0x81020002;
constexpr std::uint32_t kHmacKey = 0x81020003;
constexpr std::uint32_t kJournal = 0x018FD000;
constexpr std::uint32_t kStaging = 0x018FD001;
/// TPM-Attest's attestation key and its certificate (tpm_attest.h), and AsymKey's keys (tpm_app_key.h).
constexpr std::uint32_t kAttestKey = 0x81020010;
constexpr std::uint32_t kAkCert = 0x018FD002;
constexpr std::uint32_t kAppKeyFirst = 0x81020100;
constexpr std::uint32_t kAppKeyCount = 0x100;
}  // namespace handle

/// Our NV attributes for every FDO index: OWNERWRITE, AUTHWRITE, OWNERREAD, AUTHREAD, NO_DA (docs/tpm-credentials.md).
constexpr std::uint32_t kFdoNvAttributes = nv_attr::kOwnerWrite | nv_attr::kAuthWrite | nv_attr::kOwnerRead |
                                          nv_attr::kAuthRead | nv_attr::kNoDa;
/// DCTPM's fixed index size (FDO-in-TPM §4.3: at least 384, 512 recommended).
constexpr std::uint16_t kDcTpmSize = 512;
constexpr std::uint16_t kJournalSize = 33;
constexpr std::uint16_t kStagingSize = 1024;

/// DCTPM (FDO-in-TPM §4.3): the public part of the DeviceCredential.
///   DCTPM = [DCProtVer, DCDeviceInfo, DCGuid, DCRVInfo, DCPubKeyHash, DeviceKeyType, DeviceKeyHandle]
struct DcTpm {
  std::uint16_t prot_ver = 101;
  std::string device_info;
  Guid guid;
  RendezvousInfo rv_info;
  /// Empty until DI (a provisioned TPM holds a Hash with an empty value).
  std::optional<Hash> pub_key_hash;
  /// 0 FDO key, 1 IDevID, 2 LDevID.
  std::uint64_t device_key_type = 0;
  std::uint32_t device_key_handle = handle::kDeviceKey;

  [[nodiscard]] Bytes encode() const;
  /// Decodes the first CBOR item of `index_bytes` (the index is zero-padded) in the RD layout. Error(MessageBodyError)
  /// naming the layout found when it is another stack's (draft B "FDO1", go-fdo-client, C SDK).
  static DcTpm decode(ByteView index_bytes);
  /// Whether DI has filled it (a non-zero GUID).
  [[nodiscard]] bool has_credential() const;
};

/// `fdo-tpm-provisioner provision` and the first `fdo-device di --tpm` on an empty TPM.
struct ProvisionOptions {
  /// P256 or P384: the device key's curve, and SHA-256 or SHA-384 for everything else.
  crypto::KeyType curve = crypto::KeyType::P256;
  /// DCTPM's DeviceInfo until DI replaces it (FDO-in-TPM §3.6).
  std::string device_info = "TPM";
};

/// What `show` reports (public parts only).
struct TpmStatus {
  std::string tpm;
  struct Index {
    std::uint32_t handle;
    std::string name;
    std::optional<NvPublic> nv;
  };
  std::vector<Index> indices;
  struct Key {
    std::uint32_t handle;
    std::string name;
    std::optional<ObjectPublic> pub;
  };
  std::vector<Key> keys;
  std::optional<bool> active;
  std::optional<DcTpm> dctpm;
  std::string dctpm_error;
  std::optional<std::size_t> hmac_us_size;
  std::optional<std::size_t> device_key_us_size;
  std::string device_key_pem;
  std::string journal;
  [[nodiscard]] bool provisioned() const;
  void to_json(JsonWriter& out) const;
  /// Human lines for the CLI.
  [[nodiscard]] std::string text() const;
};

/// The FDO state of one TPM. Not thread-safe.
class FdoTpm {
 public:
  /// Uses `tpm` and finishes an interrupted replacement (our journal, docs/tpm-credentials.md "Atomic replacement").
  explicit FdoTpm(Tpm& tpm);

  /// Whether DCTPM and both U/S indices exist.
  [[nodiscard]] bool provisioned();
  /// Defines the FDO indices, writes fresh U/S values, creates and persists both keys, writes DCActive = 0 and an
  /// empty DCTPM. Error(InternalServerError) when any FDO index or key handle is already in use ("run clear
  /// first"), naming it.
  void provision(const ProvisionOptions& options);
  /// Removes every FDO index and key: the RD's, our journal, the attestation key and its certificate, and every
  /// application key. Missing parts are skipped.
  void clear();
  [[nodiscard]] TpmStatus status();

  /// The device key's curve (P256/P384) and public key, from its public area.
  [[nodiscard]] crypto::KeyType key_type();
  [[nodiscard]] crypto::PublicKey public_key();
  /// The hash of the HMAC key's scheme (SHA-256 or SHA-384).
  [[nodiscard]] crypto::HashAlg hmac_alg();
  /// COSE ES256/ES384 signature over `message` (hashed here, signed in the TPM).
  [[nodiscard]] Bytes sign(ByteView message);
  /// HMAC of `data` with the HMAC key (DCHmacSecret's stand-in); `alg` must be the key's.
  [[nodiscard]] Bytes hmac(crypto::HashAlg alg, ByteView data);
  /// A fresh HMAC U/S for a credential replacement and the HMAC of `data` under the key it makes, transient until
  /// commit() applies it (FDO-in-TPM §6: the HMAC secret is renewed in TO2).
  [[nodiscard]] SecretBytes new_hmac_us();
  [[nodiscard]] Bytes hmac_with_us(ByteView us, crypto::HashAlg alg, ByteView data);

  /// The stored credential, or nullopt when the TPM is provisioned but DI has not run (or nothing is there).
  /// storage = Tpm, key handles from DCTPM and ours.
  [[nodiscard]] std::optional<DeviceCredential> load();
  /// Replaces DCTPM, DCActive and (when `new_hmac_us`) the HMAC U/S and key atomically through the journal.
  void commit(const DeviceCredential& credential, const std::optional<SecretBytes>& new_hmac_us);

  /// Test hook: called with the name of each step of commit() before it runs ("staging", "journal", "dctpm",
  /// "hmac-us", "active", "hmac-key", "done"). Throwing from it simulates a crash at that point.
  std::function<void(std::string_view)> on_commit_step;

  /// Finishes an interrupted commit (called by the constructor): replays a complete journal, drops a torn one.
  /// Returns what it did, or "" when the journal was clear.
  std::string recover();

 private:
  KeyAuth device_key_auth();
  KeyAuth hmac_key_auth();
  void apply(ByteView staging);
  void provision_fresh(const ProvisionOptions& options);
  void remove_rd_state();
  // The keys' public areas, read once (each read is two TPM commands) and dropped when the keys change.
  const ObjectPublic* device_key();
  const ObjectPublic* hmac_key();
  void forget_keys();

  Tpm& m_tpm;
  std::optional<ObjectPublic> m_device_key;
  std::optional<ObjectPublic> m_hmac_key;
};

}  // namespace fdo::tpm
