#pragma once
// The client side of one protocol run (device in DI/TO1/TO2, owner in TO0): "send X, receive Y, check Y"
// (docs/style.md §7), with the spec's error handling (FDO 1.1 §5.1).

#include <string>
#include <utility>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/transport/transport.h"
#include "libfdo/types/message_type.h"

namespace fdo::protocol {

/// One run of a protocol over a MessageTransport.
/// * exchange() sends a request and returns the response body, which must be the expected type; a 255 from
///   the server throws fdo::Error with the server's code and marks the run as ended by the peer.
/// * run() executes the steps; when a step throws (a check of a response failed) and the server did not end
///   the run itself, it sends our ErrorMessage with the run's token (EMPrevMsgID = the last type received),
///   then rethrows. A server's 255 is never answered with a 255 (conformance DEV-47).
class ClientRun {
 public:
  /// Starts a new run on `transport` (its token is reset).
  explicit ClientRun(transport::MessageTransport& transport);

  /// Sends `request` with `body` and returns the body of the `expected` response.
  Bytes exchange(MessageType request, ByteView body, MessageType expected);

  /// Typed exchange: encodes `request`, checks at compile time that `Resp` answers it, decodes the reply.
  template <typename Resp, typename Req>
  Resp exchange(const Req& request) {
    static_assert(*message_info(Req::kType).response == Resp::kType, "Resp is not the spec's response to Req");
    const Bytes body = exchange(Req::kType, request.encode(), Resp::kType);
    return Resp::decode(body);
  }

  /// Runs `steps()`; on fdo::Error sends our 255 unless the peer ended the run, then rethrows.
  template <typename F>
  auto run(F&& steps) -> decltype(steps()) {
    try {
      return std::forward<F>(steps)();
    } catch (const Error& e) {
      fail(e);
      throw;
    }
  }

  /// The ErrorMessage the server sent, if it ended the run with one.
  [[nodiscard]] const std::optional<ErrorMessage>& peer_error() const { return m_peer_error; }

 private:
  void fail(const Error& error);

  transport::MessageTransport& m_transport;
  std::uint8_t m_last_received = 0;
  std::optional<ErrorMessage> m_peer_error;
};

}  // namespace fdo::protocol
