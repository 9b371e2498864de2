#include "libfdo/fsim/fdo_sys.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/log.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

namespace si = serviceinfo;

constexpr std::string_view kFiledesc = "filedesc";
constexpr std::string_view kWrite = "write";
constexpr std::string_view kExec = "exec";
constexpr std::string_view kExecCb = "exec_cb";
constexpr std::string_view kStatusCb = "status_cb";
constexpr std::string_view kFetch = "fetch";
constexpr std::string_view kData = "data";
constexpr std::string_view kEot = "eot";
constexpr std::string_view kError = "error";

/// Largest file the device collects, and the owner reads from its plan directory.
constexpr std::size_t kMaxFile = std::size_t{64} << 20;
/// docs/service-info.md "fdo_sys": exec_cb never holds the loop longer than 30 s per poll.
constexpr std::uint64_t kMaxWaitSec = 30;
constexpr unsigned kFileMode = 0600;  // as Java PRI creates them

std::string key(std::string_view message) { return si::make_key(kFdoSys, message); }

/// Device blocks (fdo_sys:data) sized for the smallest MTU, since a device module does not know the owner's limit.
// fetch's data blocks fill a 68 at the MTU the owner announced (Outbox::kv_budget()).
std::size_t device_chunk(const si::Outbox& out) { return si::max_bstr_chunk(out.kv_budget(), key(kData)); }

/// `[* tstr]`, at least one element (exec, exec_cb).
std::vector<std::string> read_argv(ByteView value, std::string_view message) {
  const std::string k = key(message);
  cbor::Reader r(value, k);
  const std::size_t n = r.read_array("");
  if (n == 0) {
    r.fail("", "empty command");
  }
  std::vector<std::string> argv;
  for (std::size_t i = 0; i < n; ++i) {
    argv.push_back(r.read_tstr("[" + std::to_string(i) + "]"));
  }
  r.expect_end();
  return argv;
}

/// status_cb = [bool isComplete, int retCode, uint waitSec]
struct StatusCb {
  bool complete = false;
  std::int64_t ret_code = 0;
  std::uint64_t wait_sec = 0;
};

StatusCb read_status_cb(ByteView value) {
  cbor::Reader r(value, key(kStatusCb));
  r.read_array_of("", 3);
  StatusCb s;
  s.complete = r.read_bool("[0] isComplete");
  s.ret_code = r.read_int("[1] retCode");
  s.wait_sec = r.read_uint("[2] waitSec");
  r.expect_end();
  return s;
}

Bytes status_cb_value(bool complete, std::int64_t ret_code, std::uint64_t wait_sec) {
  cbor::Writer w;
  w.array(3).boolean(complete).int_(ret_code).uint(wait_sec);
  return std::move(w).take();
}

Bytes argv_value(const std::vector<std::string>& argv) {
  cbor::Writer w;
  w.array(argv.size());
  for (const std::string& a : argv) {
    w.tstr(a);
  }
  return std::move(w).take();
}

Bytes eot_value(std::int64_t status) {
  cbor::Writer w;
  w.array(1).int_(status);
  return std::move(w).take();
}

}  // namespace

// ---- device ----

void FdoSysDevice::on_message(std::string_view message, ByteView value, si::Outbox& out) {
  if (m_failure.failed()) {
    log::warn("fdo_sys: " + std::string(message) + " ignored after the failure: " + m_failure.what());
    return;
  }
  try {
    handle(message, value, out);
  } catch (const Error& e) {
    fail(e.code(), e.what(), out);
  }
}

