#include "libfdo/transport/http_fetch.h"

#include <httplib.h>

#include <algorithm>
#include <memory>

#include "libfdo/core/error.h"
#include "libfdo/core/url.h"
#include "libfdo/transport/internal/http_send.h"
#include "libfdo/transport/internal/tls_client.h"

namespace fdo::transport {
namespace {

/// "scheme://authority" (parsed by parse_url) and the path and query, which parse_url does not take.
struct Target {
  std::string text;
  Url base;
  std::string path;
};

Target split_target(std::string_view url, std::string_view what) {
  Target t;
  t.text = std::string(url.substr(0, url.find('#')));
  const std::size_t scheme_end = t.text.find("://");
  if (scheme_end == std::string::npos) {
    throw_body_error(std::string(what) + ": URL \"" + t.text + "\" has no scheme");
  }
  const std::size_t path_start = t.text.find_first_of("/?", scheme_end + 3);
  t.base = parse_url(t.text.substr(0, path_start));
  t.path = path_start == std::string::npos ? "/" : t.text.substr(path_start);
  if (t.path.front() == '?') {
    t.path.insert(t.path.begin(), '/');
  }
  if (std::any_of(t.path.begin(), t.path.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; })) {
    throw_body_error(std::string(what) + ": URL \"" + t.text + "\" holds spaces or control characters");
  }
  return t;
}

void set_timeouts(httplib::ClientImpl& client, std::chrono::milliseconds timeout) {
  const auto ms = std::max<std::chrono::milliseconds::rep>(timeout.count(), 1);
  const auto sec = static_cast<time_t>(ms / 1000);
  const auto usec = static_cast<time_t>((ms % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_follow_location(false);
  client.set_decompress(false);
}

}  // namespace

Bytes http_get(std::string_view url, const FetchOptions& options) {
  const Target parsed = split_target(url, "fetch");
  const std::string& text = parsed.text;
  const Url& base = parsed.base;
  const std::string& target = parsed.path;

  std::unique_ptr<httplib::ClientImpl> client;
  if (base.scheme == "https") {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    auto tls = std::make_unique<httplib::SSLClient>(base.host, base.port);
    if (!options.ca_file.empty()) {
      tls->set_ca_cert_path(options.ca_file);
    }
    tls->enable_server_certificate_verification(!options.insecure_tls);
    client = std::move(tls);
#else
    throw_transport("fetch: https not supported by this build (" + text + ")");
#endif
  } else {
    client = std::make_unique<httplib::ClientImpl>(base.host, base.port);
  }
  set_timeouts(*client, options.timeout);

  Bytes body;
  bool too_large = false;
  httplib::Headers headers{{"Accept-Encoding", "identity"}};
  if (!options.bearer_token.empty()) {
    headers.emplace("Authorization", "Bearer " + options.bearer_token);
  }
  const httplib::Result result =
      client->Get(target, headers, httplib::ContentReceiver([&](const char* data, std::size_t n) {
                    if (body.size() + n > options.max_body) {
                      too_large = true;
                      return false;
                    }
                    body.insert(body.end(), reinterpret_cast<const std::uint8_t*>(data),
                                reinterpret_cast<const std::uint8_t*>(data) + n);
                    return true;
                  }));
  if (too_large) {
    throw_transport("fetch: " + text + " is larger than " + std::to_string(options.max_body) + " bytes");
  }
  if (!result) {
    throw_transport("fetch: " + text + ": request failed (" + httplib::to_string(result.error()) + ")");
  }
  if (result->status != 200) {
    throw_transport("fetch: " + text + ": HTTP status " + std::to_string(result->status));
  }
  return body;
}

PostAnswer http_post(std::string_view url, std::string_view content_type, std::string_view body,
                     const HttpClientOptions& options) {
  const Target parsed = split_target(url, "post");
  internal::TlsClientState tls;
  tls.options = options;
  std::unique_ptr<httplib::ClientImpl> client;
  if (parsed.base.scheme == "https") {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    client = internal::make_tls_client(parsed.base.host, parsed.base.port, tls);
#else
    throw_transport("post: https not supported by this build (" + parsed.text + ")");
#endif
  } else {
    client = std::make_unique<httplib::ClientImpl>(parsed.base.host, parsed.base.port);
  }
  set_timeouts(*client, options.timeout);
  httplib::Request request;
  request.method = "POST";
  request.path = parsed.path;
  request.headers.emplace("Content-Type", std::string(content_type));
  request.headers.emplace("Accept-Encoding", "identity");
  request.body = std::string(body);
  httplib::Response response;
  const Bytes received =
      internal::send_collect(*client, tls, parsed.base, request, parsed.text, options.timeout, options.max_body, response);
  return PostAnswer{.status = response.status,
                    .content_type = response.get_header_value("Content-Type"),
                    .body = std::string(received.begin(), received.end())};
}

}  // namespace fdo::transport
