// tools/common/systemd.h: the sd_notify messages reach the socket named by NOTIFY_SOCKET, and credentials are found
// in $CREDENTIALS_DIRECTORY (docs/deploy.md).

#include "tools/common/systemd.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "tools/common/admin.h"

namespace fdo::tool {
namespace {

std::filesystem::path temp_dir(const std::string& tag) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fdo-systemd-test-" + tag + "-" + to_hex(random_bytes(6)));
  std::filesystem::create_directories(dir);
  return dir;
}

// A datagram socket the test owns, named by NOTIFY_SOCKET while it lives: what systemd listens on for Type=notify.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : m_path(path) {
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(m_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
    const timeval timeout{5, 0};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(m_fd);
    std::filesystem::remove(m_path);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  /// The next datagram, or "" after 5 s.
  std::string receive() const {
    char buf[4096];
    const ssize_t n = ::recv(m_fd, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::filesystem::path m_path;
  int m_fd = -1;
};

TEST(Notify, ReadyThenStoppingReachTheNotifySocket) {
  const std::filesystem::path dir = temp_dir("notify");
  {
    const NotifySocket socket(dir / "notify");
    notify_ready("listening on http://127.0.0.1:8041");
    EXPECT_EQ(socket.receive(), "READY=1\nSTATUS=listening on http://127.0.0.1:8041");
    notify_stopping();
    EXPECT_EQ(socket.receive(), "STOPPING=1");
  }
  std::filesystem::remove_all(dir);
}

TEST(Notify, WithoutNotifySocketNothingHappens) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_NO_THROW(notify_ready("x"));
  EXPECT_NO_THROW(notify_stopping());
}

TEST(Notify, AnUnreachableSocketIsNotAnError) {
  const std::filesystem::path dir = temp_dir("gone");
  ::setenv("NOTIFY_SOCKET", (dir / "nobody-listens").c_str(), 1);
  EXPECT_NO_THROW(notify_ready("x"));
  ::unsetenv("NOTIFY_SOCKET");
  std::filesystem::remove_all(dir);
}

TEST(Credentials, FoundOnlyInCredentialsDirectory) {
  const std::filesystem::path dir = temp_dir("creds");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_FALSE(credential_file("admin-token"));
  ::setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  EXPECT_FALSE(credential_file("admin-token"));
  write_file_atomic(dir / "admin-token", to_bytes(std::string("abc\n")), 0600);
  ASSERT_TRUE(credential_file("admin-token"));
  EXPECT_EQ(*credential_file("admin-token"), dir / "admin-token");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  std::filesystem::remove_all(dir);
}

TEST(Credentials, AdminTokenCredentialWinsOverTheDirectoryFile) {
  const std::filesystem::path state = temp_dir("state");
  const std::filesystem::path creds = temp_dir("creds");
  write_file_atomic(admin_token_path(state), to_bytes(std::string("from-the-state-dir\n")), 0600);
  ::unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(load_admin_token(state, "fdo-x"), "from-the-state-dir");
  ::setenv("CREDENTIALS_DIRECTORY", creds.c_str(), 1);
  EXPECT_EQ(load_admin_token(state, "fdo-x"), "from-the-state-dir");  // no such credential: the file
  write_file_atomic(creds / "admin-token", to_bytes(std::string("  from-systemd\n")), 0600);
  EXPECT_EQ(load_admin_token(state, "fdo-x"), "from-systemd");
  // A directory that holds no token at all still starts when systemd passes one.
  const std::filesystem::path empty = temp_dir("empty");
  EXPECT_EQ(load_admin_token(empty, "fdo-x"), "from-systemd");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  for (const auto& d : {state, creds, empty}) {
    std::filesystem::remove_all(d);
  }
}

}  // namespace
}  // namespace fdo::tool
