#pragma once
// SHA-2 hashes and HMAC on OpenSSL 3 EVP (FDO 1.1 §3.3). OpenSSL is used only inside this layer.

#include <memory>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"

namespace fdo::crypto {

/// The two hash functions FDO uses (SHA-256 for 256-class devices, SHA-384 for 384-class).
enum class HashAlg { Sha256, Sha384 };

/// Output length in bytes: 32 or 48.
std::size_t digest_size(HashAlg alg);
/// One-shot hash.
Bytes hash(HashAlg alg, ByteView data);
/// One-shot HMAC.
Bytes hmac(HashAlg alg, ByteView key, ByteView data);

/// Incremental hash over several pieces (e.g. GUID ‖ DeviceInfo without concatenating).
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();
  Hasher& update(ByteView data);
  /// Final digest; the Hasher cannot be updated afterwards.
  Bytes finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fdo::crypto
