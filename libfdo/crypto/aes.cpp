#include "libfdo/crypto/aes.h"

#include <openssl/evp.h>

#include <climits>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/crypto/internal/ossl.h"

namespace fdo::crypto {
namespace {

using internal::EvpCipherCtxPtr;
using internal::EvpCipherPtr;

/// The one message for every decryption failure, so a peer cannot tell which step failed
/// (FDO 1.1 §4.4; the error string must not reveal which check failed, §5.1).
constexpr const char* kDecryptFailed = "decryption failed";

void check_key(ByteView key) {
  if (key.size() != 16 && key.size() != 32) {
    throw_body_error("AES key must be 16 or 32 bytes, got " + std::to_string(key.size()));
  }
}

void check_iv(ByteView iv, std::size_t expected, const char* what) {
  if (iv.size() != expected) {
    throw_body_error(std::string(what) + " must be " + std::to_string(expected) + " bytes, got " +
                     std::to_string(iv.size()));
  }
}

/// OpenSSL's update calls take int lengths.
int int_size(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX - 64)) {
    throw_body_error("AES input of " + std::to_string(n) + " bytes is too long");
  }
  return static_cast<int>(n);
}

/// A non-null pointer even for empty input: some OpenSSL modes treat a null input as "no data".
const unsigned char* in_ptr(ByteView v) {
  static const unsigned char kNothing = 0;
  return v.empty() ? &kNothing : v.data();
}

/// "AES-128-GCM", "AES-256-CBC", ... for a 16- or 32-byte key.
EvpCipherPtr fetch_cipher(AesMode mode, std::size_t key_size) {
  const char* const mode_name = mode == AesMode::Gcm   ? "GCM"
                                : mode == AesMode::Ccm ? "CCM"
                                : mode == AesMode::Ctr ? "CTR"
                                                       : "CBC";
  const std::string name = std::string("AES-") + (key_size == 16 ? "128-" : "256-") + mode_name;
  return EvpCipherPtr(internal::check_ptr(EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr), "EVP_CIPHER_fetch"));
}

EvpCipherCtxPtr new_ctx() { return EvpCipherCtxPtr(internal::check_ptr(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new")); }

/// Throws the uniform decryption failure when an OpenSSL step on peer data fails.
void check_decrypt(int rc) {
  if (rc != 1) {
    internal::drain_errors();
    throw_invalid(kDecryptFailed);
  }
}

/// Largest CCM plaintext for a nonce: the length field has 15 - |nonce| bytes (RFC 3610 §2).
bool ccm_length_fits(std::size_t nonce_size, std::size_t length) {
  const std::size_t length_field = 15 - nonce_size;
  if (length_field >= sizeof(std::size_t)) {
    return true;
  }
  return length < (std::size_t{1} << (8 * length_field));
}

void check_ccm_nonce(ByteView nonce) {
  if (nonce.size() != kCcmShortNonceSize && nonce.size() != kCcmLongNonceSize) {
    throw_body_error("AES-CCM nonce must be 7 or 13 bytes, got " + std::to_string(nonce.size()));
  }
}

/// CTR and CBC share one shape: init, one update, final (which checks CBC padding).
Bytes run_unauthenticated(AesMode mode, bool encrypt, ByteView key, ByteView iv, ByteView in) {
  check_key(key);
  check_iv(iv, kAesBlockSize, mode == AesMode::Ctr ? "AES-CTR IV" : "AES-CBC IV");
  if (mode == AesMode::Cbc && !encrypt && (in.empty() || in.size() % kAesBlockSize != 0)) {
    throw_invalid(kDecryptFailed);
  }
  const int in_len = int_size(in.size());
  const EvpCipherPtr cipher = fetch_cipher(mode, key.size());
  const EvpCipherCtxPtr ctx = new_ctx();
  internal::check(EVP_CipherInit_ex2(ctx.get(), cipher.get(), key.data(), iv.data(), encrypt ? 1 : 0, nullptr),
                  "EVP_CipherInit_ex2");
  Bytes out(in.size() + kAesBlockSize);
  int len = 0;
  const int update_rc = EVP_CipherUpdate(ctx.get(), out.data(), &len, in_ptr(in), in_len);
  if (encrypt) {
    internal::check(update_rc, "EVP_CipherUpdate");
  } else {
    check_decrypt(update_rc);
  }
  int final_len = 0;
  const int final_rc = EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len);
  if (encrypt) {
    internal::check(final_rc, "EVP_CipherFinal_ex");
  } else {
    check_decrypt(final_rc);
  }
  out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len));
  return out;
}