void FdoSysDevice::handle(std::string_view message, ByteView value, si::Outbox& out) {
  if (message == kFiledesc) {
    const std::string name = si::read_tstr_value(value, key(kFiledesc));
    flush();
    m_file = path_in_root(m_context, name);
    m_data.clear();
    return;
  }
  if (message == kWrite) {
    const Bytes data = si::read_bstr_value(value, key(kWrite));
    // docs/service-info.md "fdo_sys": write appends to the current file; an error if no filedesc yet.
    if (!m_file) {
      throw_invalid("fdo_sys:write before fdo_sys:filedesc");
    }
    if (m_data.size() + data.size() > kMaxFile) {
      throw_invalid("fdo_sys:write: " + m_file->filename().string() + " grows beyond " + std::to_string(kMaxFile) +
                    " bytes");
    }
    m_data.insert(m_data.end(), data.begin(), data.end());
    return;
  }
  if (message == kExec) {
    exec(read_argv(value, kExec), out);
    return;
  }
  if (message == kExecCb) {
    const std::vector<std::string> argv = read_argv(value, kExecCb);
    flush();
    if (m_command.started()) {
      throw_invalid("fdo_sys:exec_cb while an earlier exec_cb command runs");
    }
    log::info("fdo_sys: exec_cb " + argv.front() + " (" + std::to_string(argv.size()) + " arguments)");
    m_command.start(m_context, argv);
    m_reported = false;
    out.send(kStatusCb, status_cb_value(false, 0, m_wait_sec));
    return;
  }
  if (message == kStatusCb) {
    const StatusCb s = read_status_cb(value);
    if (!m_command.started() || m_reported) {
      throw_invalid("fdo_sys:status_cb while no exec_cb command runs");
    }
    if (s.complete) {
      // The owner stops waiting; the process keeps its deadline (the device's command timeout).
      log::warn("fdo_sys: the owner ended the wait for the exec_cb command");
      m_reported = true;
      return;
    }
    m_wait_sec = std::clamp<std::uint64_t>(s.wait_sec, 1, kMaxWaitSec);
    m_answer_due = std::chrono::steady_clock::now() + std::chrono::seconds(m_wait_sec);
    return;
  }
  if (message == kFetch) {
    const std::string name = si::read_tstr_value(value, key(kFetch));
    flush();
    fetch(name, out);
    return;
  }
  if (message == "keepalive" || message == "retcode" || message == "fetchfile") {
    log::warn("fdo_sys:" + std::string(message) + " ignored (no known wire use)");
    return;
  }
  throw_invalid("unknown message fdo_sys:" + std::string(message));
}

void FdoSysDevice::flush() {
  if (m_file) {
    write_in_root(*m_file, m_data, kFileMode);
    log::info("fdo_sys: wrote " + m_file->filename().string() + " (" + std::to_string(m_data.size()) + " bytes)");
    m_file.reset();
    m_data.clear();
  }
}

void FdoSysDevice::exec(const std::vector<std::string>& argv, si::Outbox& out) {
  flush();
  log::info("fdo_sys: exec " + argv.front() + " (" + std::to_string(argv.size()) + " arguments)");
  const CommandResult result = run_in_root(m_context, argv);
  // [ours] the exit status goes back as status_cb [true, rc, 0], so the owner can record it.
  out.send(kStatusCb, status_cb_value(true, result.exit_code, 0));
  if (result.exit_code != 0 || result.timed_out || !result.error.empty()) {
    // docs/service-info.md "fdo_sys": exec ending other than with exit 0 fails TO2 with 500.
    throw_internal("fdo_sys:exec " + argv.front() + ": " + describe_failure(result, m_context));
  }
}

void FdoSysDevice::fetch(const std::string& name, si::Outbox& out) {
  const FileRead read = read_file_checked(path_in_root(m_context, name), kMaxFile);
  if (!read.data) {
    out.send(kEot, eot_value(1));
    throw_invalid("fdo_sys:fetch " + name + ": " + read.problem);
  }
  const std::size_t chunk = device_chunk(out);
  for (std::size_t at = 0; at < read.data->size(); at += chunk) {
    const std::size_t n = std::min(chunk, read.data->size() - at);
    out.send(kData, si::bstr_value(ByteView(*read.data).subspan(at, n)));
  }
  out.send(kEot, eot_value(0));
}

void FdoSysDevice::fail(ErrorCode code, const std::string& what, si::Outbox& out) {
  log::warn("fdo_sys: " + what);
  m_failure.set(code, what);
  m_file.reset();
  m_data.clear();
  out.send(kError, si::tstr_value(what));
}

void FdoSysDevice::on_poll(si::Outbox& out) {
  m_failure.poll();
  if (m_failure.failed() || !m_command.started() || m_reported) {
    return;
  }
  // A short wait keeps a device that polls without pause from spinning; far below waitSec.
  if (const std::optional<CommandResult> result = m_command.wait_for(std::chrono::milliseconds(100))) {
    out.send(kStatusCb, status_cb_value(true, result->exit_code, m_wait_sec));
    m_reported = true;
    m_answer_due.reset();
    if (result->exit_code != 0 || result->timed_out || !result->error.empty()) {
      fail(ErrorCode::InternalServerError, "fdo_sys:exec_cb: " + describe_failure(*result, m_context), out);
      m_failure.reported();
    }
    return;
  }
  if (m_answer_due && std::chrono::steady_clock::now() >= *m_answer_due) {
    out.send(kStatusCb, status_cb_value(false, 0, m_wait_sec));
    m_answer_due.reset();
  }
}

