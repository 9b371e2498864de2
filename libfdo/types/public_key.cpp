#include "libfdo/types/public_key.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/cose/cose_key.h"

namespace fdo {
namespace {

std::optional<PkType> pk_type_from(std::uint64_t v) {
  switch (v) {
    case 1:
      return PkType::Rsa2048Restr;
    case 5:
      return PkType::RsaPkcs;
    case 6:
      return PkType::RsaPss;
    case 10:
      return PkType::Secp256r1;
    case 11:
      return PkType::Secp384r1;
    default:
      return std::nullopt;
  }
}

bool is_ec_type(PkType type) {
  return type == PkType::Secp256r1 || type == PkType::Secp384r1;
}

}  // namespace

std::string_view pk_type_name(PkType type) {
  switch (type) {
    case PkType::Rsa2048Restr:
      return "RSA2048RESTR";
    case PkType::RsaPkcs:
      return "RSAPKCS";
    case PkType::RsaPss:
      return "RSAPSS";
    case PkType::Secp256r1:
      return "SECP256R1";
    case PkType::Secp384r1:
      return "SECP384R1";
  }
  return "?";
}

std::string_view pk_enc_name(PkEnc enc) {
  switch (enc) {
    case PkEnc::Crypto:
      return "Crypto";
    case PkEnc::X509:
      return "X509";
    case PkEnc::X5Chain:
      return "X5CHAIN";
    case PkEnc::CoseKey:
      return "COSEKEY";
  }
  return "?";
}

PkType default_pk_type(const crypto::PublicKey& key) {
  switch (key.type()) {
    case crypto::KeyType::P256:
      return PkType::Secp256r1;
    case crypto::KeyType::P384:
      return PkType::Secp384r1;
    case crypto::KeyType::Rsa2048: {
      // docs/interop.md "public-key-forms": RSA2048RESTR only for such keys (2048-bit modulus, exponent 65537).
      const Bytes e = key.rsa_exponent();
      const Bytes f4 = {0x01, 0x00, 0x01};
      return e == f4 ? PkType::Rsa2048Restr : PkType::RsaPkcs;
    }
    case crypto::KeyType::Rsa3072:
      return PkType::RsaPkcs;
  }
  return PkType::RsaPkcs;
}

bool pk_type_fits(PkType pk_type, crypto::KeyType key_type) {
  switch (pk_type) {
    case PkType::Secp256r1:
      return key_type == crypto::KeyType::P256;
    case PkType::Secp384r1:
      return key_type == crypto::KeyType::P384;
    case PkType::Rsa2048Restr:
      return key_type == crypto::KeyType::Rsa2048;
    case PkType::RsaPkcs:
    case PkType::RsaPss:
      return key_type == crypto::KeyType::Rsa2048 || key_type == crypto::KeyType::Rsa3072;
  }
  return false;
}

PublicKey::PublicKey(PkType type, PkEnc enc, Bytes raw, crypto::PublicKey key, std::vector<crypto::Certificate> chain)
    : m_type(type), m_enc(enc), m_raw(std::move(raw)), m_key(std::move(key)), m_chain(std::move(chain)) {}

PublicKey PublicKey::from_key(const crypto::PublicKey& key, PkEnc enc, std::optional<PkType> type) {
  const PkType pk_type = type.value_or(default_pk_type(key));
  if (!pk_type_fits(pk_type, key.type())) {
    throw_internal("PublicKey: pkType " + std::string(pk_type_name(pk_type)) + " does not fit a " +
                   std::string(crypto::key_type_name(key.type())) + " key");
  }
  cbor::Writer w;
  w.array(3).uint(static_cast<std::uint64_t>(pk_type)).uint(static_cast<std::uint64_t>(enc));
  switch (enc) {
    case PkEnc::X509:
      w.bstr(key.spki_der());
      break;
    case PkEnc::CoseKey:
      cose::write_cose_key(w, key);
      break;
    case PkEnc::X5Chain:
    case PkEnc::Crypto:
      throw_internal("PublicKey::from_key: cannot encode a bare key as " + std::string(pk_enc_name(enc)));
  }
  return PublicKey(pk_type, enc, std::move(w).take(), key, {});
}

PublicKey PublicKey::from_chain(const std::vector<crypto::Certificate>& chain, std::optional<PkType> type) {
  if (chain.empty()) {
    throw_internal("PublicKey::from_chain: empty certificate chain");
  }
  crypto::PublicKey key = chain.front().public_key();
  const PkType pk_type = type.value_or(default_pk_type(key));
  if (!pk_type_fits(pk_type, key.type())) {
    throw_internal("PublicKey: pkType " + std::string(pk_type_name(pk_type)) + " does not fit a " +
                   std::string(crypto::key_type_name(key.type())) + " key");
  }
  cbor::Writer w;
  w.array(3).uint(static_cast<std::uint64_t>(pk_type)).uint(static_cast<std::uint64_t>(PkEnc::X5Chain));
  w.array(chain.size());
  for (const crypto::Certificate& cert : chain) {
    w.bstr(cert.der());
  }
  return PublicKey(pk_type, PkEnc::X5Chain, std::move(w).take(), std::move(key), chain);
}

PublicKey PublicKey::decode(cbor::Reader& in, const Leniency& leniency, std::string_view field) {
  const ByteView raw = in.read_raw(field);
  cbor::Reader r(raw, field.empty() ? std::string_view("PublicKey") : field);
  r.read_array_of("", 3);
  const std::uint64_t type_value = r.read_uint("[0] pkType");
  const std::optional<PkType> type = pk_type_from(type_value);
  if (!type) {
    r.fail("[0] pkType", "expected 1, 5, 6, 10 or 11, got " + std::to_string(type_value));
  }
  const std::uint64_t enc_value = r.read_uint("[1] pkEnc");
  // pkEnc 0 (Crypto, for EPID) is used by no current implementation: refused (docs/interop.md "epid-unsupported").
  if (enc_value == static_cast<std::uint64_t>(PkEnc::Crypto)) {
    r.fail("[1] pkEnc", "encoding Crypto (0) is not supported");
  }
  if (enc_value > static_cast<std::uint64_t>(PkEnc::CoseKey)) {
    r.fail("[1] pkEnc", "expected 1 (X509), 2 (X5CHAIN) or 3 (COSEKEY), got " + std::to_string(enc_value));
  }
  const auto enc = static_cast<PkEnc>(enc_value);
  std::optional<crypto::PublicKey> key;
  std::vector<crypto::Certificate> chain;
  switch (enc) {
    case PkEnc::X509:
      key = crypto::PublicKey::from_spki_der(r.read_bstr_view("[2] pkBody"));
      break;
    case PkEnc::X5Chain: {
      const std::size_t count = r.read_array("[2] pkBody");
      if (count == 0) {
        r.fail("[2] pkBody", "X5CHAIN needs at least one certificate");
      }
      for (std::size_t i = 0; i < count; ++i) {
        chain.push_back(crypto::Certificate::from_der(r.read_bstr_view("[2] pkBody[" + std::to_string(i) + "]")));
      }
      key = chain.front().public_key();
      break;
    }
    case PkEnc::CoseKey:
      if (!is_ec_type(*type)) {
        r.fail("[1] pkEnc", "COSEKEY is defined for EC keys only, pkType is " + std::string(pk_type_name(*type)));
      }
      key = cose::read_cose_key(r, leniency);
      break;
    case PkEnc::Crypto:
      break;
  }
  r.expect_end();
  if (!pk_type_fits(*type, key->type())) {
    r.fail("[0] pkType", std::string(pk_type_name(*type)) + " does not fit the " +
                             std::string(crypto::key_type_name(key->type())) + " key in pkBody");
  }
  return PublicKey(*type, enc, Bytes(raw.begin(), raw.end()), std::move(*key), std::move(chain));
}

PublicKey PublicKey::decode(ByteView in, const Leniency& leniency, std::string_view field) {
  cbor::Reader r(in, field);
  PublicKey out = decode(r, leniency, "");
  r.expect_end();
  return out;
}

void PublicKey::encode(cbor::Writer& out) const {
  out.raw(m_raw);
}

bool PublicKey::same_type_as(const PublicKey& other) const {
  return m_type == other.m_type && m_key.type() == other.m_key.type();
}

bool PublicKey::suits(crypto::SigAlg alg) const {
  if (!crypto::sig_alg_suits(alg, m_key.type())) {
    return false;
  }
  const bool pss = alg == crypto::SigAlg::PS256 || alg == crypto::SigAlg::PS384;
  const bool pkcs1 = alg == crypto::SigAlg::RS256 || alg == crypto::SigAlg::RS384;
  switch (m_type) {
    case PkType::RsaPss:
      return pss;
    case PkType::RsaPkcs:
    case PkType::Rsa2048Restr:
      return pkcs1;
    case PkType::Secp256r1:
    case PkType::Secp384r1:
      return true;
  }
  return false;
}

crypto::SigAlg PublicKey::sig_alg() const {
  if (m_type == PkType::RsaPss) {
    return m_key.type() == crypto::KeyType::Rsa3072 ? crypto::SigAlg::PS384 : crypto::SigAlg::PS256;
  }
  return crypto::default_sig_alg(m_key.type());
}

std::string PublicKey::describe() const {
  return std::string(pk_type_name(m_type)) + " " + std::string(pk_enc_name(m_enc)) + " (" +
         std::string(crypto::key_type_name(m_key.type())) + ")";
}

}  // namespace fdo
