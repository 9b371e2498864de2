#include "libfdo/fsim/fdo_csr.h"

#include <algorithm>
#include <filesystem>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/fsim/device_io.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

constexpr std::string_view kCacertsReq = "cacerts-req";
constexpr std::string_view kCacertsRes = "cacerts-res";
constexpr std::string_view kEnrollReq = "simpleenroll-req";
constexpr std::string_view kEnrollRes = "simpleenroll-res";
constexpr std::string_view kReenrollReq = "simplereenroll-req";
constexpr std::string_view kReenrollRes = "simplereenroll-res";
constexpr std::string_view kError = "error";

std::string key(std::string_view message) { return serviceinfo::make_key(kFdoCsr, message); }

ByteView text_bytes(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

}  // namespace

void FdoCsrDevice::fail(const std::string& why) {
  m_error = why;
  log::warn("fdo.csr: " + why);
}

void FdoCsrDevice::on_poll(serviceinfo::Outbox& out) {
  if (!m_active || m_requested) {
    return;
  }
  m_requested = true;
  // fdo.csr is device-initiated: CA certificates first (281 is the format every owner must give), then enrolment.
  out.send(kCacertsReq, serviceinfo::uint_value(kPkcs7CertsOnly));
  try {
    m_key = app_keys_of(m_context).generate(crypto::KeyType::P256);
    const Bytes csr = m_key->csr("fdo-device");
    // fdo.csr values are tstr: DER travels base64-encoded, as in EST's HTTP bodies (RFC 7030 §4.2); one too large
    // for a 68 goes as fragments (docs/service-info.md "MTU and packing").
    for (const serviceinfo::ServiceInfoKv& kv :
         serviceinfo::split_value(kFdoCsr, kEnrollReq, serviceinfo::tstr_value(base64_encode(csr)), out.kv_budget())) {
      out.send(kEnrollReq, kv.value);
    }
  } catch (const Error& e) {
    m_key.reset();
    fail(std::string("key generation failed: ") + e.what());
  }
}

void FdoCsrDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  (void)out;
  try {
    if (message == kCacertsRes) {
      const Bytes der = base64_decode(serviceinfo::read_tstr_value(value, key(message)));
      std::vector<crypto::Certificate> certs = parse_pkcs7_certs(der);
      if (certs.empty()) {
        fail("cacerts-res holds no certificate");
        return;
      }
      std::string pem;
      for (const crypto::Certificate& c : certs) {
        pem += c.to_pem();
      }
      write_in_root(path_in_root(m_context, std::string(kDir) + "/cacerts.pem"), text_bytes(pem), 0644);
      m_cacerts = std::move(certs);
      return;
    }
    if (message == kEnrollRes || message == kReenrollRes) {
      const Bytes der = base64_decode(serviceinfo::read_tstr_value(value, key(message)));
      const crypto::Certificate leaf = crypto::Certificate::from_der(der);
      if (!m_key) {
        fail(std::string(message) + " without a request");
        return;
      }
      if (!leaf.public_key().same_key(m_key->public_key())) {
        fail(std::string(message) + ": the certificate is not for our key");
        return;
      }
      const StoredKey stored = m_key->install(0);
      std::optional<StoredKey> replaced;
      try {
        replaced = store_enrolled(m_context, kDir, stored, leaf, {});
      } catch (const Error&) {
        m_key->discard();
        throw;
      }
      if (replaced) {
        app_keys_of(m_context).release(*replaced);
      }
      m_enrolled = true;
      m_key.reset();
      log::info("fdo.csr: certificate installed (" + leaf.subject() + ")");
      return;
    }
    if (message == kError) {
      fail("owner error " + std::to_string(serviceinfo::read_uint_value(value, key(message))));
      m_key.reset();
      return;
    }
    fail("unknown message " + std::string(message) + " ignored");
  } catch (const Error& e) {
    // A bad answer changes nothing: every file is written whole or not at all.
    fail(std::string(message) + ": " + e.what());
  }
}

void FdoCsrDevice::on_end(bool success) {
  (void)success;
  m_key.reset();  // a key without certificate is never stored
}

FdoCsrOwner::FdoCsrOwner(ByteView params, const OwnerContext& context) : m_context(context) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kFdoCsr, params);
  p.expect_only({"sign_command", "cacerts_file", "validity_days", "sign_timeout", "timeout"});
  m_signer = CsrSigner::from_params(p, context);
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 0, transfer::kMaxTimeout));
  if (p.has("cacerts_file")) {
    std::filesystem::path file(p.required("cacerts_file"));
    if (file.is_relative()) {
      file = context.plan_dir / file;
    }
    try {
      const Bytes pem = read_file(file);
      m_cacerts = crypto::Certificate::from_pem_all(std::string_view(reinterpret_cast<const char*>(pem.data()),
                                                                     pem.size()));
    } catch (const Error& e) {
      throw_body_error("fdo.csr: cacerts_file: " + std::string(e.what()));
    }
    if (m_cacerts.empty()) {
      throw_body_error("fdo.csr: cacerts_file " + file.string() + " holds no certificate");
    }
  } else if (context.ca_cert) {
    m_cacerts.push_back(*context.ca_cert);
  }
}

void FdoCsrOwner::answer_error(std::string_view request, CsrError code, const std::string& why) {
  m_out.push_back(serviceinfo::make_kv(kFdoCsr, kError, serviceinfo::uint_value(static_cast<std::uint64_t>(code))));
  m_notes.push_back(std::string(request) + ": error " + std::to_string(static_cast<int>(code)) + " (" + why + ")");
  log::warn("fdo.csr: " + m_notes.back());
}

