#include "libfdo/crypto/keys.h"

#include <openssl/param_build.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <climits>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/pem.h"
#include "libfdo/crypto/internal/key_impl.h"
#include "libfdo/crypto/internal/object_cache.h"
#include "libfdo/crypto/internal/ossl.h"
#include "libfdo/crypto/x509.h"

namespace fdo::crypto {
namespace {

using internal::BignumPtr;
using internal::BioPtr;
using internal::der_length;
using internal::EcdsaSigPtr;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::input_error;
using internal::OsslParamBldPtr;
using internal::OsslParamPtr;
using internal::Pkcs8PrivKeyInfoPtr;

// Field (and so coordinate, scalar and Shx) size of an FDO curve in bytes.
std::size_t ec_field_size(KeyType type) { return type == KeyType::P256 ? 32 : 48; }

// OpenSSL's name of an FDO curve.
const char* ec_group_name(KeyType type) { return type == KeyType::P256 ? "prime256v1" : "secp384r1"; }

// i2d output of an OpenSSL object as owned bytes.
template <typename T, typename F>
Bytes i2d_bytes(const T* obj, F i2d, std::string_view call) {
  unsigned char* buf = nullptr;
  const int len = i2d(obj, &buf);
  if (len <= 0 || buf == nullptr) {
    internal::fail(call);
  }
  Bytes out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}

// The bytes written to a memory BIO, as secret bytes.
SecretBytes secret_bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) {
    internal::fail("BIO_get_mem_data");
  }
  return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)));
}

// Sets PKCS#1 v1.5 or PSS padding on an RSA signing/verifying context (PSS uses
// MGF1 with the signature's hash and a salt as long as the hash output, RFC 8230 §2).
bool set_rsa_signature_padding(EVP_PKEY_CTX* pctx, SigAlg alg) {
  if (alg == SigAlg::RS256 || alg == SigAlg::RS384) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
  }
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, internal::evp_md(sig_alg_hash(alg))) > 0;
}

// Sets RSAES-OAEP with SHA-256 for the OAEP hash and MGF1 and an empty label (FDO 1.1 §3.6).
bool set_rsa_oaep_padding(EVP_PKEY_CTX* pctx) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
}

// DER ECDSA-Sig-Value from OpenSSL to COSE r‖s, each left-padded to the field size.
Bytes ecdsa_der_to_raw(ByteView der, std::size_t field_size) {
  const unsigned char* p = der.data();
  const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    internal::fail("d2i_ECDSA_SIG");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bytes out(2 * field_size);
  const int fs = static_cast<int>(field_size);
  if (BN_bn2binpad(r, out.data(), fs) != fs || BN_bn2binpad(s, out.data() + field_size, fs) != fs) {
    internal::fail("BN_bn2binpad");
  }
  return out;
}

// A BIGNUM parameter of a key.
BignumPtr bn_param(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
    internal::fail(std::string("EVP_PKEY_get_bn_param ") + name);
  }
  return BignumPtr(bn);
}

// A public key from OSSL_PARAMs (EC point or RSA n/e).
EvpPkeyPtr pkey_from_params(const char* key_type, OSSL_PARAM* params, std::string_view what) {
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    input_error(std::string(what));
  }
  return EvpPkeyPtr(pkey);
}

// The fixed DER prefix of a named-curve EC SubjectPublicKeyInfo up to the uncompressed point's 04 byte
// (RFC 5480): SEQUENCE { SEQUENCE { id-ecPublicKey, curve OID }, BIT STRING 00 04 ‖ X ‖ Y }.
ByteView ec_spki_prefix(KeyType curve) {
  static const Bytes p256 = from_hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
  static const Bytes p384 = from_hex("3076301006072a8648ce3d020106052b81040022036200");
  return curve == KeyType::P256 ? p256 : p384;
}

// The domain parameters of `curve` as a key without a point, made once per process. OpenSSL 3 builds a new
// EC_GROUP (Montgomery set-up, generator) for every key made from a group name, about 30 µs at P-256; a copy of
// this template reuses it (docs/performance.md, "Crypto plumbing").
const EVP_PKEY* ec_template(KeyType curve) {
  static const auto make = [](KeyType c) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(ec_group_name(c)), 0),
        OSSL_PARAM_construct_end(),
    };
    const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEY_PARAMETERS, params) != 1) {
      internal::fail(std::string("EC domain parameters of ") + ec_group_name(c));
    }
    return EvpPkeyPtr(pkey);
  };
  static const EvpPkeyPtr p256 = make(KeyType::P256);
  static const EvpPkeyPtr p384 = make(KeyType::P384);
  return curve == KeyType::P256 ? p256.get() : p384.get();
}

}  // namespace

