#include "libfdo/fsim/fdo_command.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

namespace si = serviceinfo;

constexpr std::string_view kCommand = "command";
constexpr std::string_view kArgs = "args";
constexpr std::string_view kMayFail = "may_fail";
constexpr std::string_view kReturnStdout = "return_stdout";
constexpr std::string_view kReturnStderr = "return_stderr";
constexpr std::string_view kExecute = "execute";
constexpr std::string_view kSig = "sig";
constexpr std::string_view kStdout = "stdout";
constexpr std::string_view kStderr = "stderr";
constexpr std::string_view kExitcode = "exitcode";
constexpr std::string_view kError = "error";

/// docs/service-info.md "fdo.command": the args value stays well under one 1300-byte message.
constexpr std::size_t kMaxArgsValue = 1024;

std::string key(std::string_view message) { return si::make_key(kFdoCommand, message); }

Bytes argv_array(const std::vector<std::string>& args) {
  cbor::Writer w;
  w.array(args.size());
  for (const std::string& a : args) {
    w.tstr(a);
  }
  return std::move(w).take();
}

/// FSIM fdo.command: args = bstr .cbor [* tstr]; `plain` gives the bare array (docs/interop.md "bare-command-args").
Bytes args_value(const std::vector<std::string>& args, bool plain) {
  if (plain) {
    return argv_array(args);
  }
  return si::bstr_value(argv_array(args));
}

std::vector<std::string> read_tstr_array(cbor::Reader& r) {
  const std::size_t n = r.read_array("");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(r.read_tstr("[" + std::to_string(i) + "]"));
  }
  r.expect_end();
  return out;
}

bool failed(const CommandResult& r) { return r.exit_code != 0 || r.timed_out || !r.error.empty(); }

}  // namespace

// ---- device ----

void FdoCommandDevice::on_message(std::string_view message, ByteView value, si::Outbox& out) {
  if (m_failure.failed()) {
    log::warn("fdo.command: " + std::string(message) + " ignored after the failure: " + m_failure.what());
    return;
  }
  try {
    handle(message, value);
  } catch (const Error& e) {
    fail(e.code(), e.what(), out);
  }
}

std::vector<std::string> FdoCommandDevice::read_args(ByteView value) const {
  cbor::Reader r(value, key(kArgs));
  if (r.peek_type() == cbor::MajorType::Array) {
    // docs/interop.md "bare-command-args": Java PRI and the C SDK send the array without its bstr wrapper.
    if (!m_leniency.accept(Quirk::BareCommandArgs, "fdo.command:args")) {
      r.fail("", "a bare array; FSIM fdo.command sends bstr .cbor [* tstr] (docs/interop.md \"bare-command-args\")");
    }
    return read_tstr_array(r);
  }
  const Bytes inner = r.read_bstr("bstr .cbor [* tstr]");
  r.expect_end();
  cbor::Reader in(inner, key(kArgs) + " (inside the bstr)");
  return read_tstr_array(in);
}

void FdoCommandDevice::handle(std::string_view message, ByteView value) {
  const bool running = m_run.started() && !m_reported;
  if (message == kCommand) {
    const std::string command = si::read_tstr_value(value, key(kCommand));
    if (running) {
      throw_invalid("fdo.command:command while the last command runs");
    }
    // As go-fdo: command starts a new command; everything before it is forgotten.
    m_command = command;
    m_args.clear();
    m_may_fail = m_return_stdout = m_return_stderr = m_args_pending = m_reported = false;
    m_run = AsyncCommand();
    return;
  }
  if (message == kArgs) {
    std::vector<std::string> args = read_args(value);
    if (!m_command || m_run.started()) {
      throw_invalid("fdo.command:args without a command before it");
    }
    m_args = std::move(args);
    m_args_pending = true;
    return;
  }
  if (message == kMayFail || message == kReturnStdout || message == kReturnStderr) {
    const bool v = si::read_bool_value(value, key(message));
    (message == kMayFail ? m_may_fail : message == kReturnStdout ? m_return_stdout : m_return_stderr) = v;
    return;
  }
  if (message == kExecute) {
    cbor::Reader r(value, key(kExecute));
    r.read_null("");
    r.expect_end();
    if (!m_command) {
      throw_invalid("fdo.command:execute without a command");
    }
    if (m_run.started()) {
      throw_invalid("fdo.command:execute a second time");
    }
    start();
    return;
  }
  if (message == kSig) {
    const std::int64_t sig = si::read_int_value(value, key(kSig));
    if (sig < 1 || sig > 64) {
      throw_invalid("fdo.command:sig " + std::to_string(sig) + " is not a signal number");
    }
    // The signal goes to the command's process group; its exitcode (128 + signal) follows as usual.
    if (running && m_run.signal(static_cast<int>(sig))) {
      log::info("fdo.command: signal " + std::to_string(sig) + " sent to " + *m_command);
    } else {
      log::info("fdo.command:sig " + std::to_string(sig) + " with no command running: ignored");
    }
    return;
  }
  throw_invalid("unknown message fdo.command:" + std::string(message));
}

