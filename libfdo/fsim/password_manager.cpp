#include "libfdo/fsim/password_manager.h"

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

constexpr std::string_view kUser = "user";
constexpr std::string_view kPass = "pass";
constexpr std::string_view kPassHash = "pass-hash";
constexpr std::string_view kLoginDisable = "login-disable";
constexpr std::string_view kStatus = "status";
constexpr std::size_t kMaxShadow = std::size_t{4} << 20;

std::string key(std::string_view message) { return serviceinfo::make_key(kPasswordManager, message); }

/// A value that cannot go into a shadow field (docs/service-info.md "Password-Manager").
bool bad_field(std::string_view v) {
  return v.find_first_of(std::string_view(":\n\0", 3)) != std::string_view::npos;
}

/// Writes `text` over `path` atomically: temp file in the same directory with the old file's owner and mode, fsync,
/// rename, fsync of the directory. Throws Error(InternalServerError) with the reason; the old file stays on failure.
void rewrite_keeping_mode(const std::filesystem::path& path, const std::string& text) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw_internal("stat " + path.string() + ": " + std::strerror(errno));
  }
  std::string tmp = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    throw_internal("cannot create a temporary file next to " + path.string() + ": " + std::strerror(errno));
  }
  const auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw_internal(what + " " + tmp + ": " + std::strerror(err));
  };
  if (::fchmod(fd, st.st_mode & 07777) != 0) {
    fail("fchmod");
  }
  // Keep the owner (root:shadow for /etc/shadow); only root may give a file away, so others keep their own.
  if (::fchown(fd, st.st_uid, st.st_gid) != 0 && ::geteuid() == 0) {
    fail("fchown");
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw_internal("rename " + tmp + ": " + std::strerror(err));
  }
  const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

/// Days since 1970-01-01, the shadow file's lastchg.
std::string days_today() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::hours>(now).count() / 24);
}

/// Changes field 2 (the hash) of `user`'s line with `change`, and lastchg when `set_lastchg`. Returns the status
/// code; `why` says what went wrong.
PasswordStatus edit_shadow(const std::filesystem::path& path, const std::string& user, bool set_lastchg,
                           const std::function<std::string(const std::string&)>& change, std::string& why) {
  const FileRead read = read_file_checked(path, kMaxShadow);
  if (!read.data) {
    why = "cannot read " + path.string() + ": " + read.problem;
    return PasswordStatus::Storage;
  }
  const std::string text(read.data->begin(), read.data->end());
  std::string out;
  bool found = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool newline = end != std::string::npos;
    if (!newline) {
      end = text.size();
    }
    std::string line = text.substr(pos, end - pos);
    pos = newline ? end + 1 : end;
    const std::size_t c1 = line.find(':');
    if (!found && c1 != std::string::npos && line.compare(0, c1, user) == 0) {
      std::size_t c2 = line.find(':', c1 + 1);
      if (c2 == std::string::npos) {
        c2 = line.size();
      }
      std::string rest = line.substr(c2);
      if (set_lastchg && !rest.empty()) {
        const std::size_t c3 = rest.find(':', 1);
        rest = ":" + days_today() + (c3 == std::string::npos ? std::string() : rest.substr(c3));
      }
      line = user + ":" + change(line.substr(c1 + 1, c2 - c1 - 1)) + rest;
      found = true;
    }
    out += line;
    if (newline) {
      out += '\n';
    }
  }
  if (!found) {
    why = "no account " + user + " in " + path.filename().string();
    return PasswordStatus::NoSuchUser;
  }
  try {
    rewrite_keeping_mode(path, out);
  } catch (const Error& e) {
    why = e.what();
    return PasswordStatus::Storage;
  }
  return PasswordStatus::Ok;
}

}  // namespace

