#include "owner/platform.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/url.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/types/json.h"
#include "owner/status_json.h"
#include "tools/common/key_files.h"

namespace fdo::owner_tool {
namespace {

transport::AdminResponse answer(int status, const std::string& error) {
  JsonWriter j;
  j.begin_object().key("accepted").boolean(false).key("error").string(error).end_object();
  return transport::AdminResponse{.status = status, .content_type = "application/json", .body = j.str() + "\n"};
}

bool is_ip_literal(const std::string& host) {
  return host.find(':') != std::string::npos ||
         std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

// One line, appended and made durable before the device is told it was accepted.
void append_line(const std::filesystem::path& file, const std::string& line) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw_internal("platform: cannot open " + file.string() + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      throw_internal("platform: cannot write " + file.string() + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) {
    throw_internal("platform: cannot sync " + file.string());
  }
}

}  // namespace

std::filesystem::path platform_dir(const OwnerDir& dir) { return dir.dir / "platform"; }
std::filesystem::path readings_file(const OwnerDir& dir) { return platform_dir(dir) / "readings.jsonl"; }

Platform::Platform(const OwnerDir& dir, const crypto::PrivateKey& ca_key, const crypto::Certificate& ca_cert,
                   PlatformOptions options)
    : m_dir(dir),
      m_ca_key(ca_key),
      m_ca_cert(ca_cert),
      m_options(std::move(options)),
      m_no_protocol("this is the owner's platform endpoint; FDO messages go to its TO2 address") {}

Platform::~Platform() { stop(); }

void Platform::start() {
  transport::HttpServerOptions http;
  http.listen = m_options.listen;
  http.threads = 2;
  http.admin_max_body = kMaxReading;
  const std::filesystem::path dir = platform_dir(m_dir);
  tool::create_private_directory(dir);
  if (m_options.tls_cert.empty()) {
    // A fresh leaf for this listener, issued by the CA the devices were enrolled under: a device checks it with
    // the chain AsymKey installed, and needs no other trust anchor.
    const HostPort where = parse_listen_address(m_options.listen);
    std::vector<std::string> names{"IP:127.0.0.1", "IP:::1", "DNS:localhost"};
    if (where.host != "0.0.0.0" && where.host != "::" && where.host != "127.0.0.1" && where.host != "::1" &&
        where.host != "localhost") {
      names.push_back((is_ip_literal(where.host) ? "IP:" : "DNS:") + where.host);
    }
    const crypto::PrivateKey key = crypto::PrivateKey::generate(m_ca_key.type() == crypto::KeyType::P384
                                                                    ? crypto::KeyType::P384
                                                                    : crypto::KeyType::P256);
    const crypto::Certificate leaf = crypto::issue_certificate(
        m_ca_key, m_ca_cert, key.public_key(),
        crypto::CertificateProfile{
            .common_name = "FDO owner platform", .organization = "", .validity_days = 365, .is_ca = false},
        names);
    tool::write_private_key(dir / "tls.key.pem", key);
    tool::write_public_file(dir / "tls.cert.pem", leaf.to_pem() + m_ca_cert.to_pem());
    http.tls_cert_file = (dir / "tls.cert.pem").string();
    http.tls_key_file = (dir / "tls.key.pem").string();
  } else {
    http.tls_cert_file = m_options.tls_cert;
    http.tls_key_file = m_options.tls_key;
  }
  // Mutual TLS: a client certificate from the device-application CA, or no handshake.
  tool::write_public_file(dir / "client-ca.pem", m_ca_cert.to_pem());
  http.tls_client_ca_file = (dir / "client-ca.pem").string();
  m_server = std::make_unique<transport::HttpServer>(m_no_protocol, http);
  m_server->add_admin_post(std::string(kReadingsPath), [this](const transport::AdminRequest& r) { return reading(r); });
  m_server->start();
  if (!is_loopback_host(parse_listen_address(m_options.listen).host)) {
    log::warn("the platform endpoint listens on " + m_options.listen + ", not on loopback");
  }
}

void Platform::stop() {
  if (m_server) {
    m_server->stop();
  }
}

std::string Platform::url() const { return m_server ? m_server->url() : std::string(); }

transport::AdminResponse Platform::reading(const transport::AdminRequest& request) {
  if (request.path != kReadingsPath) {
    return answer(404, "no such path: POST readings to " + std::string(kReadingsPath));
  }
  if (request.peer_certificate.empty()) {
    return answer(401, "a client certificate from the owner's device-application CA is required");
  }
  std::optional<crypto::Certificate> cert;
  try {
    cert = crypto::Certificate::from_der(request.peer_certificate);
  } catch (const Error& e) {
    return answer(400, std::string("the client certificate does not parse: ") + e.what());
  }
  // The TLS layer verified the chain; the rule that makes a device trusted is checked here once more, in words.
  if (!cert->is_signed_by(m_ca_cert)) {
    log::warn("platform: refused a reading from " + cert->subject() + ": not issued by the device-application CA");
    return answer(403, "the client certificate is not issued by this owner's device-application CA");
  }
  std::string content_type;
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "content-type") {
      content_type = value;
    }
  }
  if (content_type.rfind("application/json", 0) != 0) {
    return answer(415, "a reading is Content-Type application/json");
  }
  const std::string body(request.body.begin(), request.body.end());
  if (!is_json_object(body)) {
    return answer(400, "a reading is one JSON object");
  }
  const std::string fingerprint = to_hex(crypto::hash(crypto::HashAlg::Sha256, request.peer_certificate));
  JsonWriter line;
  line.begin_object()
      .key("time")
      .string(utc_time(static_cast<std::int64_t>(std::time(nullptr))))
      .key("subject")
      .string(cert->subject())
      .key("issuer")
      .string(cert->issuer())
      .key("certificate_sha256")
      .string(fingerprint)
      .key("peer")
      .string(request.peer)
      .key("reading")
      .string(body)
      .end_object();
  {
    const std::lock_guard<std::mutex> lock(m_write);
    try {
      append_line(readings_file(m_dir), line.str() + "\n");
    } catch (const Error& e) {
      log::error(e.what());
      return answer(500, "the reading could not be stored");
    }
    ++m_accepted;
  }
  log::info("platform: reading accepted from " + cert->subject() + " (certificate sha256 " + fingerprint.substr(0, 16) +
            "…, issued by the device-application CA)");
  JsonWriter j;
  j.begin_object().key("accepted").boolean(true).key("subject").string(cert->subject()).end_object();
  return transport::AdminResponse{.status = 201, .content_type = "application/json", .body = j.str() + "\n"};
}

}  // namespace fdo::owner_tool