void FdoCommandDevice::start() {
  std::vector<std::string> argv{*m_command};
  argv.insert(argv.end(), m_args.begin(), m_args.end());
  log::info("fdo.command: running " + *m_command + " (" + std::to_string(m_args.size()) + " arguments)");
  m_run.start(m_context, std::move(argv));
  m_args_pending = false;
}

void FdoCommandDevice::fail(ErrorCode code, const std::string& what, si::Outbox& out) {
  log::warn("fdo.command: " + what);
  m_failure.set(code, what);
  out.send(kError, si::tstr_value(what));
}

void FdoCommandDevice::on_poll(si::Outbox& out) {
  m_failure.poll();
  if (m_failure.failed()) {
    return;
  }
  if (m_args_pending && !m_run.started()) {
    // docs/service-info.md "fdo.command": args with no execute in the same owner batch runs the command (the
    // draft FSIM's first trigger).
    log::info("fdo.command: args without execute; running the command");
    start();
  }
  if (!m_run.started() || m_reported) {
    return;
  }
  // A short wait keeps a device that polls without pause from spinning.
  const std::optional<CommandResult> result = m_run.wait_for(std::chrono::milliseconds(100));
  if (!result) {
    return;
  }
  m_reported = true;
  // Output blocks fill a 68 at the MTU the owner announced (Outbox::kv_budget()).
  const std::size_t chunk = si::max_bstr_chunk(out.kv_budget(), key(kStdout));
  const auto blocks = [&](std::string_view message, const Bytes& data) {
    for (std::size_t at = 0; at < data.size(); at += chunk) {
      out.send(message, si::bstr_value(ByteView(data).subspan(at, std::min(chunk, data.size() - at))));
    }
  };
  if (m_return_stdout) {
    blocks(kStdout, result->out);
  }
  if (m_return_stderr) {
    blocks(kStderr, result->err);
  }
  out.send(kExitcode, si::int_value(result->exit_code));
  if (failed(*result) && !m_may_fail) {
    // docs/service-info.md "fdo.command": exit != 0 and may_fail false ends TO2 with 500 after the exitcode.
    fail(ErrorCode::InternalServerError, "fdo.command " + *m_command + ": " + describe_failure(*result, m_context),
         out);
    m_failure.reported();
  }
}

// ---- owner ----

FdoCommandOwner::FdoCommandOwner(ByteView params) {
  const si::ModuleParams p = si::ModuleParams::decode(kFdoCommand, params);
  p.expect_only({"command", "args", "may_fail", "return_stdout", "return_stderr", "args_form", "timeout",
                 "signal_at_timeout", "signal_grace"});
  m_command = p.required("command");
  if (m_command.empty()) {
    throw_body_error("fdo.command: command is empty");
  }
  m_args = p.list("args");
  m_may_fail = p.flag("may_fail", false);
  m_return_stdout = p.flag("return_stdout", false);
  m_return_stderr = p.flag("return_stderr", false);
  m_args_form = p.get("args_form", "auto");
  if (m_args_form != "auto" && m_args_form != "bstr" && m_args_form != "plain") {
    throw_body_error("fdo.command: args_form is auto, bstr or plain, not " + m_args_form);
  }
  m_plain_args = m_args_form == "plain";
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 1, 86400));
  m_signal = static_cast<int>(p.integer("signal_at_timeout", 0, 0, 64));
  m_grace = transfer::OwnerDeadline(p.integer("signal_grace", 10, 1, 3600));
  if (args_value(m_args, false).size() > kMaxArgsValue) {
    throw_body_error("fdo.command: args take more than " + std::to_string(kMaxArgsValue) + " bytes");
  }
}

bool FdoCommandOwner::on_devmod(const si::DevmodInfo& info) {
  if (m_args_form == "auto") {
    // docs/service-info.md "fdo.command": a device listing fdo_sys is Java PRI or the C SDK, which read the bare form.
    m_plain_args = std::find(info.modules.begin(), info.modules.end(), "fdo_sys") != info.modules.end();
  }
  return true;
}

