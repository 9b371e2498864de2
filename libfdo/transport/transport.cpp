#include "libfdo/transport/transport.h"

#include <exception>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::transport {

Reply read_reply(const ClientResponse& response, std::string_view peer) {
  if (response.msg_type == kErrorMessageType) {
    return Reply{.msg_type = kErrorMessageType, .body = response.body};
  }
  if (response.status == 200) {
    if (!response.msg_type) {
      throw_transport("transport: HTTP 200 from " + std::string(peer) + " without a valid Message-Type header",
                      ErrorCode::MessageBodyError);
    }
    return Reply{.msg_type = *response.msg_type, .body = response.body};
  }
  // go-fdo's client: "500 with Content-Type: application/cbor: treated as 255".
  if (!response.msg_type && response.content_type &&
      is_cbor_content_type({*response.content_type}) && !response.body.empty()) {
    return Reply{.msg_type = kErrorMessageType, .body = response.body};
  }
  std::string what = "transport: HTTP " + std::to_string(response.status) + " from " + std::string(peer) +
                     " without an FDO error message (is this an FDO server?)";
  if (response.msg_type) {
    what += " (Message-Type " + std::to_string(*response.msg_type) + ")";
  }
  throw_transport(what, ErrorCode::MessageBodyError);
}

Reply RunTransport::exchange(std::uint8_t msg_type, ByteView body) {
  const ClientResponse response = post(msg_type, body, m_authorization, std::nullopt);
  m_answered = true;
  // docs/interop.md "session-tokens": if a later response carries a different value, use the latest.
  if (response.authorization) {
    m_authorization = response.authorization;
  }
  Reply reply = read_reply(response, peer());
  if (reply.msg_type == kErrorMessageType) {
    // FDO 1.1 §5.1: after an error message the protocol run is over.
    reset();
  }
  return reply;
}

void RunTransport::send_error(ByteView error_body) {
  // FDO 1.1 §5.1: no 255 while the client has not yet received any response (as go-fdo).
  if (m_answered) {
    try {
      (void)post(kErrorMessageType, error_body, m_authorization, kErrorTimeout);
    } catch (const std::exception& e) {
      log::debug(std::string("transport: error message to ") + peer() +
                 " not delivered: " + e.what());
    }
  }
  reset();
}

void RunTransport::reset() {
  m_authorization.reset();
  m_answered = false;
}

}  // namespace fdo::transport
