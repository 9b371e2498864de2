#pragma once
// The rendezvous server's admin API (docs/rendezvous.md "Admin listener"), on `serve --admin-listen`, every route
// behind `Authorization: Bearer TOKEN` (401 otherwise); errors are {"error": …} (docs/api/README.md):
//   GET    /admin/registrations?limit=N&after=GUID  the live TO0 registrations, by GUID, with a "next" cursor
//   GET    /admin/registrations/{guid}              one registration: owner key hashes, TO2 addresses, expiry
//   DELETE /admin/registrations/{guid}              forget it (logged); the device's TO1 then finds nothing
//   GET    /admin/trust                             the trust lists in force: each key's file and hash
// The document is docs/api/rendezvous.openapi.json.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/crypto/keys.h"
#include "libfdo/storage/store.h"
#include "libfdo/transport/http_server.h"

namespace fdo::rendezvous {

/// One key of a trust list and the file it came from.
struct TrustedKeyFile {
  std::filesystem::path file;
  crypto::PublicKey key;
};

/// A trust list as configured: its directory and keys; nullopt when the option is not set (anyone is accepted).
struct TrustList {
  std::filesystem::path directory;
  std::vector<TrustedKeyFile> keys;
};

/// What GET /admin/trust shows.
struct TrustPolicy {
  std::optional<TrustList> owner_keys;
  std::optional<TrustList> manufacturer_keys;
  bool check_device_chain = false;
};

/// Adds the routes above to `server` (the admin listener, before it starts); `store`, `trust` and `token` must
/// outlive it.
void add_admin_routes(transport::HttpServer& server, storage::Store& store, const TrustPolicy& trust,
                      const std::string& token);

}  // namespace fdo::rendezvous
