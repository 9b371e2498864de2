#include "libfdo/cose/encrypt0.h"

#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/aes.h"

namespace fdo::cose {

Bytes enc_structure(ByteView protected_bytes, ByteView external_aad) {
  cbor::Writer w;
  w.array(3).tstr("Encrypt0").bstr(protected_bytes).bstr(external_aad);
  return std::move(w).take();
}

Encrypt0::Encrypt0(Bytes protected_bytes, std::int64_t alg, HeaderMap unprotected, Bytes iv, Bytes ciphertext)
    : m_protected(std::move(protected_bytes)),
      m_alg(alg),
      m_unprotected(std::move(unprotected)),
      m_iv(std::move(iv)),
      m_ciphertext(std::move(ciphertext)) {}

Encrypt0 Encrypt0::make(std::int64_t alg, ByteView iv, ByteView ciphertext) {
  HeaderMap unprotected;
  unprotected.emplace(kLabelIv, cbor::encode_bstr(iv));
  return Encrypt0(encode_protected_alg(alg), alg, std::move(unprotected), Bytes(iv.begin(), iv.end()),
                  Bytes(ciphertext.begin(), ciphertext.end()));
}

Encrypt0 Encrypt0::encrypt(crypto::CipherSuite suite, const SecretBytes& sevk, ByteView plaintext) {
  const Bytes iv = random_bytes(crypto::cipher_suite_info(suite).iv_size);
  return encrypt(suite, sevk, plaintext, iv);
}

Encrypt0 Encrypt0::encrypt(crypto::CipherSuite suite, const SecretBytes& sevk, ByteView plaintext, ByteView iv) {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(suite);
  if (!crypto::is_aead(suite)) {
    throw_internal("COSE_Encrypt0: " + std::string(info.name) + " is an encrypt-then-MAC suite");
  }
  if (iv.size() != info.iv_size) {
    throw_body_error("COSE_Encrypt0: " + std::string(info.name) + " needs a " + std::to_string(info.iv_size) +
                     "-byte nonce, got " + std::to_string(iv.size()));
  }
  const std::int64_t alg = crypto::cipher_suite_id(suite);
  const Bytes aad = cose::enc_structure(encode_protected_alg(alg));
  const Bytes ciphertext = info.mode == crypto::AesMode::Gcm ? crypto::aes_gcm_encrypt(sevk.view(), iv, aad, plaintext)
                                                             : crypto::aes_ccm_encrypt(sevk.view(), iv, aad, plaintext);
  return make(alg, iv, ciphertext);
}

Bytes Encrypt0::decrypt(crypto::CipherSuite suite, const SecretBytes& sevk) const {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(suite);
  if (!crypto::is_aead(suite)) {
    throw_internal("COSE_Encrypt0: " + std::string(info.name) + " is an encrypt-then-MAC suite");
  }
  // FDO 1.1 §4.4: the protected alg must be the negotiated cipherSuiteName, otherwise 101.
  if (m_alg != crypto::cipher_suite_id(suite)) {
    throw_invalid("COSE_Encrypt0: alg " + std::to_string(m_alg) + " is not the negotiated cipher suite " +
                  std::string(info.name));
  }
  // FDO 1.1 §3.6.5, §4.4: the IV length must fit the suite (12, 7 or 13, 16), otherwise 100.
  if (m_iv.size() != info.iv_size) {
    throw_body_error("COSE_Encrypt0: IV of " + std::to_string(m_iv.size()) + " bytes, " + std::string(info.name) +
                     " uses " + std::to_string(info.iv_size));
  }
  const Bytes aad = enc_structure();
  return info.mode == crypto::AesMode::Gcm ? crypto::aes_gcm_decrypt(sevk.view(), m_iv, aad, m_ciphertext)
                                           : crypto::aes_ccm_decrypt(sevk.view(), m_iv, aad, m_ciphertext);
}

Encrypt0 Encrypt0::read_body(cbor::Reader& in) {
  in.read_array_of("COSE_Encrypt0", 3);
  const ByteView protected_view = in.read_bstr_view("COSE_Encrypt0[0] protected");
  const std::int64_t alg = decode_protected_alg(protected_view, "COSE_Encrypt0");
  HeaderMap unprotected = read_header_map(in, "COSE_Encrypt0[1] unprotected");
  const auto iv_it = unprotected.find(kLabelIv);
  if (iv_it == unprotected.end()) {
    in.fail("COSE_Encrypt0[1] unprotected", "missing IV (label 5)");
  }
  cbor::Reader iv_reader(iv_it->second, "COSE_Encrypt0");
  Bytes iv = iv_reader.read_bstr("[1] unprotected IV (label 5)");
  if (in.peek_null()) {
    in.fail("COSE_Encrypt0[2] ciphertext", "detached (nil) ciphertext is not used by FDO");
  }
  Bytes ciphertext = in.read_bstr("COSE_Encrypt0[2] ciphertext");
  return Encrypt0(Bytes(protected_view.begin(), protected_view.end()), alg, std::move(unprotected), std::move(iv),
                  std::move(ciphertext));
}

Encrypt0 Encrypt0::decode(cbor::Reader& in, const Leniency& leniency) {
  read_cose_tag(in, kTag, "COSE_Encrypt0", leniency);
  return read_body(in);
}

Encrypt0 Encrypt0::decode(ByteView in, std::string_view context, const Leniency& leniency) {
  cbor::Reader r(in, context);
  Encrypt0 out = decode(r, leniency);
  r.expect_end();
  return out;
}

Encrypt0 Encrypt0::decode_untagged(cbor::Reader& in) {
  if (in.peek_type() != cbor::MajorType::Array) {
    in.fail("ETMInnerBlock", "expected an untagged COSE_Encrypt0 array");
  }
  return read_body(in);
}

void Encrypt0::write_body(cbor::Writer& out) const {
  out.array(3).bstr(m_protected);
  write_header_map(out, m_unprotected);
  out.bstr(m_ciphertext);
}

void Encrypt0::encode(cbor::Writer& out) const {
  out.tag(kTag);
  write_body(out);
}

Bytes Encrypt0::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

Bytes Encrypt0::encode_untagged() const {
  cbor::Writer w;
  write_body(w);
  return std::move(w).take();
}

Bytes Encrypt0::enc_structure() const {
  return cose::enc_structure(m_protected);
}

namespace {

MacAlg etm_mac_alg(const crypto::CipherSuiteInfo& info) {
  if (!info.etm_mac) {
    throw_internal("ETM: " + std::string(info.name) + " is an AEAD suite");
  }
  return *info.etm_mac == crypto::HashAlg::Sha384 ? MacAlg::HmacSha384 : MacAlg::HmacSha256;
}

}  // namespace

Mac0 etm_encrypt(crypto::CipherSuite suite, const crypto::SessionKeys& keys, ByteView plaintext, ByteView iv) {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(suite);
  const MacAlg mac = etm_mac_alg(info);
  if (iv.size() != info.iv_size) {
    throw_body_error("ETM: " + std::string(info.name) + " needs a " + std::to_string(info.iv_size) + "-byte IV, got " +
                     std::to_string(iv.size()));
  }
  // FDO 1.1 §4.4: encryption uses SEK with no AAD; the MAC uses SVK.
  const Bytes ciphertext = info.mode == crypto::AesMode::Ctr
                               ? crypto::aes_ctr_encrypt(keys.encryption_key.view(), iv, plaintext)
                               : crypto::aes_cbc_encrypt(keys.encryption_key.view(), iv, plaintext);
  const Encrypt0 inner = Encrypt0::make(crypto::cipher_suite_id(suite), iv, ciphertext);
  return Mac0::create(mac, keys.mac_key, inner.encode_untagged());
}

Bytes etm_decrypt(const Mac0& message, crypto::CipherSuite suite, const crypto::SessionKeys& keys) {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(suite);
  const MacAlg mac = etm_mac_alg(info);
  if (message.alg() != static_cast<std::int64_t>(mac)) {
    throw_invalid("ETM: COSE_Mac0 alg " + std::to_string(message.alg()) + " is not the HMAC of " +
                  std::string(info.name));
  }
  // FDO 1.1 §4.4: the MAC is verified (constant-time compare) before decrypting; a MAC mismatch is a
  // decryption failure.
  if (!message.verify(keys.mac_key)) {
    throw_invalid("ETM: message authentication failed");
  }
  cbor::Reader r(message.payload(), "ETMInnerBlock");
  const Encrypt0 inner = Encrypt0::decode_untagged(r);
  r.expect_end();
  if (inner.alg() != crypto::cipher_suite_id(suite)) {
    throw_invalid("ETM: inner alg " + std::to_string(inner.alg()) + " is not the negotiated cipher suite " +
                  std::string(info.name));
  }
  if (inner.iv().size() != info.iv_size) {
    throw_body_error("ETM: IV of " + std::to_string(inner.iv().size()) + " bytes, " + std::string(info.name) +
                     " uses " + std::to_string(info.iv_size));
  }
  return info.mode == crypto::AesMode::Ctr
             ? crypto::aes_ctr_decrypt(keys.encryption_key.view(), inner.iv(), inner.ciphertext())
             : crypto::aes_cbc_decrypt(keys.encryption_key.view(), inner.iv(), inner.ciphertext());
}

}  // namespace fdo::cose
