#include "libfdo/crypto/x509.h"

#include <openssl/x509v3.h>

#include <climits>
#include <optional>

#include "libfdo/core/error.h"
#include "libfdo/core/pem.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/internal/key_impl.h"
#include "libfdo/crypto/internal/object_cache.h"
#include "libfdo/crypto/internal/ossl.h"

namespace fdo::crypto {
namespace {

using internal::BignumPtr;
using internal::der_length;
using internal::EvpMdCtxPtr;
using internal::input_error;
using internal::X509ExtensionPtr;
using internal::X509NamePtr;
using internal::X509Ptr;
using internal::X509ReqPtr;

X509* raw(const Certificate& cert) { return cert.impl().cert.get(); }

// "chain[1] (CN=Example CA)": how a ChainResult names a certificate.
std::string describe(std::size_t index, const Certificate& cert) {
  return "chain[" + std::to_string(index) + "] (" + cert.subject() + ")";
}

// Whether a certificate may issue others: basicConstraints CA:TRUE, or a form OpenSSL treats
// as a CA (v1 self-signed root, keyCertSign without basicConstraints).
bool is_ca(const Certificate& cert) {
  const bool ca = X509_check_ca(raw(cert)) != 0;
  ERR_clear_error();
  return ca;
}

bool within_validity(const Certificate& cert) {
  // X509_cmp_current_time: -1 if the time is not after now, 1 if after, 0 on error.
  const bool ok = X509_cmp_current_time(X509_get0_notBefore(raw(cert))) == -1 &&
                  X509_cmp_current_time(X509_get0_notAfter(raw(cert))) == 1;
  ERR_clear_error();
  return ok;
}

// An X.509 name "O=<organization>, CN=<common name>" (organization omitted when empty).
X509NamePtr make_name(std::string_view common_name, std::string_view organization) {
  if (common_name.empty()) {
    throw_internal("certificate name: common name is empty");
  }
  if (common_name.size() > INT_MAX || organization.size() > INT_MAX) {
    throw_internal("certificate name: too long");
  }
  X509NamePtr name(internal::check_ptr(X509_NAME_new(), "X509_NAME_new"));
  if (!organization.empty()) {
    internal::check(X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8,
                                               reinterpret_cast<const unsigned char*>(organization.data()),
                                               static_cast<int>(organization.size()), -1, 0),
                    "X509_NAME_add_entry_by_txt O");
  }
  internal::check(X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                             reinterpret_cast<const unsigned char*>(common_name.data()),
                                             static_cast<int>(common_name.size()), -1, 0),
                  "X509_NAME_add_entry_by_txt CN");
  return name;
}

// Adds one v3 extension written in OpenSSL's config syntax ("critical,CA:TRUE").
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const X509ExtensionPtr ext(
      internal::check_ptr(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value), "X509V3_EXT_nconf_nid"));
  internal::check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

// `key` in the form X509_set_pubkey and X509_REQ_set_pubkey encode cheaply. OpenSSL 3 encodes a provider key into
// a SubjectPublicKeyInfo by setting up its encoder and then its decoder (about 0.25 ms, more than the signature of
// the certificate); an EC key in OpenSSL's legacy EC_KEY form is encoded directly (about 10 µs). So EC keys go in
// as EC_KEYs on a group made once per curve: the same DER, the only use of the deprecated EC_KEY API outside the
// TLS hardware key (docs/performance.md).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
internal::EvpPkeyPtr encodable_key(const PublicKey& key) {
  EVP_PKEY* pkey = key.impl().pkey.get();
  if (key.type() != KeyType::P256 && key.type() != KeyType::P384) {
    internal::check(EVP_PKEY_up_ref(pkey), "EVP_PKEY_up_ref");
    return internal::EvpPkeyPtr(pkey);
  }
  static const auto group = [](int nid) {
    return std::unique_ptr<EC_GROUP, internal::Deleter<EC_GROUP_free>>(
        internal::check_ptr(EC_GROUP_new_by_curve_name(nid), "EC_GROUP_new_by_curve_name"));
  };
  static const auto p256 = group(NID_X9_62_prime256v1);
  static const auto p384 = group(NID_secp384r1);
  const Bytes spki = key.spki_der();
  const std::size_t point_size = key.type() == KeyType::P256 ? 65 : 97;
  const ByteView point = ByteView(spki).last(point_size);
  EC_KEY* ec = internal::check_ptr(EC_KEY_new(), "EC_KEY_new");
  internal::EvpPkeyPtr legacy(EVP_PKEY_new());
  if (!legacy || EC_KEY_set_group(ec, key.type() == KeyType::P256 ? p256.get() : p384.get()) != 1 ||
      EC_KEY_oct2key(ec, point.data(), point.size(), nullptr) != 1 || EVP_PKEY_assign_EC_KEY(legacy.get(), ec) != 1) {
    EC_KEY_free(ec);
    internal::fail("EC subject key");
  }
  return legacy;
}
#pragma GCC diagnostic pop

