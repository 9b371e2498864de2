#include "owner/admin_api.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/voucher/pem.h"
#include "owner/status_json.h"
#include "owner/voucher_import.h"

namespace fdo::owner_tool {
namespace {

constexpr std::string_view kDevicesPath = "/api/v1/devices";
constexpr std::string_view kVouchersPath = "/api/v1/vouchers";
constexpr std::string_view kJson = "application/json";
// RFC 4918 §11.2: well-formed, but its content could not be processed.
constexpr int kUnprocessable = 422;

transport::AdminResponse json(int status, std::string body) {
  return transport::AdminResponse{status, std::string(kJson), std::move(body) + "\n"};
}

transport::AdminResponse text(int status, std::string body) {
  return transport::AdminResponse{status, "text/plain", std::move(body) + "\n"};
}

// The part of `path` after `prefix` and one '/': "" for the prefix itself, nullopt for another path.
std::optional<std::string_view> rest_of(std::string_view path, std::string_view prefix) {
  std::string_view rest = path.substr(std::min(prefix.size(), path.size()));
  if (rest.empty() || rest == "/") {
    return std::string_view();
  }
  if (rest.front() != '/') {
    return std::nullopt;
  }
  rest.remove_prefix(1);
  return rest;
}

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

transport::AdminResponse get_devices(AdminContext& ctx, std::string_view rest) {
  if (rest.empty()) {
    return storage::read_only(ctx.store, [](storage::Transaction& tx) {
      return json(200, devices_json(tx.list_owner_devices(), stored_guids(tx)));
    });
  }
  const Guid guid = parse_guid(rest);
  return storage::read_only(ctx.store, [&](storage::Transaction& tx) {
    const std::optional<storage::OwnerDeviceRecord> d = tx.get_owner_device(guid);
    if (!d) {
      return text(404, "no device " + guid.hex());
    }
    return json(200, device_json(*d, tx.get_voucher(guid).has_value()));
  });
}

transport::AdminResponse get_vouchers(AdminContext& ctx, std::string_view rest) {
  if (rest.empty()) {
    return storage::read_only(ctx.store, [](storage::Transaction& tx) {
      return json(200, vouchers_json(tx.list_vouchers(), tx.list_owner_devices()));
    });
  }
  const Guid guid = parse_guid(rest);
  const std::optional<storage::VoucherRecord> v =
      storage::read_only(ctx.store, [&](storage::Transaction& tx) { return tx.get_voucher(guid); });
  if (!v) {
    return text(404, "no voucher " + guid.hex());
  }
  return transport::AdminResponse{200, "application/x-pem-file", voucher::to_pem(v->voucher)};
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

// Runs `handler` for an authorized request; 401 without detail otherwise, 400 for a malformed GUID.
template <typename Handler>
transport::AdminHandler guarded(AdminContext& ctx, std::string_view prefix, Handler handler) {
  return [&ctx, prefix, handler](const transport::AdminRequest& request) {
    if (!tool::admin_authorized(request.headers, ctx.token)) {
      return tool::admin_unauthorized();
    }
    const std::optional<std::string_view> rest = rest_of(request.path, prefix);
    if (!rest) {
      return text(404, "not found");
    }
    try {
      return handler(request, *rest);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::MessageBodyError) {
        return text(400, e.what());
      }
      throw;
    }
  };
}

}  // namespace

void add_admin_routes(transport::HttpServer& server, AdminContext& ctx) {
  server.add_admin_get(std::string(kDevicesPath),
                       guarded(ctx, kDevicesPath, [&ctx](const transport::AdminRequest&, std::string_view rest) {
                         return get_devices(ctx, rest);
                       }));
  server.add_admin_get(std::string(kVouchersPath),
                       guarded(ctx, kVouchersPath, [&ctx](const transport::AdminRequest&, std::string_view rest) {
                         return get_vouchers(ctx, rest);
                       }));
  server.add_admin_post(
      std::string(kVouchersPath),
      guarded(ctx, kVouchersPath, [&ctx](const transport::AdminRequest& request, std::string_view rest) {
        if (!rest.empty()) {
          return text(404, "not found");
        }
        return post_vouchers(ctx, request);
      }));
}

}  // namespace fdo::owner_tool