namespace internal {

std::optional<KeyType> canonical_ec_spki(ByteView spki) {
  for (const KeyType curve : {KeyType::P256, KeyType::P384}) {
    const ByteView prefix = ec_spki_prefix(curve);
    if (spki.size() == prefix.size() + 1 + 2 * ec_field_size(curve) && equal(spki.first(prefix.size()), prefix)) {
      return curve;
    }
  }
  return std::nullopt;
}

// A public key for the uncompressed SEC 1 point `point` (04 ‖ X ‖ Y) on `curve`, built straight from the
// point with its canonical SPKI: this skips OpenSSL's encoder/decoder framework, which dominated voucher
// verification time (docs/performance.md). The point must be on the curve and not the identity; both curves
// have cofactor 1, so that is the full public-key validation of NIST SP 800-56A r3 §5.6.2.3.3.
PublicKey ec_public_key_from_point(KeyType curve, ByteView point, std::string_view what) {
  const auto invalid = [&] {
    internal::input_error(std::string(what) + ": not a point on " + std::string(key_type_name(curve)));
  };
  if (point.size() != 1 + 2 * ec_field_size(curve) || point[0] != 0x04) {
    invalid();
  }
  EvpPkeyPtr pkey(check_ptr(EVP_PKEY_dup(const_cast<EVP_PKEY*>(ec_template(curve))), "EVP_PKEY_dup"));
  // EC_POINT_oct2point underneath rejects a point that is not on the curve.
  if (EVP_PKEY_set1_encoded_public_key(pkey.get(), point.data(), point.size()) != 1) {
    invalid();
  }
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    internal::input_error(std::string(what) + ": EC public point is not valid");
  }
  auto impl = std::make_shared<PublicKey::Impl>();
  impl->spki_der = concat(ec_spki_prefix(curve), point);
  impl->pkey = std::move(pkey);
  impl->type = curve;
  return PublicKey(std::move(impl));
}

}  // namespace internal

namespace {

// Wraps a parsed private key, checking it is one of the four FDO types.
PrivateKey make_private_key(EvpPkeyPtr pkey, std::string_view what) {
  const std::optional<KeyType> type = internal::key_type_of(pkey.get());
  if (!type) {
    input_error(std::string(what) + ": unsupported key (expected EC P-256/P-384 or RSA 2048/3072)");
  }
  if (is_ec(*type)) {
    // Catches an EC PRIVATE KEY whose stored public point does not belong to the scalar.
    const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
      input_error(std::string(what) + ": EC key pair is inconsistent");
    }
  }
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->pkey = std::move(pkey);
  impl->type = *type;
  return PrivateKey(std::move(impl));
}

// Parses a traditional (non-PKCS#8) EC or RSA private key.
PrivateKey private_key_from_traditional(int evp_type, ByteView der, std::string_view what) {
  const unsigned char* p = der.data();
  EvpPkeyPtr pkey(d2i_PrivateKey(evp_type, nullptr, &p, der_length(der, what)));
  if (!pkey) {
    input_error(std::string(what) + ": does not parse");
  }
  if (p != der.data() + der.size()) {
    throw_body_error(std::string(what) + ": trailing bytes after the key");
  }
  return make_private_key(std::move(pkey), what);
}

}  // namespace

// COSE ECDSA signature r‖s (RFC 9053 §2.1) to the DER ECDSA-Sig-Value OpenSSL verifies;
// nullopt if OpenSSL cannot represent it.
std::optional<Bytes> internal::ecdsa_raw_to_der(ByteView raw) {
  const std::size_t half = raw.size() / 2;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(raw.data(), static_cast<int>(half), nullptr));
  BignumPtr s(BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return std::nullopt;
  }
  // ECDSA_SIG_set0 took ownership of r and s.
  static_cast<void>(r.release());
  static_cast<void>(s.release());
  unsigned char* buf = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &buf);
  if (len <= 0 || buf == nullptr) {
    return std::nullopt;
  }
  Bytes out(buf, buf + len);
  OPENSSL_free(buf);
  return out;
}


