#pragma once
// MessageTransport over the FDO HTTP binding (FDO 1.1 §4.3).

#include <string>
#include <string_view>

#include "libfdo/transport/http_client.h"
#include "libfdo/transport/transport.h"
#include "libfdo/core/url.h"

namespace fdo::transport {

/// One protocol run against one server over HTTP(S), FDO 1.1 §4.3.
class HttpTransport final : public RunTransport {
 public:
  /// A transport to `base` (e.g. http://127.0.0.1:8041).
  explicit HttpTransport(const Url& base, HttpClientOptions options = {});
  /// Parses `base_url` first (throws Error(MessageBodyError) if malformed).
  explicit HttpTransport(std::string_view base_url, HttpClientOptions options = {});

 protected:
  ClientResponse post(std::uint8_t msg_type, ByteView body,
                      const std::optional<std::string>& authorization,
                      std::optional<std::chrono::milliseconds> timeout) override;
  [[nodiscard]] std::string peer() const override;

 private:
  HttpClient m_client;
};

}  // namespace fdo::transport
