#include "libfdo/fsim/wget.h"

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/fsim/device_io.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/params.h"
#include "libfdo/transport/http_fetch.h"

namespace fdo::fsim {
namespace {

constexpr std::string_view kSha384 = "sha-384";
constexpr std::string_view kName = "name";
constexpr std::string_view kUrl = "url";
constexpr std::string_view kDone = "done";
constexpr std::string_view kError = "error";

std::string key(std::string_view message) {
  return serviceinfo::make_key(kWget, message);
}

}  // namespace

std::string wget_default_name(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const std::size_t scheme = url.find("://");
  const std::size_t path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (path == std::string_view::npos) {
    return {};
  }
  return std::string(url.substr(url.rfind('/') + 1));
}

// ---- device ----

void WgetDevice::on_active(bool active) {
  if (!active) {
    reset();
  }
}

void WgetDevice::reset() {
  m_sha384.reset();
  m_name.reset();
}

void WgetDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  try {
    if (message == kSha384) {
      Bytes sha = serviceinfo::read_bstr_value(value, key(kSha384));
      if (sha.size() != transfer::kSha384Size) {
        throw_body_error("sha-384 of " + std::to_string(sha.size()) + " bytes, expected 48");
      }
      m_sha384 = std::move(sha);
      return;
    }
    if (message == kName) {
      m_name = serviceinfo::read_tstr_value(value, key(kName));
      return;
    }
    if (message == kUrl) {
      fetch(serviceinfo::read_tstr_value(value, key(kUrl)), out);
      return;
    }
    throw_body_error("unknown message " + std::string(message));
  } catch (const Error& e) {
    m_last_error = e.what();
    log::warn("fdo.wget: " + m_last_error);
    reset();
    out.send(kError, serviceinfo::tstr_value(m_last_error));
  }
}

void WgetDevice::fetch(const std::string& url, serviceinfo::Outbox& out) {
  const std::string name = m_name.value_or(wget_default_name(url));
  if (name.empty()) {
    throw_body_error("no name given and " + url + " has no last path segment");
  }
  // Resolve the target before fetching: a path leaving the root is refused without network traffic.
  const std::filesystem::path path = path_in_root(m_context, name);
  transport::FetchOptions options;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(m_context.command_timeout);
  options.max_body = static_cast<std::size_t>(transfer::kMaxDeviceFile);
  const Bytes body = transport::http_get(url, options);
  // FSIM fdo.wget: done is the "length retrieved (hash checked first if given)".
  if (m_sha384 && crypto::hash(crypto::HashAlg::Sha384, body) != *m_sha384) {
    throw_invalid("sha-384 of " + url + " (" + std::to_string(body.size()) + " bytes) does not match");
  }
  write_in_root(path, body);
  log::info("fdo.wget: wrote " + std::to_string(body.size()) + " bytes from " + url + " to " + name);
  m_last_error.clear();
  reset();
  out.send(kDone, serviceinfo::int_value(static_cast<std::int64_t>(body.size())));
}

// ---- owner ----

WgetOwner::WgetOwner(ByteView params) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kWget, params);
  p.expect_only({"url", "name", "sha384", "required", "timeout"});
  m_url = p.required("url");
  if (m_url.rfind("http://", 0) != 0 && m_url.rfind("https://", 0) != 0) {
    throw_body_error("fdo.wget: url " + m_url + " is not http:// or https://");
  }
  if (p.has("name")) {
    m_target = p.required("name");
  } else if (wget_default_name(m_url).empty()) {
    throw_body_error("fdo.wget: url " + m_url + " has no last path segment: give name");
  }
  if (p.has("sha384")) {
    m_sha384 = from_hex(p.required("sha384"));
    if (m_sha384.size() != transfer::kSha384Size) {
      throw_body_error("fdo.wget: sha384 must be 96 hex digits");
    }
  }
  m_required = p.flag("required", true);
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 0, transfer::kMaxTimeout));
}

void WgetOwner::fail(const std::string& why, ErrorCode code) {
  m_error = why;
  m_phase = Phase::Done;
  transfer::owner_failure(kWget, m_required, why, code);
}

void WgetOwner::on_message(std::string_view message, ByteView value) {
  if (m_phase != Phase::Waiting) {
    log::warn("fdo.wget: device message " + std::string(message) + " outside a fetch, ignored");
    return;
  }
  try {
    if (message == kDone) {
      m_done = serviceinfo::read_int_value(value, key(kDone));
      if (m_done < 0) {
        fail("the device answered done = " + std::to_string(m_done));
        return;
      }
      m_phase = Phase::Done;
      log::info("fdo.wget: " + summary());
      return;
    }
    if (message == kError) {
      fail("the device could not fetch " + m_url + ": " + serviceinfo::read_tstr_value(value, key(kError)));
      return;
    }
    fail("unknown device message " + std::string(message), ErrorCode::MessageBodyError);
  } catch (const Error& e) {
    fail(e.what(), e.code());
  }
}

serviceinfo::Produced WgetOwner::produce(std::size_t budget) {
  (void)budget;
  serviceinfo::Produced out;
  if (m_phase == Phase::Start) {
    // url last: it starts the fetch (FSIM fdo.wget).
    if (!m_sha384.empty()) {
      out.kvs.push_back(serviceinfo::make_kv(kWget, kSha384, serviceinfo::bstr_value(m_sha384)));
    }
    if (m_target) {
      out.kvs.push_back(serviceinfo::make_kv(kWget, kName, serviceinfo::tstr_value(*m_target)));
    }
    out.kvs.push_back(serviceinfo::make_kv(kWget, kUrl, serviceinfo::tstr_value(m_url)));
    m_phase = Phase::Waiting;
    m_deadline.start();
    return out;
  }
  if (m_phase == Phase::Waiting && m_deadline.expired()) {
    fail("no done or error from the device " + m_deadline.within());
  }
  out.done = m_phase == Phase::Done;
  return out;
}

// State = [phase, deadline_ms, done, error]
Bytes WgetOwner::save() const {
  cbor::Writer w;
  w.array(4).uint(static_cast<std::uint64_t>(m_phase)).int_(m_deadline.saved()).int_(m_done).tstr(m_error);
  return std::move(w).take();
}

void WgetOwner::restore(ByteView state) {
  cbor::Reader r(state, "fdo.wget state");
  r.read_array_of("", 4);
  m_phase = static_cast<Phase>(r.read_uint_max("phase", static_cast<std::uint64_t>(Phase::Done)));
  m_deadline.restore(r.read_int("deadline"));
  m_done = r.read_int("done");
  m_error = r.read_tstr("error");
  r.expect_end();
}

std::string WgetOwner::summary() const {
  if (!m_error.empty()) {
    return "failed: " + m_error;
  }
  switch (m_phase) {
    case Phase::Start:
      return {};
    case Phase::Waiting:
      return "waiting for the device to fetch " + m_url;
    case Phase::Done:
      break;
  }
  return "the device fetched " + std::to_string(m_done) + " bytes from " + m_url + " into " +
         m_target.value_or(wget_default_name(m_url)) +
         (m_sha384.empty() ? std::string(" (no sha-384 given)") : ", sha-384 " + to_hex(m_sha384) + " checked");
}

}  // namespace fdo::fsim