// ---- Key and algorithm tables (FDO 1.1 §3.3) ----

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::P256:
      return "p256";
    case KeyType::P384:
      return "p384";
    case KeyType::Rsa2048:
      return "rsa2048";
    case KeyType::Rsa3072:
      return "rsa3072";
  }
  return "unknown";
}

std::optional<KeyType> parse_key_type(std::string_view name) {
  for (const KeyType type : {KeyType::P256, KeyType::P384, KeyType::Rsa2048, KeyType::Rsa3072}) {
    if (key_type_name(type) == name) {
      return type;
    }
  }
  return std::nullopt;
}

bool is_ec(KeyType type) { return type == KeyType::P256 || type == KeyType::P384; }

HashAlg hash_family(KeyType type) {
  return type == KeyType::P384 || type == KeyType::Rsa3072 ? HashAlg::Sha384 : HashAlg::Sha256;
}

std::optional<SigAlg> sig_alg_from_id(std::int64_t id) {
  for (const SigAlg alg : {SigAlg::ES256, SigAlg::ES384, SigAlg::PS256, SigAlg::PS384, SigAlg::RS256, SigAlg::RS384}) {
    if (static_cast<std::int64_t>(alg) == id) {
      return alg;
    }
  }
  return std::nullopt;
}

std::string_view sig_alg_name(SigAlg alg) {
  switch (alg) {
    case SigAlg::ES256:
      return "ES256";
    case SigAlg::ES384:
      return "ES384";
    case SigAlg::PS256:
      return "PS256";
    case SigAlg::PS384:
      return "PS384";
    case SigAlg::RS256:
      return "RS256";
    case SigAlg::RS384:
      return "RS384";
  }
  return "unknown";
}

HashAlg sig_alg_hash(SigAlg alg) {
  return alg == SigAlg::ES384 || alg == SigAlg::PS384 || alg == SigAlg::RS384 ? HashAlg::Sha384 : HashAlg::Sha256;
}

SigAlg default_sig_alg(KeyType type) {
  switch (type) {
    case KeyType::P256:
      return SigAlg::ES256;
    case KeyType::P384:
      return SigAlg::ES384;
    case KeyType::Rsa2048:
      return SigAlg::RS256;
    case KeyType::Rsa3072:
      return SigAlg::RS384;
  }
  return SigAlg::ES256;
}

bool sig_alg_suits(SigAlg alg, KeyType type) {
  switch (alg) {
    case SigAlg::ES256:
      return type == KeyType::P256;
    case SigAlg::ES384:
      return type == KeyType::P384;
    case SigAlg::RS256:
    case SigAlg::PS256:
      return type == KeyType::Rsa2048;
    case SigAlg::RS384:
    case SigAlg::PS384:
      return type == KeyType::Rsa3072;
  }
  return false;
}

// ---- Internal helpers shared with x509.cpp ----