std::string sha512_crypt(ByteView password) {
  static constexpr std::string_view kSaltChars = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string setting = "$6$";
  for (const std::uint8_t b : random_bytes(16)) {
    setting += kSaltChars[b % kSaltChars.size()];  // 256 = 4 * 64: no bias
  }
  Bytes zstring(password.begin(), password.end());
  zstring.push_back(0);
  const SecretBytes input(std::move(zstring));
  const auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* hashed = ::crypt_r(reinterpret_cast<const char*>(input.view().data()), setting.c_str(), data.get());
  std::string result = hashed != nullptr ? std::string(hashed) : std::string();
  ::explicit_bzero(data.get(), sizeof(crypt_data));
  if (result.rfind("$6$", 0) != 0) {
    throw_internal("crypt_r: SHA-512 crypt failed");
  }
  return result;
}

void PasswordManagerDevice::on_active(bool active) {
  (void)active;
  m_user.reset();  // FDO 1.1 §3.8 activation starts afresh; `user` holds until deactivation
}

void PasswordManagerDevice::status(serviceinfo::Outbox& out, std::string_view op, PasswordStatus code,
                                   const std::string& text) {
  cbor::Writer w;
  w.array(text.empty() ? 3 : 4).tstr(m_user.value_or("")).tstr(op).int_(static_cast<std::int64_t>(code));
  if (!text.empty()) {
    w.tstr(text);
  }
  if (code != PasswordStatus::Ok) {
    log::warn("Password-Manager: " + std::string(op) + " for " + m_user.value_or("(none)") + ": " + text);
  }
  out.send(kStatus, std::move(w).take());
}

void PasswordManagerDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  // Bad requests are answered with status code 1 and change nothing (docs/service-info.md "Password-Manager").
  if (message == kUser) {
    try {
      std::string user = serviceinfo::read_tstr_value(value, key(kUser));
      if (user.empty() || bad_field(user)) {
        m_user.reset();
        status(out, kUser, PasswordStatus::BadRequest, "account name empty or holds ':' or a newline");
        return;
      }
      m_user = std::move(user);
    } catch (const Error& e) {
      m_user.reset();
      status(out, kUser, PasswordStatus::BadRequest, e.what());
    }
    return;
  }
  if (message == kPass || message == kPassHash) {
    std::string given;
    try {
      given = serviceinfo::read_tstr_value(value, key(message));
    } catch (const Error& e) {
      status(out, message, PasswordStatus::BadRequest, e.what());
      return;
    }
    // The plaintext moves into SecretBytes at once; the string's copy is wiped.
    const SecretBytes secret{ByteView(reinterpret_cast<const std::uint8_t*>(given.data()), given.size())};
    ::explicit_bzero(given.data(), given.size());
    given.clear();
    if (!m_user) {
      status(out, message, PasswordStatus::BadRequest, "no user selected");
      return;
    }
    const std::string_view text(reinterpret_cast<const char*>(secret.view().data()), secret.size());
    std::string hash;
    if (message == kPass) {
      if (secret.empty() || text.find('\0') != std::string_view::npos) {
        status(out, message, PasswordStatus::Policy, "empty password or one with a NUL byte");
        return;
      }
      try {
        hash = sha512_crypt(secret.view());
      } catch (const Error& e) {
        status(out, message, PasswordStatus::Storage, e.what());
        return;
      }
    } else {
      if (text.rfind("$6$", 0) != 0 || bad_field(text)) {
        status(out, message, PasswordStatus::Policy, "pass-hash is not a $6$ crypt string");
        return;
      }
      hash = std::string(text);
    }
    std::string why;
    const PasswordStatus code = edit_shadow(
        m_context.shadow_file, *m_user, true, [&](const std::string&) { return hash; }, why);
    if (code == PasswordStatus::Ok) {
      log::info("Password-Manager: password of " + *m_user + " set");
    }
    status(out, message, code, why);
    return;
  }
  if (message == kLoginDisable) {
    bool disable = true;
    try {
      cbor::Reader r(value, key(kLoginDisable));
      if (!r.try_read_null()) {
        disable = r.read_bool("value");
      }
      r.expect_end();
    } catch (const Error& e) {
      status(out, message, PasswordStatus::BadRequest, e.what());
      return;
    }
    if (!m_user) {
      status(out, message, PasswordStatus::BadRequest, "no user selected");
      return;
    }
    // `!` before the hash locks the password (as passwd -l does); true is idempotent, false removes one `!`.
    std::string why;
    const PasswordStatus code = edit_shadow(
        m_context.shadow_file, *m_user, false,
        [&](const std::string& old) {
          if (disable) {
            return old.rfind('!', 0) == 0 ? old : "!" + old;
          }
          return old.rfind('!', 0) == 0 ? old.substr(1) : old;
        },
        why);
    if (code == PasswordStatus::Ok) {
      log::info("Password-Manager: login of " + *m_user + (disable ? " disabled" : " enabled"));
    }
    status(out, message, code, why);
    return;
  }
  status(out, message, PasswordStatus::BadRequest, "unknown message " + std::string(message));
}

