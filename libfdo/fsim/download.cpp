#include "libfdo/fsim/download.h"

#include <fstream>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
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

constexpr std::string_view kName = "name";
constexpr std::string_view kLength = "length";
constexpr std::string_view kSha384 = "sha-384";
constexpr std::string_view kData = "data";
constexpr std::string_view kDone = "done";
constexpr std::string_view kDataKey = "fdo.download:data";

std::string key(std::string_view message) {
  return serviceinfo::make_key(kDownload, message);
}

}  // namespace

// ---- device ----

void DownloadDevice::on_active(bool active) {
  if (!active) {
    reset();
  }
}

void DownloadDevice::on_end(bool success) {
  (void)success;
  reset();  // nothing was written for an unfinished file: the buffer is all there is
}

void DownloadDevice::reset() {
  m_phase = Phase::Idle;
  m_name.clear();
  m_path.clear();
  m_length.reset();
  m_sha384.reset();
  m_data_seen = false;
  m_data = Bytes();
}

void DownloadDevice::fail(const std::string& why, serviceinfo::Outbox& out) {
  log::warn("fdo.download: " + why + "; answering done = -1");
  m_last_error = why;
  reset();
  m_phase = Phase::Failed;
  out.send(kDone, serviceinfo::int_value(-1));
}

void DownloadDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  // A bad value is the module's failure (done = -1), not TO2's (docs/service-info.md "fdo.download").
  try {
    handle(message, value, out);
  } catch (const Error& e) {
    fail(e.what(), out);
  }
}

void DownloadDevice::handle(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  if (message == kName) {
    reset();
    m_name = serviceinfo::read_tstr_value(value, key(kName));
    m_path = path_in_root(m_context, m_name);
    m_phase = Phase::Receiving;
    return;
  }
  if (message == kLength || message == kSha384) {
    if (m_phase == Phase::Failed) {
      return;  // answered once already
    }
    if (m_phase != Phase::Receiving || m_data_seen) {
      fail(std::string(message) + " outside a transfer (before name or after data)", out);
      return;
    }
    if (message == kLength) {
      const std::uint64_t length = serviceinfo::read_uint_value(value, key(kLength));
      if (length > transfer::kMaxDeviceFile) {
        fail("length " + std::to_string(length) + " exceeds " + std::to_string(transfer::kMaxDeviceFile), out);
        return;
      }
      m_length = length;
    } else {
      Bytes sha = serviceinfo::read_bstr_value(value, key(kSha384));
      if (sha.size() != transfer::kSha384Size) {
        fail("sha-384 of " + std::to_string(sha.size()) + " bytes, expected 48", out);
        return;
      }
      m_sha384 = std::move(sha);
    }
    return;
  }
  if (message == kData) {
    const Bytes block = serviceinfo::read_bstr_value(value, key(kData));
    if (m_phase == Phase::Failed) {
      return;  // the failure was answered once; the rest of that file is dropped
    }
    if (m_phase == Phase::Complete && block.empty()) {
      return;  // a streaming-mode end marker after a length-mode file: harmless
    }
    if (m_phase != Phase::Receiving) {
      fail("data before name", out);
      return;
    }
    const std::uint64_t limit = m_length.value_or(transfer::kMaxDeviceFile);
    if (m_data.size() + block.size() > limit) {
      fail("more data than the length " + std::to_string(limit), out);
      return;
    }
    m_data.insert(m_data.end(), block.begin(), block.end());
    m_data_seen = true;
    // Length mode ends at `length` bytes; streaming mode at an empty block (FSIM fdo.download).
    if (m_length ? m_data.size() == *m_length : block.empty()) {
      complete(out);
    }
    return;
  }
  fail("unknown message " + std::string(message), out);
}

void DownloadDevice::complete(serviceinfo::Outbox& out) {
  // FSIM fdo.download: "if sha-384 is received, the device must hash the file and fail on mismatch".
  if (m_sha384 && crypto::hash(crypto::HashAlg::Sha384, m_data) != *m_sha384) {
    fail("sha-384 of " + m_name + " does not match", out);
    return;
  }
  if (!m_sha384) {
    log::warn("fdo.download: " + m_name + " came without sha-384; written unchecked");
  }
  try {
    write_in_root(m_path, m_data);
  } catch (const Error& e) {
    fail(e.what(), out);
    return;
  }
  const auto written = static_cast<std::int64_t>(m_data.size());
  log::info("fdo.download: wrote " + std::to_string(written) + " bytes to " + m_name);
  reset();
  m_phase = Phase::Complete;
  m_last_error.clear();
  out.send(kDone, serviceinfo::int_value(written));
}

// ---- owner ----

DownloadOwner::DownloadOwner(ByteView params, const OwnerContext& context) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kDownload, params);
  p.expect_only({"file", "name", "required", "timeout"});
  const std::filesystem::path file(p.required("file"));
  m_file = file.is_absolute() ? file : context.plan_dir / file;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(m_file, ec)) {
    throw_body_error("fdo.download: file " + m_file.string() + " does not exist or is not a regular file");
  }
  m_target = p.get("name", file.filename().string());
  if (m_target.empty()) {
    throw_body_error("fdo.download: name is empty");
  }
  m_required = p.flag("required", true);
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 0, transfer::kMaxTimeout));
}

