#pragma once
// A throwaway PostgreSQL 15 cluster for the tests (docs/scaling.md "Tests"): initdb into a temporary folder as an
// unprivileged user, the server listening on 127.0.0.1 at a free port and on a socket in that folder, stopped
// and removed at the end. One cluster per test process, started on first use; a fresh database per test.
// scripts/setup.sh installs postgresql-15; the tests fail, never skip, when it is missing.

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/storage/postgres_store.h"

namespace fdo::storage::test {

/// Where Debian's postgresql-15 puts its programs (not on PATH).
inline const std::filesystem::path kPostgresBin = "/usr/lib/postgresql/15/bin";
/// The unprivileged user the cluster runs as when the tests run as root (initdb refuses root).
inline constexpr const char* kPostgresTestUser = "fdo-pgtest";

class PostgresCluster {
 public:
  /// The database superuser's name and password (host connections need the password: scram-sha-256).
  static constexpr const char* kUser = "fdo";
  static constexpr const char* kPassword = "fdo-test-password";

  PostgresCluster() {
    if (!std::filesystem::exists(kPostgresBin / "initdb")) {
      throw_internal("PostgreSQL 15 is not installed (" + (kPostgresBin / "initdb").string() +
                     "): run scripts/setup.sh");
    }
    resolve_user();
    std::error_code ec;
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                      : std::filesystem::temp_directory_path();
    m_dir = base / ("fdo-pgtest-" + to_hex(random_bytes(8)));
    std::filesystem::create_directories(m_dir);
    if (m_as_other_user && ::chown(m_dir.c_str(), m_uid, m_gid) != 0) {
      throw_internal("cannot chown " + m_dir.string() + " to " + kPostgresTestUser);
    }
    ::chmod(m_dir.c_str(), 0700);
    const std::filesystem::path pwfile = m_dir / "pwfile";
    {
      std::ofstream out(pwfile);
      out << kPassword << "\n";
    }
    if (m_as_other_user && ::chown(pwfile.c_str(), m_uid, m_gid) != 0) {
      throw_internal("cannot chown " + pwfile.string());
    }
    run({(kPostgresBin / "initdb").string(), "-D", (m_dir / "data").string(), "-U", kUser, "--pwfile",
         pwfile.string(), "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "-N",
         "--no-instructions"},
        m_dir / "initdb.log");
    m_port = free_port();
    start_server();
  }
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;
  ~PostgresCluster() {
    stop_server();
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }

  [[nodiscard]] int port() const { return m_port; }

