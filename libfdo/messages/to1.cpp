#include "libfdo/messages/to1.h"

#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::to1 {

Bytes HelloRV::encode() const {
  cbor::Writer w;
  w.array(2).bstr(guid.view());
  ea_sig_info.encode(w);
  return std::move(w).take();
}

HelloRV HelloRV::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 2);
  HelloRV m;
  m.guid = Guid::from(r.read_bstr_size("[0] Guid", Guid::kSize));
  m.ea_sig_info = SigInfo::decode(r, "[1] eASigInfo");
  r.expect_end();
  return m;
}

Bytes HelloRVAck::encode() const {
  cbor::Writer w;
  w.array(2).bstr(nonce_to1_proof.view());
  eb_sig_info.encode(w);
  return std::move(w).take();
}

HelloRVAck HelloRVAck::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 2);
  HelloRVAck m;
  m.nonce_to1_proof = Nonce::from(r.read_bstr_size("[0] NonceTO1Proof", Nonce::kSize));
  m.eb_sig_info = SigInfo::decode(r, "[1] eBSigInfo");
  r.expect_end();
  return m;
}

ProveToRV ProveToRV::decode(ByteView in, const Leniency& leniency) {
  return ProveToRV{cose::Sign1::decode(in, kName, leniency)};
}

RVRedirect RVRedirect::decode(ByteView in) {
  // FDO 1.1 §5.4.4: the device answers any failure here with 100, also where a part's own decoder knows a more specific
  // code (an unknown COSE alg, a bad RVIP): the device reports a malformed to1d.
  try {
    cose::Sign1 to1d = cose::Sign1::decode(in, "TO1.RVRedirect to1d");
    // FDO 1.1 §5.4.4: a tagged COSE_Sign1 with an empty unprotected map (the C SDK requires it empty).
    if (!to1d.unprotected().empty()) {
      throw_body_error("TO1.RVRedirect to1d: expected an empty unprotected header, got " +
                       std::to_string(to1d.unprotected().size()) + " entries");
    }
    to0::To1dBlobPayload payload = to0::To1dBlobPayload::decode(to1d.payload(), "TO1.RVRedirect to1d payload");
    return RVRedirect{
        .to1d_bytes = Bytes(in.begin(), in.end()), .to1d = std::move(to1d), .to1d_payload = std::move(payload)};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::MessageBodyError) {
      throw;
    }
    throw_body_error(e.what());
  }
}

RVRedirect RVRedirect::from_stored(ByteView to1d, const Leniency& leniency) {
  cose::Sign1 sign1 = cose::Sign1::decode(to1d, "stored to1d", leniency);
  to0::To1dBlobPayload payload = to0::To1dBlobPayload::decode(sign1.payload(), "stored to1d payload");
  return RVRedirect{
      .to1d_bytes = Bytes(to1d.begin(), to1d.end()), .to1d = std::move(sign1), .to1d_payload = std::move(payload)};
}

}  // namespace fdo::to1
