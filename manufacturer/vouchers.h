#pragma once
// The vouchers the manufacturer made (docs/manufacturer.md): `vouchers list|export` and the same over the
// admin listener (`serve --admin-listen`), each with `Authorization: Bearer TOKEN` (else 401), errors as
// {"error": …} (docs/api/manufacturer.openapi.json):
//   GET    /admin/vouchers?offset=N&limit=M one page of the list as JSON, with the total (limit 100 by default, ≤ 1000);
//          ?serial=S only that serial's; ?after=CURSOR&limit=M a keyset page with a "next" cursor instead
//   GET    /admin/vouchers/<GUID>           one voucher as PEM (404 when unknown), or as JSON with Accept: application/json
//   GET    /admin/vouchers/serial/<SERIAL>  the newest voucher of that serial, likewise
//   DELETE /admin/vouchers/<GUID>           removes it (one transaction, logged)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/storage/records.h"
#include "libfdo/storage/store.h"
#include "libfdo/transport/http_server.h"

namespace fdo::manufacturer {

/// `{"format":1,"vouchers":[{"guid","serial","device_info","created_at","entries","owner_key_id"}, …]}`, oldest
/// first (an empty list when there are none); "entries" is null for a record whose voucher does not decode.
std::string vouchers_json(const std::vector<storage::VoucherRecord>& records, bool pretty = false);

/// The page of `records` from `offset`, at most `limit` long, as vouchers_json with "total" (the number of
/// `records`), "offset" and "limit" before "vouchers"; "same_serial" counts over every record.
std::string vouchers_page_json(const std::vector<storage::VoucherRecord>& records, std::size_t offset,
                               std::size_t limit);

/// One line per voucher for humans: GUID, serial, device info, entries, creation time (UTC).
std::string vouchers_table(const std::vector<storage::VoucherRecord>& records);

/// The record for a GUID (32 hex digits or the dashed UUID form), or for the newest voucher of a serial number.
/// Throws Error(MessageBodyError) when `guid` is neither form.
/// How many stored vouchers carry `serial` (more than one after a device ran DI again).
std::size_t count_serial(storage::Store& store, std::string_view serial);

std::optional<storage::VoucherRecord> find_voucher(storage::Store& store, std::string_view guid,
                                                   std::string_view serial);

/// The voucher of a record as PEM (docs/voucher.md "PEM files").
std::string voucher_pem(const storage::VoucherRecord& record);

/// Registers the admin endpoints above on `server` (the admin listener, never the DI one); `store` and `token`
/// must outlive it. A request without the bearer `token` gets 401 with an empty body.
void add_admin_routes(transport::HttpServer& server, storage::Store& store, const std::string& token);

}  // namespace fdo::manufacturer
