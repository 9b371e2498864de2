#pragma once
// Full voucher verification as a report (FDO 1.1 §3.4.2): one named check per step and
// per entry, so a tool can say exactly which check of which entry failed (docs/style.md §4, Botan's
// Path_Validation_Result). A bad voucher is a report, never an exception.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/json.h"

namespace fdo::voucher {

/// The stable names of the checks, in the order they run (docs/voucher.md explains each).
namespace check {
/// OVProtVer is 101 (an FDO 1.0 voucher reports "protocol version 100").
inline constexpr std::string_view kProtocolVersion = "protocol version";
/// a 5-element array of the right item types, nothing after it.
inline constexpr std::string_view kStructure = "voucher structure";
/// OVHeader decodes (OVHProtVer 101, GUID, RVInfo, DeviceInfo, supported OVPubKey).
inline constexpr std::string_view kHeader = "header";
/// When OVPubKey is an X5CHAIN: each certificate is signed by the next, the last is self-signed.
inline constexpr std::string_view kManufacturerKeyChain = "manufacturer key chain";
/// OVHeaderHMac is HMAC-SHA256 or HMAC-SHA384 with the matching length.
inline constexpr std::string_view kHeaderHmacFormat = "header HMAC format";
/// Only with the device's secret: the HMAC over the header bytes matches OVHeaderHMac.
inline constexpr std::string_view kHeaderHmac = "header HMAC";
/// OVDevCertChain is present, has at least one certificate, and each parses.
inline constexpr std::string_view kDevCertChain = "device cert chain";
/// OVDevCertChainHash is the hash of the concatenated DER certificates.
inline constexpr std::string_view kDevCertChainHash = "device cert chain hash";
/// Optional: each certificate is signed by the next; the last is self-signed.
inline constexpr std::string_view kDevCertChainSignatures = "device cert chain signatures";
/// Optional: OVPubKey hashes to a DeviceCredential's DCPubKeyHash.
inline constexpr std::string_view kManufacturerKeyHash = "manufacturer key hash";
/// 1 <= N <= 255 (0 allowed only when asked for).
inline constexpr std::string_view kEntriesCount = "entries count";
/// Per entry: tagged COSE_Sign1, `{1: alg}`, empty unprotected map, OVEntryPayload decodes.
inline constexpr std::string_view kEntryStructure = "entry structure";
/// Per entry: the alg suits the previous key and the signature verifies with it.
inline constexpr std::string_view kEntrySignature = "entry signature";
/// Per entry: OVEHashPrevEntry is the hash of the header and HMAC (entry 0) or of the previous entry.
inline constexpr std::string_view kEntryHashLink = "entry hash link";
/// Per entry: OVEHashHdrInfo is the hash of GUID ‖ DeviceInfo.
inline constexpr std::string_view kEntryHdrInfoHash = "entry hdrinfo hash";
/// Per entry: OVEPubKey has OVPubKey's pkType and curve or RSA size.
inline constexpr std::string_view kEntryKeyType = "entry key type";
}  // namespace check

/// One check of the report.
struct Check {
  /// One of the names in `check`.
  std::string name;
  /// The entry index for per-entry checks.
  std::optional<std::size_t> entry;
  bool ok = false;
  /// What was found (no secrets).
  std::string detail;
};

/// The outcome of verify(): valid iff every check passed.
struct VerifyReport {
  bool valid = false;
  std::vector<Check> checks;

  /// The first failed check, or nullptr.
  [[nodiscard]] const Check* first_failure() const;
  /// The check of that name (and entry), or nullptr.
  [[nodiscard]] const Check* find(std::string_view name, std::optional<std::size_t> entry = std::nullopt) const;
  /// One line per check, then the verdict: "ok    entry signature [entry 0]: …", "FAIL  device cert chain hash: …".
  [[nodiscard]] std::string to_text() const;
  /// `{"valid":bool,"checks":[{"name":…,"entry":N|null,"ok":bool,"detail":…}]}` (docs/cli.md).
  void to_json(JsonWriter& out) const;
};

/// Policy for verify().
struct VerifyOptions {
  /// Named deviations to accept (legacy-cert-chain-hash, untagged-cose, bare-oveextra-map, bare-rv-values, …).
  Leniency leniency;
  /// DCHmacSecret, when the caller is the device or our manufacturer: adds the "header HMAC" check.
  std::optional<SecretBytes> hmac_secret;
  /// A DeviceCredential's DCPubKeyHash: adds the "manufacturer key hash" check.
  std::optional<Hash> manufacturer_key_hash;
  /// Accept a voucher without entries (import for re-manufacture; docs/voucher.md check `entries count`).
  bool allow_zero_entries = false;
  /// Run `device cert chain signatures` without a trust store: the chain verifies link by link up to a self-signed last
  /// certificate.
  bool check_dev_cert_chain_signatures = false;
};

/// Verifies the raw voucher bytes (FDO 1.1 §3.4.2; the checks of docs/voucher.md). Stops after a failed structural
/// check (the protocol version, the structure, the header, an entry that does not decode); otherwise runs every check.
/// Never throws for bad input.
VerifyReport verify(ByteView voucher, const VerifyOptions& options = {});

}  // namespace fdo::voucher
