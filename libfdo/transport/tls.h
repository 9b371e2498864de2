#pragma once
// What an https client trusts beyond its CA file, and how it proves who it is (docs/security.md "TLS"):
// certificate pins (FDO 1.1 §3.7 RVSvCertHash, RVClCertHash) and a client certificate for mutual TLS, whose key
// may stay in hardware (a TPM) behind a signing function.

#include <cstdint>
#include <functional>
#include <string>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"

namespace fdo::transport {

/// The SHA-256 or SHA-384 digest of one certificate's DER encoding.
struct CertPin {
  enum class Alg : std::uint8_t { Sha256, Sha384 };
  Alg alg = Alg::Sha256;
  Bytes digest;
  bool operator==(const CertPin&) const = default;
};

/// A client certificate and the key that signs the TLS handshake with it.
struct TlsClientIdentity {
  /// PEM: the leaf certificate first, then the CA certificates between it and the server's trust anchor.
  std::string cert_chain_pem;
  /// The leaf's PEM private key (a software key); empty when `sign_digest` signs instead.
  SecretBytes key_pem;
  /// A key that never leaves its hardware: the ECDSA signature of `digest` (a hash the size the curve asks for),
  /// r‖s big-endian, each the curve's field size. P-256 and P-384 leaves only.
  std::function<Bytes(ByteView digest)> sign_digest;
};

}  // namespace fdo::transport
