#include "libfdo/transport/http_client.h"

#include <httplib.h>

#include <algorithm>
#include <utility>

#include "libfdo/core/error.h"

namespace fdo::transport {
namespace {

std::pair<time_t, time_t> split_timeout(std::chrono::milliseconds timeout) {
  const auto ms = std::max<std::chrono::milliseconds::rep>(timeout.count(), 1);
  return {static_cast<time_t>(ms / 1000), static_cast<time_t>((ms % 1000) * 1000)};
}

bool has_control_chars(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

struct HttpClient::Impl {
  Url base;
  HttpClientOptions options;
  std::unique_ptr<httplib::ClientImpl> client;
};

HttpClient::HttpClient(const Url& base, HttpClientOptions options)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->base = base;
  m_impl->options = std::move(options);
  if (base.scheme == "https") {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    auto tls = std::make_unique<httplib::SSLClient>(base.host, base.port);
    if (!tls->is_valid()) {
      throw_internal("transport: cannot set up TLS for " + format_url(base));
    }
    if (!m_impl->options.ca_file.empty()) {
      tls->set_ca_cert_path(m_impl->options.ca_file);
    }
    // docs/interop.md "http-limits": TLS is verified normally, with an explicit insecure switch for labs.
    tls->enable_server_certificate_verification(!m_impl->options.insecure_tls);
    m_impl->client = std::move(tls);
#else
    throw_internal("transport: https not supported by this build (" + format_url(base) + ")");
#endif
  } else {
    m_impl->client = std::make_unique<httplib::ClientImpl>(base.host, base.port);
  }
  m_impl->client->set_keep_alive(true);
  m_impl->client->set_tcp_nodelay(true);
  m_impl->client->set_follow_location(false);
  m_impl->client->set_decompress(false);
}

HttpClient::HttpClient(std::string_view base_url, HttpClientOptions options)
    : HttpClient(parse_url(base_url), std::move(options)) {}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

const Url& HttpClient::base() const { return m_impl->base; }

ClientResponse HttpClient::post(std::uint8_t msg_type, ByteView body,
                                const std::optional<std::string>& authorization,
                                std::optional<std::chrono::milliseconds> timeout) {
  Impl& impl = *m_impl;
  const std::string path = impl.base.path_prefix + message_path(msg_type);
  const std::string where = format_url(impl.base) + message_path(msg_type);
  if (authorization && has_control_chars(*authorization)) {
    throw_body_error("transport: Authorization value for " + where + " holds control characters");
  }

  const auto [sec, usec] = split_timeout(timeout.value_or(impl.options.timeout));
  impl.client->set_connection_timeout(sec, usec);
  impl.client->set_read_timeout(sec, usec);
  impl.client->set_write_timeout(sec, usec);

  httplib::Request request;
  request.method = "POST";
  request.path = path;
  request.headers.emplace("Content-Type", std::string(kCborContentType));
  request.headers.emplace("Accept-Encoding", "identity");
  if (authorization) {
    request.headers.emplace("Authorization", *authorization);
  }
  request.body.assign(body.begin(), body.end());

  // Collect the body ourselves so that an oversize answer is cut off, not buffered.
  Bytes received;
  bool too_large = false;
  const std::size_t max_body = impl.options.max_body;
  request.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (received.size() + n > max_body) {
      too_large = true;
      return false;
    }
    received.insert(received.end(), reinterpret_cast<const std::uint8_t*>(data),
                    reinterpret_cast<const std::uint8_t*>(data) + n);
    return true;
  };

  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool sent = impl.client->send(request, response, error);
  if (too_large) {
    throw_body_error("transport: response from " + where + " exceeds " + std::to_string(max_body) +
                     " bytes");
  }
  if (!sent) {
    std::string what = "transport: POST " + where + " failed: " + httplib::to_string(error);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (error == httplib::Error::SSLServerVerification) {
      if (auto* tls = dynamic_cast<httplib::SSLClient*>(impl.client.get())) {
        what += " (OpenSSL verify result " + std::to_string(tls->get_openssl_verify_result()) + ")";
      }
    }
#endif
    throw_internal(what);
  }
  const std::string encoding = response.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    throw_body_error("transport: response from " + where + " uses Content-Encoding " + encoding);
  }

  HeaderList headers(response.headers.begin(), response.headers.end());
  return to_client_response(response.status, headers, std::move(received));
}

}  // namespace fdo::transport
