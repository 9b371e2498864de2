#pragma once
// Test-only helpers for the voucher tests: keys from libfdo/testdata/voucher/, a device chain, and vouchers
// made by our manufacturer code and extended through a chain of owners. Not part of the library.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/entry.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::voucher::testing {

/// A PEM private key from libfdo/testdata/voucher/ (made by `openssl genpkey`, see its README).
inline crypto::PrivateKey test_key(const std::string& name) {
  const Bytes pem = read_file(std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/voucher/" + name + ".pem");
  return crypto::PrivateKey::from_pem(to_string(pem));
}

/// Which keys a test voucher uses.
struct Profile {
  /// Owner chain key type: "p256", "p384", "rsa2048", "rsa3072".
  std::string owner_type = "p256";
  /// Device key type: "p256", "p384", "rsa2048" or "rsa3072" (device-T.pem, certified by device-ca-T.pem).
  std::string device_type = "p256";
  /// OVPubKey's pkType; default: default_pk_type of the manufacturer key (RSAPSS for PS* chains).
  std::optional<PkType> pk_type;
  PkEnc pk_enc = PkEnc::X509;
};

/// A Profile (a function, because GCC 12 warns about designated initializers that leave members out).
inline Profile profile(std::string owner_type, std::string device_type = "p256", std::optional<PkType> pk_type = {},
                       PkEnc pk_enc = PkEnc::X509) {
  Profile p;
  p.owner_type = std::move(owner_type);
  p.device_type = std::move(device_type);
  p.pk_type = pk_type;
  p.pk_enc = pk_enc;
  return p;
}

/// A leaf-first device chain: a device certificate issued by a self-signed device CA.
inline std::vector<Bytes> make_device_chain(const crypto::PrivateKey& ca_key, const crypto::PublicKey& device_key) {
  const crypto::Certificate ca = crypto::make_self_signed(
      ca_key, crypto::CertificateProfile{.common_name = "Test Device CA", .organization = "fdo-cpp tests",
                                         .validity_days = 3650, .is_ca = true});
  const crypto::Certificate leaf = crypto::issue_certificate(
      ca_key, ca, device_key,
      crypto::CertificateProfile{.common_name = "device-1", .organization = "fdo-cpp tests", .validity_days = 3650,
                                 .is_ca = false});
  return {leaf.der(), ca.der()};
}

/// Everything needed to make, extend and re-make a test voucher.
struct Fixture {
  explicit Fixture(const Profile& p = {})
      : profile(p),
        device_ca(test_key("device-ca-" + p.device_type)),
        device(test_key("device-" + p.device_type)),
        hmac_secret(Bytes(32, 0x5A)),
        chain(make_device_chain(device_ca, device.public_key())),
        owners(load_owners(p.owner_type)),
        input(HeaderInput{.guid = Guid::from(Bytes{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x10, 0x32, 0x54,
                                                   0x76, 0x98, 0xBA, 0xDC, 0xFE}),
                          .rv_info = RendezvousInfo::from_urls("http://127.0.0.1:8040"),
                          .device_info = "TestDevice",
                          .manufacturer_key = wire_key(0),
                          .dev_cert_chain = chain}) {}

  /// owners[i]'s public key as this voucher encodes it.
  [[nodiscard]] PublicKey wire_key(std::size_t i) const {
    const PkType type = profile.pk_type.value_or(default_pk_type(owners.at(i).public_key()));
    return PublicKey::from_key(owners.at(i).public_key(), profile.pk_enc, type);
  }

  /// The HMAC the device would compute over `header_bytes`.
  [[nodiscard]] HMac hmac_over(ByteView header_bytes, crypto::HashAlg family) const {
    return header_hmac(family, hmac_secret, header_bytes);
  }

  /// A fresh voucher (no entries), as our manufacturer makes it after DI.
  [[nodiscard]] OwnershipVoucher fresh() const {
    const CreatedHeader header = make_header(input);
    return assemble_voucher(header.header_bytes, hmac_over(header.header_bytes, header.hash_family), chain);
  }

  /// A voucher extended `entries` times: manufacturer → owner1 → owner2 → manufacturer → … (keys may repeat).
  [[nodiscard]] OwnershipVoucher extended(std::size_t entries) const {
    OwnershipVoucher ov = fresh();
    for (std::size_t i = 0; i < entries; ++i) {
      ov = extend(ov, owners[i % owners.size()], wire_key((i + 1) % owners.size()));
    }
    return ov;
  }

  /// The private key of the current owner of a voucher extended `entries` times.
  [[nodiscard]] const crypto::PrivateKey& owner_after(std::size_t entries) const {
    return owners[entries % owners.size()];
  }

  /// A copy of the HMAC secret, as VerifyOptions takes it.
  [[nodiscard]] SecretBytes secret() const { return hmac_secret.clone(); }

  Profile profile;
  crypto::PrivateKey device_ca;
  crypto::PrivateKey device;
  SecretBytes hmac_secret;
  std::vector<Bytes> chain;
  std::vector<crypto::PrivateKey> owners;
  HeaderInput input;

 private:
  static std::vector<crypto::PrivateKey> load_owners(const std::string& type) {
    std::vector<crypto::PrivateKey> out;
    for (const char* role : {"manufacturer", "owner1", "owner2"}) {
      out.push_back(test_key(std::string(role) + "-" + type));
    }
    return out;
  }
};

/// Writes a voucher from raw parts, without any checking: for building broken vouchers.
inline Bytes raw_voucher(std::uint64_t prot_ver, ByteView header_bytes, ByteView hmac_item, ByteView chain_item,
                         const std::vector<Bytes>& entries) {
  cbor::Writer w;
  w.array(5).uint(prot_ver).bstr(header_bytes).raw(hmac_item).raw(chain_item).array(entries.size());
  for (const Bytes& e : entries) {
    w.raw(e);
  }
  return std::move(w).take();
}

/// The X5CHAIN encoding of a list of DER certificates.
inline Bytes chain_item(const std::vector<Bytes>& chain) {
  cbor::Writer w;
  w.array(chain.size());
  for (const Bytes& c : chain) {
    w.bstr(c);
  }
  return std::move(w).take();
}

/// The entries of a voucher as raw bytes.
inline std::vector<Bytes> entry_bytes(const OwnershipVoucher& ov) {
  std::vector<Bytes> out;
  for (const OVEntry& e : ov.entries()) {
    out.push_back(e.bytes);
  }
  return out;
}

/// A signed entry over an arbitrary (possibly wrong) payload.
inline Bytes signed_entry(const crypto::PrivateKey& signer, crypto::SigAlg alg, ByteView payload) {
  return cose::Sign1::sign(signer, alg, payload).encode();
}

}  // namespace fdo::voucher::testing
