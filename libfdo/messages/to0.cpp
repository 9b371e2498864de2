#include "libfdo/messages/to0.h"

#include <limits>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"

namespace fdo::to0 {

Bytes Hello::encode() const {
  cbor::Writer w;
  w.array(0);
  return std::move(w).take();
}

Hello Hello::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 0);
  r.expect_end();
  return Hello{};
}

Bytes HelloAck::encode() const {
  cbor::Writer w;
  w.array(1).bstr(nonce_to0_sign.view());
  return std::move(w).take();
}

HelloAck HelloAck::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 1);
  HelloAck m;
  m.nonce_to0_sign = Nonce::from(r.read_bstr_size("[0] NonceTO0Sign", Nonce::kSize));
  r.expect_end();
  return m;
}

Bytes To0d::encode() const {
  cbor::Writer w;
  w.array(3).raw(ownership_voucher).uint(wait_seconds).bstr(nonce_to0_sign.view());
  return std::move(w).take();
}

To0d To0d::decode(ByteView in) {
  cbor::Reader r(in, "to0d");
  r.read_array_of("", 3);
  To0d m;
  if (r.peek_type() != cbor::MajorType::Array) {
    r.fail("[0] OwnershipVoucher", "expected an array");
  }
  const ByteView voucher = r.read_raw("[0] OwnershipVoucher");
  m.ownership_voucher.assign(voucher.begin(), voucher.end());
  m.wait_seconds =
      static_cast<std::uint32_t>(r.read_uint_max("[1] WaitSeconds", std::numeric_limits<std::uint32_t>::max()));
  m.nonce_to0_sign = Nonce::from(r.read_bstr_size("[2] NonceTO0Sign", Nonce::kSize));
  r.expect_end();
  return m;
}

Bytes To1dBlobPayload::encode() const {
  cbor::Writer w;
  w.array(2);
  to1d_rv.encode(w);
  to1d_to0d_hash.encode(w);
  return std::move(w).take();
}

To1dBlobPayload To1dBlobPayload::decode(ByteView in, std::string_view context) {
  cbor::Reader r(in, context);
  r.read_array_of("", 2);
  To1dBlobPayload m;
  m.to1d_rv = RVTO2Addr::decode(r, "[0] to1dRV");
  m.to1d_to0d_hash = Hash::decode(r, "[1] to1dTo0dHash", HashKind::Digest);
  r.expect_end();
  return m;
}

To1dBlobPayload To1dBlobPayload::decode_deferring_rv(ByteView in, std::optional<Error>& to1d_rv_fault,
                                                     std::string_view context) {
  cbor::Reader r(in, context);
  r.read_array_of("", 2);
  const ByteView rv_raw = r.read_raw("[0] to1dRV");
  To1dBlobPayload m;
  m.to1d_to0d_hash = Hash::decode(r, "[1] to1dTo0dHash", HashKind::Digest);
  r.expect_end();
  to1d_rv_fault.reset();
  try {
    m.to1d_rv = RVTO2Addr::decode(rv_raw, std::string(context) + "[0] to1dRV");
  } catch (const Error& e) {
    to1d_rv_fault = e;
  }
  return m;
}

OwnerSign OwnerSign::make(const To0d& to0d, const cose::Sign1& to1d) {
  const Bytes to0d_bytes = to0d.encode();
  const Bytes to1d_bytes = to1d.encode();
  return OwnerSign{.to0d_bytes = to0d_bytes,
                   .to0d = to0d,
                   .to1d_bytes = to1d_bytes,
                   .to1d = to1d,
                   .to1d_payload = To1dBlobPayload::decode(to1d.payload()),
                   .to1d_rv_fault = std::nullopt};
}

Bytes OwnerSign::encode() const {
  cbor::Writer w;
  w.array(2).bstr(to0d_bytes).raw(to1d_bytes);
  return std::move(w).take();
}

OwnerSign OwnerSign::decode(ByteView in, const Leniency& leniency) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 2);
  Bytes to0d_bytes;
  if (r.peek_type() == cbor::MajorType::Array && leniency.accept(Quirk::BareTo0d, "TO0.OwnerSign[0] to0d")) {
    const ByteView bare = r.read_raw("[0] to0d");
    to0d_bytes.assign(bare.begin(), bare.end());
  } else {
    to0d_bytes = r.read_bstr("[0] to0d");
  }
  const ByteView to1d_raw = r.read_raw("[1] to1d");
  r.expect_end();
  To0d to0d = To0d::decode(to0d_bytes);
  cose::Sign1 to1d = cose::Sign1::decode(to1d_raw, "TO0.OwnerSign[1] to1d", leniency);
  // FDO 1.1 §5.3.3: to1d's unprotected header is empty; TO1.RVRedirect returns it byte for byte and devices
  // (ours and the C SDK) refuse any other, so a registration that no device could use is refused here.
  if (!to1d.unprotected().empty()) {
    throw_body_error("TO0.OwnerSign[1] to1d: the unprotected header must be empty, it has " +
                     std::to_string(to1d.unprotected().size()) + " entries");
  }
  std::optional<Error> rv_fault;
  To1dBlobPayload payload =
      To1dBlobPayload::decode_deferring_rv(to1d.payload(), rv_fault, "TO0.OwnerSign[1] to1d payload");
  return OwnerSign{.to0d_bytes = std::move(to0d_bytes),
                   .to0d = std::move(to0d),
                   .to1d_bytes = Bytes(to1d_raw.begin(), to1d_raw.end()),
                   .to1d = std::move(to1d),
                   .to1d_payload = std::move(payload),
                   .to1d_rv_fault = std::move(rv_fault)};
}

Bytes AcceptOwner::encode() const {
  cbor::Writer w;
  w.array(1).uint(wait_seconds);
  return std::move(w).take();
}

AcceptOwner AcceptOwner::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 1);
  AcceptOwner m;
  m.wait_seconds =
      static_cast<std::uint32_t>(r.read_uint_max("[0] WaitSeconds", std::numeric_limits<std::uint32_t>::max()));
  r.expect_end();
  return m;
}

}  // namespace fdo::to0
