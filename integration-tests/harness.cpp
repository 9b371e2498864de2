#include "integration-tests/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "libfdo/core/hex.h"
#include "libfdo/core/url.h"

namespace fdo::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Forks and execs `path` with `args`; the child's stdout and stderr go to the given files.
pid_t spawn(const std::filesystem::path& path, const std::vector<std::string>& args,
            const std::filesystem::path& out, const std::filesystem::path& err) {
  std::vector<std::string> argv_storage = {path.string()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    const int fd_out = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int fd_err = out == err ? fd_out : ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd_out < 0 || fd_err < 0) {
      _exit(127);
    }
    dup2(fd_out, STDOUT_FILENO);
    dup2(fd_err, STDERR_FILENO);
    // The test may block signals in its threads; the child starts with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

// Waits for `pid` up to `timeout`; nullopt if it is still running.
std::optional<int> wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return exit_code_of(status);
    }
    if (r < 0 && errno != EINTR) {
      return -1;
    }
    if (Clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fdo-it-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  m_path = pattern;
}

TempDir::~TempDir() {
  // FDO_IT_KEEP=1 keeps every test's folder (traces, logs, vouchers) for reading afterwards.
  if (const char* keep = std::getenv("FDO_IT_KEEP"); keep != nullptr && *keep != '\0' && *keep != '0') {
    std::fprintf(stderr, "kept %s\n", m_path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::filesystem::path binary(std::string_view name) { return std::filesystem::path(FDO_BIN_DIR) / name; }

bool has_binary(std::string_view name) { return ::access(binary(name).c_str(), X_OK) == 0; }

// ---- run_tool ----

std::string RunResult::describe() const {
  return "exit " + std::to_string(exit_code) + "; stdout: " + out + "; stderr: " + err;
}

RunResult run_tool(std::string_view name, const std::vector<std::string>& args, std::chrono::seconds timeout) {
  const TempDir dir;
  const pid_t pid = spawn(binary(name), args, dir / "out", dir / "err");
  std::optional<int> code = wait_pid(pid, timeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    code = wait_pid(pid, std::chrono::seconds(10));
    ADD_FAILURE() << name << " did not finish within " << timeout.count() << " s";
  }
  return RunResult{code.value_or(-1), read_text(dir / "out"), read_text(dir / "err")};
}

RunResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  if (argv.empty()) {
    throw std::runtime_error("run_command: no program");
  }
  std::filesystem::path program = argv.front();
  if (program.filename() == program) {
    const char* path_env = std::getenv("PATH");
    std::string paths = path_env != nullptr ? path_env : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= paths.size();) {
      const std::size_t end = std::min(paths.find(':', start), paths.size());
      const std::filesystem::path candidate = std::filesystem::path(paths.substr(start, end - start)) / program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        program = candidate;
        break;
      }
      start = end + 1;
    }
  }
  const TempDir dir;
  const pid_t pid = spawn(program, std::vector<std::string>(argv.begin() + 1, argv.end()), dir / "out", dir / "err");
  std::optional<int> code = wait_pid(pid, timeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    code = wait_pid(pid, std::chrono::seconds(10));
    ADD_FAILURE() << argv.front() << " did not finish within " << timeout.count() << " s";
  }
  return RunResult{code.value_or(-1), read_text(dir / "out"), read_text(dir / "err")};
}

// ---- ServerProcess ----

