#pragma once
// Taking ownership vouchers into the owner's store (docs/owner.md "Importing vouchers"): each voucher of a file is
// verified in full (FDO 1.1 §3.4.2, docs/voucher.md) and must end in this owner's key before it is stored; the
// owner then registers it with its rendezvous servers (owner/to0_scheduler.h) and serves TO2 for it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/storage/store.h"
#include "owner/config.h"

namespace fdo::owner_tool {

/// The name of the check that refuses a voucher whose last entry holds another key than this owner's.
inline constexpr std::string_view kOwnerKeyCheck = "owner key";

/// What became of one voucher of an imported file.
struct ImportOutcome {
  /// OVHeader.OVGuid when the voucher decodes far enough to name it; all zero otherwise (see guid_known).
  Guid guid;
  /// Whether the voucher is now stored, its device in state "imported".
  bool ok = false;
  /// Refused: "<check>: <what was found>" ("entry signature [entry 1]: …", "owner key: not extended to this
  /// owner's key …"). Imported: "imported" or "replaced the stored voucher".
  std::string detail;
  /// 1-based position of the voucher in the file, for messages ("FILE#2").
  std::size_t index = 1;
  /// Whether `guid` was read from the voucher.
  bool guid_known = false;
};

/// Verifies and stores every voucher of `file_content`: PEM with one or many "OWNERSHIP VOUCHER" blocks, one raw
/// CBOR voucher, or a CBOR sequence of vouchers (RFC 8742). A voucher is accepted when voucher::verify() passes
/// every check (FDO 1.1 §3.4.2) and its last entry's OVEPubKey is one of `owner_keys`; it is then stored in
/// its own transaction: put_voucher (owner_key_id = hex SHA-256 of the owner key's CBOR, device_info from the
/// header, created_at `now`) and put_owner_device in state "imported". Importing a stored GUID again replaces the
/// voucher and resets the device's status, keeping only onboard_count. A file that holds no voucher gives one
/// refused outcome. Throws only on storage failures (Error(InternalServerError)).
std::vector<ImportOutcome> import_vouchers(storage::Store& store, const OwnerKeyRing& owner_keys,
                                           ByteView file_content, std::int64_t now);

/// docs/owner.md "Exporting a voucher": inside `tx`, removes the stored voucher of `guid` and marks its device
/// "exported" (step "vouchers export", error cleared, updated_at `now`, the rest of the status kept). Returns the
/// removed record, or nullopt when none is stored (then nothing changes). The caller writes the voucher out, then
/// commits, so a voucher is never forgotten without having been handed over.
std::optional<storage::VoucherRecord> take_for_export(storage::Transaction& tx, const Guid& guid, std::int64_t now);

/// The owner_key_id of a voucher owned by `owner_key`: hex SHA-256 of its CBOR public key as the voucher's last
/// entry encodes it (docs/cli.md, as the manufacturer's `vouchers list` shows it).
std::string owner_key_id(ByteView voucher);

}  // namespace fdo::owner_tool
