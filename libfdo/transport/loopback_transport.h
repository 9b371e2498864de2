#pragma once
// In-process MessageTransport: calls a Responder directly, no sockets (docs/style.md §7, like
// go-fdo's fdotest). Applies the same binding rules and token handling as HTTP.

#include <cstddef>
#include <string>

#include "libfdo/transport/binding.h"
#include "libfdo/transport/responder.h"
#include "libfdo/transport/transport.h"

namespace fdo::transport {

/// A protocol run against a Responder in the same process. Each message goes through
/// serve_message and to_http_answer exactly as over HTTP (Content-Type application/cbor, the
/// stored Authorization value), so size limits, tokens and 255 answers behave identically.
class LoopbackTransport final : public RunTransport {
 public:
  /// `responder` must outlive the transport.
  explicit LoopbackTransport(Responder& responder, std::size_t max_body = kMaxBody);

 protected:
  ClientResponse post(std::uint8_t msg_type, ByteView body,
                      const std::optional<std::string>& authorization,
                      std::optional<std::chrono::milliseconds> timeout) override;
  [[nodiscard]] std::string peer() const override;

 private:
  Responder& m_responder;
  std::size_t m_max_body;
};

}  // namespace fdo::transport
