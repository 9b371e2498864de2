// Every ServiceInfo module in one onboarding, all real processes on loopback: the owner's plan runs fido_alliance,
// fdo_sys (a script under the device root), fdo.command, fdo.download (1 MiB), fdo.wget (from a loopback HTTP server
// the test starts), fdo.upload (the file the script wrote), Password-Manager (a temporary shadow file), AsymKey and
// fdo.csr (certificates under the owner's device-application CA); the device's files and the owner's device status
// are checked afterwards (docs/service-info.md "Modules").
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "integration-tests/supply_chain.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"

namespace fdo::integration {
namespace {

// `python3 -m http.server` on 127.0.0.1, a free port, serving `dir`, for fdo.wget (stopped with the test).
class FileServer {
 public:
  explicit FileServer(const std::string& dir) : m_log(m_tmp / "http.log") {
    m_pid = fork();
    if (m_pid == 0) {
      const int fd = ::open(m_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      execlp("python3", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    // It prints "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ...".
    for (int i = 0; i < 100 && m_url.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const std::string text = to_string(read_file_if_exists(m_log).value_or(Bytes{}));
      const std::size_t at = text.find("(http://");
      if (at != std::string::npos && text.find('/', at + 8) != std::string::npos) {
        m_url = text.substr(at + 1, text.find('/', at + 8) - at - 1);
      }
    }
  }
  ~FileServer() {
    if (m_pid > 0) {
      kill(m_pid, SIGTERM);
      waitpid(m_pid, nullptr, 0);
    }
  }
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;
  /// "http://127.0.0.1:N", empty if the server did not start.
  [[nodiscard]] const std::string& url() const { return m_url; }

 private:
  TempDir m_tmp;
  std::filesystem::path m_log;
  pid_t m_pid = -1;
  std::string m_url;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string sha384_hex(const Bytes& data) { return to_hex(crypto::hash(crypto::HashAlg::Sha384, data)); }

TEST_F(SupplyChain, OneOnboardingRunsEveryModule) {
  const std::string credential = path("all.cred");
  const std::string guid = device(credential, "p256");
  const std::string owner_dir = owner_with(guid, "p256");

  // What the owner installs: a script, a 1 MiB file, a file to be fetched over HTTP.
  const std::string plan_dir = path("plan");
  const std::string web_dir = path("web");
  std::filesystem::create_directories(plan_dir);
  std::filesystem::create_directories(web_dir);
  write_text(plan_dir + "/setup.sh", "echo installed > marker.txt\nexit 0\n");
  Bytes firmware(1 << 20);
  for (std::size_t i = 0; i < firmware.size(); ++i) {
    firmware[i] = static_cast<std::uint8_t>((i * 2654435761U) >> 13);
  }
  write_file_atomic(plan_dir + "/firmware.bin", firmware, 0644);
  write_text(web_dir + "/app.conf", "mode=production\n");
  const FileServer web(web_dir);
  ASSERT_FALSE(web.url().empty()) << "python3 -m http.server did not start";
  std::filesystem::create_directories(plan_dir + "/uploads");
  write_text(plan_dir + "/plan.toml", R"(modules = ["fido_alliance", "fdo_sys", "fdo.command", "fdo.download",
           "fdo.wget", "fdo.upload", "Password-Manager", "AsymKey", "fdo.csr"]
[params.fido_alliance]
token = "it-token"
[params.fdo_sys]
files = ["setup.sh"]
exec = ["sh", "setup.sh"]
[params."fdo.command"]
command = "sh"
args = ["-c", "echo hello-from-command"]
[params."fdo.download"]
file = "firmware.bin"
name = "opt/firmware.bin"
[params."fdo.wget"]
url = ")" + web.url() + R"(/app.conf"
name = "etc/app.conf"
[params."fdo.upload"]
name = "marker.txt"
to = "uploads"
[params.Password-Manager]
user = "operator"
password = "s3cret-Pa55"
disable = ["root"]
[params.AsymKey]
slot = "0"
[params."fdo.csr"]
validity_days = "30"
)");
  const std::string root = path("device-root");
  std::filesystem::create_directories(root);
  const std::string shadow = path("shadow");
  write_text(shadow, "root:$6$old$hash:19000:0:99999:7:::\noperator:*:19000:0:99999:7:::\n");

  const auto owner = serve(owner_dir, {"--plan", plan_dir + "/plan.toml"});
  await_registered(owner_dir, guid);
  const RunResult r = onboard(credential, {"--root", root, "--shadow-file", shadow, "--command-timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << owner->log();

  // The device side: every module's work is under its root (or in its shadow file).
  EXPECT_EQ(to_string(read_file(root + "/marker.txt")), "installed\n");
  EXPECT_EQ(sha384_hex(read_file(root + "/opt/firmware.bin")), sha384_hex(firmware));
  EXPECT_EQ(to_string(read_file(root + "/etc/app.conf")), "mode=production\n");
  EXPECT_EQ(to_string(read_file(plan_dir + "/uploads/marker.txt")), "installed\n");
  const std::string shadow_text = to_string(read_file(shadow));
  EXPECT_NE(shadow_text.find("root:!$6$old$hash:"), std::string::npos) << shadow_text;
  const std::size_t op = shadow_text.find("operator:$6$");
  ASSERT_NE(op, std::string::npos) << shadow_text;
  const std::string hash = shadow_text.substr(op + 9, shadow_text.find(':', op + 9) - op - 9);
  const RunResult check = run_command(
      {"python3", "-W", "ignore", "-c", "import crypt,sys; sys.exit(crypt.crypt('s3cret-Pa55', sys.argv[1]) != sys.argv[1])",
       hash});
  EXPECT_EQ(check.exit_code, 0) << "the operator's hash is not SHA-512 crypt of the password: " << hash;
  for (const std::string cert : {"/asymkey/0/cert.pem", "/fdo.csr/cert.pem"}) {
    const RunResult verify =
        run_command({"openssl", "verify", "-CAfile", owner_dir + "/device-app-ca.cert.pem", root + cert});
    EXPECT_EQ(verify.exit_code, 0) << cert << ": " << verify.describe();
    const std::string key = cert.substr(0, cert.rfind('/')) + "/key.pem";
    const RunResult cert_pub = run_command({"openssl", "x509", "-in", root + cert, "-noout", "-pubkey"});
    const RunResult key_pub = run_command({"openssl", "pkey", "-in", root + key, "-pubout"});
    EXPECT_EQ(cert_pub.out, key_pub.out) << cert << ": the certificate is not for the device's own key";
  }

  // The owner side: one status line per module, with what it did.
  const Json s = status(owner_dir, guid);
  EXPECT_EQ(s["state"].str(), "onboarded");
  std::string lines;
  for (std::size_t i = 0; i < s["modules"].size(); ++i) {
    lines += s["modules"].at(i).str() + "\n";
  }
  for (const std::string module : {"fido_alliance: done", "fdo_sys: done", "fdo.command: done", "fdo.download: done",
                                   "fdo.wget: done", "fdo.upload: done", "Password-Manager: done", "AsymKey: done",
                                   "fdo.csr: done"}) {
    EXPECT_NE(lines.find(module), std::string::npos) << module << " missing in\n" << lines;
  }
  EXPECT_NE(lines.find("exit 0"), std::string::npos) << lines;
  EXPECT_EQ(lines.find("s3cret"), std::string::npos) << "a password reached the status";
  const Json out = Json::parse(r.out);
  EXPECT_GE(out["modules"].size(), 9u);
}

}  // namespace
}  // namespace fdo::integration
