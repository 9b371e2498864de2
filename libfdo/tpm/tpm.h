#pragma once
// A TPM 2.0 reached through tpm2-tss ESAPI (docs/tpm-credentials.md): the connection, RAII handles and the few commands FDO
// needs (NV storage, primary keys, policy sessions, signing, HMAC, quotes). Every TPM failure is an fdo::Error with
// the TSS's decoded response code; no ESAPI type leaks out of this layer except through tpm/internal.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/keys.h"

namespace fdo::tpm {

/// TPMA_NV bits (TPM 2.0 Part 2 §13.4) used by FDO-in-TPM.
namespace nv_attr {
constexpr std::uint32_t kOwnerWrite = 0x00000002;
constexpr std::uint32_t kAuthWrite = 0x00000004;
constexpr std::uint32_t kPolicyWrite = 0x00000008;
constexpr std::uint32_t kWriteLocked = 0x00000800;
constexpr std::uint32_t kWriteDefine = 0x00002000;
constexpr std::uint32_t kOwnerRead = 0x00020000;
constexpr std::uint32_t kAuthRead = 0x00040000;
constexpr std::uint32_t kNoDa = 0x02000000;
constexpr std::uint32_t kWritten = 0x20000000;
constexpr std::uint32_t kPlatformCreate = 0x40000000;
}  // namespace nv_attr

/// TPMA_OBJECT bits (TPM 2.0 Part 2 §8.3).
namespace obj_attr {
constexpr std::uint32_t kFixedTpm = 0x00000002;
constexpr std::uint32_t kFixedParent = 0x00000010;
constexpr std::uint32_t kSensitiveDataOrigin = 0x00000020;
constexpr std::uint32_t kUserWithAuth = 0x00000040;
constexpr std::uint32_t kAdminWithPolicy = 0x00000080;
constexpr std::uint32_t kNoDa = 0x00000400;
constexpr std::uint32_t kRestricted = 0x00010000;
constexpr std::uint32_t kDecrypt = 0x00020000;
constexpr std::uint32_t kSign = 0x00040000;
}  // namespace obj_attr

/// Words for TPMA_NV / TPMA_OBJECT bits ("ownerwrite|authwrite|…"), for `show`.
std::string nv_attributes_text(std::uint32_t attributes);
std::string object_attributes_text(std::uint32_t attributes);
/// "0x01d10001".
std::string handle_text(std::uint32_t handle);

/// The public area of an NV index.
struct NvPublic {
  std::uint32_t index = 0;
  std::uint32_t attributes = 0;
  std::uint16_t size = 0;
  [[nodiscard]] bool written() const { return (attributes & nv_attr::kWritten) != 0; }
};

/// The public area of a key object (TPMT_PUBLIC), the parts FDO looks at.
struct ObjectPublic {
  enum class Kind : std::uint8_t { Ecc, KeyedHash, Rsa, Other };
  Kind kind = Kind::Other;
  std::uint32_t attributes = 0;
  /// Name algorithm and, for a signing or HMAC scheme, its hash.
  crypto::HashAlg name_alg = crypto::HashAlg::Sha256;
  std::optional<crypto::HashAlg> scheme_hash;
  /// Ecc: P256 or P384; nullopt for another curve.
  std::optional<crypto::KeyType> curve;
  /// Ecc: the public point.
  Bytes x, y;
  /// The policy digest that authorises use when userWithAuth is clear.
  Bytes auth_policy;
  /// The object's TPM Name (nameAlg ‖ H(public area)): what tells two keys apart.
  Bytes name;
  [[nodiscard]] bool user_with_auth() const { return (attributes & obj_attr::kUserWithAuth) != 0; }
};

/// How a key is authorised (FDO-in-TPM Table 12, docs/tpm-credentials.md "Keys").
struct KeyAuth {
  /// nullopt: empty password (userWithAuth keys of other stacks). Otherwise the U/S index whose PolicyNV and
  /// PolicySecret make the key's policy.
  std::optional<std::uint32_t> policy_index;
  crypto::HashAlg policy_hash = crypto::HashAlg::Sha256;
};

/// The quote of TPM2_Quote: the marshalled TPMS_ATTEST and the signature (COSE-form r‖s for ECDSA, and the
/// marshalled TPMT_SIGNATURE).
struct Quote {
  Bytes attest;
  Bytes signature;
  Bytes signature_tpm;
};

/// A TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (TPM 2.0 Part 2 §10.12), decoded.
struct AttestQuote {
  std::uint32_t magic = 0;
  std::uint16_t type = 0;
  Bytes qualified_signer;
  Bytes extra_data;
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  /// The one PCR bank quoted (TPM_ALG_ID) and its PCRs in ascending order.
  std::uint16_t bank = 0;
  std::vector<unsigned> pcrs;
  Bytes pcr_digest;
};
/// TPM_GENERATED_VALUE and TPM_ST_ATTEST_QUOTE.
constexpr std::uint32_t kTpmGenerated = 0xFF544347;
constexpr std::uint16_t kStAttestQuote = 0x8018;
constexpr std::uint16_t kAlgSha256 = 0x000B;

/// Decodes a marshalled TPMS_ATTEST; Error(MessageBodyError) when it is not one, or quotes several banks.
AttestQuote decode_quote(ByteView attest);
/// Decodes a marshalled TPMT_PUBLIC; Error(MessageBodyError) when it is not one.
ObjectPublic decode_public(ByteView tpmt_public);
/// A marshalled ECDSA TPMT_SIGNATURE as COSE r‖s of `field_size` halves; Error(MessageBodyError) otherwise.
Bytes decode_ecdsa_signature(ByteView tpmt_signature, std::size_t field_size);

/// A connection to one TPM. Not thread-safe: one per thread.
class Tpm {
 public:
  /// Opens the TPM behind a TCTI string ("swtpm:host=127.0.0.1,port=2321", "device:/dev/tpmrm0", "mssim:…",
  /// "tabrmd") and runs TPM2_Startup(CLEAR) when it has not been started. Error(InternalServerError) with a
  /// sentence a user can act on when there is no TPM there.
  static std::unique_ptr<Tpm> open(std::string_view tcti);
  ~Tpm();
  Tpm(const Tpm&) = delete;
  Tpm& operator=(const Tpm&) = delete;

