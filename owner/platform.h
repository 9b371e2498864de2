#pragma once
// The owner's platform endpoint (docs/owner.md "Platform endpoint"): what an onboarded device talks to once
// onboarding is over. An HTTPS listener that accepts only client certificates issued by the owner's
// device-application CA (the ones AsymKey and fdo.csr enrol during TO2), and takes a device's readings:
//   POST /platform/v1/readings   (Content-Type: application/json, a JSON object, at most 16 KiB)
// Each accepted reading is one line of DIR/platform/readings.jsonl, naming the certificate that proved it.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/transport/http_server.h"
#include "owner/config.h"
#include "tools/common/admin.h"

namespace fdo::owner_tool {

/// The path readings are posted to.
inline constexpr std::string_view kReadingsPath = "/platform/v1/readings";
/// The largest reading accepted.
inline constexpr std::size_t kMaxReading = 16 * 1024;

struct PlatformOptions {
  /// "IPv4:port" or "[IPv6]:port".
  std::string listen;
  /// The platform's own TLS certificate chain and key; both empty: a leaf for the listen host (and the loopback
  /// names) is issued by the device-application CA at every start, into DIR/platform/.
  std::string tls_cert;
  std::string tls_key;
};

/// DIR/platform/.
[[nodiscard]] std::filesystem::path platform_dir(const OwnerDir& dir);
/// DIR/platform/readings.jsonl.
[[nodiscard]] std::filesystem::path readings_file(const OwnerDir& dir);

class Platform {
 public:
  /// `ca_key`/`ca_cert`: the device-application CA (docs/owner.md "The owner directory"); must outlive this.
  Platform(const OwnerDir& dir, const crypto::PrivateKey& ca_key, const crypto::Certificate& ca_cert,
           PlatformOptions options);
  ~Platform();
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  /// Issues its certificate if needed, binds and serves. Throws Error(InternalServerError) when it cannot.
  void start();
  void stop();
  /// "https://HOST:PORT" once started.
  [[nodiscard]] std::string url() const;

  /// Handles one request to kReadingsPath (public for tests without TLS: `request.peer_certificate` is what the
  /// TLS layer verified).
  transport::AdminResponse reading(const transport::AdminRequest& request);

 private:
  OwnerDir m_dir;
  const crypto::PrivateKey& m_ca_key;
  const crypto::Certificate& m_ca_cert;
  PlatformOptions m_options;
  tool::NoProtocol m_no_protocol;
  std::unique_ptr<transport::HttpServer> m_server;
  std::mutex m_write;
  std::uint64_t m_accepted = 0;
};

}  // namespace fdo::owner_tool
