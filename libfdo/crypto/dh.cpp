#include "libfdo/crypto/dh.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <string>
#include <string_view>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/internal/ossl.h"

namespace fdo::crypto {
namespace {

using internal::BignumPtr;
using internal::BnCtxPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::OsslParamBldPtr;
using internal::OsslParamPtr;
using internal::SecretBignumPtr;

// RFC 3526 §3: the 2048-bit MODP group (id 14), p = 2^2048 - 2^1984 - 1 + 2^64 * { [2^1918 pi] + 124476 }.
constexpr std::string_view kModp2048Hex =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF";

// RFC 3526 §4: the 3072-bit MODP group (id 15), p = 2^3072 - 2^3008 - 1 + 2^64 * { [2^2942 pi] + 1690314 }.
constexpr std::string_view kModp3072Hex =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B"
    "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
    "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";

/// OpenSSL's names for the same groups; its built-in primes are checked against ours on use.
const char* group_name(DhGroup group) { return group == DhGroup::Modp2048 ? "modp_2048" : "modp_3072"; }

BignumPtr to_bignum(ByteView be) {
  return BignumPtr(internal::check_ptr(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr), "BN_bin2bn"));
}

BignumPtr prime_bignum(DhGroup group) { return to_bignum(dh_prime(group)); }

/// `value` as exactly `width` big-endian bytes.
Bytes to_padded(const BIGNUM* value, std::size_t width) {
  Bytes out(width);
  if (BN_bn2binpad(value, out.data(), static_cast<int>(width)) != static_cast<int>(width)) {
    internal::fail("BN_bn2binpad");
  }
  return out;
}

/// Whether 2 <= value <= p - 2 (NIST SP 800-56A §5.6.2.3.1 range check).
bool in_range(const BIGNUM* value, const BIGNUM* p) {
  const BignumPtr p_minus_2(internal::check_ptr(BN_dup(p), "BN_dup"));
  internal::check(BN_sub_word(p_minus_2.get(), 2), "BN_sub_word");
  return BN_cmp(value, BN_value_one()) > 0 && BN_cmp(value, p_minus_2.get()) <= 0;
}

/// The prime of the group OpenSSL attached to `key` must be the RFC 3526 prime we embed.
void check_openssl_prime(const EVP_PKEY* key, DhGroup group) {
  BIGNUM* raw = nullptr;
  internal::check(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_FFC_P, &raw), "EVP_PKEY_get_bn_param(p)");
  const BignumPtr p(raw);
  if (BN_cmp(p.get(), prime_bignum(group).get()) != 0) {
    throw_internal(std::string("OpenSSL group ") + group_name(group) + " is not the RFC 3526 prime");
  }
}

/// An EVP_PKEY in `group` from a public value and optionally a private exponent.
EvpPkeyPtr key_from_values(DhGroup group, const BIGNUM* pub, const BIGNUM* priv) {
  const OsslParamBldPtr bld(internal::check_ptr(OSSL_PARAM_BLD_new(), "OSSL_PARAM_BLD_new"));
  internal::check(OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name(group), 0),
                  "OSSL_PARAM_BLD_push_utf8_string");
  internal::check(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub), "OSSL_PARAM_BLD_push_BN(pub)");
  if (priv != nullptr) {
    internal::check(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv), "OSSL_PARAM_BLD_push_BN(priv)");
  }
  // A private BIGNUM from BN_secure_new makes the builder keep it in cleared-on-free memory.
  const OsslParamPtr params(internal::check_ptr(OSSL_PARAM_BLD_to_param(bld.get()), "OSSL_PARAM_BLD_to_param"));
  const EvpPkeyCtxPtr ctx(
      internal::check_ptr(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr), "EVP_PKEY_CTX_new_from_name(DH)"));
  internal::check(EVP_PKEY_fromdata_init(ctx.get()), "EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  internal::check(
      EVP_PKEY_fromdata(ctx.get(), &raw, priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()),
      "EVP_PKEY_fromdata(DH)");
  return EvpPkeyPtr(raw);
}

}  // namespace

struct DhKeyPair::Impl {
  DhGroup group;
  EvpPkeyPtr key;
};

std::size_t dh_prime_size(DhGroup group) { return group == DhGroup::Modp2048 ? 256 : 384; }

Bytes dh_prime(DhGroup group) { return from_hex(group == DhGroup::Modp2048 ? kModp2048Hex : kModp3072Hex); }

std::size_t dh_private_bits(DhGroup group) { return group == DhGroup::Modp2048 ? 256 : 768; }

