#include "tools/common/systemd.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "libfdo/core/log.h"

namespace fdo::tool {
namespace {

// sd_notify(3) returns > 0 when sent, 0 when NOTIFY_SOCKET is unset, < 0 (-errno) when sending failed. It keeps
// NOTIFY_SOCKET in the environment, so READY=1 and STOPPING=1 go to the same socket.
void notify(const std::string& state) {
  const int r = sd_notify(0, state.c_str());
  if (r < 0) {
    log::warn("cannot notify the service manager (NOTIFY_SOCKET): " + std::string(std::strerror(-r)));
  }
}

}  // namespace

void notify_ready(std::string_view status) { notify("READY=1\nSTATUS=" + std::string(status)); }

void notify_stopping() { notify("STOPPING=1"); }

std::optional<std::filesystem::path> credential_file(std::string_view name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') {
    return std::nullopt;
  }
  std::filesystem::path path = std::filesystem::path(dir) / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::nullopt;
  }
  return path;
}

}  // namespace fdo::tool
