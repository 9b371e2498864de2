#include "libfdo/fsim/upload.h"

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/fsim/device_io.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

constexpr std::string_view kNeedSha = "need-sha";
constexpr std::string_view kName = "name";
constexpr std::string_view kLength = "length";
constexpr std::string_view kData = "data";
constexpr std::string_view kSha384 = "sha-384";
constexpr std::string_view kDataKey = "fdo.upload:data";

std::string key(std::string_view message) {
  return serviceinfo::make_key(kUpload, message);
}

}  // namespace

// ---- device ----

void UploadDevice::on_active(bool active) {
  if (!active) {
    m_need_sha = false;
  }
}

void UploadDevice::send_file(const Bytes& content, serviceinfo::Outbox& out) const {
  // Each block fills a 68 at the owner's maxDeviceServiceInfoSz (docs/service-info.md "fdo.upload"); the FSIM's
  // "up to 1014 bytes" is its 1300-byte example, not a limit.
  const std::size_t block = serviceinfo::max_bstr_chunk(out.kv_budget(), kDataKey);
  out.send(kLength, serviceinfo::uint_value(content.size()));
  std::size_t offset = 0;
  do {
    const std::size_t n = std::min(block, content.size() - offset);
    out.send(kData, serviceinfo::bstr_value(ByteView(content).subspan(offset, n)));
    offset += n;
  } while (offset < content.size());
  if (m_need_sha) {
    out.send(kSha384, serviceinfo::bstr_value(crypto::hash(crypto::HashAlg::Sha384, content)));
  }
}

void UploadDevice::fail(const std::string& why, serviceinfo::Outbox& out) {
  // docs/service-info.md "fdo.upload": no error message in the FSIM, so length 0 and one empty data.
  log::warn("fdo.upload: " + why + "; sending an empty file");
  m_last_error = why;
  send_file(Bytes(), out);
}

void UploadDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  try {
    if (message == kNeedSha) {
      m_need_sha = serviceinfo::read_bool_value(value, key(kNeedSha));
      return;
    }
    if (message == kName) {
      const std::string name = serviceinfo::read_tstr_value(value, key(kName));
      const std::filesystem::path path = path_in_root(m_context, name);
      const Bytes content = read_file(path, transfer::kMaxDeviceFile);
      log::info("fdo.upload: sending " + name + " (" + std::to_string(content.size()) + " bytes)");
      m_last_error.clear();
      send_file(content, out);
      return;
    }
    fail("unknown message " + std::string(message), out);
  } catch (const Error& e) {
    fail(e.what(), out);
  }
}

// ---- owner ----

UploadOwner::UploadOwner(ByteView params, const OwnerContext& context) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kUpload, params);
  p.expect_only({"name", "to", "need_sha", "allow_empty", "max_length", "required", "timeout"});
  m_source = p.required("name");
  if (m_source.empty()) {
    throw_body_error("fdo.upload: name is empty");
  }
  if (p.has("to")) {
    const std::filesystem::path to(p.required("to"));
    m_to = to.is_absolute() ? to : context.plan_dir / to;
    if (std::filesystem::path(m_source).filename().empty()) {
      throw_body_error("fdo.upload: name " + m_source + " has no file name to store under " + m_to->string());
    }
  }
  m_need_sha = p.flag("need_sha", true);
  m_allow_empty = p.flag("allow_empty", false);
  m_max_length = static_cast<std::uint64_t>(
      p.integer("max_length", std::int64_t{16} << 20, 0, static_cast<std::int64_t>(transfer::kMaxDeviceFile)));
  m_required = p.flag("required", true);
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 0, transfer::kMaxTimeout));
}

void UploadOwner::fail(const std::string& why, ErrorCode code) {
  m_error = why;
  m_phase = Phase::Done;
  m_data = Bytes();
  transfer::owner_failure(kUpload, m_required, why, code);
}

void UploadOwner::on_message(std::string_view message, ByteView value) {
  if (m_phase != Phase::Waiting) {
    log::debug("fdo.upload: device message " + std::string(message) + " outside a transfer, ignored");
    return;
  }
  try {
    handle(message, value);
  } catch (const Error& e) {
    fail(e.what(), e.code());
  }
}

