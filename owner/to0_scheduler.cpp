#include "owner/to0_scheduler.h"

#include "libfdo/voucher/voucher.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::owner_tool {
namespace {

constexpr std::string_view kImported = "imported";
constexpr std::string_view kRegistered = "registered";
constexpr std::string_view kFailed = "failed";
constexpr std::string_view kTo0Step = "TO0";

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The states whose state, step and error TO0 owns; a device "failed" at TO2 or "onboarded" keeps its own.
bool to0_owns_status(const storage::OwnerDeviceRecord& d) {
  return d.state == kImported || d.state == kRegistered || (d.state == kFailed && starts_with(d.step, kTo0Step));
}

// Whether the scheduler keeps this device registered at all (a stored voucher is checked separately).
// Every device whose voucher is still stored stays registered, except an exported one: a run that is "onboarding"
// when the owner stopped, or "onboarded" with a new GUID whose TO2.Done2 the device may never have received, can
// come back under its old GUID through TO1 (docs/owner.md "Crash safety"). The voucher of a replaced GUID is
// removed once the device proves itself under the new one, which ends its registration too.
bool eligible(const storage::OwnerDeviceRecord& d) { return d.state != "exported"; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// to0_detail lines: "URL: 3600 s", "URL: error …", or "error: …" when no server was tried.
bool last_attempt_failed(const std::string& to0_detail) {
  const std::vector<std::string> lines = lines_of(to0_detail);
  return std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return starts_with(line, "error: ") || line.find(": error ") != std::string::npos;
  });
}

// The least WaitSeconds granted in the last attempt, read back from its "URL: N s" lines.
std::optional<std::int64_t> least_granted(const std::string& to0_detail) {
  std::optional<std::int64_t> least;
  for (const std::string& line : lines_of(to0_detail)) {
    const std::size_t colon = line.rfind(": ");
    if (colon == std::string::npos || line.size() < colon + 5 || line.compare(line.size() - 2, 2, " s") != 0) {
      continue;
    }
    const std::string number = line.substr(colon + 2, line.size() - colon - 4);
    if (number.empty() || !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        number.size() > 10) {
      continue;
    }
    const std::int64_t n = std::stoll(number);
    least = least ? std::min(*least, n) : n;
  }
  return least;
}

bool due(const storage::OwnerDeviceRecord& d, const To0SchedulerOptions& o, std::int64_t now) {
  if (last_attempt_failed(d.to0_detail)) {
    return now >= d.updated_at + o.retry_after_failure;
  }
  if (d.to0_expires_at == 0) {
    return true;
  }
  const std::int64_t granted = least_granted(d.to0_detail).value_or(o.wait_seconds);
  return d.to0_expires_at - now < std::max(o.refresh_margin, granted / 4);
}

// "INVALID_OWNERSHIP_VOUCHER (2): …" when the server sent the code, the transport's text, or "refused here: …".
std::string describe_failure(ErrorSource source, std::optional<ErrorCode> code, const std::string& error) {
  switch (source) {
    case ErrorSource::Peer: {
      const ErrorCode c = code.value_or(ErrorCode::InternalServerError);
      return std::string(error_code_name(c)) + " (" + std::to_string(static_cast<int>(c)) + "): " + error;
    }
    case ErrorSource::Transport:
      return error;
    case ErrorSource::Local:
      break;
  }
  return "refused here: " + error;
}

// What one TO0 attempt for one device gave.
struct Attempt {
  std::optional<std::int64_t> least_wait;  // over the servers that accepted
  std::string detail;                      // to0_detail
  std::string failed_step;                 // "TO0 URL" of the first failure, empty when none failed
  std::string error;                       // that failure
};