  [[nodiscard]] const std::string& tcti() const { return m_tcti; }

  /// TPM_PT_* properties (Part 2 §6.13): TPM_PT_NV_BUFFER_MAX, TPM_PT_INPUT_BUFFER, …; nullopt if not reported.
  std::optional<std::uint32_t> property(std::uint32_t pt);
  /// "IBM SW  rev 1.64"-style description from the fixed properties.
  std::string describe();
  /// Handles present in [first, first + count) (NV indices 0x01…, persistent objects 0x81…).
  std::vector<std::uint32_t> handles(std::uint32_t first, std::uint32_t count);
  /// Whether the TPM is in dictionary-attack lockout (TPM_PT_PERMANENT inLockout).
  bool in_lockout();

  // ---- NV storage (Part 3 §31) ----
  /// The index's public area, or nullopt when it is not defined.
  std::optional<NvPublic> nv_public(std::uint32_t index);
  /// Defines an index with Owner authorisation, empty authValue and nameAlg SHA-256.
  void nv_define(std::uint32_t index, std::uint16_t size, std::uint32_t attributes);
  /// Undefines an index (Owner authorisation; Platform for PLATFORMCREATE indices).
  void nv_undefine(std::uint32_t index);
  /// Reads `size` bytes at `offset` with the index's own (empty) authValue, in TPM_PT_NV_BUFFER_MAX chunks.
  Bytes nv_read(std::uint32_t index, std::uint16_t size, std::uint16_t offset = 0);
  /// Writes `data` at `offset`, chunked like nv_read. A write in several chunks is not atomic (docs/tpm-credentials.md).
  void nv_write(std::uint32_t index, ByteView data, std::uint16_t offset = 0);
  /// TPM2_NV_WriteLock with the index's own authValue: for a WRITEDEFINE index, no write until it is undefined.
  void nv_write_lock(std::uint32_t index);

