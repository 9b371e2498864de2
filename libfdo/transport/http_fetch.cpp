#include "libfdo/transport/http_fetch.h"

#include <httplib.h>

#include <algorithm>
#include <memory>

#include "libfdo/core/error.h"
#include "libfdo/core/url.h"

namespace fdo::transport {

Bytes http_get(std::string_view url, const FetchOptions& options) {
  // Split "scheme://authority" (parsed by parse_url) from the path and query, which parse_url does not take.
  const std::string text(url.substr(0, url.find('#')));
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    throw_body_error("fetch: URL \"" + text + "\" has no scheme");
  }
  const std::size_t path_start = text.find_first_of("/?", scheme_end + 3);
  const Url base = parse_url(text.substr(0, path_start));
  std::string target = path_start == std::string::npos ? "/" : text.substr(path_start);
  if (target.front() == '?') {
    target.insert(target.begin(), '/');
  }
  if (std::any_of(target.begin(), target.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; })) {
    throw_body_error("fetch: URL \"" + text + "\" holds spaces or control characters");
  }

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
  const auto ms = std::max<std::chrono::milliseconds::rep>(options.timeout.count(), 1);
  const auto sec = static_cast<time_t>(ms / 1000);
  const auto usec = static_cast<time_t>((ms % 1000) * 1000);
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  client->set_follow_location(false);
  client->set_decompress(false);

  Bytes body;
  bool too_large = false;
  const httplib::Headers headers{{"Accept-Encoding", "identity"}};
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

}  // namespace fdo::transport