ServerProcess::ServerProcess(std::string_view name, std::vector<std::string> args, std::chrono::seconds ready_timeout)
    : m_name(name), m_log_dir(std::make_unique<TempDir>()), m_log(*m_log_dir / "server.log") {
  m_pid = spawn(binary(name), args, m_log, m_log);
  // The line that starts with it (not "admin listening on …"); http:// or https://.
  constexpr std::string_view kReady = "listening on ";
  const auto deadline = Clock::now() + ready_timeout;
  for (;;) {
    const std::string text = "\n" + log();
    const std::size_t at = text.find("\n" + std::string(kReady));
    if (at != std::string::npos) {
      const std::size_t start = at + 1 + kReady.size();
      const std::size_t end = text.find('\n', start);
      if (end != std::string::npos) {
        m_url = text.substr(start, end - start);
        m_port = parse_url(m_url).port;
        return;
      }
    }
    if (const std::optional<int> code = wait_pid(m_pid, std::chrono::milliseconds(0))) {
      m_pid = -1;
      throw std::runtime_error(m_name + " exited with " + std::to_string(*code) + " before listening:\n" + text);
    }
    if (Clock::now() >= deadline) {
      kill();
      throw std::runtime_error(m_name + " did not print '" + std::string(kReady) + "…' in time:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::unique_ptr<ServerProcess> ServerProcess::start_program(const std::filesystem::path& program,
                                                            std::vector<std::string> args) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  p->m_name = program.filename().string();
  p->m_log_dir = std::make_unique<TempDir>();
  p->m_log = *p->m_log_dir / "server.log";
  p->m_pid = spawn(program, args, p->m_log, p->m_log);
  return p;
}

ServerProcess::~ServerProcess() {
  if (m_pid > 0) {
    stop();
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- log of " << m_name << " (" << m_url << ") ----\n" << log() << "---- end of log ----\n";
  }
}

std::string ServerProcess::log() const { return read_text(m_log); }

std::string ServerProcess::admin_url() const { return listed_url("admin listening on "); }

std::string ServerProcess::platform_url() const { return listed_url("platform listening on "); }

std::string ServerProcess::listed_url(std::string_view marker) const {
  for (int i = 0; i < 200; ++i) {
    const std::string text = log();
    const std::size_t at = text.find(marker);
    const std::size_t end = at == std::string::npos ? at : text.find('\n', at);
    if (end != std::string::npos) {
      return text.substr(at + marker.size(), end - at - marker.size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

int ServerProcess::wait_for_exit(std::chrono::seconds timeout) {
  std::optional<int> code = wait_pid(m_pid, timeout);
  if (!code) {
    ::kill(m_pid, SIGKILL);
    code = wait_pid(m_pid, std::chrono::seconds(10));
  }
  m_pid = -1;
  return code.value_or(-1);
}

int ServerProcess::stop() {
  if (m_pid <= 0) {
    return -1;
  }
  ::kill(m_pid, SIGTERM);
  return wait_for_exit(std::chrono::seconds(20));
}

void ServerProcess::kill() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, SIGKILL);
  static_cast<void>(wait_for_exit(std::chrono::seconds(10)));
}

// ---- HTTP ----

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

HttpResponse http_request(const std::string& base_url, const std::string& method, const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& headers, ByteView body) {
  const Url url = parse_url(base_url);
  if (!is_ipv4_literal(url.host)) {
    throw std::runtime_error("http_request: only IPv4 literals are supported, got " + url.host);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw std::runtime_error("socket failed");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(url.port);
  inet_pton(AF_INET, url.host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot connect to " + base_url + ": " + std::strerror(errno));
  }
  std::string head = method + " " + path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
                     "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) {
    head += k + ": " + v + "\r\n";
  }
  if (!body.empty() || method == "POST") {
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  head += "\r\n";
  Bytes request = to_bytes(head);
  append(request, body);
  // A server may answer and close before it has read an oversize body: send errors are not fatal.
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    raw.append(buf, static_cast<std::size_t>(n));
  }
  const std::size_t end_of_head = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || end_of_head == std::string::npos) {
    throw std::runtime_error("no HTTP answer from " + base_url + path);
  }
  HttpResponse response;
  std::istringstream lines(raw.substr(0, end_of_head));
  std::string line;
  std::getline(lines, line);
  response.status = std::stoi(line.substr(line.find(' ') + 1, 3));
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    response.headers.emplace_back(line.substr(0, colon), value);
  }
  const std::string content = raw.substr(end_of_head + 4);
  response.body.assign(content.begin(), content.end());
  if (const auto length = response.header("Content-Length")) {
    response.body.resize(std::min(response.body.size(), static_cast<std::size_t>(std::stoul(*length))));
  }
  return response;
}

HttpResponse post_message(const std::string& base_url, std::uint8_t type, ByteView body,
                          const std::optional<std::string>& authorization) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/cbor"}};
  if (authorization) {
    headers.emplace_back("Authorization", *authorization);
  }
  return http_request(base_url, "POST", "/fdo/101/msg/" + std::to_string(type), headers, body);
}

std::string expect_ok(const HttpResponse& r, std::uint8_t type) {
  EXPECT_EQ(r.status, 200) << to_hex(r.body);
  EXPECT_EQ(r.header("Content-Type"), std::optional<std::string>("application/cbor"));
  EXPECT_EQ(r.header("Message-Type"), std::optional<std::string>(std::to_string(type)));
  EXPECT_EQ(r.header("Content-Length"), std::optional<std::string>(std::to_string(r.body.size())));
  const std::string auth = r.header("Authorization").value_or("");
  EXPECT_EQ(auth.rfind("Bearer ", 0), 0u) << auth;
  return auth;
}

// ---- JSON ----

Json Json::parse(std::string_view text) {
  try {
    return Json(std::make_shared<const nlohmann::ordered_json>(nlohmann::ordered_json::parse(text)));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("JSON: ") + e.what());
  }
}

const nlohmann::ordered_json& Json::node() const {
  return m_node != nullptr ? *m_node : *m_root;
}

Json Json::operator[](std::string_view key) const {
  const nlohmann::ordered_json& n = node();
  if (n.is_object()) {
    const auto it = n.find(key);
    if (it != n.end()) {
      return Json(m_root, &*it);
    }
  }
  throw std::runtime_error("JSON: no member '" + std::string(key) + "' in " + dump());
}

bool Json::has(std::string_view key) const {
  return node().is_object() && node().contains(key);
}

Json Json::at(std::size_t i) const {
  if (!node().is_array() || i >= node().size()) {
    throw std::runtime_error("JSON: no element " + std::to_string(i) + " in " + dump());
  }
  return Json(m_root, &node()[i]);
}

std::size_t Json::size() const {
  return node().is_array() || node().is_object() ? node().size() : 0;
}

bool Json::is_null() const {
  return node().is_null();
}

const std::string& Json::str() const {
  if (!node().is_string()) {
    throw std::runtime_error("JSON: not a string: " + dump());
  }
  return node().get_ref<const std::string&>();
}

bool Json::boolean() const {
  if (!node().is_boolean()) {
    throw std::runtime_error("JSON: not a boolean: " + dump());
  }
  return node().get<bool>();
}

std::int64_t Json::integer() const {
  if (!node().is_number_integer()) {
    throw std::runtime_error("JSON: not an integer: " + dump());
  }
  return node().get<std::int64_t>();
}

std::string Json::dump() const {
  return node().dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace fdo::integration