void FdoSysDevice::on_end(bool success) {
  if (success && !m_failure.failed()) {
    flush();
    return;
  }
  // A failed run keeps nothing of a file still being collected.
  m_file.reset();
  m_data.clear();
}

// ---- owner ----

FdoSysOwner::FdoSysOwner(ByteView params, const OwnerContext& context) {
  const si::ModuleParams p = si::ModuleParams::decode(kFdoSys, params);
  p.expect_only({"files", "exec", "exec_cb", "wait_sec", "fetch", "timeout"});
  for (const std::string& name : p.list("files")) {
    const std::filesystem::path given(name);
    const std::filesystem::path path = given.is_absolute() ? given : context.plan_dir / given;
    FileRead read = read_file_checked(path, kMaxFile);
    if (!read.data) {
      throw_body_error("fdo_sys: file " + name + ": " + read.problem);
    }
    m_files.push_back(File{.device_name = given.is_absolute() ? given.filename().string() : name,
                           .data = std::move(*read.data)});
  }
  m_exec = p.list("exec");
  m_exec_cb = p.flag("exec_cb", false);
  m_wait_sec = static_cast<std::uint64_t>(p.integer("wait_sec", 5, 1, static_cast<std::int64_t>(kMaxWaitSec)));
  m_fetch = p.list("fetch");
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 1, 86400));
  if (m_exec_cb && m_exec.empty()) {
    throw_body_error("fdo_sys: exec_cb = true needs exec = [command, arguments...]");
  }
  if (m_files.empty() && m_exec.empty() && m_fetch.empty()) {
    throw_body_error("fdo_sys: nothing to do (give files, exec or fetch)");
  }
}

void FdoSysOwner::start_wait() {
  m_deadline.start();
}

void FdoSysOwner::check_deadline() {
  // docs/service-info.md "Owner deadlines".
  if (m_deadline.expired()) {
    throw_internal("fdo_sys: no answer from the device " + m_deadline.within());
  }
}

void FdoSysOwner::on_message(std::string_view message, ByteView value) {
  if (message == kStatusCb) {
    const StatusCb s = read_status_cb(value);
    if (m_phase != Phase::AwaitExec) {
      throw_invalid("fdo_sys:status_cb while no command runs");
    }
    if (!s.complete) {
      m_poll_due = true;
      return;
    }
    m_exit = s.ret_code;
    if (s.ret_code != 0) {
      throw_internal("fdo_sys: the device's command ended with exit " + std::to_string(s.ret_code));
    }
    return;
  }
  if (message == kData) {
    const Bytes data = si::read_bstr_value(value, key(kData));
    if (m_phase != Phase::AwaitFetch) {
      throw_invalid("fdo_sys:data without a fetch");
    }
    m_fetched += data.size();
    return;
  }
  if (message == kEot) {
    cbor::Reader r(value, key(kEot));
    r.read_array_of("", 1);
    const std::int64_t status = r.read_int("[0] status");
    r.expect_end();
    if (m_phase != Phase::AwaitFetch) {
      throw_invalid("fdo_sys:eot without a fetch");
    }
    if (status != 0) {
      throw_internal("fdo_sys: fetch " + m_fetch[m_index] + " failed on the device");
    }
    m_fetch_report += (m_fetch_report.empty() ? "" : ", ") + std::string("fetched ") + m_fetch[m_index] + " " +
                      std::to_string(m_fetched) + " bytes";
    m_fetched = 0;
    ++m_index;
    m_phase = Phase::Fetch;
    return;
  }
  if (message == kError) {
    throw_internal("fdo_sys: the device reports: " + si::read_tstr_value(value, key(kError)));
  }
  log::warn("fdo_sys: unexpected device message " + std::string(message) + " ignored");
}

