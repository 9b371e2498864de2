#include "libfdo/voucher/create.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/crypto/x509.h"

namespace fdo::voucher {

crypto::HashAlg voucher_hash_family(const crypto::PublicKey& device_key) {
  return crypto::hash_family(device_key.type());
}

Hash dev_cert_chain_hash(HashType type, const std::vector<Bytes>& chain) {
  Bytes concatenated;
  for (const Bytes& cert : chain) {
    append(concatenated, cert);
  }
  return Hash::compute(type, concatenated);
}

HMac header_hmac(crypto::HashAlg family, const SecretBytes& hmac_secret, ByteView header_bytes) {
  return Hash::compute_hmac(hmac_type_for(family), hmac_secret, header_bytes);
}

CreatedHeader make_header(const HeaderInput& input) {
  if (input.dev_cert_chain.empty()) {
    throw_body_error("OVDevCertChain: the device certificate chain is empty");
  }
  if (input.device_info.empty()) {
    throw_body_error("OVDeviceInfo: empty device info");
  }
  // Parsing every certificate refuses a chain that would fail the "device cert chain" check.
  const crypto::Certificate leaf = crypto::Certificate::from_der(input.dev_cert_chain.front());
  for (std::size_t i = 1; i < input.dev_cert_chain.size(); ++i) {
    static_cast<void>(crypto::Certificate::from_der(input.dev_cert_chain[i]));
  }
  const crypto::HashAlg family = voucher_hash_family(leaf.public_key());
  Hash chain_hash = dev_cert_chain_hash(hash_type_for(family), input.dev_cert_chain);
  const OVHeader header{.ovh_prot_ver = kOVProtVer,
                        .ov_guid = input.guid,
                        .ov_rv_info = input.rv_info,
                        .ov_device_info = input.device_info,
                        .ov_pub_key = input.manufacturer_key,
                        .ov_dev_cert_chain_hash = chain_hash};
  return CreatedHeader{.header_bytes = header.encode(), .dev_cert_chain_hash = std::move(chain_hash),
                       .hash_family = family};
}

OwnershipVoucher assemble_voucher(ByteView header_bytes, const HMac& header_hmac,
                                  const std::vector<Bytes>& dev_cert_chain) {
  return OwnershipVoucher::from_parts(header_bytes, header_hmac, dev_cert_chain);
}

}  // namespace fdo::voucher
