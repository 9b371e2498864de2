#pragma once
// Tests only: a private swtpm (the libtpms TPM 2.0 simulator) on a free loopback port pair, its state in a
// temporary directory (a factory-new TPM) or a given one, stopped on destruction (docs/tpm-credentials.md "Testing").
// The swtpm TCTI talks to port P and its control channel at P + 1.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fdo::tpm::testing {

class Swtpm {
 public:
  /// Starts swtpm; nullptr (with `why` set) when it cannot start, which is the only reason a TPM test may skip.
  static std::unique_ptr<Swtpm> start(std::string* why, std::filesystem::path state_dir = {}) {
    std::unique_ptr<Swtpm> t(new Swtpm());
    if (state_dir.empty()) {
      const char* base = std::getenv("TMPDIR");
      std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/fdo-swtpm-XXXXXX";
      if (mkdtemp(tmpl.data()) == nullptr) {
        *why = "cannot create a swtpm state directory";
        return nullptr;
      }
      t->m_state = tmpl;
      t->m_own_state = true;
    } else {
      std::filesystem::create_directories(state_dir);
      t->m_state = state_dir;
    }
    std::random_device rd;
    std::mt19937 gen(rd());
    std::uniform_int_distribution<int> dist(20000, 59000);
    for (int attempt = 0; attempt < 20; ++attempt) {
      const int port = dist(gen);
      if (!port_free(port) || !port_free(port + 1)) {
        continue;
      }
      if (t->launch(port)) {
        return t;
      }
    }
    *why = "swtpm did not start (is the swtpm package installed? scripts/setup.sh installs it)";
    return nullptr;
  }

  ~Swtpm() {
    stop();
    if (m_own_state) {
      std::error_code ec;
      std::filesystem::remove_all(m_state, ec);
    }
  }
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;

  [[nodiscard]] std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(m_port); }
  [[nodiscard]] const std::filesystem::path& state_dir() const { return m_state; }
  [[nodiscard]] int port() const { return m_port; }

  /// SIGTERM and wait: swtpm saves its state.
  void stop() { signal_and_wait(SIGTERM); }
  /// SIGKILL: a power cut.
  void kill() { signal_and_wait(SIGKILL); }
  /// Starts again on the same port and state (after stop() or kill()).
  bool restart() { return launch(m_port); }

 private:
  Swtpm() = default;

  static sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  static bool port_free(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      return false;
    }
    sockaddr_in addr = loopback(port);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }

  static bool can_connect(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      return false;
    }
    sockaddr_in addr = loopback(port);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }

  bool launch(int port) {
    const std::string server = "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1";
    const std::string ctrl = "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1";
    const std::string state = "dir=" + m_state.string();
    std::vector<std::string> args = {"swtpm",  "socket",  "--tpm2", "--server", server,
                                     "--ctrl", ctrl,      "--flags", "not-need-init,startup-clear",
                                     "--tpmstate", state};
    const pid_t pid = fork();
    if (pid < 0) {
      return false;
    }
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execvp("swtpm", argv.data());
      _exit(127);
    }
    m_pid = pid;
    m_port = port;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        return false;
      }
      if (can_connect(port) && can_connect(port + 1)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    signal_and_wait(SIGKILL);
    return false;
  }

  void signal_and_wait(int sig) {
    if (m_pid > 0) {
      ::kill(m_pid, sig);
      int status = 0;
      waitpid(m_pid, &status, 0);
      m_pid = -1;
    }
  }

  std::filesystem::path m_state;
  bool m_own_state = false;
  pid_t m_pid = -1;
  int m_port = 0;
};

}  // namespace fdo::tpm::testing
