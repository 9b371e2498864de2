#pragma once
// The manufacturer's side of a new voucher (FDO 1.1 §3.4.2, §5.2; docs/voucher.md "Which hash algorithm"): the
// canonical
// OVHeader with the device certificate-chain hash, then the voucher from header bytes, the device's HMAC
// and the chain.

#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::voucher {

/// The voucher hash family H (docs/voucher.md "Which hash algorithm"): SHA-384 if the device attestation key is
/// P-384 or RSA-3072, otherwise SHA-256. Used for the device's HMAC, OVDevCertChainHash and every entry hash.
crypto::HashAlg voucher_hash_family(const crypto::PublicKey& device_key);

/// OVDevCertChainHash (FDO 1.1 §3.4.2): the hash over the DER bytes of every certificate, concatenated in
/// chain order without CBOR framing (FDO 1.1 §3.4.2, docs/interop.md "legacy-cert-chain-hash").
Hash dev_cert_chain_hash(HashType type, const std::vector<Bytes>& chain);

/// OVHeaderHMac as the device computes it at DI (FDO 1.1 §3.4.2): HMAC-H keyed by DCHmacSecret over the
/// OVHeader bytes.
HMac header_hmac(crypto::HashAlg family, const SecretBytes& hmac_secret, ByteView header_bytes);

/// What the manufacturer knows about a new device (FDO 1.1 §5.2, DI).
struct HeaderInput {
  Guid guid;
  RendezvousInfo rv_info;
  /// OVDeviceInfo; printable ASCII is what we emit (docs/interop.md "device-info-text").
  std::string device_info;
  /// OVPubKey, the manufacturer key, as it will appear in the header.
  PublicKey manufacturer_key;
  /// The device certificate chain, DER, leaf first; the leaf holds the device attestation key.
  std::vector<Bytes> dev_cert_chain;
};

/// A header made by make_header().
struct CreatedHeader {
  /// The canonical OVHeader bytes: what DI.SetCredentials carries and the device MACs.
  Bytes header_bytes;
  /// OVDevCertChainHash as written into the header.
  Hash dev_cert_chain_hash;
  /// H, from the device key (voucher_hash_family).
  crypto::HashAlg hash_family = crypto::HashAlg::Sha256;
};

/// Builds OVHeader canonically (FDO 1.1 §3.4.2, docs/voucher.md "Which hash algorithm"): OVHProtVer 101, the
/// input fields, and
/// OVDevCertChainHash with H of the leaf certificate's key. Error(MessageBodyError) if the chain is
/// empty, a certificate does not parse, or the device info is empty.
CreatedHeader make_header(const HeaderInput& input);

/// The fresh voucher after DI: [101, bstr(header_bytes), header_hmac, chain, []] (FDO 1.1 §5.2.3).
/// Error(MessageBodyError) if the parts do not decode.
OwnershipVoucher assemble_voucher(ByteView header_bytes, const HMac& header_hmac,
                                  const std::vector<Bytes>& dev_cert_chain);

}  // namespace fdo::voucher
