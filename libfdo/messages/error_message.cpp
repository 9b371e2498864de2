#include "libfdo/messages/error_message.h"

#include <chrono>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"

namespace fdo {
namespace {

// EMErrorStr must not reveal security detail (FDO 1.1 §5.1): we send the error text, which by
// our error-message rules names the field and check but never keys, secrets or bodies. Cap its size.
constexpr std::size_t kMaxErrorString = 200;

}  // namespace

Bytes ErrorMessage::encode() const {
  cbor::Writer w;
  w.array(5);
  w.uint(em_error_code);
  w.uint(em_prev_msg_id);
  w.tstr(em_error_str);
  w.uint(em_error_ts.value_or(0));
  w.uint(em_error_cid.value_or(0));
  return std::move(w).take();
}

ErrorMessage ErrorMessage::decode(ByteView body) {
  cbor::Reader r(body, kName);
  ErrorMessage m;
  r.read_array_of("ErrorMessage", 5);
  m.em_error_code = static_cast<std::uint16_t>(r.read_uint_max("[0] EMErrorCode", 0xFFFF));
  m.em_prev_msg_id = static_cast<std::uint8_t>(r.read_uint_max("[1] EMPrevMsgID", 0xFF));
  m.em_error_str = r.read_tstr("[2] EMErrorStr");
  if (r.try_read_null()) {
    m.em_error_ts = std::nullopt;
  } else if (r.peek_type() == cbor::MajorType::Unsigned) {
    m.em_error_ts = r.read_uint("[3] EMErrorTs");
  } else if (r.peek_tag(0)) {
    r.read_tag("[3] EMErrorTs");
    r.read_tstr("[3] EMErrorTs UTCStr");
  } else if (r.peek_tag(1)) {
    r.read_tag("[3] EMErrorTs");
    m.em_error_ts = r.read_uint("[3] EMErrorTs UTCInt");
  } else {
    r.fail("[3] EMErrorTs", "expected null, uint, #6.0(tstr) or #6.1(uint)");
  }
  if (!r.try_read_null()) {
    m.em_error_cid = r.read_uint("[4] EMErrorCID");
  }
  r.expect_end();
  return m;
}

ErrorMessage ErrorMessage::from_error(const Error& error, std::uint8_t prev_msg_id,
                                      std::uint64_t correlation_id) {
  ErrorMessage m;
  m.em_error_code = static_cast<std::uint16_t>(error.code());
  m.em_prev_msg_id = prev_msg_id;
  m.em_error_str = error.what();
  if (m.em_error_str.size() > kMaxErrorString) {
    std::size_t cut = kMaxErrorString;
    while (cut > 0 && (static_cast<unsigned char>(m.em_error_str[cut]) & 0xC0) == 0x80) {
      --cut;  // never split a UTF-8 sequence: EMErrorStr is a tstr
    }
    m.em_error_str.resize(cut);
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  m.em_error_ts = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  m.em_error_cid = correlation_id;
  return m;
}

std::string ErrorMessage::describe() const {
  return std::string(error_code_name(code())) + " (" + std::to_string(em_error_code) + ") answering " +
         std::to_string(em_prev_msg_id) + ": " + em_error_str;
}

}  // namespace fdo