void DownloadOwner::fail(const std::string& why, ErrorCode code) {
  m_error = why;
  m_phase = Phase::Done;
  transfer::owner_failure(kDownload, m_required, why, code);
}

void DownloadOwner::on_message(std::string_view message, ByteView value) {
  if (m_phase == Phase::Done) {
    log::warn("fdo.download: device message " + std::string(message) + " after the transfer ended, ignored");
    return;
  }
  if (message != kDone) {
    fail("unknown device message " + std::string(message), ErrorCode::MessageBodyError);
    return;
  }
  std::int64_t done = 0;
  try {
    done = serviceinfo::read_int_value(value, key(kDone));
  } catch (const Error& e) {
    fail(e.what(), e.code());
    return;
  }
  m_done = done;
  // docs/service-info.md "fdo.download": done = -1, or a length other than the one sent, is a failure.
  if (done < 0) {
    fail("the device answered done = " + std::to_string(done) + " for " + m_target +
         " (checksum mismatch, bad path or write error on the device)");
    return;
  }
  if (m_phase != Phase::Waiting || static_cast<std::uint64_t>(done) != m_length) {
    fail("the device answered done = " + std::to_string(done) + " after " + std::to_string(m_offset) + " of " +
         std::to_string(m_length) + " bytes were sent");
    return;
  }
  m_phase = Phase::Done;
}

serviceinfo::Produced DownloadOwner::produce(std::size_t budget) {
  serviceinfo::Produced out;
  std::size_t left = budget;
  const auto push = [&](std::string_view message, Bytes v) {
    serviceinfo::ServiceInfoKv kv = serviceinfo::make_kv(kDownload, message, v);
    const std::size_t size = serviceinfo::encoded_size(kv);
    left = size < left ? left - size : 0;
    out.kvs.push_back(std::move(kv));
  };
  const auto start_wait = [&] {
    m_phase = Phase::Waiting;
    m_deadline.start();
  };
  if (m_phase == Phase::Start) {
    // Order: name, length, sha-384, then data (FSIM fdo.download); length and sha-384 always (the C SDK needs both).
    m_sha384 = transfer::sha384_file(m_file, m_length);
    push(kName, serviceinfo::tstr_value(m_target));
    push(kLength, serviceinfo::uint_value(m_length));
    push(kSha384, serviceinfo::bstr_value(m_sha384));
    m_offset = 0;
    m_phase = Phase::Sending;
    if (m_length == 0) {
      push(kData, serviceinfo::bstr_value({}));  // a zero-length file needs one empty data
      start_wait();
    }
  }
  if (m_phase == Phase::Sending) {
    std::ifstream in(m_file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(m_offset));
    while (m_offset < m_length) {
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(serviceinfo::max_bstr_chunk(left, kDataKey), m_length - m_offset));
      if (n == 0) {
        break;
      }
      Bytes block(n);
      in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(n));
      if (static_cast<std::size_t>(in.gcount()) != n) {
        fail(m_file.string() + " changed or became unreadable while being sent");
        out.done = true;
        return out;
      }
      push(kData, serviceinfo::bstr_value(block));
      m_offset += n;
    }
    if (m_offset == m_length) {
      start_wait();
    }
    return out;
  }
  if (m_phase == Phase::Waiting && m_deadline.expired()) {
    fail("no done from the device " + m_deadline.within());
  }
  out.done = m_phase == Phase::Done;
  return out;
}

// State = [phase, length, offset, sha384: bstr, deadline_ms, done, error]
Bytes DownloadOwner::save() const {
  cbor::Writer w;
  w.array(7)
      .uint(static_cast<std::uint64_t>(m_phase))
      .uint(m_length)
      .uint(m_offset)
      .bstr(m_sha384)
      .int_(m_deadline.saved())
      .int_(m_done)
      .tstr(m_error);
  return std::move(w).take();
}

void DownloadOwner::restore(ByteView state) {
  cbor::Reader r(state, "fdo.download state");
  r.read_array_of("", 7);
  m_phase = static_cast<Phase>(r.read_uint_max("phase", static_cast<std::uint64_t>(Phase::Done)));
  m_length = r.read_uint("length");
  m_offset = r.read_uint("offset");
  m_sha384 = r.read_bstr("sha384");
  m_deadline.restore(r.read_int("deadline"));
  m_done = r.read_int("done");
  m_error = r.read_tstr("error");
  r.expect_end();
}

std::string DownloadOwner::summary() const {
  if (!m_error.empty()) {
    return "failed: " + m_error;
  }
  switch (m_phase) {
    case Phase::Start:
      return {};
    case Phase::Sending:
      return "sent " + std::to_string(m_offset) + " of " + std::to_string(m_length) + " bytes";
    case Phase::Waiting:
      return "sent " + std::to_string(m_length) + " bytes, waiting for done";
    case Phase::Done:
      break;
  }
  return "wrote " + std::to_string(m_length) + " bytes to " + m_target + ", sha-384 " + to_hex(m_sha384) +
         " checked by the device";
}

}  // namespace fdo::fsim
