#include "owner/admin_api.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/core/log.h"
#include "libfdo/types/json.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/summary.h"
#include "owner/status_json.h"
#include "owner/voucher_import.h"
#include "tools/common/cli.h"

namespace fdo::owner_tool {
namespace {

constexpr std::string_view kDevicesPath = "/api/v1/devices";
constexpr std::string_view kVouchersPath = "/api/v1/vouchers";
constexpr std::string_view kPem = "application/x-pem-file";
// RFC 4918 §11.2: well-formed, but its content could not be processed.
constexpr int kUnprocessable = 422;

transport::AdminResponse json(int status, std::string body) { return tool::json_answer(status, std::move(body)); }

std::int64_t now_of(const AdminContext& ctx) {
  if (ctx.clock) {
    return ctx.clock();
  }
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<Guid> stored_guids(storage::Transaction& tx) {
  std::vector<Guid> out;
  for (const storage::VoucherRecord& v : tx.list_vouchers()) {
    out.push_back(v.guid);
  }
  return out;
}

transport::AdminResponse list_devices(AdminContext& ctx) {
  return storage::read_only(ctx.store, [](storage::Transaction& tx) {
    return json(200, devices_json(tx.list_owner_devices(), stored_guids(tx)));
  });
}

transport::AdminResponse get_device(AdminContext& ctx, const transport::AdminRequest& request) {
  const Guid guid = tool::guid_param(request);
  return storage::read_only(ctx.store, [&](storage::Transaction& tx) {
    const std::optional<storage::OwnerDeviceRecord> d = tx.get_owner_device(guid);
    if (!d) {
      return tool::json_error(404, "no device " + guid.hex());
    }
    return json(200, device_json(*d, tx.get_voucher(guid).has_value()));
  });
}

transport::AdminResponse list_vouchers(AdminContext& ctx) {
  return storage::read_only(ctx.store, [](storage::Transaction& tx) {
    return json(200, vouchers_json(tx.list_vouchers(), tx.list_owner_devices()));
  });
}

// The voucher as PEM; with Accept: application/json its list entry (as `vouchers list --json`) and what
// `fdo-reseller show --json` says of it.
transport::AdminResponse get_voucher(AdminContext& ctx, const transport::AdminRequest& request) {
  const Guid guid = tool::guid_param(request);
  struct Found {
    std::optional<storage::VoucherRecord> voucher;
    std::optional<storage::OwnerDeviceRecord> device;
  };
  const Found found = storage::read_only(ctx.store, [&](storage::Transaction& tx) {
    return Found{tx.get_voucher(guid), tx.get_owner_device(guid)};
  });
  if (!found.voucher) {
    return tool::json_error(404, "no voucher " + guid.hex());
  }
  if (!tool::accepts_json(request.headers)) {
    return transport::AdminResponse{200, std::string(kPem), voucher::to_pem(found.voucher->voucher)};
  }
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat).key("voucher");
  write_voucher(j, *found.voucher, found.device ? std::optional<std::string>(found.device->state) : std::nullopt);
  j.key("details");
  voucher::summarize(found.voucher->voucher).to_json(j);
  j.end_object();
  return json(200, j.str());
}

transport::AdminResponse post_vouchers(AdminContext& ctx, const transport::AdminRequest& request) {
  const std::vector<ImportOutcome> outcomes = import_vouchers(ctx.store, ctx.owner_keys, request.body, now_of(ctx));
  const bool all_ok =
      !outcomes.empty() && std::all_of(outcomes.begin(), outcomes.end(), [](const ImportOutcome& o) { return o.ok; });
  const bool any_ok = std::any_of(outcomes.begin(), outcomes.end(), [](const ImportOutcome& o) { return o.ok; });
  if (any_ok && ctx.on_import) {
    ctx.on_import();
  }
  return json(all_ok ? 200 : kUnprocessable, import_json(outcomes, {}));
}

// What `vouchers export` does (docs/owner.md "Exporting a voucher"), in one transaction: the answer carries the
// voucher, which the owner no longer holds once it is sent.
transport::AdminResponse export_voucher(AdminContext& ctx, const transport::AdminRequest& request) {
  const Guid guid = tool::guid_param(request);
  const auto tx = ctx.store.begin();
  const std::optional<storage::VoucherRecord> record = take_for_export(*tx, guid, now_of(ctx));
  if (!record) {
    return tool::json_error(404, "no voucher " + guid.hex());
  }
  std::string pem = voucher::to_pem(record->voucher);
  tx->commit();
  log::info("admin: exported the voucher of GUID " + guid.hex() + " at the request of " + request.peer +
            "; this owner no longer serves it");
  return transport::AdminResponse{200, std::string(kPem), std::move(pem)};
}

}  // namespace

void add_admin_routes(transport::HttpServer& server, AdminContext& ctx) {
  const std::string devices(kDevicesPath);
  const std::string vouchers(kVouchersPath);
  const auto route = [&server, &ctx](std::string method, std::string path, auto handler) {
    server.add_admin_route(std::move(method), std::move(path),
                           tool::guarded(ctx.token, [&ctx, handler](const transport::AdminRequest& request) {
                             return handler(ctx, request);
                           }));
  };
  route("GET", devices, [](AdminContext& c, const transport::AdminRequest&) { return list_devices(c); });
  route("GET", devices + "/{guid}", get_device);
  route("GET", vouchers, [](AdminContext& c, const transport::AdminRequest&) { return list_vouchers(c); });
  route("POST", vouchers, post_vouchers);
  route("GET", vouchers + "/{guid}", get_voucher);
  route("POST", vouchers + "/{guid}/export", export_voucher);
}

}  // namespace fdo::owner_tool