namespace internal {

// Throws Error(MessageBodyError) for bad input, appending (and so clearing) OpenSSL's error queue.
[[noreturn]] void input_error(const std::string& what) {
  const std::string queue = drain_errors();
  throw_body_error(what + (queue.empty() ? "" : " (" + queue + ")"));
}

// A DER length that OpenSSL's d2i functions take.
long der_length(ByteView der, std::string_view what) {
  if (der.size() > static_cast<std::size_t>(LONG_MAX)) {
    throw_body_error(std::string(what) + ": input too large");
  }
  return static_cast<long>(der.size());
}

std::optional<KeyType> key_type_of(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "EC") == 1) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    const std::string_view name(group, len);
    if (name == "prime256v1" || name == "P-256") {
      return KeyType::P256;
    }
    if (name == "secp384r1" || name == "P-384") {
      return KeyType::P384;
    }
    return std::nullopt;
  }
  // "RSA" excludes RSA-PSS-restricted keys (id-RSASSA-PSS SPKI); FDO uses rsaEncryption (FDO 1.1 §3.3).
  if (EVP_PKEY_is_a(pkey, "RSA") == 1) {
    switch (EVP_PKEY_get_bits(pkey)) {
      case 2048:
        return KeyType::Rsa2048;
      case 3072:
        return KeyType::Rsa3072;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

PublicKey make_public_key(const EVP_PKEY* pkey, std::string_view what) {
  const std::optional<KeyType> type = key_type_of(pkey);
  if (!type) {
    input_error(std::string(what) + ": unsupported key (expected EC P-256/P-384 or RSA 2048/3072)");
  }
  if (is_ec(*type)) {
    std::size_t len = 0;
    std::uint8_t point[1 + 2 * 48];
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point, &len) == 1 &&
        len == 1 + 2 * ec_field_size(*type) && point[0] == 0x04) {
      return ec_public_key_from_point(*type, ByteView(point, len), what);
    }
  }
  // A fresh public-only copy: drops any private part and lets us fix the encoding form.
  const Bytes original = i2d_bytes(pkey, i2d_PUBKEY, "i2d_PUBKEY");
  const unsigned char* p = original.data();
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(original.size())));
  if (!pub) {
    fail("d2i_PUBKEY");
  }
  if (is_ec(*type)) {
    // X509 pkBody: named curve, uncompressed point (FDO 1.1 §3.3).
    check(EVP_PKEY_set_utf8_string_param(pub.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed"),
          "EVP_PKEY_set_utf8_string_param point-format");
    check(EVP_PKEY_set_utf8_string_param(pub.get(), OSSL_PKEY_PARAM_EC_ENCODING, "named_curve"),
          "EVP_PKEY_set_utf8_string_param encoding");
    // On the curve, not the identity, in the prime-order group.
    const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub.get(), nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
      input_error(std::string(what) + ": EC public point is not valid");
    }
  } else {
    const BignumPtr e = bn_param(pub.get(), OSSL_PKEY_PARAM_RSA_E);
    if (!BN_is_odd(e.get()) || BN_is_one(e.get())) {
      throw_body_error(std::string(what) + ": RSA public exponent must be odd and greater than 1");
    }
  }
  auto impl = std::make_shared<PublicKey::Impl>();
  impl->spki_der = i2d_bytes(pub.get(), i2d_PUBKEY, "i2d_PUBKEY");
  impl->pkey = std::move(pub);
  impl->type = *type;
  return PublicKey(std::move(impl));
}

void digest_sign_init(EVP_MD_CTX* ctx, const PrivateKey& key, SigAlg alg) {
  if (!sig_alg_suits(alg, key.type())) {
    throw_internal("signature algorithm " + std::string(sig_alg_name(alg)) + " does not suit a " +
                   std::string(key_type_name(key.type())) + " key");
  }
  EVP_PKEY_CTX* pctx = nullptr;
  check(EVP_DigestSignInit(ctx, &pctx, evp_md(sig_alg_hash(alg)), nullptr, key.impl().pkey.get()),
        "EVP_DigestSignInit");
  if (!is_ec(key.type()) && !set_rsa_signature_padding(pctx, alg)) {
    fail("EVP_PKEY_CTX_set_rsa_padding");
  }
}

std::string name_to_string(const X509_NAME* name) {
  const BioPtr bio(check_ptr(BIO_new(BIO_s_mem()), "BIO_new"));
  // RFC 2253 order and escaping, but UTF-8 kept as is rather than \XX-escaped.
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    fail("X509_NAME_print_ex");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

}  // namespace internal

// ---- PublicKey ----

PublicKey::PublicKey(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

namespace {

// Recently parsed keys (internal/object_cache.h).
internal::ObjectCache<PublicKey>& key_cache() {
  static internal::ObjectCache<PublicKey> cache;
  return cache;
}

PublicKey parse_spki(ByteView der);

}  // namespace

PublicKey PublicKey::from_spki_der(ByteView der) {
  if (auto cached = key_cache().find(der)) {
    return *cached;
  }
  PublicKey key = parse_spki(der);
  key_cache().add(der, key);
  return key;
}

namespace {

PublicKey parse_spki(ByteView der) {
  if (const std::optional<KeyType> curve = internal::canonical_ec_spki(der)) {
    return internal::ec_public_key_from_point(*curve, der.subspan(ec_spki_prefix(*curve).size()),
                                              "SubjectPublicKeyInfo");
  }
  const unsigned char* p = der.data();
  const EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, der_length(der, "SubjectPublicKeyInfo")));
  if (!pkey) {
    input_error("SubjectPublicKeyInfo: does not parse");
  }
  if (p != der.data() + der.size()) {
    throw_body_error("SubjectPublicKeyInfo: trailing bytes after the key");
  }
  PublicKey key = internal::make_public_key(pkey.get(), "SubjectPublicKeyInfo");
  // X509 pkBody is DER with a named curve and an uncompressed point (FDO 1.1 §3.3); accepting
  // other forms would let one key have several encodings, which breaks key comparison.
  if (!equal(key.spki_der(), der)) {
    throw_body_error("SubjectPublicKeyInfo: not in canonical form (DER, named curve, uncompressed point)");
  }
  return key;
}

}  // namespace