DhKeyPair::DhKeyPair(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
DhKeyPair::DhKeyPair(DhKeyPair&&) noexcept = default;
DhKeyPair& DhKeyPair::operator=(DhKeyPair&&) noexcept = default;
DhKeyPair::~DhKeyPair() = default;

DhKeyPair DhKeyPair::generate(DhGroup group) {
  const EvpPkeyCtxPtr ctx(
      internal::check_ptr(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr), "EVP_PKEY_CTX_new_from_name(DH)"));
  internal::check(EVP_PKEY_keygen_init(ctx.get()), "EVP_PKEY_keygen_init");
  // OpenSSL's default exponent for these groups is shorter (2 x the group strength); FDO peers use
  // 256 / 768 bits (as go-fdo and Java PRI).
  int priv_bits = static_cast<int>(dh_private_bits(group));
  std::string name = group_name(group);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, name.data(), 0),
      OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &priv_bits),
      OSSL_PARAM_construct_end(),
  };
  internal::check(EVP_PKEY_CTX_set_params(ctx.get(), params), "EVP_PKEY_CTX_set_params(DH)");
  EVP_PKEY* raw = nullptr;
  internal::check(EVP_PKEY_generate(ctx.get(), &raw), "EVP_PKEY_generate(DH)");
  EvpPkeyPtr key(raw);
  check_openssl_prime(key.get(), group);

  // Without the length OpenSSL would silently pick a shorter exponent; make sure it took ours.
  int used_bits = 0;
  internal::check(EVP_PKEY_get_int_param(key.get(), OSSL_PKEY_PARAM_DH_PRIV_LEN, &used_bits),
                  "EVP_PKEY_get_int_param(priv_len)");
  BIGNUM* priv_raw = nullptr;
  internal::check(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv_raw), "EVP_PKEY_get_bn_param(priv)");
  const SecretBignumPtr priv(priv_raw);
  if (used_bits != priv_bits || BN_num_bits(priv.get()) > priv_bits) {
    throw_internal("DH private exponent does not have the requested length");
  }
  return DhKeyPair(std::make_unique<Impl>(Impl{group, std::move(key)}));
}

DhKeyPair DhKeyPair::from_private_exponent(DhGroup group, ByteView exponent) {
  if (exponent.size() > dh_prime_size(group) + 1) {
    throw_body_error("DH private exponent is longer than the prime");
  }
  const BignumPtr p = prime_bignum(group);
  const SecretBignumPtr priv(internal::check_ptr(BN_secure_new(), "BN_secure_new"));
  internal::check_ptr(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), priv.get()), "BN_bin2bn");
  if (!in_range(priv.get(), p.get())) {
    throw_body_error("DH private exponent is outside [2, p-2]");
  }
  BN_set_flags(priv.get(), BN_FLG_CONSTTIME);
  const BnCtxPtr bn_ctx(internal::check_ptr(BN_CTX_new(), "BN_CTX_new"));
  const BignumPtr g(internal::check_ptr(BN_new(), "BN_new"));
  internal::check(BN_set_word(g.get(), 2), "BN_set_word");
  const BignumPtr pub(internal::check_ptr(BN_new(), "BN_new"));
  // A = g^a mod p.
  internal::check(BN_mod_exp_mont_consttime(pub.get(), g.get(), priv.get(), p.get(), bn_ctx.get(), nullptr),
                  "BN_mod_exp_mont_consttime");
  EvpPkeyPtr key = key_from_values(group, pub.get(), priv.get());
  check_openssl_prime(key.get(), group);
  return DhKeyPair(std::make_unique<Impl>(Impl{group, std::move(key)}));
}

DhGroup DhKeyPair::group() const { return m_impl->group; }

Bytes DhKeyPair::public_value() const {
  BIGNUM* raw = nullptr;
  internal::check(EVP_PKEY_get_bn_param(m_impl->key.get(), OSSL_PKEY_PARAM_PUB_KEY, &raw),
                  "EVP_PKEY_get_bn_param(pub)");
  const BignumPtr pub(raw);
  return to_padded(pub.get(), dh_prime_size(m_impl->group));
}

SecretBytes DhKeyPair::compute(ByteView peer) const {
  const DhGroup group = m_impl->group;
  const std::size_t width = dh_prime_size(group);
  // Peers' values are read as unsigned integers of any length up to |p| + 1
  // (docs/interop.md "shared-secret-leading-zeros").
  if (peer.size() > width + 1) {
    throw_body_error("DH peer value of " + std::to_string(peer.size()) + " bytes is longer than " +
                     std::to_string(width + 1));
  }
  const BignumPtr p = prime_bignum(group);
  const BignumPtr peer_value = to_bignum(peer);
  // As go-fdo, after NIST SP 800-56A: reject a peer value outside [2, p-2].
  if (!in_range(peer_value.get(), p.get())) {
    throw_invalid("DH peer value is outside [2, p-2]");
  }
  const EvpPkeyPtr peer_key = key_from_values(group, peer_value.get(), nullptr);

  const EvpPkeyCtxPtr ctx(internal::check_ptr(EVP_PKEY_CTX_new_from_pkey(nullptr, m_impl->key.get(), nullptr),
                                              "EVP_PKEY_CTX_new_from_pkey"));
  internal::check(EVP_PKEY_derive_init(ctx.get()), "EVP_PKEY_derive_init");
  // Pad the shared value to |p| (docs/interop.md "shared-secret-leading-zeros").
  internal::check(EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1), "EVP_PKEY_CTX_set_dh_pad");
  // Validation here is OpenSSL's full public-key check: range and y^q = 1 mod p.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer_key.get(), 1) != 1) {
    internal::drain_errors();
    throw_invalid("DH peer value is not in the prime-order subgroup");
  }
  std::size_t len = width;
  Bytes buffer(width);
  if (EVP_PKEY_derive(ctx.get(), buffer.data(), &len) != 1 || len != width) {
    OPENSSL_cleanse(buffer.data(), buffer.size());
    internal::fail("EVP_PKEY_derive(DH)");
  }
  SecretBytes shared(std::move(buffer));

  // NIST SP 800-56A: reject a shared value of 1 or p-1.
  Bytes one(width, 0);
  one.back() = 1;
  Bytes p_minus_1 = dh_prime(group);
  p_minus_1.back() = static_cast<std::uint8_t>(p_minus_1.back() - 1);  // p is odd: no borrow
  if (shared.equals(one) || shared.equals(p_minus_1)) {
    throw_invalid("DH shared value is 1 or p-1");
  }
  return shared;
}

}  // namespace fdo::crypto