// Version 3, a random positive 128-bit serial, notBefore one hour ago (clock skew), subject and key.
X509Ptr new_certificate(const CertificateProfile& profile, const PublicKey& subject_key) {
  if (profile.validity_days <= 0) {
    throw_internal("certificate profile: validity_days must be positive");
  }
  X509Ptr cert(internal::check_ptr(X509_new(), "X509_new"));
  internal::check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  // 16 random bytes, top bit cleared (positive) and next bit set (always 16 DER octets).
  Bytes serial = random_bytes(16);
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);
  const BignumPtr bn(
      internal::check_ptr(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr), "BN_bin2bn"));
  internal::check_ptr(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())), "BN_to_ASN1_INTEGER");
  internal::check_ptr(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600), "X509_gmtime_adj");
  internal::check_ptr(X509_time_adj_ex(X509_getm_notAfter(cert.get()), profile.validity_days, 0, nullptr),
                      "X509_time_adj_ex");
  const X509NamePtr name = make_name(profile.common_name, profile.organization);
  internal::check(X509_set_subject_name(cert.get(), name.get()), "X509_set_subject_name");
  internal::check(X509_set_pubkey(cert.get(), encodable_key(subject_key).get()), "X509_set_pubkey");
  return cert;
}

internal::ObjectCache<Certificate>& certificate_cache();

// Signs with the key's default algorithm and keeps the signed object with its DER (no re-parse: DI issues one
// certificate per device, docs/performance.md).
Certificate sign_certificate(X509Ptr cert, const PrivateKey& key, const PublicKey& subject_key) {
  const EvpMdCtxPtr ctx(internal::check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  internal::digest_sign_init(ctx.get(), key, default_sig_alg(key.type()));
  if (X509_sign_ctx(cert.get(), ctx.get()) <= 0) {
    internal::fail("X509_sign_ctx");
  }
  unsigned char* buf = nullptr;
  const int len = i2d_X509(cert.get(), &buf);
  if (len <= 0 || buf == nullptr) {
    internal::fail("i2d_X509");
  }
  auto impl = std::make_shared<Certificate::Impl>();
  impl->der.assign(buf, buf + len);
  OPENSSL_free(buf);
  impl->cert = std::move(cert);
  std::call_once(impl->public_once, [&] { impl->public_key = subject_key; });
  Certificate issued(std::move(impl));
  // The voucher built next (DI) reads its device certificate by DER: let it find this one.
  certificate_cache().add(issued.der(), issued);
  return issued;
}

}  // namespace

// ---- Certificate ----

Certificate::Certificate(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

namespace {

// Recently parsed certificates (internal/object_cache.h): device-CA certificates repeat across vouchers.
internal::ObjectCache<Certificate>& certificate_cache() {
  static internal::ObjectCache<Certificate> cache;
  return cache;
}

}  // namespace

Certificate Certificate::from_der(ByteView der) {
  if (auto cached = certificate_cache().find(der)) {
    return *cached;
  }
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, der_length(der, "certificate")));
  if (!cert) {
    input_error("certificate: does not parse as DER X.509");
  }
  if (p != der.data() + der.size()) {
    throw_body_error("certificate: trailing bytes after the certificate");
  }
  auto impl = std::make_shared<Impl>();
  impl->cert = std::move(cert);
  impl->der.assign(der.begin(), der.end());
  Certificate parsed(std::move(impl));
  certificate_cache().add(der, parsed);
  return parsed;
}