PublicKey PublicKey::from_pem(std::string_view text) {
  for (const pem::Block& block : pem::read_blocks(text)) {
    if (block.label == "PUBLIC KEY") {
      return from_spki_der(block.decode());
    }
    if (block.label == "CERTIFICATE") {
      return Certificate::from_der(block.decode()).public_key();
    }
  }
  throw_body_error("PEM: no PUBLIC KEY or CERTIFICATE block");
}

PublicKey PublicKey::from_ec_point(KeyType curve, ByteView x, ByteView y) {
  if (!is_ec(curve)) {
    throw_internal("PublicKey::from_ec_point: " + std::string(key_type_name(curve)) + " is not a curve");
  }
  const std::size_t fs = ec_field_size(curve);
  if (x.size() > fs || y.size() > fs) {
    throw_body_error("EC point: coordinate longer than " + std::to_string(fs) + " bytes (x " +
                     std::to_string(x.size()) + ", y " + std::to_string(y.size()) + ")");
  }
  // SEC 1 uncompressed point 04 ‖ X ‖ Y with each coordinate left-padded to the field size.
  Bytes point(1 + 2 * fs, 0);
  point[0] = 0x04;
  std::copy(x.begin(), x.end(), point.begin() + static_cast<std::ptrdiff_t>(1 + fs - x.size()));
  std::copy(y.begin(), y.end(), point.begin() + static_cast<std::ptrdiff_t>(1 + 2 * fs - y.size()));
  return internal::ec_public_key_from_point(curve, point, "EC point");
}

PublicKey PublicKey::from_rsa(ByteView modulus, ByteView exponent) {
  // Generous bounds (a 3072-bit modulus is 384 bytes); the exact size is checked below.
  if (modulus.size() > 1024 || exponent.size() > 1024) {
    throw_body_error("RSA key: modulus or exponent too long");
  }
  const BignumPtr n(
      internal::check_ptr(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr), "BN_bin2bn"));
  const BignumPtr e(
      internal::check_ptr(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr), "BN_bin2bn"));
  const OsslParamBldPtr bld(internal::check_ptr(OSSL_PARAM_BLD_new(), "OSSL_PARAM_BLD_new"));
  internal::check(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()), "OSSL_PARAM_BLD_push_BN");
  internal::check(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()), "OSSL_PARAM_BLD_push_BN");
  const OsslParamPtr params(internal::check_ptr(OSSL_PARAM_BLD_to_param(bld.get()), "OSSL_PARAM_BLD_to_param"));
  const EvpPkeyPtr pkey = pkey_from_params("RSA", params.get(), "RSA key: modulus and exponent rejected");
  return internal::make_public_key(pkey.get(), "RSA key");
}

KeyType PublicKey::type() const { return m_impl->type; }

Bytes PublicKey::spki_der() const { return m_impl->spki_der; }

std::string PublicKey::to_pem() const { return pem::write("PUBLIC KEY", m_impl->spki_der); }

Bytes PublicKey::ec_x() const {
  if (!is_ec(type())) {
    throw_internal("PublicKey::ec_x on an RSA key");
  }
  const BignumPtr x = bn_param(m_impl->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  Bytes out(ec_field_size(type()));
  internal::check(BN_bn2binpad(x.get(), out.data(), static_cast<int>(out.size())) == static_cast<int>(out.size()),
                  "BN_bn2binpad");
  return out;
}

Bytes PublicKey::ec_y() const {
  if (!is_ec(type())) {
    throw_internal("PublicKey::ec_y on an RSA key");
  }
  const BignumPtr y = bn_param(m_impl->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  Bytes out(ec_field_size(type()));
  internal::check(BN_bn2binpad(y.get(), out.data(), static_cast<int>(out.size())) == static_cast<int>(out.size()),
                  "BN_bn2binpad");
  return out;
}

Bytes PublicKey::rsa_modulus() const {
  if (is_ec(type())) {
    throw_internal("PublicKey::rsa_modulus on an EC key");
  }
  const BignumPtr n = bn_param(m_impl->pkey.get(), OSSL_PKEY_PARAM_RSA_N);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(n.get())));
  BN_bn2bin(n.get(), out.data());
  return out;
}