void UploadOwner::handle(std::string_view message, ByteView value) {
  if (message == kLength) {
    const std::uint64_t length = serviceinfo::read_uint_value(value, key(kLength));
    if (m_length || m_data_seen) {
      fail("length sent twice or after data", ErrorCode::InvalidMessageError);
      return;
    }
    if (length > m_max_length) {
      fail("the device announced " + std::to_string(length) + " bytes, more than max_length " +
           std::to_string(m_max_length));
      return;
    }
    m_length = length;
    return;
  }
  if (message == kData) {
    const Bytes block = serviceinfo::read_bstr_value(value, key(kData));
    if (!m_length) {
      fail("data before length", ErrorCode::InvalidMessageError);
      return;
    }
    if (m_data.size() + block.size() > *m_length) {
      fail("the device sent more than its length " + std::to_string(*m_length));
      return;
    }
    m_data.insert(m_data.end(), block.begin(), block.end());
    m_data_seen = true;
    if (!m_need_sha && m_data.size() == *m_length) {
      complete();
    }
    return;
  }
  if (message == kSha384) {
    Bytes sha = serviceinfo::read_bstr_value(value, key(kSha384));
    if (!m_need_sha) {
      log::info("fdo.upload: sha-384 sent though not asked for");
    }
    if (sha.size() != transfer::kSha384Size) {
      fail("sha-384 of " + std::to_string(sha.size()) + " bytes, expected 48", ErrorCode::MessageBodyError);
      return;
    }
    m_sha384 = std::move(sha);
    if (m_need_sha) {
      complete();
    }
    return;
  }
  fail("unknown device message " + std::string(message), ErrorCode::MessageBodyError);
}

void UploadOwner::complete() {
  if (!m_length || !m_data_seen || m_data.size() != *m_length) {
    fail("the device sent " + std::to_string(m_data.size()) + " bytes of the " +
         (m_length ? std::to_string(*m_length) : std::string("unannounced")) + " it announced");
    return;
  }
  const Bytes actual = crypto::hash(crypto::HashAlg::Sha384, m_data);
  if (m_need_sha && actual != m_sha384) {
    fail("sha-384 of " + m_source + " does not match the bytes received", ErrorCode::InvalidMessageError);
    return;
  }
  if (m_data.empty() && !m_allow_empty) {
    fail("the device sent an empty " + m_source + " (missing or unreadable on the device, or empty)");
    return;
  }
  m_sha384 = actual;
  if (m_to) {
    const std::filesystem::path target = *m_to / std::filesystem::path(m_source).filename();
    std::error_code ec;
    std::filesystem::create_directories(*m_to, ec);
    write_file_atomic(target, m_data, 0600);
    m_stored = target.string();
    m_data = Bytes();
  }
  m_phase = Phase::Done;
  log::info("fdo.upload: " + summary());
}

serviceinfo::Produced UploadOwner::produce(std::size_t budget) {
  (void)budget;
  serviceinfo::Produced out;
  if (m_phase == Phase::Start) {
    out.kvs.push_back(serviceinfo::make_kv(kUpload, kNeedSha, serviceinfo::bool_value(m_need_sha)));
    out.kvs.push_back(serviceinfo::make_kv(kUpload, kName, serviceinfo::tstr_value(m_source)));
    m_phase = Phase::Waiting;
    m_deadline.start();
    return out;
  }
  if (m_phase == Phase::Waiting && m_deadline.expired()) {
    fail("no complete file from the device " + m_deadline.within());
  }
  out.done = m_phase == Phase::Done;
  return out;
}

// State = [phase, length / null, data_seen, data, sha384, deadline_ms, stored, error]
Bytes UploadOwner::save() const {
  cbor::Writer w;
  w.array(8).uint(static_cast<std::uint64_t>(m_phase));
  if (m_length) {
    w.uint(*m_length);
  } else {
    w.null();
  }
  w.boolean(m_data_seen).bstr(m_data).bstr(m_sha384).int_(m_deadline.saved()).tstr(m_stored).tstr(m_error);
  return std::move(w).take();
}

void UploadOwner::restore(ByteView state) {
  cbor::Reader r(state, "fdo.upload state");
  r.read_array_of("", 8);
  m_phase = static_cast<Phase>(r.read_uint_max("phase", static_cast<std::uint64_t>(Phase::Done)));
  m_length = r.try_read_null() ? std::nullopt : std::optional<std::uint64_t>(r.read_uint("length"));
  m_data_seen = r.read_bool("data_seen");
  m_data = r.read_bstr("data");
  m_sha384 = r.read_bstr("sha384");
  m_deadline.restore(r.read_int("deadline"));
  m_stored = r.read_tstr("stored");
  m_error = r.read_tstr("error");
  r.expect_end();
}

std::string UploadOwner::summary() const {
  if (!m_error.empty()) {
    return "failed: " + m_error;
  }
  switch (m_phase) {
    case Phase::Start:
      return {};
    case Phase::Waiting:
      return "received " + std::to_string(m_data.size()) + " bytes of " + m_source;
    case Phase::Done:
      break;
  }
  return "received " + m_source + ": " + std::to_string(m_length.value_or(0)) + " bytes, sha-384 " + to_hex(m_sha384) +
         (m_need_sha ? " (matches the device's)" : "") +
         (m_stored.empty() ? std::string(", kept in memory") : ", stored in " + m_stored);
}

}  // namespace fdo::fsim