std::vector<Certificate> Certificate::from_pem_all(std::string_view text) {
  std::vector<Certificate> out;
  for (const pem::Block& block : pem::read_blocks(text)) {
    if (block.label == "CERTIFICATE") {
      out.push_back(from_der(block.decode()));
    }
  }
  return out;
}

Bytes Certificate::der() const { return m_impl->der; }

std::string Certificate::to_pem() const { return pem::write("CERTIFICATE", m_impl->der); }

PublicKey Certificate::public_key() const {
  std::call_once(m_impl->public_once, [this] {
    const EVP_PKEY* pkey = X509_get0_pubkey(m_impl->cert.get());
    if (pkey == nullptr) {
      input_error("certificate: public key does not parse");
    }
    m_impl->public_key = internal::make_public_key(pkey, "certificate public key");
  });
  return *m_impl->public_key;
}

namespace {

// One DER TLV at the start of `in` (X.690 §8.1): the whole element and its contents; nullopt unless it has a
// one-byte tag and a definite length that fits.
struct Tlv {
  std::uint8_t tag;
  ByteView whole;
  ByteView contents;
};

std::optional<Tlv> read_tlv(ByteView in) {
  if (in.size() < 2 || (in[0] & 0x1f) == 0x1f) {
    return std::nullopt;
  }
  std::size_t header = 2;
  std::size_t length = in[1];
  if ((length & 0x80) != 0) {
    const std::size_t n = length & 0x7f;
    if (n == 0 || n > 3 || in.size() < 2 + n) {
      return std::nullopt;
    }
    length = 0;
    for (std::size_t i = 0; i < n; ++i) {
      length = (length << 8) | in[2 + i];
    }
    header += n;
  }
  if (length > in.size() - header) {
    return std::nullopt;
  }
  return Tlv{in[0], in.first(header + length), in.subspan(header, length)};
}

// The elements of `contents` in order, at most `max` of them; nullopt if one does not read or there are more.
std::optional<std::vector<Tlv>> read_elements(ByteView contents, std::size_t max) {
  std::vector<Tlv> out;
  while (!contents.empty()) {
    const std::optional<Tlv> t = read_tlv(contents);
    if (!t || out.size() == max) {
      return std::nullopt;
    }
    out.push_back(*t);
    contents = contents.subspan(t->whole.size());
  }
  return out;
}

// The subjectPublicKeyInfo element of a DER certificate (RFC 5280 §4.1): Certificate → tbsCertificate →
// [0] version (optional), serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
std::optional<ByteView> certificate_spki(ByteView der) {
  const std::optional<Tlv> cert = read_tlv(der);
  if (!cert || cert->tag != 0x30 || cert->whole.size() != der.size()) {
    return std::nullopt;
  }
  const std::optional<Tlv> tbs = read_tlv(cert->contents);
  if (!tbs || tbs->tag != 0x30) {
    return std::nullopt;
  }
  ByteView rest = tbs->contents;
  std::optional<Tlv> field = read_tlv(rest);
  if (field && field->tag == 0xa0) {
    rest = rest.subspan(field->whole.size());
    field = read_tlv(rest);
  }
  for (const std::uint8_t tag : {0x02, 0x30, 0x30, 0x30, 0x30}) {
    if (!field || field->tag != tag) {
      return std::nullopt;
    }
    rest = rest.subspan(field->whole.size());
    field = read_tlv(rest);
  }
  if (!field || field->tag != 0x30) {
    return std::nullopt;
  }
  return field->whole;
}

}  // namespace

