#include "libfdo/transport/http_client.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/transport/internal/http_send.h"
#include "libfdo/transport/internal/tls_client.h"

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

// strerror text starting lower case, to follow "cannot connect to HOST:PORT: ".
std::string errno_text(int error) {
  std::string text = std::strerror(error);
  if (!text.empty() && text.front() >= 'A' && text.front() <= 'Z') {
    text.front() = static_cast<char>(text.front() - 'A' + 'a');
  }
  return text;
}

// httplib reports a failed connect only as Error::Connection; to say why (a name that does not resolve, a refusal,
// an unreachable network), the connect is repeated here once, with the same timeout, and its errno reported.
std::string why_no_connection(const Url& base, std::chrono::milliseconds timeout) {
  const std::string where = format_host_port(base.host, base.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(base.port);
  const int rc = ::getaddrinfo(base.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return "cannot resolve host " + base.host + ": " + ::gai_strerror(rc);
  }
  int last_error = 0;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    int error = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(timeout.count(), 1)));
        socklen_t len = sizeof error;
        error = ready == 0 ? ETIMEDOUT : (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 ? error : errno);
      }
    }
    ::close(fd);
    if (error == 0) {
      ::freeaddrinfo(found);
      return "cannot connect to " + where + " (it accepts connections now: retry)";
    }
    last_error = error;
  }
  ::freeaddrinfo(found);
  return "cannot connect to " + where + (last_error != 0 ? ": " + errno_text(last_error) : std::string());
}

}  // namespace

namespace internal {

Bytes send_collect(httplib::ClientImpl& client, TlsClientState& tls, const Url& base, httplib::Request& request,
                   std::string_view where_view, std::chrono::milliseconds wait, std::size_t max_body,
                   httplib::Response& response) {
  const std::string where(where_view);
  const auto [sec, usec] = split_timeout(wait);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  // Collect the body ourselves so that an oversize answer is cut off, not buffered.
  Bytes received;
  bool too_large = false;
  request.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (received.size() + n > max_body) {
      too_large = true;
      return false;
    }
    received.insert(received.end(), reinterpret_cast<const std::uint8_t*>(data),
                    reinterpret_cast<const std::uint8_t*>(data) + n);
    return true;
  };
  httplib::Error error = httplib::Error::Success;
  tls.pin_failure.clear();
  const bool sent = client.send(request, response, error);
  if (too_large) {
    throw_transport("transport: response from " + where + " exceeds " + std::to_string(max_body) + " bytes",
                    ErrorCode::MessageBodyError);
  }
  if (sent) {
    return received;
  }
  const std::string host_port = format_host_port(base.host, base.port);
  const bool https = base.scheme == "https";
  std::string what;
  switch (error) {
    case httplib::Error::Connection:
      what = why_no_connection(base, wait);
      break;
    case httplib::Error::ConnectionTimeout:
      what = "cannot connect to " + host_port + ": timed out after " + std::to_string(wait.count()) + " ms";
      break;
    case httplib::Error::Read:
    case httplib::Error::Write:
      // TLS 1.3: a server refuses a client certificate after the client's side of the handshake is done, so the
      // refusal shows as a closed connection.
      what = (error == httplib::Error::Read
                  ? "no answer from " + where + ": the connection closed or timed out before a response"
                  : "cannot send to " + where + ": the connection closed") +
             (https ? " (if the server asks for a client certificate: it refused the client certificate, or none "
                      "was sent)"
                    : "");
      break;
    case httplib::Error::SSLConnection:
      what = internal::tls_failure(tls, "TLS handshake failed with " + host_port +
                                            (tls.options.identity ? " (is it an https server that accepts this client "
                                                                    "certificate?)"
                                                                  : " (is it an https server?)"));
      break;
    case httplib::Error::SSLLoadingCerts:
      what = "TLS handshake failed: cannot load the trusted CA certificates" +
             (tls.options.ca_file.empty() ? std::string() : " from " + tls.options.ca_file);
      break;
    case httplib::Error::SSLServerVerification:
      what = "TLS handshake failed: the certificate of " + host_port + " does not verify";
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
      if (auto* ssl = dynamic_cast<httplib::SSLClient*>(&client)) {
        what += " (OpenSSL verify result " + std::to_string(ssl->get_openssl_verify_result()) + ")";
      }
#endif
      break;
    default:
      what = request.method + " " + where + " failed: " + httplib::to_string(error);
      break;
  }
  throw_transport(what);
}

}  // namespace internal

struct HttpClient::Impl {
  Url base;
  /// The options, with what TLS must keep alive; declared before `client`, which uses it until destroyed.
  internal::TlsClientState tls;
  HttpClientOptions& options = tls.options;
  std::unique_ptr<httplib::ClientImpl> client;
};

HttpClient::HttpClient(const Url& base, HttpClientOptions options)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->base = base;
  m_impl->options = std::move(options);
  if (base.scheme == "https") {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    m_impl->client = internal::make_tls_client(base.host, base.port, m_impl->tls);
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

  httplib::Request request;
  request.method = "POST";
  request.path = path;
  request.headers.emplace("Content-Type", std::string(kCborContentType));
  request.headers.emplace("Accept-Encoding", "identity");
  if (authorization) {
    request.headers.emplace("Authorization", *authorization);
  }
  request.body.assign(body.begin(), body.end());

  httplib::Response response;
  Bytes received = internal::send_collect(*impl.client, impl.tls, impl.base, request, where,
                                          timeout.value_or(impl.options.timeout), impl.options.max_body, response);
  const std::string encoding = response.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    throw_transport("transport: response from " + where + " uses Content-Encoding " + encoding,
                    ErrorCode::MessageBodyError);
  }

  HeaderList headers(response.headers.begin(), response.headers.end());
  return to_client_response(response.status, headers, std::move(received));
}

}  // namespace fdo::transport
