#pragma once
// The client side of message exchanges as protocol code uses it (FDO 1.1 §4.3):
// send a typed body, get a typed body back; the run's Authorization token is kept here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/transport/binding.h"

namespace fdo::transport {

/// A response message: its type (255 for an ErrorMessage, for protocol code to decode) and body.
struct Reply {
  std::uint8_t msg_type{};
  Bytes body;
};

/// One protocol run's message channel to one server, FDO 1.1 §4.3.
class MessageTransport {
 public:
  virtual ~MessageTransport() = default;

  /// Sends one message and returns the server's answer; a 255 answer is returned, not thrown.
  /// Throws Error(InternalServerError) when the server cannot be reached or times out, and
  /// Error(MessageBodyError) when the answer breaks the HTTP binding.
  virtual Reply exchange(std::uint8_t msg_type, ByteView body) = 0;

  /// Sends the client's ErrorMessage (255) with the run's token, FDO 1.1 §5.1:
  /// only if the server has answered in this run; 5 s timeout; failures are ignored. Ends the run.
  virtual void send_error(ByteView error_body) = 0;

  /// Starts a new run: forgets the token.
  virtual void reset() = 0;
};

/// How a client reads an answer (docs/interop.md "http-errors"): Message-Type 255 is an
/// ErrorMessage whatever the status; a 200 needs a valid Message-Type; a non-200 without
/// Message-Type but with a CBOR body is read as 255 (go-fdo's client rule); anything else is
/// Error(MessageBodyError) "transport: …". `peer` names the server in messages.
Reply read_reply(const ClientResponse& response, std::string_view peer);

/// Token keeping shared by the HTTP and loopback transports (docs/interop.md "session-tokens"):
/// no Authorization on the first message; store the value of the first response that has one,
/// adopt a later different value, send it verbatim on later messages and on the 255.
class RunTransport : public MessageTransport {
 public:
  Reply exchange(std::uint8_t msg_type, ByteView body) final;
  void send_error(ByteView error_body) final;
  void reset() final;

  /// The Authorization value that the next message will carry, if any.
  [[nodiscard]] const std::optional<std::string>& authorization() const { return m_authorization; }

 protected:
  /// POSTs one message with the given Authorization value; `timeout` overrides the default.
  virtual ClientResponse post(std::uint8_t msg_type, ByteView body,
                              const std::optional<std::string>& authorization,
                              std::optional<std::chrono::milliseconds> timeout) = 0;
  /// The server's name for messages, e.g. "http://127.0.0.1:8080".
  [[nodiscard]] virtual std::string peer() const = 0;

 private:
  std::optional<std::string> m_authorization;
  bool m_answered = false;
};

}  // namespace fdo::transport
