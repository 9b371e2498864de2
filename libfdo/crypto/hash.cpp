#include "libfdo/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "libfdo/core/error.h"
#include "libfdo/crypto/internal/key_impl.h"
#include "libfdo/crypto/internal/ossl.h"

namespace fdo::crypto {
namespace {

// OpenSSL digest names for EVP_MAC's "digest" parameter.
const char* digest_name(HashAlg alg) { return alg == HashAlg::Sha256 ? "SHA256" : "SHA384"; }

}  // namespace

namespace internal {

const EVP_MD* evp_md(HashAlg alg) { return alg == HashAlg::Sha256 ? EVP_sha256() : EVP_sha384(); }

}  // namespace internal

std::size_t digest_size(HashAlg alg) { return alg == HashAlg::Sha256 ? 32 : 48; }

Bytes hash(HashAlg alg, ByteView data) {
  Bytes out(digest_size(alg));
  unsigned int len = 0;
  internal::check(EVP_Digest(data.data(), data.size(), out.data(), &len, internal::evp_md(alg), nullptr), "EVP_Digest");
  out.resize(len);
  return out;
}

Bytes hmac(HashAlg alg, ByteView key, ByteView data) {
  const internal::EvpMacPtr mac(internal::check_ptr(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "EVP_MAC_fetch"));
  const internal::EvpMacCtxPtr ctx(internal::check_ptr(EVP_MAC_CTX_new(mac.get()), "EVP_MAC_CTX_new"));
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(alg)), 0),
      OSSL_PARAM_construct_end(),
  };
  // A zero-length key is a valid HMAC key; OpenSSL wants a non-null pointer for it.
  static const std::uint8_t kEmpty = 0;
  const std::uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  internal::check(EVP_MAC_init(ctx.get(), key_ptr, key.size(), params), "EVP_MAC_init");
  internal::check(EVP_MAC_update(ctx.get(), data.data(), data.size()), "EVP_MAC_update");
  Bytes out(digest_size(alg));
  std::size_t len = 0;
  internal::check(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()), "EVP_MAC_final");
  out.resize(len);
  return out;
}

struct Hasher::Impl {
  HashAlg alg;
  internal::EvpMdCtxPtr ctx;
  bool finished = false;
};

Hasher::Hasher(HashAlg alg) : m_impl(std::make_unique<Impl>()) {
  m_impl->alg = alg;
  m_impl->ctx.reset(internal::check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  internal::check(EVP_DigestInit_ex(m_impl->ctx.get(), internal::evp_md(alg), nullptr), "EVP_DigestInit_ex");
}

Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

Hasher& Hasher::update(ByteView data) {
  if (!m_impl || m_impl->finished) {
    throw_internal("Hasher::update after finish() or move");
  }
  internal::check(EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size()), "EVP_DigestUpdate");
  return *this;
}

Bytes Hasher::finish() {
  if (!m_impl || m_impl->finished) {
    throw_internal("Hasher::finish called twice or after move");
  }
  m_impl->finished = true;
  Bytes out(digest_size(m_impl->alg));
  unsigned int len = 0;
  internal::check(EVP_DigestFinal_ex(m_impl->ctx.get(), out.data(), &len), "EVP_DigestFinal_ex");
  out.resize(len);
  return out;
}

}  // namespace fdo::crypto