PasswordManagerOwner::PasswordManagerOwner(ByteView params, const OwnerContext& context) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kPasswordManager, params);
  p.expect_only({"user", "password", "password_file", "pass_hash", "disable", "timeout"});
  const int secrets = (p.has("password") ? 1 : 0) + (p.has("password_file") ? 1 : 0) + (p.has("pass_hash") ? 1 : 0);
  if (secrets > 1) {
    throw_body_error("Password-Manager: give one of password, password_file, pass_hash");
  }
  m_user = p.get("user", "");
  if (secrets == 1 && m_user.empty()) {
    throw_body_error("Password-Manager: a password needs user = \"NAME\"");
  }
  if (bad_field(m_user)) {
    throw_body_error("Password-Manager: user holds ':' or a newline");
  }
  if (p.has("password")) {
    std::string pw = p.required("password");
    m_password = SecretBytes{ByteView(reinterpret_cast<const std::uint8_t*>(pw.data()), pw.size())};
    ::explicit_bzero(pw.data(), pw.size());
  } else if (p.has("password_file")) {
    std::filesystem::path file(p.required("password_file"));
    if (file.is_relative()) {
      file = context.plan_dir / file;
    }
    Bytes data;
    try {
      data = read_file(file, 4096);
    } catch (const Error& e) {
      throw_body_error("Password-Manager: password_file: " + std::string(e.what()));
    }
    std::size_t n = data.size();
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r')) {
      --n;
    }
    m_password = SecretBytes{ByteView(data.data(), n)};
    ::explicit_bzero(data.data(), data.size());
  }
  if ((p.has("password") || p.has("password_file")) && m_password.empty()) {
    throw_body_error("Password-Manager: the password is empty");
  }
  if (p.has("pass_hash")) {
    m_pass_hash = p.required("pass_hash");
    if (m_pass_hash.rfind("$6$", 0) != 0 || bad_field(m_pass_hash)) {
      throw_body_error("Password-Manager: pass_hash is not a $6$ crypt string");
    }
  }
  m_disable = p.list("disable");
  for (const std::string& u : m_disable) {
    if (u.empty() || bad_field(u)) {
      throw_body_error("Password-Manager: disable holds an empty name or one with ':' or a newline");
    }
  }
  if (secrets == 0 && m_disable.empty()) {
    throw_body_error("Password-Manager: nothing to do (give user with password, password_file or pass_hash, or "
                     "disable)");
  }
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 0, transfer::kMaxTimeout));
}

std::size_t PasswordManagerOwner::expected() const {
  const bool sets = !m_password.empty() || !m_pass_hash.empty();
  return (sets ? 1 : 0) + m_disable.size();
}