void FdoCsrOwner::on_message(std::string_view message, ByteView value) {
  // Bad requests are answered with fdo.csr:error; the run goes on (docs/service-info.md "fdo.csr").
  if (message == kCacertsReq) {
    std::uint64_t format = 0;
    try {
      format = serviceinfo::read_uint_value(value, key(message));
    } catch (const Error& e) {
      answer_error(message, CsrError::BadRequest, e.what());
      return;
    }
    if (m_cacerts.empty()) {
      answer_error(message, CsrError::NotSupported, "no CA certificates configured");
      return;
    }
    if (format == kPkcs7CertsOnly) {
      m_out.push_back(serviceinfo::make_kv(kFdoCsr, kCacertsRes,
                                           serviceinfo::tstr_value(base64_encode(pkcs7_certs_only(m_cacerts)))));
    } else if (format == kPkixCert) {
      m_out.push_back(serviceinfo::make_kv(kFdoCsr, kCacertsRes,
                                           serviceinfo::tstr_value(base64_encode(m_cacerts.front().der()))));
    } else {
      answer_error(message, CsrError::UnsupportedFormat, "format " + std::to_string(format));
      return;
    }
    m_notes.push_back("cacerts sent");
    return;
  }
  if (message == kEnrollReq || message == kReenrollReq) {
    m_enrol_answered = true;
    Bytes csr;
    try {
      csr = base64_decode(serviceinfo::read_tstr_value(value, key(message)));
    } catch (const Error& e) {
      answer_error(message, CsrError::BadRequest, e.what());
      return;
    }
    const Issued issued = sign_csr(m_signer, m_context, csr);
    if (!issued.leaf) {
      answer_error(message, issued.bad_request ? CsrError::BadRequest : CsrError::Unauthorized, issued.error);
      return;
    }
    const std::string_view res = message == kEnrollReq ? kEnrollRes : kReenrollRes;
    m_out.push_back(serviceinfo::make_kv(kFdoCsr, res, serviceinfo::tstr_value(base64_encode(issued.leaf->der()))));
    m_notes.push_back("certificate issued (" + issued.leaf->subject() + ")");
    return;
  }
  if (message == "serverkeygen-req" || message == "csrattrs-req") {
    answer_error(message, CsrError::NotSupported, "not supported");
    return;
  }
  answer_error(message, CsrError::BadRequest, "unknown message");
}

serviceinfo::Produced FdoCsrOwner::produce(std::size_t budget) {
  serviceinfo::Produced out;
  // fdo.csr values are whole tstrs with no parts of their own: a large one (an RSA chain) goes as fragments that
  // fill each 69, joined by the receiver (docs/service-info.md "MTU and packing"). Every fragment fits any 69.
  const std::size_t kv_budget =
      std::max(budget, serviceinfo::max_single_kv(serviceinfo::kMinMtu, serviceinfo::kOwnerFlags));
  for (const serviceinfo::ServiceInfoKv& kv : m_out) {
    const auto [module, message] = serviceinfo::split_key(kv.key);
    for (serviceinfo::ServiceInfoKv& part : serviceinfo::split_value(module, message, kv.value, kv_budget)) {
      out.kvs.push_back(std::move(part));
    }
  }
  m_out.clear();
  // Done once the enrolment request is answered; until then the device polls, up to the deadline.
  out.done = m_enrol_answered;
  if (!m_waiting) {
    m_waiting = true;
    m_deadline.start();
  } else if (!out.done && m_deadline.expired()) {
    m_notes.push_back("no enrolment request from the device " + m_deadline.within());
    throw_internal("fdo.csr: " + m_notes.back());
  }
  return out;
}

// State = [answered, waiting, deadline_ms, [* [key, value]], [* note]]
Bytes FdoCsrOwner::save() const {
  cbor::Writer w;
  w.array(5).boolean(m_enrol_answered).boolean(m_waiting).int_(m_deadline.saved()).array(m_out.size());
  for (const serviceinfo::ServiceInfoKv& kv : m_out) {
    w.array(2).tstr(kv.key).bstr(kv.value);
  }
  w.array(m_notes.size());
  for (const std::string& n : m_notes) {
    w.tstr(n);
  }
  return std::move(w).take();
}

void FdoCsrOwner::restore(ByteView state) {
  cbor::Reader r(state, "fdo.csr state");
  r.read_array_of("", 5);
  m_enrol_answered = r.read_bool("answered");
  m_waiting = r.read_bool("waiting");
  m_deadline.restore(r.read_int("deadline"));
  m_out.clear();
  const std::size_t n = r.read_array("out");
  for (std::size_t i = 0; i < n; ++i) {
    r.read_array_of("kv", 2);
    std::string k = r.read_tstr("key");
    m_out.push_back(serviceinfo::ServiceInfoKv{.key = std::move(k), .value = r.read_bstr("value")});
  }
  m_notes.clear();
  const std::size_t m = r.read_array("notes");
  for (std::size_t i = 0; i < m; ++i) {
    m_notes.push_back(r.read_tstr("note"));
  }
  r.expect_end();
}

std::string FdoCsrOwner::summary() const {
  std::string out;
  for (const std::string& n : m_notes) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

}  // namespace fdo::fsim