PublicKey Certificate::public_key_of(ByteView der) {
  const std::optional<ByteView> spki = certificate_spki(der);
  if (spki && internal::canonical_ec_spki(*spki)) {
    return PublicKey::from_spki_der(*spki);
  }
  return from_der(der).public_key();
}

std::string Certificate::subject() const { return internal::name_to_string(X509_get_subject_name(m_impl->cert.get())); }

std::string Certificate::issuer() const { return internal::name_to_string(X509_get_issuer_name(m_impl->cert.get())); }

bool Certificate::is_signed_by(const Certificate& issuer) const {
  X509* subject_cert = m_impl->cert.get();
  X509* issuer_cert = raw(issuer);
  // Names chain, the AKI (if any) matches the issuer, and the issuer's KeyUsage (if any) allows signing.
  bool ok = X509_check_issued(issuer_cert, subject_cert) == X509_V_OK;
  if (ok) {
    EVP_PKEY* issuer_key = X509_get0_pubkey(issuer_cert);
    ok = issuer_key != nullptr && X509_verify(subject_cert, issuer_key) == 1;
  }
  ERR_clear_error();
  return ok;
}

// ---- Chains ----

ChainResult verify_chain(const std::vector<Certificate>& chain, const std::vector<Certificate>& roots,
                         bool check_time) {
  if (chain.empty()) {
    return {false, "empty certificate chain"};
  }
  if (check_time) {
    for (std::size_t i = 0; i < chain.size(); ++i) {
      if (!within_validity(chain[i])) {
        return {false, describe(i, chain[i]) + ": outside its validity period"};
      }
    }
  }
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    if (!is_ca(chain[i + 1])) {
      return {false,
              describe(i + 1, chain[i + 1]) + ": not a CA certificate, but it issues chain[" + std::to_string(i) + "]"};
    }
    if (!chain[i].is_signed_by(chain[i + 1])) {
      return {false, describe(i, chain[i]) + ": not signed by chain[" + std::to_string(i + 1) + "]"};
    }
  }
  const std::size_t last_index = chain.size() - 1;
  const Certificate& last = chain.back();
  if (roots.empty()) {
    if (!last.is_signed_by(last)) {
      return {false, describe(last_index, last) + ": not self-signed and no trusted roots given"};
    }
    return {true, ""};
  }
  for (const Certificate& root : roots) {
    const bool is_the_root = equal(root.der(), last.der());
    if (last.is_signed_by(root) && (is_the_root || is_ca(root))) {
      return {true, ""};
    }
  }
  return {false, describe(last_index, last) + ": not signed by any trusted root"};
}

// ---- CSR (PKCS#10) ----

namespace {

// An unsigned PKCS#10 request (RFC 2986) for `pkey` with subject CN=`common_name`.
X509ReqPtr new_request(const PublicKey& key, std::string_view common_name) {
  X509ReqPtr req(internal::check_ptr(X509_REQ_new(), "X509_REQ_new"));
  internal::check(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1), "X509_REQ_set_version");
  const X509NamePtr name = make_name(common_name, "");
  internal::check(X509_REQ_set_subject_name(req.get(), name.get()), "X509_REQ_set_subject_name");
  internal::check(X509_REQ_set_pubkey(req.get(), encodable_key(key).get()), "X509_REQ_set_pubkey");
  return req;
}

Bytes request_der(X509_REQ* req) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509_REQ(req, &buf);
  if (len <= 0 || buf == nullptr) {
    internal::fail("i2d_X509_REQ");
  }
  Bytes der(buf, buf + len);
  OPENSSL_free(buf);
  return der;
}

}  // namespace