void FdoCommandOwner::on_message(std::string_view message, ByteView value) {
  if (message == kStdout || message == kStderr) {
    const Bytes data = si::read_bstr_value(value, key(message));
    (message == kStdout ? m_stdout : m_stderr) += data.size();
    return;
  }
  if (message == kExitcode) {
    m_exit = si::read_int_value(value, key(kExitcode));
    if (!m_sent) {
      throw_invalid("fdo.command:exitcode before the command was sent");
    }
    if (*m_exit != 0 && !m_may_fail) {
      throw_internal("fdo.command: " + m_command + " ended with exit " + std::to_string(*m_exit));
    }
    return;
  }
  if (message == kError) {
    throw_internal("fdo.command: the device reports: " + si::read_tstr_value(value, key(kError)));
  }
  log::warn("fdo.command: unexpected device message " + std::string(message) + " ignored");
}

si::Produced FdoCommandOwner::produce(std::size_t budget) {
  (void)budget;  // six small KVs; the engine carries over what does not fit this 69
  si::Produced out;
  if (!m_sent) {
    out.kvs.push_back(si::make_kv(kFdoCommand, kCommand, si::tstr_value(m_command)));
    out.kvs.push_back(si::make_kv(kFdoCommand, kArgs, args_value(m_args, m_plain_args)));
    out.kvs.push_back(si::make_kv(kFdoCommand, kMayFail, si::bool_value(m_may_fail)));
    out.kvs.push_back(si::make_kv(kFdoCommand, kReturnStdout, si::bool_value(m_return_stdout)));
    out.kvs.push_back(si::make_kv(kFdoCommand, kReturnStderr, si::bool_value(m_return_stderr)));
    cbor::Writer null;
    null.null();
    out.kvs.push_back(si::make_kv(kFdoCommand, kExecute, std::move(null).take()));
    m_sent = true;
    m_deadline.start();
    return out;
  }
  if (m_exit) {
    out.done = true;
    return out;
  }
  // docs/service-info.md "Owner deadlines": the owner waits for exitcode up to its deadline; with signal_at_timeout it
  // then sends fdo.command:sig and waits signal_grace more for the exitcode that follows.
  if (m_signal_sent) {
    if (m_grace.expired()) {
      throw_internal("fdo.command: no exitcode from the device " + m_grace.within() + " of signal " +
                     std::to_string(m_signal));
    }
    return out;
  }
  if (m_deadline.expired()) {
    if (m_signal == 0) {
      throw_internal("fdo.command: no exitcode from the device " + m_deadline.within());
    }
    out.kvs.push_back(si::make_kv(kFdoCommand, kSig, si::int_value(m_signal)));
    m_signal_sent = true;
    m_grace.start();
    log::warn("fdo.command: no exitcode " + m_deadline.within() + "; signal " + std::to_string(m_signal) + " sent");
  }
  return out;
}

// Stored state: [plain_args, sent, deadline_ms, stdout bytes, stderr bytes, exit / null, signal_sent, grace_ms]
Bytes FdoCommandOwner::save() const {
  cbor::Writer w;
  w.array(8).boolean(m_plain_args).boolean(m_sent).int_(m_deadline.saved()).uint(m_stdout).uint(m_stderr);
  if (m_exit) {
    w.int_(*m_exit);
  } else {
    w.null();
  }
  w.boolean(m_signal_sent).int_(m_grace.saved());
  return std::move(w).take();
}

void FdoCommandOwner::restore(ByteView state) {
  cbor::Reader r(state, "fdo.command state");
  r.read_array_of("", 8);
  m_plain_args = r.read_bool("plain_args");
  m_sent = r.read_bool("sent");
  m_deadline.restore(r.read_int("deadline"));
  m_stdout = r.read_uint("stdout");
  m_stderr = r.read_uint("stderr");
  m_exit.reset();
  if (!r.try_read_null()) {
    m_exit = r.read_int("exit");
  }
  m_signal_sent = r.read_bool("signal_sent");
  m_grace.restore(r.read_int("grace"));
  r.expect_end();
}

std::string FdoCommandOwner::summary() const {
  if (!m_exit) {
    return m_sent ? "sent, no exit code" : std::string();
  }
  std::string s = "exit " + std::to_string(*m_exit);
  if (m_signal_sent) {
    s += " after signal " + std::to_string(m_signal) + " at the deadline";
  }
  if (m_return_stdout) {
    s += "; stdout " + std::to_string(m_stdout) + " bytes";
  }
  if (m_return_stderr) {
    s += "; stderr " + std::to_string(m_stderr) + " bytes";
  }
  return s;
}

}  // namespace fdo::fsim