Bytes PublicKey::rsa_exponent() const {
  if (is_ec(type())) {
    throw_internal("PublicKey::rsa_exponent on an EC key");
  }
  const BignumPtr e = bn_param(m_impl->pkey.get(), OSSL_PKEY_PARAM_RSA_E);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(e.get())));
  BN_bn2bin(e.get(), out.data());
  return out;
}

bool PublicKey::verify(SigAlg alg, ByteView message, ByteView signature) const {
  if (!sig_alg_suits(alg, type())) {
    return false;
  }
  EVP_PKEY* pkey = m_impl->pkey.get();
  Bytes der_signature;
  if (is_ec(type())) {
    // RFC 9053 §2.1: exactly r ‖ s at the field size; DER or any other length is refused.
    if (signature.size() != 2 * ec_field_size(type())) {
      return false;
    }
    std::optional<Bytes> der = internal::ecdsa_raw_to_der(signature);
    if (!der) {
      ERR_clear_error();
      return false;
    }
    der_signature = std::move(*der);
    signature = der_signature;
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey))) {
    // RSA signatures are exactly as long as the modulus (RFC 8017 §8.1.2, §8.2.2 step 1).
    return false;
  }
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, internal::evp_md(sig_alg_hash(alg)), nullptr, pkey) == 1;
  if (ok && !is_ec(type())) {
    ok = set_rsa_signature_padding(pctx, alg);
  }
  ok = ok && EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool PublicKey::same_key(const PublicKey& other) const { return equal(m_impl->spki_der, other.m_impl->spki_der); }

Bytes rsa_oaep_encrypt(const PublicKey& key, ByteView plaintext) {
  if (is_ec(key.type())) {
    throw_invalid("RSA-OAEP: the key is " + std::string(key_type_name(key.type())) + ", not RSA");
  }
  const EvpPkeyCtxPtr ctx(
      internal::check_ptr(EVP_PKEY_CTX_new_from_pkey(nullptr, key.impl().pkey.get(), nullptr), "EVP_PKEY_CTX_new"));
  internal::check(EVP_PKEY_encrypt_init(ctx.get()), "EVP_PKEY_encrypt_init");
  if (!set_rsa_oaep_padding(ctx.get())) {
    internal::fail("EVP_PKEY_CTX_set_rsa_padding OAEP");
  }
  std::size_t len = 0;
  internal::check(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()), "EVP_PKEY_encrypt");
  Bytes out(len);
  internal::check(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()),
                  "EVP_PKEY_encrypt");
  out.resize(len);
  return out;
}

// ---- PrivateKey ----

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;
PrivateKey::~PrivateKey() = default;

PrivateKey PrivateKey::generate(KeyType type) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::P256:
    case KeyType::P384: {
      // From the curve's template: no new EC_GROUP per key (ephemeral ECDH keys are made on every TO2 run).
      const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(ec_template(type)), nullptr));
      if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 && EVP_PKEY_keygen(ctx.get(), &pkey) != 1) {
        pkey = nullptr;
      }
      break;
    }
    case KeyType::Rsa2048:
      // OpenSSL's default public exponent is 65537 (RSA2048RESTR, docs/interop.md "public-key-forms").
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
      break;
    case KeyType::Rsa3072:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(3072));
      break;
  }
  EvpPkeyPtr owned(internal::check_ptr(pkey, "key generation (EVP_PKEY_keygen)"));
  auto impl = std::make_unique<Impl>();
  impl->pkey = std::move(owned);
  impl->type = type;
  return PrivateKey(std::move(impl));
}

PrivateKey PrivateKey::from_pem(std::string_view text) {
  for (const pem::Block& block : pem::read_blocks(text)) {
    const std::string& label = block.label;
    if (label == "ENCRYPTED PRIVATE KEY") {
      throw_body_error("PEM: encrypted private keys are not supported");
    }
    if (label != "PRIVATE KEY" && label != "EC PRIVATE KEY" && label != "RSA PRIVATE KEY") {
      continue;
    }
    // Key material: held in SecretBytes, wiped when done.
    const SecretBytes contents(block.decode());
    if (label == "PRIVATE KEY") {
      return from_pkcs8_der(contents.view());
    }
    return private_key_from_traditional(label == "EC PRIVATE KEY" ? EVP_PKEY_EC : EVP_PKEY_RSA, contents.view(),
                                        label);
  }
  throw_body_error("PEM: no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block");
}

