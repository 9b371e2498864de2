#pragma once
// Extending a voucher to the next owner, FDO 1.1 §3.4.2: the current owner signs a new
// entry naming the next owner's key. Used by owners, resellers and `fdo-reseller extend`.

#include <optional>
#include <vector>

#include "libfdo/core/quirks.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/entry.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::voucher {

/// Choices for one extension.
struct ExtendOptions {
  /// OVEExtra: nullopt writes null; a map is written as `bstr .cbor {…}` (docs/interop.md "oveextra-encoding").
  std::optional<OVEExtraInfo> extra;
  /// Allow an X5CHAIN next-owner key (docs/interop.md "one-key-type": the C SDK cannot parse X5CHAIN).
  bool allow_x5chain = false;
  /// Leniency for re-decoding the new entry (only matters if the voucher itself was read leniently).
  Leniency leniency;
};

/// The next owner's PublicKey as this voucher needs it (docs/interop.md "one-key-type"): OVPubKey's pkType,
/// and OVPubKey's pkEnc (X509, or COSEKEY when OVPubKey is COSEKEY). X5CHAIN only when `allow_x5chain` and
/// a certificate chain (leaf first, its leaf key = `key`) is given; otherwise an X5CHAIN OVPubKey gives X509.
/// Error(InvalidMessageError) if `key` is not of OVPubKey's key type (curve or RSA size).
PublicKey next_owner_key(const OwnershipVoucher& voucher, const crypto::PublicKey& key,
                         const std::vector<crypto::Certificate>& chain = {}, bool allow_x5chain = false);

/// Extends `voucher` to `next_owner` (FDO 1.1 §3.4.2), signing with `owner_private_key`:
/// * the private key must match the current owner key (the last OVEPubKey, or OVPubKey);
/// * `next_owner` must have OVPubKey's pkType and curve or RSA size; X5CHAIN only if allowed;
/// * the hashes use the entries' hashtype, or H for the first extension; the signature uses the owner
///   key's alg (ES256/ES384, RS256/RS384, PS256/PS384 for RSAPSS);
/// * the new entry is `#6.18([h'A1 01 <alg>', {}, bstr(payload), sig])`, appended; nothing else changes.
/// Refusals throw Error(InvalidMessageError) with a message saying which rule failed; the input is unchanged.
OwnershipVoucher extend(const OwnershipVoucher& voucher, const crypto::PrivateKey& owner_private_key,
                        const PublicKey& next_owner, const ExtendOptions& options = {});

}  // namespace fdo::voucher