si::Produced FdoSysOwner::produce(std::size_t budget) {
  si::Produced out;
  std::size_t left = budget;
  const auto add = [&](si::ServiceInfoKv kv) {
    const std::size_t size = si::encoded_size(kv);
    if (size > left) {
      return false;
    }
    left -= size;
    out.kvs.push_back(std::move(kv));
    return true;
  };
  for (;;) {
    switch (m_phase) {
      case Phase::Files: {
        while (m_index < m_files.size()) {
          const File& f = m_files[m_index];
          if (m_offset == std::numeric_limits<std::size_t>::max()) {
            if (!add(si::make_kv(kFdoSys, kFiledesc, si::tstr_value(f.device_name)))) {
              out.block_device = !out.kvs.empty();
              return out;
            }
            m_offset = 0;
          }
          // docs/service-info.md "fdo_sys": each write carries as much as fits (the exact fit, not PRI's mtu - 26).
          while (m_offset < f.data.size()) {
            const std::size_t n = std::min(f.data.size() - m_offset, si::max_bstr_chunk(left, key(kWrite)));
            if (n == 0) {
              out.block_device = !out.kvs.empty();
              return out;
            }
            add(si::make_kv(kFdoSys, kWrite, si::bstr_value(ByteView(f.data).subspan(m_offset, n))));
            m_offset += n;
          }
          ++m_index;
          m_offset = std::numeric_limits<std::size_t>::max();
        }
        m_index = 0;
        m_phase = m_exec.empty() ? Phase::Fetch : Phase::Exec;
        break;
      }
      case Phase::Exec:
        if (!add(si::make_kv(kFdoSys, m_exec_cb ? kExecCb : kExec, argv_value(m_exec)))) {
          out.block_device = !out.kvs.empty();
          return out;
        }
        m_phase = Phase::AwaitExec;
        start_wait();
        return out;
      case Phase::AwaitExec:
        if (m_exit) {
          m_phase = Phase::Fetch;
          break;
        }
        check_deadline();
        if (m_poll_due && add(si::make_kv(kFdoSys, kStatusCb, status_cb_value(false, 0, m_wait_sec)))) {
          m_poll_due = false;
        }
        return out;
      case Phase::Fetch:
        if (m_index >= m_fetch.size()) {
          m_phase = Phase::Done;
          break;
        }
        if (!add(si::make_kv(kFdoSys, kFetch, si::tstr_value(m_fetch[m_index])))) {
          return out;
        }
        m_phase = Phase::AwaitFetch;
        m_fetched = 0;
        start_wait();
        return out;
      case Phase::AwaitFetch:
        check_deadline();
        return out;
      case Phase::Done:
        out.done = true;
        return out;
    }
  }
}

// Stored state: [phase, index, offset (-1: filedesc to go), poll_due, exit / null, deadline_ms, fetched,
//                fetch_report, [* file size]]
Bytes FdoSysOwner::save() const {
  cbor::Writer w;
  w.array(9).uint(static_cast<std::uint8_t>(m_phase)).uint(m_index);
  if (m_offset == std::numeric_limits<std::size_t>::max()) {
    w.int_(-1);
  } else {
    w.int_(static_cast<std::int64_t>(m_offset));
  }
  w.boolean(m_poll_due);
  if (m_exit) {
    w.int_(*m_exit);
  } else {
    w.null();
  }
  w.int_(m_deadline.saved()).uint(m_fetched).tstr(m_fetch_report);
  w.array(m_files.size());
  for (const File& f : m_files) {
    w.uint(f.data.size());
  }
  return std::move(w).take();
}

void FdoSysOwner::restore(ByteView state) {
  cbor::Reader r(state, "fdo_sys state");
  r.read_array_of("", 9);
  m_phase = static_cast<Phase>(r.read_uint_max("phase", static_cast<std::uint64_t>(Phase::Done)));
  m_index = static_cast<std::size_t>(r.read_uint("index"));
  const std::int64_t offset = r.read_int("offset");
  m_offset = offset < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(offset);
  m_poll_due = r.read_bool("poll_due");
  m_exit.reset();
  if (!r.try_read_null()) {
    m_exit = r.read_int("exit");
  }
  m_deadline.restore(r.read_int("deadline"));
  m_fetched = r.read_uint("fetched");
  m_fetch_report = r.read_tstr("fetch_report");
  const std::size_t n = r.read_array("file sizes");
  if (n != m_files.size()) {
    throw_internal("fdo_sys: the plan's files changed during the run");
  }
  for (const File& f : m_files) {
    if (r.read_uint("file size") != f.data.size()) {
      throw_internal("fdo_sys: " + f.device_name + " changed during the run");
    }
  }
  r.expect_end();
}

std::string FdoSysOwner::summary() const {
  std::string s;
  const auto part = [&](const std::string& p) { s += (s.empty() ? "" : "; ") + p; };
  const std::size_t sent = m_phase == Phase::Files ? m_index : m_files.size();
  for (std::size_t i = 0; i < sent; ++i) {
    part(m_files[i].device_name + " " + std::to_string(m_files[i].data.size()) + " bytes");
  }
  if (m_exit) {
    part("exit " + std::to_string(*m_exit));
  }
  if (!m_fetch_report.empty()) {
    part(m_fetch_report);
  }
  return s;
}

}  // namespace fdo::fsim