  // ---- Objects ----
  /// The public area of a persistent object, or nullopt when the handle is empty.
  std::optional<ObjectPublic> read_public(std::uint32_t persistent);
  /// Creates a primary signing key in the Endorsement hierarchy from the FDO-in-TPM Table 10/11 template with
  /// `unique` (X ‖ Y of the U/S) and `auth_policy`, and persists it at `persistent` (evicting what was there).
  /// Returns its public area.
  ObjectPublic create_persistent_ecc(std::uint32_t persistent, crypto::KeyType curve, ByteView unique,
                                     ByteView auth_policy);
  /// The keyed-hash HMAC key of Table 10/11 from `unique`; persisted at `persistent` (evicting what was there).
  ObjectPublic create_persistent_hmac(std::uint32_t persistent, crypto::HashAlg alg, ByteView unique,
                                      ByteView auth_policy);
  /// The Name the HMAC key of `unique` would have, without persisting it (a transient object, flushed).
  Bytes hmac_key_name(crypto::HashAlg alg, ByteView unique, ByteView auth_policy);
  /// The marshalled TPMT_PUBLIC of a persistent object (what a verifier decodes with decode_public()).
  Bytes marshalled_public(std::uint32_t persistent);
  /// The attestation key at `persistent`, created when absent: a restricted ECC P-256 ECDSA-SHA256 signing key,
  /// Endorsement primary with an empty unique (the same key for the same EPS), fixedTPM, fixedParent,
  /// sensitiveDataOrigin, userWithAuth with an empty password.
  ObjectPublic ensure_attestation_key(std::uint32_t persistent);
  /// An application key (AsymKey): an ECC signing key, Endorsement primary from `unique`, fixedTPM, fixedParent,
  /// sensitiveDataOrigin, userWithAuth with an empty password. The same `unique` gives the same key, so a pending
  /// key is only its `unique` until persist_app_key().
  ObjectPublic app_key_public(crypto::KeyType curve, ByteView unique);
  /// ES256/ES384 signature (COSE r‖s) of `digest` with the application key of `unique`, made transient and flushed.
  Bytes app_key_sign(crypto::KeyType curve, ByteView unique, ByteView digest);
  /// Persists the application key of `unique` at `persistent` (evicting what was there).
  ObjectPublic persist_app_key(std::uint32_t persistent, crypto::KeyType curve, ByteView unique);
  /// Removes a persistent object (Owner authorisation). No-op when the handle is empty.
  void evict(std::uint32_t persistent);

  // ---- Policies (Part 3 §23) ----
  /// The digest of PolicyNV(index, offset 0, operand 0x00, UNSIGNED_GE) then PolicySecret(index), from a trial
  /// session (FDO-in-TPM Table 12: the draft leaves the value to be computed).
  Bytes us_policy_digest(std::uint32_t index, crypto::HashAlg alg);

  // ---- Using keys ----
  /// TPM2_Sign of `digest` with the persistent ECC key: COSE-form r‖s, each left-padded to the field size.
  Bytes sign_digest(std::uint32_t persistent, const KeyAuth& auth, ByteView digest, std::size_t field_size);
  /// HMAC of `data` with the persistent keyed-hash key, through an HMAC sequence (any length).
  Bytes hmac(std::uint32_t persistent, const KeyAuth& auth, ByteView data);
  /// HMAC of `data` with a transient keyed-hash key made from `unique` (the next HMAC secret during TO2).
  Bytes hmac_transient(crypto::HashAlg alg, ByteView unique, ByteView auth_policy, const KeyAuth& auth,
                       ByteView data);

  // ---- Attestation (Part 3 §18.4) ----
  /// TPM2_Quote over the SHA-256 bank's `pcrs` with `nonce` as qualifyingData, signed by the persistent ECC key.
  Quote quote(std::uint32_t persistent, const KeyAuth& auth, ByteView nonce, const std::vector<unsigned>& pcrs,
              std::size_t field_size);
  /// The SHA-256 bank's values of `pcrs`, in order.
  std::vector<Bytes> pcr_read(const std::vector<unsigned>& pcrs);
  /// TPM2_PCR_Extend of the SHA-256 bank (tests and demos).
  void pcr_extend(unsigned pcr, ByteView digest32);

  struct Impl;

 private:
  explicit Tpm(std::unique_ptr<Impl> impl, std::string tcti);
  std::unique_ptr<Impl> m_impl;
  std::string m_tcti;
};

}  // namespace fdo::tpm
