#include "libfdo/fsim/cert_enrol.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/fsim/device_io.h"

namespace fdo::fsim {
namespace {

/// How an external signer ended.
struct SignerRun {
  int status = -1;
  Bytes out;
  std::string err;
  std::string problem;
};

/// Runs `argv` with `input` on stdin; kills it after `timeout`.
SignerRun run_signer(const std::vector<std::string>& argv, ByteView input, std::chrono::seconds timeout) {
  SignerRun run;
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    run.problem = std::string("pipe: ") + std::strerror(errno);
    return run;
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    run.problem = std::string("pipe: ") + std::strerror(errno);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return run;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::setpgid(0, 0);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    run.problem = std::string("fork: ") + std::strerror(errno);
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return run;
  }
  // A CSR is far smaller than a pipe buffer: write it whole, then read.
  ::signal(SIGPIPE, SIG_IGN);
  std::size_t done = 0;
  while (done < input.size()) {
    const ssize_t n = ::write(in_pipe[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(in_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  bool timed_out = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      std::uint8_t buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      if (i == 0 && run.out.size() < (std::size_t{1} << 20)) {
        run.out.insert(run.out.end(), buf, buf + n);
      } else if (i == 1 && run.err.size() < 4096) {
        run.err.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) {
      ::close(p.fd);
    }
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    run.problem = "timed out after " + std::to_string(timeout.count()) + " s";
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

std::string first_line(const std::string& s) {
  const std::string line = s.substr(0, s.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) : line;
}

// DER (X.690 §8.1): one TLV with the given tag.
void der_append(Bytes& out, std::uint8_t tag, ByteView content) {
  out.push_back(tag);
  const std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    std::uint8_t len[8];
    int k = 0;
    for (std::size_t v = n; v != 0; v >>= 8) {
      len[k++] = static_cast<std::uint8_t>(v & 0xff);
    }
    out.push_back(static_cast<std::uint8_t>(0x80 | k));
    while (k > 0) {
      out.push_back(len[--k]);
    }
  }
  out.insert(out.end(), content.begin(), content.end());
}

/// Reads one TLV at `pos` of `in`; returns (tag, content, end). Error(MessageBodyError) if it does not fit.
struct Tlv {
  std::uint8_t tag = 0;
  ByteView content;
  std::size_t end = 0;
};
Tlv der_read(ByteView in, std::size_t pos) {
  const auto bad = [] { throw_body_error("PKCS#7: malformed DER"); };
  if (pos + 2 > in.size()) {
    bad();
  }
  Tlv t;
  t.tag = in[pos];
  std::size_t len = in[pos + 1];
  std::size_t p = pos + 2;
  if (len & 0x80) {
    const std::size_t k = len & 0x7f;
    if (k == 0 || k > 4 || p + k > in.size()) {
      bad();
    }
    len = 0;
    for (std::size_t i = 0; i < k; ++i) {
      len = (len << 8) | in[p++];
    }
  }
  if (len > in.size() - p) {
    bad();
  }
  t.content = in.subspan(p, len);
  t.end = p + len;
  return t;
}

// 1.2.840.113549.1.7.2 signedData and 1.2.840.113549.1.7.1 data (RFC 2315 §14).
constexpr std::uint8_t kOidSignedData[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
constexpr std::uint8_t kOidData[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};

}  // namespace

CsrSigner CsrSigner::from_params(const serviceinfo::ModuleParams& params, const OwnerContext& context) {
  CsrSigner signer;
  signer.sign_command = params.list("sign_command");
  signer.validity_days = static_cast<int>(params.integer("validity_days", 365, 1, 36500));
  signer.timeout = std::chrono::seconds(params.integer("sign_timeout", 60, 1, 3600));
  const std::string module = params.module();
  if (signer.sign_command.empty()) {
    if (params.has("sign_command")) {
      throw_body_error(module + ": sign_command is empty");
    }
    if (context.ca_key == nullptr || !context.ca_cert) {
      throw_body_error(module + ": no device-application CA configured and no sign_command given");
    }
    return signer;
  }
  std::string& program = signer.sign_command.front();
  if (program.find('/') != std::string::npos) {
    std::filesystem::path p(program);
    if (p.is_relative()) {
      p = context.plan_dir / p;
    }
    if (!std::filesystem::is_regular_file(p) || ::access(p.c_str(), X_OK) != 0) {
      throw_body_error(module + ": sign_command " + p.string() + " is not an executable file");
    }
    program = p.string();
  }
  return signer;
}

Issued sign_csr(const CsrSigner& signer, const OwnerContext& context, ByteView csr_der,
                std::optional<crypto::KeyType> want) {
  Issued result;
  std::optional<crypto::CertificateRequest> csr;
  try {
    csr = crypto::parse_csr(csr_der);
  } catch (const Error& e) {
    result.error = std::string("the CSR does not parse: ") + e.what();
    result.bad_request = true;
    return result;
  }
  // RFC 2986 §3: the request is signed with the private key whose public key it carries (proof of possession).
  if (!csr->signature_valid) {
    result.error = "the CSR signature does not verify with its key";
    result.bad_request = true;
    return result;
  }
  if (want && csr->public_key.type() != *want) {
    result.error = "the CSR has a " + std::string(crypto::key_type_name(csr->public_key.type())) +
                   " key, " + std::string(crypto::key_type_name(*want)) + " was asked for";
    result.bad_request = true;
    return result;
  }
  std::vector<crypto::Certificate> certs;
  if (signer.sign_command.empty()) {
    if (context.ca_key == nullptr || !context.ca_cert) {
      result.error = "no device-application CA configured";
      return result;
    }
    std::string cn = common_name_of(csr->subject);
    if (cn.empty()) {
      cn = "fdo-device";
    }
    try {
      certs.push_back(crypto::issue_certificate(
          *context.ca_key, *context.ca_cert, csr->public_key,
          crypto::CertificateProfile{.common_name = cn, .organization = "", .validity_days = signer.validity_days}));
    } catch (const Error& e) {
      result.error = std::string("issuing failed: ") + e.what();
      return result;
    }
    certs.push_back(*context.ca_cert);
  } else {
    const SignerRun run = run_signer(signer.sign_command, csr_der, signer.timeout);
    if (!run.problem.empty() || run.status != 0) {
      result.error = "sign_command " + signer.sign_command.front() +
                     (run.problem.empty() ? " exited with " + std::to_string(run.status) : ": " + run.problem) +
                     (run.err.empty() ? "" : ": " + first_line(run.err));
      return result;
    }
    try {
      const std::string_view text(reinterpret_cast<const char*>(run.out.data()), run.out.size());
      if (text.find("-----BEGIN") != std::string_view::npos) {
        certs = crypto::Certificate::from_pem_all(text);
      } else {
        certs.push_back(crypto::Certificate::from_der(run.out));
      }
    } catch (const Error& e) {
      result.error = "sign_command output is not a certificate: " + std::string(e.what());
      return result;
    }
    if (certs.empty()) {
      result.error = "sign_command wrote no certificate";
      return result;
    }
  }
  if (!certs.front().public_key().same_key(csr->public_key)) {
    result.error = "the issued certificate does not carry the CSR's key";
    return result;
  }
  result.leaf = certs.front();
  result.chain.assign(certs.begin() + 1, certs.end());
  return result;
}

std::string common_name_of(std::string_view subject) {
  std::size_t pos = 0;
  while (pos < subject.size()) {
    std::size_t end = pos;
    std::string value;
    while (end < subject.size() && subject[end] != ',' && subject[end] != '+') {
      if (subject[end] == '\\' && end + 1 < subject.size()) {
        ++end;
      }
      value += subject[end];
      ++end;
    }
    std::string_view rdn(value);
    while (!rdn.empty() && rdn.front() == ' ') {
      rdn.remove_prefix(1);
    }
    if (rdn.rfind("CN=", 0) == 0) {
      return std::string(rdn.substr(3));
    }
    pos = end + 1;
  }
  return {};
}

std::optional<crypto::KeyType> parse_curve(std::string_view name) {
  if (name == "secp256r1") {
    return crypto::KeyType::P256;
  }
  if (name == "secp384r1") {
    return crypto::KeyType::P384;
  }
  if (name == "rsa2048") {
    return crypto::KeyType::Rsa2048;
  }
  if (name == "rsa3072") {
    return crypto::KeyType::Rsa3072;
  }
  return std::nullopt;
}

std::string_view curve_name(crypto::KeyType type) {
  switch (type) {
    case crypto::KeyType::P256:
      return "secp256r1";
    case crypto::KeyType::P384:
      return "secp384r1";
    case crypto::KeyType::Rsa2048:
      return "rsa2048";
    case crypto::KeyType::Rsa3072:
      return "rsa3072";
  }
  return "unknown";
}

std::vector<Bytes> split_parts(ByteView object) {
  std::vector<Bytes> parts;
  for (std::size_t i = 0; i < object.size(); i += kMaxPart) {
    const std::size_t n = std::min(kMaxPart, object.size() - i);
    parts.emplace_back(object.begin() + static_cast<std::ptrdiff_t>(i),
                       object.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  return parts;
}

bool PartCollector::add(std::uint64_t part, std::uint64_t parts, ByteView data) {
  if (parts == 0 || part >= parts || part != m_next || (m_parts != 0 && parts != m_parts) ||
      m_data.size() + data.size() > (std::size_t{64} << 10)) {
    reset();
    return false;
  }
  m_parts = parts;
  m_data.insert(m_data.end(), data.begin(), data.end());
  ++m_next;
  return true;
}

Bytes pkcs7_certs_only(const std::vector<crypto::Certificate>& certs) {
  // SignedData ::= SEQUENCE { version 1, digestAlgorithms SET {}, contentInfo { data }, certificates [0] IMPLICIT,
  // signerInfos SET {} } (RFC 2315 §9.1); certs-only has no content and no signers (RFC 5652 §5, RFC 7030 §4.1.3).
  Bytes all;
  for (const crypto::Certificate& c : certs) {
    const Bytes der = c.der();
    all.insert(all.end(), der.begin(), der.end());
  }
  Bytes signed_data;
  der_append(signed_data, 0x02, Bytes{0x01});
  der_append(signed_data, 0x31, {});
  Bytes content_info;
  der_append(content_info, 0x06, kOidData);
  der_append(signed_data, 0x30, content_info);
  der_append(signed_data, 0xa0, all);
  der_append(signed_data, 0x31, {});
  Bytes sequence;
  der_append(sequence, 0x30, signed_data);
  Bytes outer;
  der_append(outer, 0x06, kOidSignedData);
  der_append(outer, 0xa0, sequence);
  Bytes out;
  der_append(out, 0x30, outer);
  return out;
}

std::vector<crypto::Certificate> parse_pkcs7_certs(ByteView der) {
  const Tlv top = der_read(der, 0);
  if (top.tag != 0x30 || top.end != der.size()) {
    throw_body_error("PKCS#7: expected one ContentInfo SEQUENCE");
  }
  const Tlv oid = der_read(top.content, 0);
  if (oid.tag != 0x06 || !std::equal(oid.content.begin(), oid.content.end(), std::begin(kOidSignedData),
                                     std::end(kOidSignedData))) {
    throw_body_error("PKCS#7: content type is not signedData");
  }
  const Tlv explicit0 = der_read(top.content, oid.end);
  if (explicit0.tag != 0xa0) {
    throw_body_error("PKCS#7: missing [0] content");
  }
  const Tlv sd = der_read(explicit0.content, 0);
  if (sd.tag != 0x30) {
    throw_body_error("PKCS#7: SignedData is not a SEQUENCE");
  }
  std::vector<crypto::Certificate> certs;
  std::size_t pos = 0;
  // version, digestAlgorithms, contentInfo, then the optional [0] certificates.
  for (int i = 0; i < 3; ++i) {
    pos = der_read(sd.content, pos).end;
  }
  if (pos < sd.content.size()) {
    const Tlv set = der_read(sd.content, pos);
    if (set.tag == 0xa0) {
      std::size_t p = 0;
      while (p < set.content.size()) {
        const Tlv cert = der_read(set.content, p);
        certs.push_back(crypto::Certificate::from_der(set.content.subspan(p, cert.end - p)));
        p = cert.end;
      }
    }
  }
  return certs;
}

AppKeyFactory& app_keys_of(const DeviceContext& context) {
  static SoftwareAppKeys software;
  return context.app_keys != nullptr ? *context.app_keys : software;
}

std::optional<StoredKey> store_enrolled(const DeviceContext& context, std::string_view dir, const StoredKey& key,
                                        const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& chain) {
  // One unit (docs/service-info.md "AsymKey"): key, certificate and chain go into a new generation directory, then the
  // slot's name, a symlink, is switched to it with one rename, so a reader sees the old set or the new one, never a
  // mix. The previous generation is removed afterwards.
  const std::filesystem::path slot = path_in_root(context, dir);
  const std::string generation = "." + slot.filename().string() + "-" + to_hex(random_bytes(8));
  const std::filesystem::path next = slot.parent_path() / generation;
  const std::string leaf_pem = leaf.to_pem();
  std::string chain_pem;
  for (const crypto::Certificate& c : chain) {
    chain_pem += c.to_pem();
  }
  write_in_root(next / key.file, key.data.view(), key.mode);
  write_in_root(next / "cert.pem", ByteView(reinterpret_cast<const std::uint8_t*>(leaf_pem.data()), leaf_pem.size()),
                0644);
  if (!chain.empty()) {
    write_in_root(next / "chain.pem",
                  ByteView(reinterpret_cast<const std::uint8_t*>(chain_pem.data()), chain_pem.size()), 0644);
  }
  std::error_code ec;
  // Other files of the slot (fdo.csr's cacerts.pem) move on to the new generation.
  if (std::filesystem::is_directory(slot, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(slot, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && name != "key.pem" && name != "key.tpm" && name != "cert.pem" &&
          name != "chain.pem") {
        std::filesystem::copy_file(entry.path(), next / name, std::filesystem::copy_options::overwrite_existing, ec);
      }
    }
  }
  std::optional<std::filesystem::path> previous;
  if (std::filesystem::is_symlink(slot, ec)) {
    previous = slot.parent_path() / std::filesystem::read_symlink(slot, ec);
  } else if (std::filesystem::is_directory(slot, ec)) {
    std::filesystem::remove_all(slot, ec);  // a slot written before generations existed
  }
  const std::filesystem::path link = slot.parent_path() / (generation + ".link");
  std::filesystem::create_symlink(generation, link, ec);
  if (!ec) {
    std::filesystem::rename(link, slot, ec);
  }
  if (ec) {
    std::filesystem::remove_all(next);
    std::filesystem::remove(link);
    throw_internal("cannot install " + slot.string() + ": " + ec.message());
  }
  std::optional<StoredKey> replaced;
  if (previous && *previous != next) {
    // A TPM key's file names its handle: the caller releases it (app_key.h).
    if (std::optional<Bytes> tpm_key = read_file_if_exists(*previous / "key.tpm")) {
      replaced = StoredKey{.file = "key.tpm", .data = SecretBytes(std::move(*tpm_key)), .mode = 0644};
    }
    std::filesystem::remove_all(*previous, ec);
  }
  return replaced;
}

}  // namespace fdo::fsim
