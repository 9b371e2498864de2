#include "libfdo/cose/sign1.h"

#include <string>
#include <utility>

#include "libfdo/core/error.h"

namespace fdo::cose {

Bytes sig_structure(ByteView protected_bytes, ByteView payload, ByteView external_aad) {
  cbor::Writer w;
  w.array(4).tstr("Signature1").bstr(protected_bytes).bstr(external_aad).bstr(payload);
  return std::move(w).take();
}

Sign1::Sign1(Bytes protected_bytes, crypto::SigAlg alg, HeaderMap unprotected, Bytes payload, Bytes signature)
    : m_protected(std::move(protected_bytes)),
      m_alg(alg),
      m_unprotected(std::move(unprotected)),
      m_payload(std::move(payload)),
      m_signature(std::move(signature)) {}

Sign1 Sign1::sign(const crypto::PrivateKey& key, crypto::SigAlg alg, ByteView payload, HeaderMap unprotected) {
  if (!crypto::sig_alg_suits(alg, key.type())) {
    throw_internal("COSE_Sign1: " + std::string(crypto::sig_alg_name(alg)) + " does not suit a " +
                   std::string(crypto::key_type_name(key.type())) + " key");
  }
  Bytes protected_bytes = encode_protected_alg(static_cast<std::int64_t>(alg));
  Bytes signature = key.sign(alg, cose::sig_structure(protected_bytes, payload));
  return Sign1(std::move(protected_bytes), alg, std::move(unprotected), Bytes(payload.begin(), payload.end()),
               std::move(signature));
}

Sign1 Sign1::decode(cbor::Reader& in, const Leniency& leniency) {
  read_cose_tag(in, kTag, "COSE_Sign1", leniency);
  in.read_array_of("COSE_Sign1", 4);
  const ByteView protected_view = in.read_bstr_view("COSE_Sign1[0] protected");
  const std::int64_t alg_id = decode_protected_alg(protected_view, "COSE_Sign1");
  const std::optional<crypto::SigAlg> alg = crypto::sig_alg_from_id(alg_id);
  if (!alg) {
    // An unsupported suite or algorithm that is structurally valid is 101 (FDO 1.1 §5.1.1.1;
    // docs/adr/0001-error-model.md).
    throw_invalid("COSE_Sign1[0] protected alg: unsupported signature algorithm " + std::to_string(alg_id));
  }
  HeaderMap unprotected = read_header_map(in, "COSE_Sign1[1] unprotected");
  if (in.peek_null()) {
    in.fail("COSE_Sign1[2] payload", "detached (nil) payload is not used by FDO");
  }
  Bytes payload = in.read_bstr("COSE_Sign1[2] payload");
  Bytes signature = in.read_bstr("COSE_Sign1[3] signature");
  return Sign1(Bytes(protected_view.begin(), protected_view.end()), *alg, std::move(unprotected), std::move(payload),
               std::move(signature));
}

Sign1 Sign1::decode(ByteView in, std::string_view context, const Leniency& leniency) {
  cbor::Reader r(in, context);
  Sign1 out = decode(r, leniency);
  r.expect_end();
  return out;
}

void Sign1::encode(cbor::Writer& out) const {
  out.tag(kTag).array(4).bstr(m_protected);
  write_header_map(out, m_unprotected);
  out.bstr(m_payload).bstr(m_signature);
}

Bytes Sign1::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

bool Sign1::verify(const crypto::PublicKey& key) const {
  // docs/interop.md "signature-alg-from-header": take the alg from the protected header, then require it to suit
  // the key.
  if (!crypto::sig_alg_suits(m_alg, key.type())) {
    return false;
  }
  return key.verify(m_alg, sig_structure(), m_signature);
}

Bytes Sign1::sig_structure() const {
  return cose::sig_structure(m_protected, m_payload);
}

std::optional<ByteView> Sign1::unprotected_value(std::int64_t label) const {
  const auto it = m_unprotected.find(label);
  if (it == m_unprotected.end()) {
    return std::nullopt;
  }
  return ByteView(it->second);
}

}  // namespace fdo::cose
