#include "libfdo/protocol/eat.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::protocol {
namespace {

constexpr std::string_view kContext = "EAT payload";

/// The integer value of an encoded map key, or nullopt for a key of another type (EATOtherClaims may use any).
std::optional<std::int64_t> int_key(ByteView raw_key) {
  cbor::Reader r(raw_key, kContext);
  const cbor::MajorType type = r.peek_type();
  if (type != cbor::MajorType::Unsigned && type != cbor::MajorType::Negative) {
    return std::nullopt;
  }
  return r.read_int("claim key");
}

}  // namespace

EatPayload EatPayload::decode(ByteView payload, const Leniency& leniency) {
  cbor::Reader r(payload, kContext);
  const std::size_t count = r.read_map("");
  EatPayload out;
  std::optional<Bytes> claim11;
  std::set<Bytes> seen;
  for (std::size_t i = 0; i < count; ++i) {
    const ByteView raw_key = r.read_raw("claim key");
    if (!seen.insert(Bytes(raw_key.begin(), raw_key.end())).second) {
      r.fail("claim key", "duplicate claim");
    }
    const std::optional<std::int64_t> key = int_key(raw_key);
    if (key == kEatNonce) {
      out.nonce = r.read_bstr("claim 10 EAT-NONCE");
    } else if (key == kEatUeid) {
      out.ueid = r.read_bstr("claim 256 EAT-UEID");
    } else if (key == kEatFdo) {
      const ByteView fdo = r.read_raw("claim -257 EAT-FDO");
      out.fdo = Bytes(fdo.begin(), fdo.end());
    } else if (key == kEatUeidClaim11 && r.peek_type() == cbor::MajorType::Bytes) {
      claim11 = r.read_bstr("claim 11");
    } else {
      r.skip("claim value");
    }
  }
  r.expect_end();
  // docs/interop.md "eat-ueid-claim": fdo-rs writes the UEID under claim 11; accepted only by name, and only
  // when 256 is absent.
  if (!out.ueid && claim11 && leniency.accept(Quirk::EatUeidClaim11, "EAT claim 11")) {
    out.ueid = std::move(claim11);
  }
  return out;
}

cose::Sign1 make_eat(const DeviceSigner& signer, const Nonce& nonce, const Guid& guid,
                     std::optional<ByteView> fdo_claim, const cose::HeaderMap& unprotected) {
  // FDO 1.1 §3.3: the UEID is 0x01 || Guid, 17 bytes; canonical claim order 10, 256, -257
  // (docs/interop.md "eat-claim-order").
  std::vector<std::pair<Bytes, Bytes>> claims;
  claims.emplace_back(cbor::encode_int(kEatNonce), cbor::encode_bstr(nonce.view()));
  Bytes ueid{kEatRand};
  append(ueid, guid.view());
  claims.emplace_back(cbor::encode_int(kEatUeid), cbor::encode_bstr(ueid));
  if (fdo_claim) {
    claims.emplace_back(cbor::encode_int(kEatFdo), Bytes(fdo_claim->begin(), fdo_claim->end()));
  }
  cbor::Writer payload;
  payload.write_map(std::move(claims));

  const crypto::SigAlg alg = signer.sig_alg();
  const Bytes protected_bytes = cose::encode_protected_alg(static_cast<std::int64_t>(alg));
  const Bytes signature = signer.sign(cose::sig_structure(protected_bytes, payload.bytes()));
  // The signer is an interface (a TPM key signs too), so the COSE_Sign1 is assembled here and read back.
  cbor::Writer w;
  w.tag(cose::Sign1::kTag).array(4).bstr(protected_bytes);
  cose::write_header_map(w, unprotected);
  w.bstr(payload.bytes()).bstr(signature);
  return cose::Sign1::decode(w.bytes(), "EAT");
}

EatPayload verify_eat(const cose::Sign1& eat, const crypto::PublicKey& device_key, const EatExpectation& expected,
                      const Leniency& leniency) {
  EatPayload payload = EatPayload::decode(eat.payload(), leniency);
  // FDO 1.1 §5.4.3: claim 10 (EAT-NONCE) equals NonceTO1Proof (in TO2.ProveDevice, §5.5.6: NonceTO2ProveDv).
  if (!payload.nonce) {
    throw_invalid("EAT: no EAT-NONCE claim (10)");
  }
  if (!equal(*payload.nonce, expected.nonce.view())) {
    throw_invalid("EAT: EAT-NONCE does not equal the nonce this server issued");
  }
  // Check 4 (docs/protocols/to1.md): claim 256 is 17 bytes, starts with 0x01, and its GUID equals the HelloRV GUID.
  if (!payload.ueid) {
    throw_invalid(
        "EAT: no EAT-UEID claim (256); an fdo-rs device puts it under claim 11, accepted only with "
        "the eat-ueid-claim-11 quirk");
  }
  const Bytes& ueid = *payload.ueid;
  if (ueid.size() != kEatGuidSize || ueid[0] != kEatRand) {
    throw_invalid("EAT: EAT-UEID is not 0x01 followed by a 16-byte GUID (" + std::to_string(ueid.size()) + " bytes)");
  }
  if (!equal(ByteView(ueid).subspan(1), expected.guid.view())) {
    throw_invalid("EAT: EAT-UEID names another GUID than this session's device");
  }
  // Check 5: the signature verifies with the public key of OVDevCertChain[0], using the alg in the
  // protected header, which must suit that key.
  if (expected.alg && eat.alg() != *expected.alg) {
    throw_invalid("EAT: signed with " + std::string(crypto::sig_alg_name(eat.alg())) + ", but eASigInfo names " +
                  std::string(crypto::sig_alg_name(*expected.alg)));
  }
  if (!crypto::sig_alg_suits(eat.alg(), device_key.type())) {
    throw_invalid("EAT: " + std::string(crypto::sig_alg_name(eat.alg())) + " does not suit the device key (" +
                  std::string(crypto::key_type_name(device_key.type())) + ")");
  }
  if (!eat.verify(device_key)) {
    throw_invalid("EAT: the signature does not verify with the device key");
  }
  return payload;
}

void check_ea_sig_info(const SigInfo& ea_sig_info, const crypto::PublicKey& device_key, std::string_view message) {
  const std::string sg_type(sg_type_name(ea_sig_info.sg_type));
  const std::optional<crypto::KeyType> implied = device_key_type_of(ea_sig_info.sg_type);
  if (!implied) {
    throw_invalid(std::string(message) + ": eASigInfo sgType " + sg_type + " is not supported");
  }
  if (*implied != device_key.type()) {
    throw_invalid(std::string(message) + ": eASigInfo sgType " + sg_type + " does not suit the device key of the voucher (" +
                  std::string(crypto::key_type_name(device_key.type())) + ")");
  }
  if (!ea_sig_info.info.empty()) {
    throw_invalid(std::string(message) + ": eASigInfo Info must be empty for ECDSA and RSA devices");
  }
}

}  // namespace fdo::protocol
