#include "libfdo/cose/mac0.h"

#include <string>
#include <utility>

#include "libfdo/core/error.h"

namespace fdo::cose {

std::optional<MacAlg> mac_alg_from_id(std::int64_t id) {
  switch (id) {
    case static_cast<std::int64_t>(MacAlg::HmacSha256):
      return MacAlg::HmacSha256;
    case static_cast<std::int64_t>(MacAlg::HmacSha384):
      return MacAlg::HmacSha384;
    default:
      return std::nullopt;
  }
}

crypto::HashAlg mac_alg_hash(MacAlg alg) {
  return alg == MacAlg::HmacSha384 ? crypto::HashAlg::Sha384 : crypto::HashAlg::Sha256;
}

std::size_t mac_alg_size(MacAlg alg) {
  return crypto::digest_size(mac_alg_hash(alg));
}

Bytes mac_structure(ByteView protected_bytes, ByteView payload, ByteView external_aad) {
  cbor::Writer w;
  w.array(4).tstr("MAC0").bstr(protected_bytes).bstr(external_aad).bstr(payload);
  return std::move(w).take();
}

Mac0::Mac0(Bytes protected_bytes, std::int64_t alg, HeaderMap unprotected, Bytes payload, Bytes tag)
    : m_protected(std::move(protected_bytes)),
      m_alg(alg),
      m_unprotected(std::move(unprotected)),
      m_payload(std::move(payload)),
      m_tag(std::move(tag)) {}

Mac0 Mac0::create(MacAlg alg, const SecretBytes& key, ByteView payload, HeaderMap unprotected) {
  Bytes protected_bytes = encode_protected_alg(static_cast<std::int64_t>(alg));
  Bytes tag = crypto::hmac(mac_alg_hash(alg), key.view(), cose::mac_structure(protected_bytes, payload));
  return Mac0(std::move(protected_bytes), static_cast<std::int64_t>(alg), std::move(unprotected),
              Bytes(payload.begin(), payload.end()), std::move(tag));
}

Mac0 Mac0::decode(cbor::Reader& in, const Leniency& leniency) {
  read_cose_tag(in, kTag, "COSE_Mac0", leniency);
  in.read_array_of("COSE_Mac0", 4);
  const ByteView protected_view = in.read_bstr_view("COSE_Mac0[0] protected");
  const std::int64_t alg = decode_protected_alg(protected_view, "COSE_Mac0");
  HeaderMap unprotected = read_header_map(in, "COSE_Mac0[1] unprotected");
  if (in.peek_null()) {
    in.fail("COSE_Mac0[2] payload", "detached (nil) payload is not used by FDO");
  }
  Bytes payload = in.read_bstr("COSE_Mac0[2] payload");
  Bytes tag = in.read_bstr("COSE_Mac0[3] tag");
  return Mac0(Bytes(protected_view.begin(), protected_view.end()), alg, std::move(unprotected), std::move(payload),
              std::move(tag));
}

Mac0 Mac0::decode(ByteView in, std::string_view context, const Leniency& leniency) {
  cbor::Reader r(in, context);
  Mac0 out = decode(r, leniency);
  r.expect_end();
  return out;
}

void Mac0::encode(cbor::Writer& out) const {
  out.tag(kTag).array(4).bstr(m_protected);
  write_header_map(out, m_unprotected);
  out.bstr(m_payload).bstr(m_tag);
}

Bytes Mac0::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

bool Mac0::verify(const SecretBytes& key) const {
  const std::optional<MacAlg> alg = mac_alg_from_id(m_alg);
  if (!alg) {
    return false;
  }
  const Bytes expected = crypto::hmac(mac_alg_hash(*alg), key.view(), mac_structure());
  return constant_time_equal(expected, m_tag);
}

Bytes Mac0::mac_structure() const {
  return cose::mac_structure(m_protected, m_payload);
}

}  // namespace fdo::cose
