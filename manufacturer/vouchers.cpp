#include "manufacturer/vouchers.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/core/log.h"
#include "libfdo/types/json.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/summary.h"
#include "libfdo/voucher/voucher.h"
#include "tools/common/admin.h"
#include "tools/common/cli.h"

namespace fdo::manufacturer {
namespace {

constexpr std::string_view kVouchersPath = "/admin/vouchers";

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

// One voucher as the list shows it. `same_serial` above 1: the device ran DI again (or several devices claim one
// serial); only the GUID in the device's credential names the voucher it kept.
void write_summary(JsonWriter& j, const storage::VoucherRecord& r, std::size_t same_serial) {
  j.begin_object();
  j.key("guid").string(r.guid.hex());
  j.key("serial").string(r.serial);
  j.key("same_serial").uinteger(same_serial);
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

// "vouchers": records[begin, end) as objects; "same_serial" counts over all of `records`.
void write_vouchers(JsonWriter& j, const std::vector<storage::VoucherRecord>& records, std::size_t begin,
                    std::size_t end) {
  const std::map<std::string, std::size_t> same = serial_counts(records);
  j.key("vouchers").begin_array();
  for (std::size_t i = begin; i < end; ++i) {
    write_summary(j, records[i], same.at(records[i].serial));
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

namespace {

constexpr std::string_view kPem = "application/x-pem-file";

// docs/manufacturer.md "Admin API": a cursor is "<created_at>.<GUID hex>" of the last voucher of a page.
std::string cursor_text(const storage::VoucherRecord& r) { return std::to_string(r.created_at) + "." + r.guid.hex(); }

storage::VoucherCursor parse_cursor(std::string_view text) {
  const std::size_t dot = text.find('.');
  std::int64_t created_at = 0;
  const std::string_view number = text.substr(0, dot);
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), created_at);
  if (dot == std::string_view::npos || number.empty() || ec != std::errc() || end != number.data() + number.size() ||
      text.size() - dot - 1 != 32) {
    throw_body_error("after: '" + std::string(text) + "' is not a cursor of this list (a \"next\" value)");
  }
  return storage::VoucherCursor{.created_at = created_at, .guid = parse_guid(text.substr(dot + 1))};
}

// GET /admin/vouchers?limit=N&after=CURSOR: a keyset page, stable while vouchers come and go.
transport::AdminResponse cursor_page(storage::Store& store, std::string_view after, std::size_t limit) {
  const std::optional<storage::VoucherCursor> cursor =
      after.empty() ? std::nullopt : std::optional<storage::VoucherCursor>(parse_cursor(after));
  return storage::read_only(store, [&](storage::Transaction& tx) {
    std::vector<storage::VoucherRecord> records = tx.list_vouchers_page(cursor, limit + 1);
    const bool more = records.size() > limit;
    records.resize(std::min(records.size(), limit));
    JsonWriter j;
    j.begin_object().key("format").integer(tool::kJsonFormat).key("limit").uinteger(limit);
    j.key("vouchers").begin_array();
    for (const storage::VoucherRecord& r : records) {
      write_summary(j, r, tx.count_vouchers_with_serial(r.serial));
    }
    j.end_array().key("next");
    if (more) {
      j.string(cursor_text(records.back()));
    } else {
      j.null();
    }
    j.end_object();
    return tool::json_answer(200, j.str());
  });
}

transport::AdminResponse list(storage::Store& store, const transport::AdminRequest& request) {
  const tool::Page page = tool::parse_page(request.query);
  const std::optional<std::string> after = tool::query_value(request.query, "after");
  const std::optional<std::string> serial = tool::query_value(request.query, "serial");
  if (after) {
    if (tool::query_value(request.query, "offset") || serial) {
      throw_body_error("after: not together with offset or serial");
    }
    return cursor_page(store, *after, page.limit);
  }
  std::vector<storage::VoucherRecord> records = all(store);
  if (serial) {
    std::erase_if(records, [&](const storage::VoucherRecord& r) { return r.serial != *serial; });
  }
  return tool::json_answer(200, vouchers_page_json(records, page.offset, page.limit));
}

// A voucher as PEM, or with Accept: application/json its store record and what `fdo-reseller show --json` says.
transport::AdminResponse one(storage::Store& store, const transport::AdminRequest& request,
                             const std::optional<storage::VoucherRecord>& record, std::string_view what) {
  if (!record) {
    return tool::json_error(404, "no voucher for " + std::string(what));
  }
  if (!tool::accepts_json(request.headers)) {
    return transport::AdminResponse{200, std::string(kPem), voucher_pem(*record)};
  }
  const std::size_t same = storage::read_only(
      store, [&](storage::Transaction& tx) { return tx.count_vouchers_with_serial(record->serial); });
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat).key("voucher");
  write_summary(j, *record, same);
  j.key("details");
  voucher::summarize(record->voucher).to_json(j);
  j.end_object();
  return tool::json_answer(200, j.str());
}

// DELETE /admin/vouchers/{guid}: one transaction reads and removes the record, then the removal is logged.
transport::AdminResponse delete_voucher(storage::Store& store, const transport::AdminRequest& request) {
  const Guid guid = tool::guid_param(request);
  const auto tx = store.begin();
  const std::optional<storage::VoucherRecord> record = tx->get_voucher(guid);
  if (!record) {
    return tool::json_error(404, "no voucher for GUID " + guid.hex());
  }
  const std::size_t same = tx->count_vouchers_with_serial(record->serial);
  if (!tx->erase_voucher(guid)) {
    throw_internal("the voucher of " + guid.hex() + " went away while it was deleted");
  }
  tx->commit();
  log::info("admin: deleted the voucher of GUID " + guid.hex() + " (serial " + record->serial + ") at the request of " +
            request.peer);
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat).key("deleted");
  write_summary(j, *record, same - 1);
  j.end_object();
  return tool::json_answer(200, j.str());
}

}  // namespace

void add_admin_routes(transport::HttpServer& server, storage::Store& store, const std::string& token) {
  const std::string path(kVouchersPath);
  server.add_admin_route("GET", path, tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           return list(store, request);
                         }));
  server.add_admin_route("GET", path + "/{guid}", tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           const Guid guid = tool::guid_param(request);
                           return one(store, request, find_voucher(store, guid.hex(), {}), "GUID " + guid.hex());
                         }));
  server.add_admin_route("GET", path + "/serial/{serial}",
                         tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           const std::string& serial = request.path_params.at("serial");
                           return one(store, request, find_voucher(store, {}, serial), "serial " + serial);
                         }));
  server.add_admin_route("DELETE", path + "/{guid}", tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           return delete_voucher(store, request);
                         }));
}

}  // namespace fdo::manufacturer