PrivateKey PrivateKey::from_pkcs8_der(ByteView der) {
  const unsigned char* p = der.data();
  const Pkcs8PrivKeyInfoPtr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, der_length(der, "PKCS#8")));
  if (!info) {
    input_error("PKCS#8 private key: does not parse");
  }
  if (p != der.data() + der.size()) {
    throw_body_error("PKCS#8 private key: trailing bytes after the key");
  }
  EvpPkeyPtr pkey(EVP_PKCS82PKEY(info.get()));
  if (!pkey) {
    input_error("PKCS#8 private key: unsupported or malformed key");
  }
  return make_private_key(std::move(pkey), "PKCS#8 private key");
}

KeyType PrivateKey::type() const { return m_impl->type; }

PublicKey PrivateKey::public_key() const {
  std::call_once(m_impl->public_once,
                 [this] { m_impl->public_key = internal::make_public_key(m_impl->pkey.get(), "private key"); });
  return *m_impl->public_key;
}

SecretBytes PrivateKey::to_pem() const {
  // A secure-memory BIO is wiped when freed.
  const BioPtr bio(internal::check_ptr(BIO_new(BIO_s_secmem()), "BIO_new"));
  internal::check(PEM_write_bio_PKCS8PrivateKey(bio.get(), m_impl->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr),
                  "PEM_write_bio_PKCS8PrivateKey");
  return secret_bio_contents(bio.get());
}

SecretBytes PrivateKey::ec_key_pair_bytes() const {
  if (!is_ec(type())) {
    throw_internal("PrivateKey::ec_key_pair_bytes on an RSA key");
  }
  const std::size_t n = ec_field_size(type());
  Bytes out(3 * n);
  BIGNUM* raw = nullptr;
  internal::check(EVP_PKEY_get_bn_param(m_impl->pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw), "get priv");
  const BignumPtr priv(raw);
  const int width = static_cast<int>(n);
  internal::check(BN_bn2binpad(priv.get(), out.data(), width) == width, "BN_bn2binpad");
  BN_clear(priv.get());
  // X ‖ Y from the uncompressed point 04 ‖ X ‖ Y.
  std::uint8_t point[1 + 2 * 48];
  std::size_t len = 0;
  internal::check(EVP_PKEY_get_octet_string_param(m_impl->pkey.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                  sizeof point, &len) == 1 &&
                      len == 1 + 2 * n && point[0] == 0x04,
                  "EVP_PKEY_get_octet_string_param encoded-pub-key");
  std::copy(point + 1, point + len, out.begin() + static_cast<std::ptrdiff_t>(n));
  return SecretBytes(std::move(out));
}

PrivateKey PrivateKey::from_ec_key_pair_bytes(KeyType curve, ByteView bytes) {
  const std::size_t n = ec_field_size(curve);
  if (!is_ec(curve) || bytes.size() != 3 * n) {
    throw_internal("EC key pair bytes of the wrong size");
  }
  // BN_secure_new: the builder keeps the scalar in memory that is cleared when freed.
  const BignumPtr priv(internal::check_ptr(BN_secure_new(), "BN_secure_new"));
  internal::check_ptr(BN_bin2bn(bytes.data(), static_cast<int>(n), priv.get()), "BN_bin2bn");
  Bytes point{0x04};
  point.insert(point.end(), bytes.begin() + static_cast<std::ptrdiff_t>(n), bytes.end());
  const OsslParamBldPtr bld(internal::check_ptr(OSSL_PARAM_BLD_new(), "OSSL_PARAM_BLD_new"));
  internal::check(OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ec_group_name(curve), 0),
                  "OSSL_PARAM_BLD_push_utf8_string");
  internal::check(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()), "OSSL_PARAM_BLD_push_BN");
  internal::check(OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
                  "OSSL_PARAM_BLD_push_octet_string");
  const OsslParamPtr params(internal::check_ptr(OSSL_PARAM_BLD_to_param(bld.get()), "OSSL_PARAM_BLD_to_param"));
  const EvpPkeyCtxPtr ctx(internal::check_ptr(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), "EC context"));
  internal::check(EVP_PKEY_fromdata_init(ctx.get()), "EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  internal::check(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()), "EVP_PKEY_fromdata(EC)");
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->pkey = EvpPkeyPtr(raw);
  impl->type = curve;
  return PrivateKey(std::move(impl));
}