// The common end of GCM and CCM encryption once key and nonce are set: AAD, plaintext, final block, and the
// 16-byte tag appended to the ciphertext (FDO 1.1 §4.4).
Bytes aead_seal(EVP_CIPHER_CTX* ctx, ByteView aad, ByteView plaintext) {
  int len = 0;
  if (!aad.empty()) {
    internal::check(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), int_size(aad.size())), "EVP_EncryptUpdate(aad)");
  }
  Bytes out(plaintext.size() + kAeadTagSize);
  internal::check(EVP_EncryptUpdate(ctx, out.data(), &len, in_ptr(plaintext), int_size(plaintext.size())),
                  "EVP_EncryptUpdate");
  int final_len = 0;
  internal::check(EVP_EncryptFinal_ex(ctx, out.data() + len, &final_len), "EVP_EncryptFinal_ex");
  internal::check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize),
                                      out.data() + plaintext.size()),
                  "EVP_CTRL_AEAD_GET_TAG");
  return out;
}

}  // namespace

Bytes aes_gcm_encrypt(ByteView key, ByteView iv, ByteView aad, ByteView plaintext) {
  check_key(key);
  check_iv(iv, kGcmIvSize, "AES-GCM IV");
  const EvpCipherPtr cipher = fetch_cipher(AesMode::Gcm, key.size());
  const EvpCipherCtxPtr ctx = new_ctx();
  // The default GCM IV length is 12 bytes, which is the only one FDO uses.
  internal::check(EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key.data(), iv.data(), nullptr),
                  "EVP_EncryptInit_ex2");
  return aead_seal(ctx.get(), aad, plaintext);
}

Bytes aes_gcm_decrypt(ByteView key, ByteView iv, ByteView aad, ByteView ciphertext_and_tag) {
  check_key(key);
  check_iv(iv, kGcmIvSize, "AES-GCM IV");
  if (ciphertext_and_tag.size() < kAeadTagSize) {
    throw_invalid(kDecryptFailed);
  }
  const ByteView ciphertext = ciphertext_and_tag.first(ciphertext_and_tag.size() - kAeadTagSize);
  // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer; copy the tag rather than cast.
  Bytes tag(ciphertext_and_tag.end() - static_cast<std::ptrdiff_t>(kAeadTagSize), ciphertext_and_tag.end());
  const int aad_len = int_size(aad.size());
  const int ct_len = int_size(ciphertext.size());
  const EvpCipherPtr cipher = fetch_cipher(AesMode::Gcm, key.size());
  const EvpCipherCtxPtr ctx = new_ctx();
  internal::check(EVP_DecryptInit_ex2(ctx.get(), cipher.get(), key.data(), iv.data(), nullptr),
                  "EVP_DecryptInit_ex2");
  int len = 0;
  if (!aad.empty()) {
    check_decrypt(EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), aad_len));
  }
  Bytes out(ciphertext.size() + kAesBlockSize);
  check_decrypt(EVP_DecryptUpdate(ctx.get(), out.data(), &len, in_ptr(ciphertext), ct_len));
  internal::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize), tag.data()),
                  "EVP_CTRL_AEAD_SET_TAG");
  int final_len = 0;
  check_decrypt(EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &final_len));
  out.resize(ciphertext.size());
  return out;
}

