#include "libfdo/voucher/extend.h"

#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/cose/sign1.h"

namespace fdo::voucher {
namespace {

std::string owner_key_name(const OwnershipVoucher& voucher) {
  return voucher.entries().empty() ? std::string("OVPubKey")
                                   : "OVEPubKey of entry " + std::to_string(voucher.entries().size() - 1);
}

}  // namespace

PublicKey next_owner_key(const OwnershipVoucher& voucher, const crypto::PublicKey& key,
                         const std::vector<crypto::Certificate>& chain, bool allow_x5chain) {
  const PublicKey& manufacturer = voucher.header().ov_pub_key;
  // FDO 1.1 §3.4.2: "Each key in the voucher must copy the public key type, hash and encoding
  // of OVPubKey".
  if (key.type() != manufacturer.key().type()) {
    throw_invalid("next owner key is " + std::string(crypto::key_type_name(key.type())) +
                  ", but every key of this voucher must be " + manufacturer.describe() +
                  " (same key type as OVPubKey, FDO 1.1 §3.4.2)");
  }
  if (allow_x5chain && !chain.empty()) {
    if (!chain.front().public_key().same_key(key)) {
      throw_invalid("next owner certificate chain: the leaf certificate does not hold the next owner key");
    }
    return PublicKey::from_chain(chain, manufacturer.pk_type());
  }
  const PkEnc enc = manufacturer.pk_enc() == PkEnc::CoseKey ? PkEnc::CoseKey : PkEnc::X509;
  return PublicKey::from_key(key, enc, manufacturer.pk_type());
}

OwnershipVoucher extend(const OwnershipVoucher& voucher, const crypto::PrivateKey& owner_private_key,
                        const PublicKey& next_owner, const ExtendOptions& options) {
  const PublicKey& owner = voucher.owner_key();
  // The private key must match the voucher's current owner key (its last key); go-fdo and fdo-rs refuse otherwise.
  if (!owner_private_key.public_key().same_key(owner.key())) {
    throw_invalid("the given private key (" + std::string(crypto::key_type_name(owner_private_key.type())) +
                  ") is not the current owner key of this voucher; the current owner key is the " +
                  owner_key_name(voucher) + ", " + owner.describe());
  }
  const PublicKey& manufacturer = voucher.header().ov_pub_key;
  if (!next_owner.same_type_as(manufacturer)) {
    throw_invalid("next owner key " + next_owner.describe() + " does not have the voucher's key type " +
                  manufacturer.describe() + " (same pkType and curve or RSA size as OVPubKey, FDO 1.1 §3.4.2)");
  }
  if (next_owner.pk_enc() == PkEnc::X5Chain && !options.allow_x5chain) {
    throw_invalid("next owner key is X5CHAIN-encoded, which the C SDK cannot parse; allow X5CHAIN explicitly "
                  "to use it (FDO 1.1 §3.4.2)");
  }
  if (voucher.entries().size() >= kMaxEntries) {
    throw_invalid("the voucher already has " + std::to_string(kMaxEntries) +
                  " entries, the most TO2 can carry (NumOVEntries is a uint8)");
  }
  // FDO 1.1 §3.4.2: the entry's hashes, OVEExtra and payload, then the signature.
  const HashType type = voucher.entry_hash_type();
  const OVEntryPayload payload{.ove_hash_prev_entry = voucher.prev_entry_hash(voucher.entries().size(), type),
                               .ove_hash_hdr_info = voucher.hdr_info_hash(type),
                               .ove_extra = options.extra,
                               .ove_pub_key = next_owner};
  // Sign: #6.18([h'A1 01 <alg>', {}, bstr(payload), sig]) with the current owner's private key.
  const cose::Sign1 entry = cose::Sign1::sign(owner_private_key, owner.sig_alg(), payload.encode());
  // Append; OVProtVer, the header bytes, the HMAC and the device chain stay as they were.
  return voucher.with_entry(entry.encode(), options.leniency);
}

}  // namespace fdo::voucher