void PasswordManagerOwner::on_message(std::string_view message, ByteView value) {
  if (message != kStatus) {
    log::warn("Password-Manager: unexpected device message " + std::string(message) + " ignored");
    return;
  }
  cbor::Reader r(value, key(kStatus));
  const std::size_t n = r.read_array("status");
  if (n != 3 && n != 4) {
    throw_body_error(key(kStatus) + ": expected [user, op, code, ? text], got " + std::to_string(n) + " items");
  }
  Result result;
  result.user = r.read_tstr("user");
  result.op = r.read_tstr("op");
  result.code = r.read_int("code");
  if (n == 4) {
    result.text = r.read_tstr("text");
  }
  r.expect_end();
  if (result.code != 0) {
    log::warn("Password-Manager: device reports " + result.op + " for " + result.user + " failed with code " +
              std::to_string(result.code) + (result.text.empty() ? "" : ": " + result.text));
  }
  m_results.push_back(std::move(result));
}

serviceinfo::Produced PasswordManagerOwner::produce(std::size_t budget) {
  (void)budget;
  serviceinfo::Produced out;
  if (!m_sent) {
    if (!m_password.empty() || !m_pass_hash.empty()) {
      out.kvs.push_back(serviceinfo::make_kv(kPasswordManager, kUser, serviceinfo::tstr_value(m_user)));
      if (!m_password.empty()) {
        const std::string_view pw(reinterpret_cast<const char*>(m_password.view().data()), m_password.size());
        out.kvs.push_back(serviceinfo::make_kv(kPasswordManager, kPass, serviceinfo::tstr_value(pw)));
      } else {
        out.kvs.push_back(serviceinfo::make_kv(kPasswordManager, kPassHash, serviceinfo::tstr_value(m_pass_hash)));
      }
    }
    for (const std::string& u : m_disable) {
      out.kvs.push_back(serviceinfo::make_kv(kPasswordManager, kUser, serviceinfo::tstr_value(u)));
      out.kvs.push_back(serviceinfo::make_kv(kPasswordManager, kLoginDisable, serviceinfo::bool_value(true)));
    }
    m_sent = true;
    m_deadline.start();
  }
  // Every request gets one status (docs/service-info.md "Password-Manager"); a bad `user` adds one more.
  std::size_t answers = 0;
  for (const Result& r : m_results) {
    answers += r.op == kUser ? 0 : 1;
  }
  out.done = answers >= expected();
  if (!out.done && m_deadline.expired()) {
    throw_internal("Password-Manager: " + std::to_string(answers) + " of " + std::to_string(expected()) +
                   " statuses from the device " + m_deadline.within());
  }
  return out;
}

Bytes PasswordManagerOwner::save() const {
  // The password is not state: it comes back from the plan parameters.
  // State = [sent, deadline_ms, [* [user, op, code, text]]]
  cbor::Writer w;
  w.array(3).boolean(m_sent).int_(m_deadline.saved()).array(m_results.size());
  for (const Result& r : m_results) {
    w.array(4).tstr(r.user).tstr(r.op).int_(r.code).tstr(r.text);
  }
  return std::move(w).take();
}

void PasswordManagerOwner::restore(ByteView state) {
  cbor::Reader r(state, "Password-Manager state");
  r.read_array_of("", 3);
  m_sent = r.read_bool("sent");
  m_deadline.restore(r.read_int("deadline"));
  const std::size_t n = r.read_array("results");
  m_results.clear();
  for (std::size_t i = 0; i < n; ++i) {
    r.read_array_of("result", 4);
    Result result;
    result.user = r.read_tstr("user");
    result.op = r.read_tstr("op");
    result.code = r.read_int("code");
    result.text = r.read_tstr("text");
    m_results.push_back(std::move(result));
  }
  r.expect_end();
}

std::string PasswordManagerOwner::summary() const {
  std::string out;
  for (const Result& r : m_results) {
    std::string part;
    if (r.code == 0 && (r.op == kPass || r.op == kPassHash)) {
      part = "user " + r.user + " set";
    } else if (r.code == 0 && r.op == kLoginDisable) {
      part = r.user + " locked";
    } else {
      part = r.op + " for " + (r.user.empty() ? std::string("(no user)") : r.user) + " failed (code " +
             std::to_string(r.code) + (r.text.empty() ? "" : ": " + r.text) + ")";
    }
    out += (out.empty() ? "" : ", ") + part;
  }
  return out;
}

}  // namespace fdo::fsim
