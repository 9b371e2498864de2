#include "libfdo/protocol/client_run.h"

#include "libfdo/core/log.h"
#include "libfdo/protocol/trace.h"

namespace fdo::protocol {

ClientRun::ClientRun(transport::MessageTransport& transport) : m_transport(transport) { m_transport.reset(); }

Bytes ClientRun::exchange(MessageType request, ByteView body, MessageType expected) {
  log::debug("sending " + std::string(message_info(request).name) + " (" + std::to_string(body.size()) + " bytes)");
  trace_message("sending", static_cast<std::uint8_t>(request), body);
  transport::Reply reply = m_transport.exchange(static_cast<std::uint8_t>(request), body);
  trace_message("received", reply.msg_type, reply.body);
  if (reply.msg_type == static_cast<std::uint8_t>(MessageType::Error)) {
    ErrorMessage em;
    try {
      em = ErrorMessage::decode(reply.body);
    } catch (const Error&) {
      em.em_error_code = static_cast<std::uint16_t>(ErrorCode::MessageBodyError);
      em.em_prev_msg_id = static_cast<std::uint8_t>(request);
      em.em_error_str = "undecodable ErrorMessage";
    }
    m_peer_error = em;
    throw Error(em.code(), "server answered " + std::string(message_info(request).name) + " with " + em.describe(),
                ErrorSource::Peer);
  }
  m_last_received = reply.msg_type;
  if (reply.msg_type != static_cast<std::uint8_t>(expected)) {
    throw_body_error("expected " + std::string(message_info(expected).name) + " in answer to " +
                     std::string(message_info(request).name) + ", got message type " +
                     std::to_string(reply.msg_type));
  }
  return std::move(reply.body);
}

void ClientRun::fail(const Error& error) {
  if (m_peer_error) {
    return;  // the server ended the run; no 255 back (FDO 1.1 §5.1)
  }
  if (m_last_received == 0) {
    return;  // nothing received yet: the server has no run to end (go-fdo)
  }
  const ErrorMessage em = ErrorMessage::from_error(error, m_last_received, 0);
  m_transport.send_error(em.encode());
}

}  // namespace fdo::protocol