Bytes make_csr(const PrivateKey& key, std::string_view common_name) {
  const X509ReqPtr req = new_request(key.public_key(), common_name);
  const EvpMdCtxPtr ctx(internal::check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  internal::digest_sign_init(ctx.get(), key, default_sig_alg(key.type()));
  if (X509_REQ_sign_ctx(req.get(), ctx.get()) <= 0) {
    internal::fail("X509_REQ_sign_ctx");
  }
  return request_der(req.get());
}

Bytes make_csr_signed_by(const PublicKey& key, std::string_view common_name, SigAlg alg,
                         const std::function<Bytes(ByteView tbs)>& sign) {
  if ((alg != SigAlg::ES256 && alg != SigAlg::ES384) || !sig_alg_suits(alg, key.type())) {
    throw_internal("make_csr_signed_by: an external signer signs ES256 or ES384 with its own curve");
  }
  const X509ReqPtr req = new_request(key, common_name);
  // RFC 5758 §3.2: ecdsa-with-SHA256 / -SHA384, parameters absent.
  X509_ALGOR* algor = internal::check_ptr(X509_ALGOR_new(), "X509_ALGOR_new");
  const int nid = alg == SigAlg::ES256 ? NID_ecdsa_with_SHA256 : NID_ecdsa_with_SHA384;
  if (X509_ALGOR_set0(algor, OBJ_nid2obj(nid), V_ASN1_UNDEF, nullptr) != 1 ||
      X509_REQ_set1_signature_algo(req.get(), algor) != 1) {
    X509_ALGOR_free(algor);
    internal::fail("X509_REQ_set1_signature_algo");
  }
  X509_ALGOR_free(algor);
  unsigned char* tbs = nullptr;
  const int tbs_len = i2d_re_X509_REQ_tbs(req.get(), &tbs);
  if (tbs_len <= 0 || tbs == nullptr) {
    internal::fail("i2d_re_X509_REQ_tbs");
  }
  const Bytes tbs_bytes(tbs, tbs + tbs_len);
  OPENSSL_free(tbs);
  std::optional<Bytes> der_sig = internal::ecdsa_raw_to_der(sign(tbs_bytes));
  if (!der_sig) {
    throw_internal("make_csr_signed_by: the signer returned a malformed signature");
  }
  ASN1_BIT_STRING* bits = internal::check_ptr(ASN1_BIT_STRING_new(), "ASN1_BIT_STRING_new");
  if (ASN1_BIT_STRING_set(bits, der_sig->data(), static_cast<int>(der_sig->size())) != 1) {
    ASN1_BIT_STRING_free(bits);
    internal::fail("ASN1_BIT_STRING_set");
  }
  // No unused bits: without the flag DER encoding would strip trailing zero bits of the signature.
  bits->flags = ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req.get(), bits);
  return request_der(req.get());
}

