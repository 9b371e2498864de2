#include "libfdo/transport/loopback_transport.h"

namespace fdo::transport {

LoopbackTransport::LoopbackTransport(Responder& responder, std::size_t max_body)
    : m_responder(responder), m_max_body(max_body) {}

ClientResponse LoopbackTransport::post(std::uint8_t msg_type, ByteView body,
                                       const std::optional<std::string>& authorization,
                                       std::optional<std::chrono::milliseconds> /*timeout*/) {
  InboundMessage in;
  in.msg_type = msg_type;
  in.headers.emplace_back("Content-Type", std::string(kCborContentType));
  if (authorization) {
    in.headers.emplace_back("Authorization", *authorization);
  }
  in.body.assign(body.begin(), body.end());
  in.peer = peer();
  const HttpAnswer answer = to_http_answer(serve_message(m_responder, in, m_max_body));
  return to_client_response(answer.status, answer.headers, answer.body);
}

std::string LoopbackTransport::peer() const { return "loopback"; }

}  // namespace fdo::transport
