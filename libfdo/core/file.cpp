#include "libfdo/core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"

namespace fdo {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw_internal(what + " " + path.string() + ": " + std::strerror(errno));
}

// Closes the descriptor and removes the temp file unless released.
class TempFile {
 public:
  TempFile(int fd, std::filesystem::path path) : m_fd(fd), m_path(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    if (!m_released) {
      std::error_code ec;
      std::filesystem::remove(m_path, ec);
    }
  }
  [[nodiscard]] int fd() const { return m_fd; }
  void close_fd() {
    if (::close(m_fd) != 0) {
      m_fd = -1;
      fail("cannot close", m_path);
    }
    m_fd = -1;
  }
  void release() { m_released = true; }

 private:
  int m_fd;
  std::filesystem::path m_path;
  bool m_released = false;
};

}  // namespace

Bytes read_file(const std::filesystem::path& path) {
  auto data = read_file_if_exists(path);
  if (!data) {
    throw_internal("cannot read " + path.string() + ": no such file");
  }
  return std::move(*data);
}

std::optional<Bytes> read_file_if_exists(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) {
      return std::nullopt;
    }
    throw_internal("cannot open " + path.string());
  }
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw_internal("cannot read " + path.string());
  }
  return data;
}

void write_file_atomic(const std::filesystem::path& path, ByteView data, unsigned mode) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict for the chained operator+ form.
  std::string name = ".";
  name += path.filename().string();
  name += ".tmp-";
  name += to_hex(random_bytes(6));
  const std::filesystem::path tmp = dir / name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    fail("cannot create", tmp);
  }
  TempFile guard(fd, tmp);
  if (::fchmod(fd, mode) != 0) {
    fail("cannot chmod", tmp);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("cannot write", tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    fail("cannot fsync", tmp);
  }
  guard.close_fd();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    fail("cannot rename onto", path);
  }
  guard.release();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace fdo
