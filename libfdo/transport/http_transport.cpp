#include "libfdo/transport/http_transport.h"

#include <utility>

namespace fdo::transport {

HttpTransport::HttpTransport(const Url& base, HttpClientOptions options)
    : m_client(base, std::move(options)) {}

HttpTransport::HttpTransport(std::string_view base_url, HttpClientOptions options)
    : m_client(base_url, std::move(options)) {}

ClientResponse HttpTransport::post(std::uint8_t msg_type, ByteView body,
                                   const std::optional<std::string>& authorization,
                                   std::optional<std::chrono::milliseconds> timeout) {
  return m_client.post(msg_type, body, authorization, timeout);
}

std::string HttpTransport::peer() const { return format_url(m_client.base()); }

}  // namespace fdo::transport
