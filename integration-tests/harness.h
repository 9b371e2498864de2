#pragma once
// Integration-test harness (docs/style.md §9): every role is a real process from build/bin, started by a guard
// object that learns its port from the "listening on http://HOST:PORT" line, stops it with SIGTERM, and
// prints its log when the test failed; temporary directories that clean up; a raw HTTP client for
// hand-made FDO requests; a JSON reader (over nlohmann-json) for the tools' `--json` output.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "libfdo/core/bytes.h"

namespace fdo::integration {

// ---- Files and binaries ----

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  /// path() / name.
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

/// build/bin/<name>: where the tools are (FDO_BIN_DIR).
std::filesystem::path binary(std::string_view name);
/// Whether build/bin/<name> exists and is executable.
bool has_binary(std::string_view name);

// ---- Running tools ----

/// How a finished process ended and what it printed.
struct RunResult {
  /// The exit status, or 128 + signal number when a signal ended it.
  int exit_code = -1;
  std::string out;
  std::string err;
  /// "exit 1; stderr: …" for assertion messages.
  [[nodiscard]] std::string describe() const;
};

/// Runs build/bin/<name> with `args` to completion (killed after `timeout`), capturing stdout and stderr.
RunResult run_tool(std::string_view name, const std::vector<std::string>& args,
                   std::chrono::seconds timeout = std::chrono::seconds(120));

/// Runs a system program (argv[0] looked up in PATH: openssl, python3, …) to completion, as run_tool does.
RunResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(60));

/// A server process: started from build/bin with its arguments, stdout and stderr in one log file; ready
/// once it printed "listening on http://HOST:PORT". Stopped with SIGTERM by stop() or the destructor, which
/// also prints the log when the current test has failed.
class ServerProcess {
 public:
  /// Starts build/bin/<name> with `args` (give it `--listen 127.0.0.1:0`) and waits up to `ready_timeout`
  /// for the listening line. Throws std::runtime_error with the log if it exits or times out first.
  ServerProcess(std::string_view name, std::vector<std::string> args,
                std::chrono::seconds ready_timeout = std::chrono::seconds(60));
  /// Starts another program (`program` an absolute path: haproxy) with `args`, stdout and stderr in its log, without
  /// waiting for a listening line: the test checks its readiness itself. url() and port() stay empty.
  static std::unique_ptr<ServerProcess> start_program(const std::filesystem::path& program,
                                                      std::vector<std::string> args);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// "http://127.0.0.1:PORT" as printed.
  [[nodiscard]] const std::string& url() const { return m_url; }
  [[nodiscard]] std::uint16_t port() const { return m_port; }
  /// Everything the process wrote so far.
  [[nodiscard]] std::string log() const;
  /// The URL of its "admin listening on URL" line (printed just after the listening one), waiting up to 2 s for it;
  /// empty when none comes.
  [[nodiscard]] std::string admin_url() const;
  /// The URL of the owner's "platform listening on URL" line, or empty if none within 2 s.
  [[nodiscard]] std::string platform_url() const;
  /// Sends SIGTERM and waits (SIGKILL after 20 s); returns the exit status as RunResult::exit_code does.
  int stop();
  /// Sends SIGKILL and waits: the process gets no chance to clean up.
  void kill();
  [[nodiscard]] bool running() const { return m_pid > 0; }
  /// The process id (for fdo-loadgen --server-pid); -1 once stopped.
  [[nodiscard]] pid_t pid() const { return m_pid; }

 private:
  int wait_for_exit(std::chrono::seconds timeout);
  /// The rest of the first log line holding `marker`, waiting up to 2 s for it.
  [[nodiscard]] std::string listed_url(std::string_view marker) const;
  ServerProcess() = default;

  std::string m_name;
  std::unique_ptr<TempDir> m_log_dir;
  std::filesystem::path m_log;
  pid_t m_pid = -1;
  std::string m_url;
  std::uint16_t m_port = 0;
};

// ---- Raw HTTP ----

/// An HTTP response as read off the socket.
struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  Bytes body;
  /// The first value of header `name` (case-insensitive).
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// One HTTP/1.1 request on a fresh connection (Connection: close) to `base_url` ("http://127.0.0.1:PORT"):
/// `headers` are sent as given, then Content-Length (unless `send_length` is false and the body is empty).
/// Throws std::runtime_error when the server cannot be reached or the answer is not HTTP.
HttpResponse http_request(const std::string& base_url, const std::string& method, const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& headers = {}, ByteView body = {});

/// POST /fdo/101/msg/<type> with Content-Type application/cbor and, when given, the Authorization value
/// verbatim (e.g. "Bearer abc").
HttpResponse post_message(const std::string& base_url, std::uint8_t type, ByteView body,
                          const std::optional<std::string>& authorization = std::nullopt);

/// Checks the 200 form of an FDO reply (TR-06, FDO 1.1 §4.3): status 200, Content-Type application/cbor,
/// Message-Type `type`, Content-Length of the body, "Bearer <token>"; returns the Authorization value.
std::string expect_ok(const HttpResponse& r, std::uint8_t type);

// ---- JSON ----

/// A parsed JSON document (RFC 8259, read by nlohmann-json) or a value inside one, with the accessors the tests
/// use to read the tools' output. Copies share the document. Every accessor throws std::runtime_error naming
/// what is missing or of the wrong type, so a test fails with a message instead of undefined behaviour.
class Json {
 public:
  /// Parses one document; throws std::runtime_error with nlohmann's message (which gives the offset).
  static Json parse(std::string_view text);

  [[nodiscard]] bool is_null() const;
  /// The member `key` of an object.
  [[nodiscard]] Json operator[](std::string_view key) const;
  /// Whether an object has member `key`.
  [[nodiscard]] bool has(std::string_view key) const;
  /// Element `i` of an array.
  [[nodiscard]] Json at(std::size_t i) const;
  /// Elements of an array, members of an object.
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] const std::string& str() const;
  [[nodiscard]] bool boolean() const;
  [[nodiscard]] std::int64_t integer() const;
  /// Compact JSON with object members in their original order.
  [[nodiscard]] std::string dump() const;
  /// The nlohmann value, for tests that need more than the accessors above.
  [[nodiscard]] const nlohmann::ordered_json& node() const;

 private:
  explicit Json(std::shared_ptr<const nlohmann::ordered_json> root, const nlohmann::ordered_json* node = nullptr)
      : m_root(std::move(root)), m_node(node) {}

  std::shared_ptr<const nlohmann::ordered_json> m_root;
  const nlohmann::ordered_json* m_node;  // inside *m_root; nullptr: the root itself
};

}  // namespace fdo::integration
