#include "libfdo/fsim/device_io.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"

namespace fdo::fsim {
namespace {

bool inside(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::filesystem::path path_in_root(const DeviceContext& context, std::string_view name) {
  const std::string quoted = "\"" + std::string(name) + "\"";
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    throw_invalid("path " + quoted + " is empty or holds a NUL byte");
  }
  const std::filesystem::path given(name);
  if (given.is_absolute()) {
    throw_invalid("path " + quoted + " is absolute; paths are relative to the device root");
  }
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::weakly_canonical(context.root, ec);
  if (ec) {
    throw_internal("device root " + context.root.string() + ": " + ec.message());
  }
  // weakly_canonical resolves the symlinks of the part that exists and `..` everywhere, so an escape through either
  // shows as a path outside the root.
  const std::filesystem::path full = std::filesystem::weakly_canonical(root / given, ec);
  if (ec || !inside(root, full) || full == root) {
    throw_invalid("path " + quoted + " leads outside the device root");
  }
  return full;
}

void write_in_root(const std::filesystem::path& path, ByteView data, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    throw_internal("cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  write_file_atomic(path, data, mode);
}

CommandResult run_in_root(const DeviceContext& context, const std::vector<std::string>& argv,
                          std::size_t max_output, const std::function<void(pid_t)>& on_start) {
  CommandResult result;
  if (argv.empty()) {
    result.error = "empty command";
    return result;
  }
  std::optional<passwd> user;
  std::string user_buffer(16384, '\0');
  if (context.run_as) {
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(context.run_as->c_str(), &pw, user_buffer.data(), user_buffer.size(), &found) != 0 ||
        found == nullptr) {
      result.error = "no user " + *context.run_as;
      return result;
    }
    user = pw;
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const std::string root = context.root.string();
  const pid_t pid = fork();
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    // Child: own process group (so the deadline kills everything it started), the root as cwd, empty stdin.
    setpgid(0, 0);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (chdir(root.c_str()) != 0) {
      _exit(126);
    }
    if (user && (initgroups(user->pw_name, user->pw_gid) != 0 || setgid(user->pw_gid) != 0 ||
                 setuid(user->pw_uid) != 0)) {
      _exit(126);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (on_start) {
    on_start(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + context.command_timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[4096];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    const int n = poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
      if (got <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      Bytes& sink = i == 0 ? result.out : result.err;
      const std::size_t room = max_output > sink.size() ? max_output - sink.size() : 0;
      sink.insert(sink.end(), buffer, buffer + std::min<std::size_t>(room, static_cast<std::size_t>(got)));
    }
  }
  for (const pollfd& f : fds) {
    if (f.fd >= 0) {
      close(f.fd);
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code == 127 && !result.timed_out) {
      result.error = "cannot run " + argv[0];
    }
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

}  // namespace fdo::fsim
