#include "libfdo/core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"

namespace fdo {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw_internal(what + " " + path.string() + ": " + std::strerror(errno));
}

// Closes a descriptor opened for reading.
struct FdCloser {
  explicit FdCloser(int f) : fd(f) {}
  int fd;
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { ::close(fd); }
};

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

FileRead read_file_checked(const std::filesystem::path& path, std::size_t max_size) {
  FileRead out;
  const auto fail_with = [&out](std::string problem) {
    out.problem = std::move(problem);
    return std::move(out);
  };
  // O_NONBLOCK: opening a FIFO with no writer, or some devices, would otherwise wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    out.missing = errno == ENOENT;
    return fail_with(out.missing ? "no such file" : std::strerror(errno));
  }
  const FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail_with(std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail_with(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  const std::string too_large = "larger than " + std::to_string(max_size) + " bytes";
  if (static_cast<std::uintmax_t>(st.st_size) > max_size) {
    return fail_with(too_large);
  }
  // The size from fstat is only a hint (files in /proc say 0, a file may grow): read to the end, but never more
  // than max_size + 1 bytes.
  Bytes data(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == data.size()) {
      if (used > max_size) {
        return fail_with(too_large);
      }
      data.resize(std::min(max_size + 1, std::max<std::size_t>(used * 2, 4096)));
    }
    const ssize_t n = ::read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_with(std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    used += static_cast<std::size_t>(n);
  }
  if (used > max_size) {
    return fail_with(too_large);
  }
  data.resize(used);
  out.data = std::move(data);
  return out;
}

Bytes read_file(const std::filesystem::path& path, std::size_t max_size) {
  FileRead read = read_file_checked(path, max_size);
  if (!read.data) {
    throw_internal("cannot read " + path.string() + ": " + read.problem);
  }
  return std::move(*read.data);
}

std::optional<Bytes> read_file_if_exists(const std::filesystem::path& path, std::size_t max_size) {
  FileRead read = read_file_checked(path, max_size);
  if (read.missing) {
    return std::nullopt;
  }
  if (!read.data) {
    throw_internal("cannot read " + path.string() + ": " + read.problem);
  }
  return std::move(read.data);
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