namespace {

// PKCS#10 (RFC 2986 §4) with a canonical P-256/P-384 key and an ECDSA signature, read without d2i_X509_REQ, whose
// decoder set-up for the key costs about twice the signature check (docs/performance.md "DI"). Anything else, or
// anything this strict walk does not recognise, is left to OpenSSL (nullopt).
std::optional<CertificateRequest> parse_ec_csr(ByteView der) {
  static const Bytes version0 = {0x02, 0x01, 0x00};
  static const Bytes ecdsa_sha256 = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
  static const Bytes ecdsa_sha384 = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
  const std::optional<Tlv> req = read_tlv(der);
  if (!req || req->tag != 0x30 || req->whole.size() != der.size()) {
    return std::nullopt;
  }
  // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
  const std::optional<std::vector<Tlv>> elements = read_elements(req->contents, 3);
  if (!elements) {
    return std::nullopt;
  }
  const std::vector<Tlv>& parts = *elements;
  if (parts.size() != 3 || parts[0].tag != 0x30 || parts[1].tag != 0x30 || parts[2].tag != 0x03 ||
      parts[2].contents.size() < 2 || parts[2].contents[0] != 0x00) {
    return std::nullopt;
  }
  const bool sha256 = equal(parts[1].contents, ecdsa_sha256);
  if (!sha256 && !equal(parts[1].contents, ecdsa_sha384)) {
    return std::nullopt;
  }
  // CertificationRequestInfo ::= SEQUENCE { version 0, subject Name, subjectPKInfo, attributes [0] }
  const std::optional<std::vector<Tlv>> info_elements = read_elements(parts[0].contents, 4);
  if (!info_elements) {
    return std::nullopt;
  }
  const std::vector<Tlv>& info = *info_elements;
  if (info.size() != 4 || !equal(info[0].whole, version0) || info[1].tag != 0x30 || info[2].tag != 0x30 ||
      info[3].tag != 0xa0 || !internal::canonical_ec_spki(info[2].whole)) {
    return std::nullopt;
  }
  const unsigned char* p = info[1].whole.data();
  const X509NamePtr subject(d2i_X509_NAME(nullptr, &p, static_cast<long>(info[1].whole.size())));
  if (!subject || p != info[1].whole.data() + info[1].whole.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  PublicKey key = PublicKey::from_spki_der(info[2].whole);
  const ByteView signature = parts[2].contents.subspan(1);
  const EvpMdCtxPtr ctx(internal::check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  const bool signature_valid =
      EVP_DigestVerifyInit(ctx.get(), nullptr, sha256 ? EVP_sha256() : EVP_sha384(), nullptr,
                           key.impl().pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), parts[0].whole.data(), parts[0].whole.size()) ==
          1;
  ERR_clear_error();
  return CertificateRequest{
      .public_key = std::move(key),
      .subject = internal::name_to_string(subject.get()),
      .signature_valid = signature_valid,
  };
}

}  // namespace

CertificateRequest parse_csr(ByteView der) {
  if (std::optional<CertificateRequest> ec = parse_ec_csr(der)) {
    return std::move(*ec);
  }
  const unsigned char* p = der.data();
  const X509ReqPtr req(d2i_X509_REQ(nullptr, &p, der_length(der, "CSR")));
  if (!req) {
    input_error("CSR: does not parse as DER PKCS#10");
  }
  if (p != der.data() + der.size()) {
    throw_body_error("CSR: trailing bytes after the request");
  }
  EVP_PKEY* pkey = X509_REQ_get0_pubkey(req.get());
  if (pkey == nullptr) {
    input_error("CSR: public key does not parse");
  }
  PublicKey key = internal::make_public_key(pkey, "CSR public key");
  const bool signature_valid = X509_REQ_verify(req.get(), pkey) == 1;
  ERR_clear_error();
  return CertificateRequest{
      .public_key = std::move(key),
      .subject = internal::name_to_string(X509_REQ_get_subject_name(req.get())),
      .signature_valid = signature_valid,
  };
}

// ---- A small CA ----

Certificate make_self_signed(const PrivateKey& key, const CertificateProfile& profile) {
  X509Ptr cert = new_certificate(profile, key.public_key());
  internal::check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "X509_set_issuer_name");
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  // SKI first: the AKI of a self-signed certificate copies it.
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always");
  return sign_certificate(std::move(cert), key, key.public_key());
}

Certificate issue_certificate(const PrivateKey& ca_key, const Certificate& ca_cert, const PublicKey& subject_key,
                              const CertificateProfile& profile, const std::vector<std::string>& subject_alt_names) {
  X509* ca = raw(ca_cert);
  if (X509_check_private_key(ca, ca_key.impl().pkey.get()) != 1) {
    ERR_clear_error();
    throw_internal("issue_certificate: the CA key does not match the CA certificate");
  }
  X509Ptr cert = new_certificate(profile, subject_key);
  internal::check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)), "X509_set_issuer_name");
  if (profile.is_ca) {
    add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
  }
  add_extension(cert.get(), ca, NID_subject_key_identifier, "hash");
  if (!subject_alt_names.empty()) {
    std::string names;
    for (const std::string& name : subject_alt_names) {
      names += (names.empty() ? "" : ",") + name;
    }
    add_extension(cert.get(), ca, NID_subject_alt_name, names.c_str());
  }
  // The AKI names the CA's SKI; a CA certificate without one (made elsewhere) gets no AKI.
  if (X509_get_ext_by_NID(ca, NID_subject_key_identifier, -1) >= 0) {
    add_extension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  }
  return sign_certificate(std::move(cert), ca_key, subject_key);
}

}  // namespace fdo::crypto
