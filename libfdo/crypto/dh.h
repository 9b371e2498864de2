#pragma once
// Finite-field Diffie-Hellman for the DHKEXid14 / DHKEXid15 key exchanges (FDO 1.1 §3.6):
// RFC 3526 MODP groups 14 (2048-bit) and 15 (3072-bit), g = 2, on OpenSSL 3 EVP.

#include <cstddef>
#include <memory>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"

namespace fdo::crypto {

/// The two DH groups of FDO 1.1 §3.6 ("DHKEXid14", "DHKEXid15").
enum class DhGroup { Modp2048, Modp3072 };

/// |p| in bytes: 256 (group 14) or 384 (group 15).
std::size_t dh_prime_size(DhGroup group);
/// The RFC 3526 prime p, big-endian, |p| bytes (RFC 3526 §3 and §4).
Bytes dh_prime(DhGroup group);
/// Private exponent size in bits: 256 (group 14) or 768 (group 15) (as go-fdo and Java PRI).
std::size_t dh_private_bits(DhGroup group);

/// One side's ephemeral DH key: private exponent a and public value A = g^a mod p.
/// Move-only; the exponent is never logged or printed.
class DhKeyPair {
 public:
  /// A fresh key from the CSPRNG with a private exponent of dh_private_bits(group) bits.
  static DhKeyPair generate(DhGroup group);
  /// A key with a given private exponent (big-endian unsigned), for test vectors. The exponent
  /// must lie in [2, p-2]; otherwise Error(MessageBodyError).
  static DhKeyPair from_private_exponent(DhGroup group, ByteView exponent);

  DhKeyPair(DhKeyPair&&) noexcept;
  DhKeyPair& operator=(DhKeyPair&&) noexcept;
  ~DhKeyPair();

  [[nodiscard]] DhGroup group() const;
  /// A = g^a mod p as a big-endian string of exactly |p| bytes (xAKeyExchange / xBKeyExchange).
  [[nodiscard]] Bytes public_value() const;
  /// ShSe = peer^a mod p, left-padded to |p| bytes (docs/interop.md "shared-secret-leading-zeros").
  /// `peer` is an unsigned big-endian integer of any length up to |p| + 1 bytes (leading zeros
  /// allowed; Java PRI adds a sign byte). A longer value throws Error(MessageBodyError). A peer
  /// value outside [2, p-2] or not in the order-q subgroup, or a shared value of 1 or p-1, throws
  /// Error(InvalidMessageError) (NIST SP 800-56A §5.6.2.3, as go-fdo checks).
  [[nodiscard]] SecretBytes compute(ByteView peer) const;

  struct Impl;

 private:
  explicit DhKeyPair(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fdo::crypto