  /// A new, empty database; its name.
  std::string create_database() {
    const std::string name = "t_" + to_hex(random_bytes(6));
    psql("postgres", "CREATE DATABASE " + name);
    return name;
  }
  /// The URI of database `name` over TCP on 127.0.0.1 (the password is not in it).
  [[nodiscard]] std::string uri(const std::string& name) const {
    return "postgresql://" + std::string(kUser) + "@127.0.0.1:" + std::to_string(m_port) + "/" + name +
           "?sslmode=disable";
  }
  /// Options carrying the password.
  [[nodiscard]] static PostgresOptions options(std::size_t pool_size = 8) {
    PostgresOptions o;
    o.pool_size = pool_size;
    o.password = SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(kPassword), std::strlen(kPassword)));
    return o;
  }
  /// A store on a fresh database.
  std::unique_ptr<Store> open_fresh_store() { return open_postgres_store(uri(create_database()), options()); }

  /// Runs `sql` in database `db` through psql on the cluster's socket; its unaligned output, one row a line.
  /// Throws if psql fails.
  std::string psql(const std::string& db, const std::string& sql) {
    const std::filesystem::path out = m_dir / ("psql-" + to_hex(random_bytes(6)) + ".out");
    const int status = run_status({(kPostgresBin / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                   "-h", m_dir.string(), "-p", std::to_string(m_port), "-U", kUser, "-d", db, "-c",
                                   sql},
                                  out, /*as_postgres_user=*/false);
    const std::string text = slurp(out);
    std::error_code ec;
    std::filesystem::remove(out, ec);
    if (status != 0) {
      throw_internal("psql failed (" + std::to_string(status) + "): " + text);
    }
    return text;
  }

  /// Stops the server abruptly and starts it again on the same port (for tests of lost connections).
  void restart() {
    stop_server();
    start_server();
  }

 private:
  void resolve_user() {
    if (::geteuid() != 0) {
      return;
    }
    m_as_other_user = true;
    if (::getpwnam(kPostgresTestUser) == nullptr) {
      // Concurrent test processes may race here; whoever loses finds the user made by the other.
      (void)run_status({"/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        kPostgresTestUser},
                       "/dev/null", false);
    }
    const passwd* pw = ::getpwnam(kPostgresTestUser);
    if (pw == nullptr) {
      throw_internal(std::string("cannot create the system user ") + kPostgresTestUser + " for PostgreSQL tests");
    }
    m_uid = pw->pw_uid;
    m_gid = pw->pw_gid;
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw_internal("cannot find a free port on 127.0.0.1");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  void start_server() {
    const std::vector<std::string> argv = wrap({(kPostgresBin / "postgres").string(), "-D", (m_dir / "data").string(),
                                                "-c", "listen_addresses=127.0.0.1", "-p", std::to_string(m_port),
                                                "-c", "unix_socket_directories=" + m_dir.string(), "-c", "fsync=off",
                                                "-c", "max_connections=100", "-c", "shared_buffers=16MB"},
                                               true);
    m_server = spawn(argv, m_dir / "server.log");
    // Ready once psql gets an answer; a server that died is reported with its log.
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (::waitpid(m_server, &status, WNOHANG) == m_server) {
        m_server = -1;
        throw_internal("postgres exited at start: " + slurp(m_dir / "server.log"));
      }
      if (run_status({(kPostgresBin / "pg_isready").string(), "-q", "-h", m_dir.string(), "-p",
                      std::to_string(m_port)},
                     "/dev/null", false) == 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw_internal("postgres did not start in 30 s: " + slurp(m_dir / "server.log"));
  }

  void stop_server() noexcept {
    if (m_server <= 0) {
      return;
    }
    // SIGQUIT is PostgreSQL's immediate shutdown (pg_ctl stop -m immediate).
    ::kill(m_server, SIGQUIT);
    int status = 0;
    ::waitpid(m_server, &status, 0);
    m_server = -1;
  }

  // argv run as the cluster's user when we are root: setpriv changes user and execs, so the child stays ours and
  // dies with us (--pdeathsig) even if the test process is killed.
  [[nodiscard]] std::vector<std::string> wrap(std::vector<std::string> argv, bool as_postgres_user) const {
    if (!as_postgres_user) {
      argv.insert(argv.begin(), {"/usr/bin/setpriv", "--pdeathsig=KILL", "--"});
      return argv;
    }
    if (!m_as_other_user) {
      argv.insert(argv.begin(), {"/usr/bin/setpriv", "--pdeathsig=KILL", "--"});
      return argv;
    }
    argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=" + std::to_string(m_uid),
                               "--regid=" + std::to_string(m_gid), "--clear-groups", "--pdeathsig=KILL", "--"});
    return argv;
  }

  static pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      throw_internal("fork failed");
    }
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) {
        ::dup2(null, 0);
      }
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return pid;
  }

  int run_status(const std::vector<std::string>& argv, const std::filesystem::path& log, bool as_postgres_user) {
    const pid_t pid = spawn(wrap(argv, as_postgres_user), log);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) {
      return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void run(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    if (m_as_other_user) {
      // The log is written by the child after it changed user: let it create the file in our folder.
      std::ofstream(log.string()).close();
      (void)::chown(log.c_str(), m_uid, m_gid);
    }
    const int status = run_status(argv, log, true);
    if (status != 0) {
      throw_internal(argv[0] + " failed (" + std::to_string(status) + "): " + slurp(log));
    }
  }

  static std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path m_dir;
  bool m_as_other_user = false;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
  int m_port = 0;
  pid_t m_server = -1;
};

/// The test process's cluster, started on first use and stopped when the process exits. Call it first from the
/// main thread: the server is told to die with the thread that started it (PR_SET_PDEATHSIG).
inline PostgresCluster& postgres_cluster() {
  static PostgresCluster cluster;
  return cluster;
}

}  // namespace fdo::storage::test
