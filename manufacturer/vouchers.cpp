#include "manufacturer/vouchers.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/types/json.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/voucher.h"
#include "tools/common/admin.h"
#include "tools/common/cli.h"

namespace fdo::manufacturer {
namespace {

constexpr std::string_view kVouchersPath = "/admin/vouchers";
constexpr std::string_view kBySerial = "serial/";

std::optional<std::size_t> entry_count(const storage::VoucherRecord& record) {
  try {
    return voucher::OwnershipVoucher::decode(record.voucher).entries().size();
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string utc_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

// How many of `records` carry each serial number.
std::map<std::string, std::size_t> serial_counts(const std::vector<storage::VoucherRecord>& records) {
  std::map<std::string, std::size_t> counts;
  for (const storage::VoucherRecord& r : records) {
    ++counts[r.serial];
  }
  return counts;
}

std::vector<storage::VoucherRecord> all(storage::Store& store) {
  auto tx = store.begin();
  return tx->list_vouchers();
}

transport::AdminResponse pem_answer(const std::optional<storage::VoucherRecord>& record, std::string_view what) {
  if (!record) {
    return transport::AdminResponse{404, "text/plain", "no voucher for " + std::string(what) + "\n"};
  }
  return transport::AdminResponse{200, "application/x-pem-file", voucher_pem(*record)};
}

// "vouchers": records[begin, end) as objects; "same_serial" counts over all of `records`.
void write_vouchers(JsonWriter& j, const std::vector<storage::VoucherRecord>& records, std::size_t begin,
                    std::size_t end) {
  const std::map<std::string, std::size_t> same = serial_counts(records);
  j.key("vouchers").begin_array();
  for (std::size_t i = begin; i < end; ++i) {
    const storage::VoucherRecord& r = records[i];
    j.begin_object();
    j.key("guid").string(r.guid.hex());
    j.key("serial").string(r.serial);
    // More than 1: the device ran DI again (or several devices claim one serial); only the GUID in the device's
    // credential names the voucher it kept.
    j.key("same_serial").uinteger(same.at(r.serial));
    j.key("device_info").string(r.device_info);
    j.key("created_at").integer(r.created_at);
    j.key("entries");
    if (const auto n = entry_count(r)) {
      j.uinteger(*n);
    } else {
      j.null();
    }
    j.key("owner_key_id").string(r.owner_key_id);
    j.end_object();
  }
  j.end_array();
}

}  // namespace

std::string vouchers_json(const std::vector<storage::VoucherRecord>& records, bool pretty) {
  JsonWriter j(pretty);
  j.begin_object().key("format").integer(tool::kJsonFormat);
  write_vouchers(j, records, 0, records.size());
  j.end_object();
  return j.str();
}

std::string vouchers_page_json(const std::vector<storage::VoucherRecord>& records, std::size_t offset,
                               std::size_t limit) {
  JsonWriter j(false);
  j.begin_object().key("format").integer(tool::kJsonFormat);
  j.key("total").uinteger(records.size()).key("offset").uinteger(offset).key("limit").uinteger(limit);
  const std::size_t begin = std::min(offset, records.size());
  write_vouchers(j, records, begin, begin + std::min(limit, records.size() - begin));
  j.end_object();
  return j.str();
}

std::string vouchers_table(const std::vector<storage::VoucherRecord>& records) {
  const std::map<std::string, std::size_t> same = serial_counts(records);
  std::string out;
  for (const storage::VoucherRecord& r : records) {
    const auto n = entry_count(r);
    const std::size_t twins = same.at(r.serial);
    out += r.guid.hex() + "  " + r.serial + "  " + r.device_info + "  " +
           (n ? std::to_string(*n) + (*n == 1 ? " entry" : " entries") : std::string("unreadable")) + "  " +
           utc_time(r.created_at) +
           (twins > 1 ? "  (" + std::to_string(twins) + " vouchers share this serial)" : std::string()) + "\n";
  }
  return out;
}

std::size_t count_serial(storage::Store& store, std::string_view serial) {
  const std::map<std::string, std::size_t> counts = serial_counts(all(store));
  const auto it = counts.find(std::string(serial));
  return it == counts.end() ? 0 : it->second;
}

std::optional<storage::VoucherRecord> find_voucher(storage::Store& store, std::string_view guid,
                                                   std::string_view serial) {
  auto tx = store.begin();
  if (!guid.empty()) {
    return tx->get_voucher(parse_guid(guid));
  }
  return tx->find_voucher_by_serial(serial);
}

std::string voucher_pem(const storage::VoucherRecord& record) { return voucher::to_pem(record.voucher); }

void add_admin_routes(transport::HttpServer& server, storage::Store& store, const std::string& token) {
  server.add_admin_get(std::string(kVouchersPath), [&store, &token](const transport::AdminRequest& request) {
    if (!tool::admin_authorized(request.headers, token)) {
      return tool::admin_unauthorized();
    }
    std::string_view rest = std::string_view(request.path).substr(kVouchersPath.size());
    if (!rest.empty() && rest.front() != '/') {
      return transport::AdminResponse{404, "text/plain", "not found\n"};
    }
    try {
      if (rest.empty() || rest == "/") {
        const tool::Page page = tool::parse_page(request.query);
        return transport::AdminResponse{200, "application/json",
                                        vouchers_page_json(all(store), page.offset, page.limit) + "\n"};
      }
      rest.remove_prefix(1);
      if (rest.substr(0, kBySerial.size()) == kBySerial) {
        const std::string serial(rest.substr(kBySerial.size()));
        return pem_answer(find_voucher(store, {}, serial), "serial " + serial);
      }
      return pem_answer(find_voucher(store, rest, {}), "GUID " + std::string(rest));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::MessageBodyError) {
        throw;
      }
      return transport::AdminResponse{400, "text/plain", std::string(e.what()) + "\n"};
    }
  });
}

}  // namespace fdo::manufacturer
