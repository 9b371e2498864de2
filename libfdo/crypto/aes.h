#pragma once
// AES modes of the FDO cipher suites on OpenSSL 3 EVP (FDO 1.1 §3.6.5, §4.4): AES-GCM and AES-CCM as
// AEADs, and unauthenticated AES-CTR and AES-CBC for the encrypt-then-MAC suites.

#include <cstddef>

#include "libfdo/core/bytes.h"

namespace fdo::crypto {

/// The AES mode a cipher suite uses (FDO 1.1 §3.6.5).
enum class AesMode { Gcm, Ccm, Ctr, Cbc };

/// AES block size; also the IV size of CTR and CBC.
inline constexpr std::size_t kAesBlockSize = 16;
/// GCM nonce size FDO uses (FDO 1.1 §3.6.5).
inline constexpr std::size_t kGcmIvSize = 12;
/// Nonce sizes of the CCM suites: 7 bytes for AES-CCM-64-*, 13 bytes for AES-CCM-16-*.
inline constexpr std::size_t kCcmShortNonceSize = 7;
inline constexpr std::size_t kCcmLongNonceSize = 13;
/// Tag size of every FDO AEAD suite; the tag is appended to the ciphertext (FDO 1.1 §4.4).
inline constexpr std::size_t kAeadTagSize = 16;

// Every function takes an AES-128 or AES-256 key (16 or 32 bytes). A key or IV of another length
// throws Error(MessageBodyError). Decryption failures (tag, padding, length) throw
// Error(InvalidMessageError) with one message that does not say which step failed (FDO 1.1 §4.4,
// §5.1).

/// AES-GCM (NIST SP 800-38D) with a 12-byte IV: returns ciphertext ‖ 16-byte tag. FDO 1.1 §4.4.
Bytes aes_gcm_encrypt(ByteView key, ByteView iv, ByteView aad, ByteView plaintext);
/// Inverse of aes_gcm_encrypt: checks the trailing tag over `aad` and the ciphertext.
Bytes aes_gcm_decrypt(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext_and_tag);

/// AES-CCM (NIST SP 800-38C, RFC 3610) with a 7- or 13-byte nonce and a 16-byte tag: returns
/// ciphertext ‖ tag. A plaintext too long for the nonce's length field throws MessageBodyError.
Bytes aes_ccm_encrypt(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);
/// Inverse of aes_ccm_encrypt.
Bytes aes_ccm_decrypt(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext_and_tag);

/// AES-CTR (NIST SP 800-38A) with a 16-byte initial counter block, incremented as one 128-bit
/// big-endian integer per block. Not authenticated: FDO MACs the result (FDO 1.1 §4.4).
Bytes aes_ctr_encrypt(ByteView key, ByteView iv, ByteView plaintext);
/// CTR decryption (the same keystream XOR).
Bytes aes_ctr_decrypt(ByteView key, ByteView iv, ByteView ciphertext);

/// AES-CBC (NIST SP 800-38A) with a 16-byte IV and PKCS#7 padding (always 1..16 bytes added).
/// Not authenticated: FDO MACs the result (FDO 1.1 §4.4).
Bytes aes_cbc_encrypt(ByteView key, ByteView iv, ByteView plaintext);
/// Inverse of aes_cbc_encrypt; a bad length or bad padding throws InvalidMessageError.
Bytes aes_cbc_decrypt(ByteView key, ByteView iv, ByteView ciphertext);

}  // namespace fdo::crypto
