#pragma once
// What `fdo-reseller show` prints about a voucher (FDO 1.1 §3.4.2): read tolerantly, field by field, so
// that every voucher can be shown, including FDO 1.0 vouchers and ones that fail strict decoding; what
// could not be read is listed as a note instead of stopping the display.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/json.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo::voucher {

/// A PublicKey as shown: its pkType, pkEnc, key family and the hash of its CBOR encoding as received
/// (the DCPubKeyHash form, FDO 1.1 §3.4.1), in the voucher hash family.
struct KeySummary {
  /// "SECP256R1", or "pkType -7" for a value FDO 1.1 does not define.
  std::string pk_type;
  /// "X509", or "pkEnc N".
  std::string pk_enc;
  /// "p256", "p384", "rsa2048", "rsa3072", or empty when the key could not be read.
  std::string key_type;
  std::optional<Hash> hash;
  /// "SECP256R1 X509 (p256)".
  [[nodiscard]] std::string describe() const;
};

/// One device certificate as shown.
struct CertificateSummary {
  std::string subject;
  std::string issuer;
  std::string key_type;
};

/// One voucher entry as shown.
struct EntrySummary {
  std::size_t index = 0;
  /// The COSE alg of the entry's signature ("ES256"), empty if unreadable.
  std::string signature_alg;
  std::optional<KeySummary> next_owner_key;
  /// OVEExtra in diagnostic notation ("null", "<<{-65537: h'01'}>>"); JSON shows null as null.
  std::string extra;
};

/// Everything `show` prints about one voucher; fields that could not be read are empty and explained in
/// `notes`.
struct VoucherSummary {
  std::optional<std::uint64_t> protocol_version;
  std::optional<std::string> guid;
  std::optional<std::string> device_info;
  std::optional<RendezvousInfo> rv_info;
  /// Diagnostic notation of OVRVInfo when it does not decode as an FDO 1.1 RendezvousInfo.
  std::optional<std::string> rv_info_diag;
  std::optional<KeySummary> manufacturer_key;
  /// "HMAC-SHA256" / "HMAC-SHA384".
  std::optional<std::string> header_hmac_alg;
  std::optional<Hash> dev_cert_chain_hash;
  std::vector<CertificateSummary> certificates;
  std::optional<std::size_t> entry_count;
  std::vector<EntrySummary> entries;
  /// Deviations and what could not be read (e.g. "FDO 1.0 voucher …", a strict-decoding error).
  std::vector<std::string> notes;

  /// Human-readable lines for `show`.
  [[nodiscard]] std::string to_text() const;
  /// The `show --json` object (docs/reseller.md).
  void to_json(JsonWriter& out) const;
};

/// Reads what can be read of `voucher` (FDO 1.1, or FDO 1.0 for display only). Never throws for bad input.
VoucherSummary summarize(ByteView voucher, const Leniency& leniency = {});

}  // namespace fdo::voucher
