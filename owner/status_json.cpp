#include "owner/status_json.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "libfdo/core/error.h"
#include "libfdo/voucher/voucher.h"
#include "tools/common/cli.h"

namespace fdo::owner_tool {
namespace {

void string_or_null(JsonWriter& j, const std::string& s) {
  if (s.empty()) {
    j.null();
  } else {
    j.string(s);
  }
}

}  // namespace

std::string utc_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::vector<std::string> detail_lines(const std::string& to0_detail) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < to0_detail.size()) {
    const std::size_t end = std::min(to0_detail.find('\n', start), to0_detail.size());
    if (end > start) {
      out.push_back(to0_detail.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

void write_device(JsonWriter& j, const storage::OwnerDeviceRecord& d, bool voucher_stored) {
  j.begin_object();
  j.key("guid").string(d.guid.hex());
  j.key("state").string(d.state);
  j.key("step");
  string_or_null(j, d.step);
  j.key("error");
  string_or_null(j, d.error);
  j.key("new_guid");
  string_or_null(j, d.new_guid);
  j.key("to0_expires_at");
  if (d.to0_expires_at == 0) {
    j.null();
  } else {
    j.integer(d.to0_expires_at);
  }
  j.key("to0_detail").begin_array();
  for (const std::string& line : detail_lines(d.to0_detail)) {
    j.string(line);
  }
  j.end_array();
  j.key("onboard_count").integer(d.onboard_count);
  j.key("modules").begin_array();
  for (const std::string& line : detail_lines(d.modules)) {
    j.string(line);
  }
  j.end_array();
  j.key("updated_at").integer(d.updated_at);
  j.key("voucher").boolean(voucher_stored);
  j.end_object();
}

std::string devices_json(const std::vector<storage::OwnerDeviceRecord>& devices, const std::vector<Guid>& stored,
                         bool pretty) {
  JsonWriter j(pretty);
  j.begin_object().key("format").integer(tool::kJsonFormat).key("devices").begin_array();
  for (const storage::OwnerDeviceRecord& d : devices) {
    write_device(j, d, std::find(stored.begin(), stored.end(), d.guid) != stored.end());
  }
  j.end_array().end_object();
  return j.str();
}

std::string device_json(const storage::OwnerDeviceRecord& device, bool voucher_stored, bool pretty) {
  JsonWriter j(pretty);
  j.begin_object().key("format").integer(tool::kJsonFormat).key("device");
  write_device(j, device, voucher_stored);
  j.end_object();
  return j.str();
}

void write_voucher(JsonWriter& j, const storage::VoucherRecord& r, const std::optional<std::string>& state) {
  j.begin_object();
  j.key("guid").string(r.guid.hex());
  j.key("device_info").string(r.device_info);
  j.key("created_at").integer(r.created_at);
  j.key("entries");
  try {
    j.uinteger(voucher::OwnershipVoucher::decode(r.voucher).entries().size());
  } catch (const Error&) {
    j.null();
  }
  j.key("owner_key_id").string(r.owner_key_id);
  j.key("state");
  if (state) {
    j.string(*state);
  } else {
    j.null();
  }
  j.end_object();
}

std::string vouchers_json(const std::vector<storage::VoucherRecord>& vouchers,
                          const std::vector<storage::OwnerDeviceRecord>& devices, bool pretty) {
  std::map<Guid, std::string> state;
  for (const storage::OwnerDeviceRecord& d : devices) {
    state.emplace(d.guid, d.state);
  }
  JsonWriter j(pretty);
  j.begin_object().key("format").integer(tool::kJsonFormat).key("vouchers").begin_array();
  for (const storage::VoucherRecord& r : vouchers) {
    const auto it = state.find(r.guid);
    write_voucher(j, r, it == state.end() ? std::nullopt : std::optional<std::string>(it->second));
  }
  j.end_array().end_object();
  return j.str();
}

std::string import_json(const std::vector<ImportOutcome>& outcomes, const std::vector<std::string>& files,
                        bool pretty) {
  const auto imported = std::count_if(outcomes.begin(), outcomes.end(), [](const ImportOutcome& o) { return o.ok; });
  JsonWriter j(pretty);
  j.begin_object().key("format").integer(tool::kJsonFormat);
  j.key("imported").integer(imported);
  j.key("refused").integer(static_cast<std::int64_t>(outcomes.size()) - imported);
  j.key("vouchers").begin_array();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const ImportOutcome& o = outcomes[i];
    j.begin_object();
    j.key("file");
    string_or_null(j, i < files.size() ? files[i] : std::string());
    j.key("index").uinteger(o.index);
    j.key("guid");
    if (o.guid_known) {
      j.string(o.guid.hex());
    } else {
      j.null();
    }
    j.key("ok").boolean(o.ok);
    j.key("detail").string(o.detail);
    j.end_object();
  }
  j.end_array().end_object();
  return j.str();
}

}  // namespace fdo::owner_tool
