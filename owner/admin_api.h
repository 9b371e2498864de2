#pragma once
// The owner's admin API (docs/owner.md "Admin API"), served by `fdo-owner serve --admin-listen`:
//   GET  /api/v1/devices        every device's status as JSON (what `devices list --json` prints)
//   GET  /api/v1/devices/GUID   one device as JSON (404 when unknown)
//   POST /api/v1/vouchers       body: a voucher file (PEM or CBOR); the import outcomes as JSON, 200 when every
//                               voucher was imported, 422 when any was refused
//   GET  /api/v1/vouchers       the stored vouchers as JSON (what `vouchers list --json` prints)
//   GET  /api/v1/vouchers/GUID  one stored voucher as PEM (404 when unknown), as JSON with Accept: application/json
//   POST /api/v1/vouchers/GUID/export  `vouchers export`: the PEM, then the voucher is forgotten, the device exported
// Every request carries `Authorization: Bearer TOKEN` with the token of DIR/admin-token; otherwise 401, no body.
// Errors are {"error": …} (docs/api/owner.openapi.json).

#include <cstdint>
#include <functional>
#include <string>

#include "libfdo/crypto/keys.h"
#include "libfdo/storage/store.h"
#include "libfdo/transport/http_server.h"
#include "owner/config.h"
#include "tools/common/admin.h"

namespace fdo::owner_tool {

/// What the admin routes work on; must outlive the server.
struct AdminContext {
  storage::Store& store;
  OwnerKeyRing owner_keys;
  /// The bearer token (tool::load_admin_token); compared in constant time (tool::admin_authorized).
  std::string token;
  /// Unix seconds for imports; empty means the system clock.
  std::function<std::int64_t()> clock;
  /// Called after an import stored at least one voucher (To0Scheduler::wake), if set.
  std::function<void()> on_import;
};

/// Adds the routes above to `server` (before it starts). Bad GUIDs are 400, other paths below the prefixes 404.
void add_admin_routes(transport::HttpServer& server, AdminContext& ctx);

}  // namespace fdo::owner_tool
