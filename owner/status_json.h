#pragma once
// The owner's JSON documents (docs/cli.md "JSON output", docs/owner.md): devices, vouchers and import outcomes,
// printed by `fdo-owner devices|vouchers … --json` and served by the admin API (owner/admin_api.h) alike.

#include <optional>
#include <string>
#include <vector>

#include "libfdo/storage/records.h"
#include "libfdo/types/json.h"
#include "owner/voucher_import.h"

namespace fdo::owner_tool {

/// One device as a JSON object: guid, state, step, error, new_guid, to0_expires_at (null when empty or 0),
/// to0_detail (a list of lines), onboard_count, updated_at, and voucher (whether its voucher is stored).
void write_device(JsonWriter& j, const storage::OwnerDeviceRecord& device, bool voucher_stored);

/// `{"format":1,"devices":[…]}`, oldest update first; `stored` lists the GUIDs whose voucher is stored.
std::string devices_json(const std::vector<storage::OwnerDeviceRecord>& devices, const std::vector<Guid>& stored,
                         bool pretty = false);

/// `{"format":1,"device":{…}}` for `devices show` and GET /api/v1/devices/GUID.
std::string device_json(const storage::OwnerDeviceRecord& device, bool voucher_stored, bool pretty = false);

/// `{"format":1,"vouchers":[{"guid","device_info","created_at","entries","owner_key_id","state"}]}`: `state` is the
/// device's (null when no status is kept), `entries` null for a stored voucher that does not decode.
/// One entry of vouchers_json: the record and its device's `state` (null when no status is kept).
void write_voucher(JsonWriter& j, const storage::VoucherRecord& voucher, const std::optional<std::string>& state);

std::string vouchers_json(const std::vector<storage::VoucherRecord>& vouchers,
                          const std::vector<storage::OwnerDeviceRecord>& devices, bool pretty = false);

/// `{"format":1,"imported":N,"refused":M,"vouchers":[{"file","index","guid","ok","detail"}]}`; `files[i]` names
/// the file of outcomes[i] (null when empty, as for an admin API body).
std::string import_json(const std::vector<ImportOutcome>& outcomes, const std::vector<std::string>& files,
                        bool pretty = false);

/// "2025-01-31T12:00:00Z" for Unix seconds.
std::string utc_time(std::int64_t unix_seconds);

/// The lines of a device's to0_detail.
std::vector<std::string> detail_lines(const std::string& to0_detail);

}  // namespace fdo::owner_tool
