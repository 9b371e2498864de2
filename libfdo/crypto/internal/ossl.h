#pragma once
// RAII owners for OpenSSL objects and the one error helper (docs/style.md §6). Internal to crypto/.

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "libfdo/core/error.h"

namespace fdo::crypto::internal {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, Deleter<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Deleter<EVP_MAC_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, Deleter<BN_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;

/// Drains OpenSSL's error queue into one string.
inline std::string drain_errors() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out;
}

/// Throws Error(code) naming the failing OpenSSL call and the drained error queue.
[[noreturn]] inline void fail(std::string_view call, ErrorCode code = ErrorCode::InternalServerError) {
  const std::string queue = drain_errors();
  throw Error(code, std::string(call) + " failed" + (queue.empty() ? "" : ": " + queue));
}

/// Checks an OpenSSL return value (1 = success).
inline void check(int rc, std::string_view call, ErrorCode code = ErrorCode::InternalServerError) {
  if (rc != 1) {
    fail(call, code);
  }
}

/// Checks a returned pointer.
template <typename T>
T* check_ptr(T* p, std::string_view call, ErrorCode code = ErrorCode::InternalServerError) {
  if (p == nullptr) {
    fail(call, code);
  }
  return p;
}

}  // namespace fdo::crypto::internal

// Symmetric ciphers (aes.cpp).
namespace fdo::crypto::internal {

using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, Deleter<EVP_CIPHER_free>>;

}  // namespace fdo::crypto::internal

// Signing, keys and X.509 (keys.cpp, x509.cpp).
#include <openssl/ec.h>
#include <openssl/param_build.h>

namespace fdo::crypto::internal {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using Pkcs8PrivKeyInfoPtr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Deleter<PKCS8_PRIV_KEY_INFO_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

}  // namespace fdo::crypto::internal

// Key exchange (dh.cpp).
namespace fdo::crypto::internal {

/// A BIGNUM holding a secret (private exponent): cleared before it is freed.
using SecretBignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;

}  // namespace fdo::crypto::internal