SecretBytes PrivateKey::to_pkcs8_der() const {
  const BioPtr bio(internal::check_ptr(BIO_new(BIO_s_secmem()), "BIO_new"));
  internal::check(i2d_PKCS8PrivateKey_bio(bio.get(), m_impl->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr),
                  "i2d_PKCS8PrivateKey_bio");
  return secret_bio_contents(bio.get());
}

Bytes PrivateKey::sign(SigAlg alg, ByteView message) const {
  const EvpMdCtxPtr ctx(internal::check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  internal::digest_sign_init(ctx.get(), *this, alg);
  std::size_t len = 0;
  internal::check(EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()), "EVP_DigestSign");
  Bytes out(len);
  internal::check(EVP_DigestSign(ctx.get(), out.data(), &len, message.data(), message.size()), "EVP_DigestSign");
  out.resize(len);
  if (is_ec(type())) {
    // OpenSSL gives DER; COSE wants fixed-width r ‖ s (RFC 9053 §2.1).
    return ecdsa_der_to_raw(out, ec_field_size(type()));
  }
  return out;
}

SecretBytes PrivateKey::ecdh(const PublicKey& peer) const {
  if (!is_ec(type())) {
    throw_internal("PrivateKey::ecdh on an RSA key");
  }
  if (peer.type() != type()) {
    throw_invalid("ECDH: peer key is " + std::string(key_type_name(peer.type())) + ", expected " +
                  std::string(key_type_name(type())));
  }
  const EvpPkeyCtxPtr ctx(
      internal::check_ptr(EVP_PKEY_CTX_new_from_pkey(nullptr, m_impl->pkey.get(), nullptr), "EVP_PKEY_CTX_new"));
  internal::check(EVP_PKEY_derive_init(ctx.get()), "EVP_PKEY_derive_init");
  // No second validation of the peer: every EC PublicKey was checked when it was built
  // (ec_public_key_from_point), and OpenSSL's check here multiplies the point by the group order, as long as the
  // derive itself.
  internal::check(EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.impl().pkey.get(), 0), "EVP_PKEY_derive_set_peer_ex",
                  ErrorCode::InvalidMessageError);
  std::size_t len = 0;
  internal::check(EVP_PKEY_derive(ctx.get(), nullptr, &len), "EVP_PKEY_derive");
  Bytes shx(len);
  if (EVP_PKEY_derive(ctx.get(), shx.data(), &len) != 1) {
    OPENSSL_cleanse(shx.data(), shx.size());
    internal::fail("EVP_PKEY_derive");
  }
  // Shx at the fixed field width (docs/interop.md "shared-secret-leading-zeros"); OpenSSL already pads it.
  if (len != ec_field_size(type()) || shx.size() != len) {
    OPENSSL_cleanse(shx.data(), shx.size());
    throw_internal("ECDH: shared secret has unexpected length " + std::to_string(len));
  }
  return SecretBytes(std::move(shx));
}

SecretBytes PrivateKey::rsa_oaep_decrypt(ByteView ciphertext) const {
  // One message for every failure: the caller must not learn which step failed (FDO 1.1 §3.6).
  static constexpr std::string_view kFailure = "RSA-OAEP decryption failed";
  if (is_ec(type()) || ciphertext.size() != static_cast<std::size_t>(EVP_PKEY_get_size(m_impl->pkey.get()))) {
    throw_invalid(std::string(kFailure));
  }
  const EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, m_impl->pkey.get(), nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !set_rsa_oaep_padding(ctx.get()) ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(), ciphertext.size()) != 1) {
    ERR_clear_error();
    throw_invalid(std::string(kFailure));
  }
  Bytes plain(len);
  if (EVP_PKEY_decrypt(ctx.get(), plain.data(), &len, ciphertext.data(), ciphertext.size()) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    ERR_clear_error();
    throw_invalid(std::string(kFailure));
  }
  // Wipe the unused tail before shrinking so no plaintext byte outlives the SecretBytes.
  OPENSSL_cleanse(plain.data() + len, plain.size() - len);
  plain.resize(len);
  return SecretBytes(std::move(plain));
}

}  // namespace fdo::crypto
