#pragma once
// The OpenSSL objects behind PublicKey, PrivateKey and Certificate, and helpers shared by
// hash.cpp, keys.cpp and x509.cpp. Internal to crypto/.

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/internal/ossl.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"

namespace fdo::crypto {

/// An immutable public key: the OpenSSL key, its FDO type and its DER SubjectPublicKeyInfo.
struct PublicKey::Impl {
  internal::EvpPkeyPtr pkey;
  KeyType type;
  Bytes spki_der;
};

/// A private key and its FDO type; its public key is built once, on first use (servers sign and compare with
/// long-lived keys on every run, docs/performance.md).
struct PrivateKey::Impl {
  internal::EvpPkeyPtr pkey;
  KeyType type;
  std::once_flag public_once;
  std::optional<PublicKey> public_key;
};

/// A parsed certificate and the exact DER bytes it came from (hashed as received); its public key is built once.
struct Certificate::Impl {
  internal::X509Ptr cert;
  Bytes der;
  mutable std::once_flag public_once;
  mutable std::optional<PublicKey> public_key;
};

namespace internal {

/// Throws Error(MessageBodyError) for bad input, appending (and so clearing) OpenSSL's error queue.
[[noreturn]] void input_error(const std::string& what);

/// The length of DER input as the `long` OpenSSL's d2i functions take; Error(MessageBodyError) if too large.
long der_length(ByteView der, std::string_view what);

/// The EVP digest for a hash algorithm.
const EVP_MD* evp_md(HashAlg alg);

/// The FDO key type of an OpenSSL key; nullopt unless EC P-256/P-384 or RSA 2048/3072.
std::optional<KeyType> key_type_of(const EVP_PKEY* pkey);

/// Wraps an OpenSSL public (or key-pair) object as a PublicKey, keeping only the public part.
/// Throws Error(MessageBodyError) naming `what` if the key is not one of the four types.
PublicKey make_public_key(const EVP_PKEY* pkey, std::string_view what);

/// A public key on `curve` for the uncompressed SEC 1 point 04 ‖ X ‖ Y, checked to be on the curve.
/// Throws Error(MessageBodyError) naming `what` otherwise.
PublicKey ec_public_key_from_point(KeyType curve, ByteView point, std::string_view what);

/// The curve when `spki` has the canonical SubjectPublicKeyInfo form of a P-256 or P-384 key (named curve,
/// uncompressed point, RFC 5480), which PublicKey::from_spki_der() reads without OpenSSL's decoder; else nullopt.
std::optional<KeyType> canonical_ec_spki(ByteView spki);

/// COSE ECDSA r‖s (RFC 9053 §2.1) as the DER ECDSA-Sig-Value of X.509 and OpenSSL; nullopt if OpenSSL cannot
/// represent it.
std::optional<Bytes> ecdsa_raw_to_der(ByteView raw);

/// Prepares `ctx` to sign with `key` under `alg` (the PKCS#1 v1.5 / PSS padding for RSA).
/// Used for COSE signatures and for certificate and CSR signatures.
void digest_sign_init(EVP_MD_CTX* ctx, const PrivateKey& key, SigAlg alg);

/// The subject or issuer name in RFC 2253 form, UTF-8 kept ("CN=device-1,O=Example").
std::string name_to_string(const X509_NAME* name);

}  // namespace internal
}  // namespace fdo::crypto
