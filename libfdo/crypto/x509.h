#pragma once
// X.509 certificates, chains, CSRs (PKCS#10) and a small CA for device certificates.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/keys.h"

namespace fdo::crypto {

/// An X.509 certificate. Copyable (shared, immutable).
class Certificate {
 public:
  /// From DER; throws Error(MessageBodyError) if it does not parse.
  static Certificate from_der(ByteView der);
  /// Every "CERTIFICATE" block of a PEM text, in order (other blocks skipped).
  static std::vector<Certificate> from_pem_all(std::string_view pem);

  /// The subject public key of DER certificate `der` when that is all a caller needs: a canonical EC key is
  /// taken from the SubjectPublicKeyInfo without parsing the rest (OpenSSL's X.509 parser decodes the key through
  /// its decoder framework, the larger part of the cost); any other key, or DER that does not walk cleanly,
  /// goes through from_der(). Throws Error(MessageBodyError) as from_der() and public_key() do.
  static PublicKey public_key_of(ByteView der);

  [[nodiscard]] Bytes der() const;
  [[nodiscard]] std::string to_pem() const;
  /// The subject public key (built on first use, then kept).
  [[nodiscard]] PublicKey public_key() const;
  /// Subject in OpenSSL one-line form ("CN=device-1,O=…").
  [[nodiscard]] std::string subject() const;
  [[nodiscard]] std::string issuer() const;
  /// Whether `issuer`'s key verifies this certificate's signature and the names chain.
  [[nodiscard]] bool is_signed_by(const Certificate& issuer) const;

  struct Impl;
  explicit Certificate(std::shared_ptr<const Impl> impl);
  [[nodiscard]] const Impl& impl() const { return *m_impl; }

 private:
  std::shared_ptr<const Impl> m_impl;
};

/// Result of verifying a chain: ok, or the reason naming the failing certificate index.
struct ChainResult {
  bool ok = false;
  std::string detail;
};

/// Verifies leaf-first `chain` link by link (each signed by the next); the last certificate must
/// be self-signed, or signed by one of `roots` when given. Validity dates are not checked
/// (FDO devices often have no clock); pass check_time = true to check them.
ChainResult verify_chain(const std::vector<Certificate>& chain,
                         const std::vector<Certificate>& roots = {}, bool check_time = false);

/// A parsed PKCS#10 request.
struct CertificateRequest {
  PublicKey public_key;
  std::string subject;
  /// Whether the request's self-signature verifies with its own key.
  bool signature_valid = false;
};

/// Makes a DER PKCS#10 CSR for `key` with subject CN=`common_name` (signed with default alg).
Bytes make_csr(const PrivateKey& key, std::string_view common_name);
/// The same CSR for a key whose private part is elsewhere (a TPM): `sign` returns the COSE-form signature
/// (ECDSA r‖s) of the request's to-be-signed bytes under `alg`, an ES256 or ES384 that suits `key`.
Bytes make_csr_signed_by(const PublicKey& key, std::string_view common_name, SigAlg alg,
                         const std::function<Bytes(ByteView tbs)>& sign);
/// Parses a DER CSR; throws Error(MessageBodyError) if it is not a CSR or its key type is not one
/// of the four supported. The signature is reported, not thrown.
CertificateRequest parse_csr(ByteView der);

/// Parameters of an issued certificate.
struct CertificateProfile {
  std::string common_name;
  std::string organization;
  int validity_days = 30 * 360;
  bool is_ca = false;
};

/// Self-signed CA certificate for `key` (basicConstraints CA:TRUE, keyCertSign).
Certificate make_self_signed(const PrivateKey& key, const CertificateProfile& profile);
/// Issues a certificate for `subject_key` signed by the CA (random 128-bit serial,
/// KeyUsage digitalSignature for leaves). `subject_alt_names` in OpenSSL's form ("IP:127.0.0.1",
/// "DNS:localhost"), for a TLS server's leaf.
Certificate issue_certificate(const PrivateKey& ca_key, const Certificate& ca_cert,
                              const PublicKey& subject_key, const CertificateProfile& profile,
                              const std::vector<std::string>& subject_alt_names = {});

}  // namespace fdo::crypto