Attempt attempt(ByteView voucher, const OwnerKeyRing& keys, const RVTO2Addr& to2_addr,
                const To0SchedulerOptions& o, const std::string& guid) {
  Attempt a;
  std::vector<protocol::RvRegistrationOutcome> outcomes;
  try {
    // The key the voucher's last entry names (FDO 1.1 §5.3.2: to1d is signed by the current owner).
    const crypto::PrivateKey* key = keys.find(voucher::OwnershipVoucher::decode(voucher).owner_key().key());
    if (key == nullptr) {
      throw_invalid("the voucher is not extended to a key this owner holds (" + keys.describe() + ")");
    }
    outcomes = protocol::register_with_all(voucher, *key, to2_addr, o.wait_seconds, o.make_transport);
  } catch (const Error& e) {
    a.error = describe_failure(e.source(), e.code(), e.what());
    a.failed_step = std::string(kTo0Step);
    a.detail = "error: " + a.error;
    log::warn("TO0: " + a.error, guid);
    return a;
  }
  for (const protocol::RvRegistrationOutcome& out : outcomes) {
    if (!a.detail.empty()) {
      a.detail += "\n";
    }
    if (out.ok()) {
      const std::int64_t wait = *out.wait_seconds;
      a.least_wait = a.least_wait ? std::min(*a.least_wait, wait) : wait;
      a.detail += out.rv_url + ": " + std::to_string(wait) + " s";
      log::info("TO0: registered at " + out.rv_url + " for " + std::to_string(wait) + " s", guid);
      continue;
    }
    const std::string why = describe_failure(out.error_source, out.error_code, out.error);
    a.detail += out.rv_url + ": error " + why;
    log::warn("TO0 at " + out.rv_url + ": " + why, guid);
    if (a.failed_step.empty()) {
      a.failed_step = std::string(kTo0Step) + " " + out.rv_url;
      a.error = why;
    }
  }
  return a;
}

// The device's status after `a`, applied to its current record `d`.
void apply(storage::OwnerDeviceRecord& d, const Attempt& a, std::int64_t now) {
  const bool owns = to0_owns_status(d);
  if (a.least_wait) {
    d.to0_expires_at = now + *a.least_wait;
    if (owns) {
      d.state = std::string(kRegistered);
    }
  }
  if (owns) {
    d.step = a.failed_step.empty() ? std::string(kTo0Step) : a.failed_step;
    d.error = a.error;
  }
  d.to0_detail = a.detail;
  d.updated_at = now;
}

struct Candidate {
  storage::OwnerDeviceRecord device;
  Bytes voucher;
};

}  // namespace

To0Scheduler::To0Scheduler(storage::Store& store, OwnerKeyRing owner_keys, RVTO2Addr to2_addr,
                           To0SchedulerOptions options)
    : m_store(store), m_owner_keys(std::move(owner_keys)), m_to2_addr(std::move(to2_addr)), m_options(std::move(options)) {
  if (!m_options.clock) {
    m_options.clock = system_now;
  }
}

To0Scheduler::~To0Scheduler() {
  stop();
}

void To0Scheduler::start() {
  const std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) {
    throw_internal("TO0 scheduler: already started");
  }
  m_stop = false;
  m_thread = std::thread([this] { loop(); });
}

void To0Scheduler::stop() {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void To0Scheduler::wake() {
  {
    const std::lock_guard lock(m_mutex);
    m_wake = true;
  }
  m_cv.notify_all();
}

void To0Scheduler::loop() {
  while (true) {
    try {
      run_once(m_options.clock());
    } catch (const std::exception& e) {
      log::error(std::string("TO0 scheduler: ") + e.what());
    } catch (...) {
      log::error("TO0 scheduler: unexpected error");
    }
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, m_options.poll_interval, [this] { return m_stop || m_wake; });
    if (m_stop) {
      return;
    }
    m_wake = false;
  }
}

std::size_t To0Scheduler::run_once(std::int64_t now) {
  const std::lock_guard run(m_run_mutex);
  std::vector<Candidate> candidates;
  {
    const auto tx = m_store.begin();
    for (storage::OwnerDeviceRecord& d : tx->list_owner_devices()) {
      if (!eligible(d) || !due(d, m_options, now)) {
        continue;
      }
      if (std::optional<storage::VoucherRecord> v = tx->get_voucher(d.guid)) {
        candidates.push_back(Candidate{std::move(d), std::move(v->voucher)});
      }
    }
  }
  std::size_t tried = 0;
  for (const Candidate& c : candidates) {
    {
      const std::lock_guard lock(m_mutex);
      if (m_stop) {
        break;
      }
    }
    const std::string guid = c.device.guid.hex();
    // The network exchange runs outside any transaction; the record is re-read before it is updated.
    const Attempt a = attempt(c.voucher, m_owner_keys, m_to2_addr, m_options, guid);
    ++tried;
    const auto tx = m_store.begin();
    std::optional<storage::OwnerDeviceRecord> current = tx->get_owner_device(c.device.guid);
    const std::optional<storage::VoucherRecord> v = tx->get_voucher(c.device.guid);
    if (!current || !eligible(*current) || !v || v->voucher != c.voucher) {
      continue;  // exported, re-imported or onboarding meanwhile: this attempt no longer describes it
    }
    apply(*current, a, now);
    tx->put_owner_device(*current);
    tx->commit();
  }
  return tried;
}

}  // namespace fdo::owner_tool