Bytes aes_ccm_encrypt(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  check_key(key);
  check_ccm_nonce(nonce);
  if (!ccm_length_fits(nonce.size(), plaintext.size())) {
    throw_body_error("AES-CCM plaintext of " + std::to_string(plaintext.size()) + " bytes is too long for a " +
                     std::to_string(nonce.size()) + "-byte nonce");
  }
  const int pt_len = int_size(plaintext.size());
  const EvpCipherPtr cipher = fetch_cipher(AesMode::Ccm, key.size());
  const EvpCipherCtxPtr ctx = new_ctx();
  // CCM needs nonce and tag length before the key, and the total length before the AAD.
  internal::check(EVP_EncryptInit_ex2(ctx.get(), cipher.get(), nullptr, nullptr, nullptr), "EVP_EncryptInit_ex2");
  internal::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr),
                  "EVP_CTRL_AEAD_SET_IVLEN");
  internal::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize), nullptr),
                  "EVP_CTRL_AEAD_SET_TAG");
  internal::check(EVP_EncryptInit_ex2(ctx.get(), nullptr, key.data(), nonce.data(), nullptr), "EVP_EncryptInit_ex2");
  int len = 0;
  internal::check(EVP_EncryptUpdate(ctx.get(), nullptr, &len, nullptr, pt_len), "EVP_EncryptUpdate(length)");
  return aead_seal(ctx.get(), aad, plaintext);
}

Bytes aes_ccm_decrypt(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext_and_tag) {
  check_key(key);
  check_ccm_nonce(nonce);
  if (ciphertext_and_tag.size() < kAeadTagSize) {
    throw_invalid(kDecryptFailed);
  }
  const ByteView ciphertext = ciphertext_and_tag.first(ciphertext_and_tag.size() - kAeadTagSize);
  if (!ccm_length_fits(nonce.size(), ciphertext.size())) {
    throw_invalid(kDecryptFailed);
  }
  Bytes tag(ciphertext_and_tag.end() - static_cast<std::ptrdiff_t>(kAeadTagSize), ciphertext_and_tag.end());
  const int aad_len = int_size(aad.size());
  const int ct_len = int_size(ciphertext.size());
  const EvpCipherPtr cipher = fetch_cipher(AesMode::Ccm, key.size());
  const EvpCipherCtxPtr ctx = new_ctx();
  internal::check(EVP_DecryptInit_ex2(ctx.get(), cipher.get(), nullptr, nullptr, nullptr), "EVP_DecryptInit_ex2");
  internal::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr),
                  "EVP_CTRL_AEAD_SET_IVLEN");
  internal::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize), tag.data()),
                  "EVP_CTRL_AEAD_SET_TAG");
  internal::check(EVP_DecryptInit_ex2(ctx.get(), nullptr, key.data(), nonce.data(), nullptr), "EVP_DecryptInit_ex2");
  int len = 0;
  check_decrypt(EVP_DecryptUpdate(ctx.get(), nullptr, &len, nullptr, ct_len));
  if (!aad.empty()) {
    check_decrypt(EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), aad_len));
  }
  // For CCM the tag is checked inside this update; there is no separate final step.
  Bytes out(ciphertext.size() + kAesBlockSize);
  check_decrypt(EVP_DecryptUpdate(ctx.get(), out.data(), &len, in_ptr(ciphertext), ct_len));
  out.resize(ciphertext.size());
  return out;
}

Bytes aes_ctr_encrypt(ByteView key, ByteView iv, ByteView plaintext) {
  return run_unauthenticated(AesMode::Ctr, true, key, iv, plaintext);
}

Bytes aes_ctr_decrypt(ByteView key, ByteView iv, ByteView ciphertext) {
  return run_unauthenticated(AesMode::Ctr, false, key, iv, ciphertext);
}

Bytes aes_cbc_encrypt(ByteView key, ByteView iv, ByteView plaintext) {
  return run_unauthenticated(AesMode::Cbc, true, key, iv, plaintext);
}

Bytes aes_cbc_decrypt(ByteView key, ByteView iv, ByteView ciphertext) {
  return run_unauthenticated(AesMode::Cbc, false, key, iv, ciphertext);
}

}  // namespace fdo::crypto
