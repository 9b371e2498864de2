#include "owner/voucher_import.h"

#include <optional>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::owner_tool {
namespace {

// The vouchers of a file. PEM is read by voucher::read_vouchers; raw CBOR may be a sequence of items (RFC 8742),
// each one voucher. Input that does not split into well-formed items stays one voucher, for verify() to explain.
std::vector<Bytes> split_vouchers(ByteView file) {
  std::vector<voucher::VoucherInput> inputs = voucher::read_vouchers(file);
  if (inputs.size() != 1 || inputs.front().cbor.size() != file.size()) {
    std::vector<Bytes> out;
    out.reserve(inputs.size());
    for (voucher::VoucherInput& in : inputs) {
      out.push_back(std::move(in.cbor));
    }
    return out;
  }
  std::vector<Bytes> items;
  try {
    cbor::Reader r(file, "voucher file");
    while (!r.at_end()) {
      const ByteView item = r.read_raw("item");
      items.emplace_back(item.begin(), item.end());
    }
  } catch (const Error&) {
    return {Bytes(file.begin(), file.end())};
  }
  return items;
}

std::string describe(const voucher::Check& c) {
  std::string out = c.name;
  if (c.entry) {
    out += " [entry " + std::to_string(*c.entry) + "]";
  }
  return out + ": " + c.detail;
}

// Why `bytes` may not be imported by this owner, or nullopt. Sets `ov` when the voucher decodes.
std::optional<std::string> refusal(ByteView bytes, const OwnerKeyRing& owner_keys,
                                   std::optional<voucher::OwnershipVoucher>& ov) {
  try {
    ov = voucher::OwnershipVoucher::decode(bytes);
  } catch (const Error&) {
    ov.reset();  // verify() below names the failing check
  }
  const voucher::VerifyReport report = voucher::verify(bytes);
  if (const voucher::Check* failed = report.first_failure()) {
    return describe(*failed);
  }
  if (!report.valid || !ov) {
    return std::string(voucher::check::kStructure) + ": the voucher does not verify";
  }
  // FDO 1.1 §3.4.2: the last entry's OVEPubKey is the current owner's; only its holder can run TO0 and TO2.
  if (owner_keys.find(ov->owner_key().key()) == nullptr) {
    return std::string(kOwnerKeyCheck) + ": not extended to this owner's key (the last entry holds " +
           ov->owner_key().describe() + "; this owner has " + owner_keys.describe() + ")";
  }
  return std::nullopt;
}

// Stores one accepted voucher and resets its device's status, in one transaction. Returns whether a voucher with
// this GUID was stored before.
bool store_voucher(storage::Store& store, const voucher::OwnershipVoucher& ov, ByteView bytes, std::int64_t now) {
  const Guid guid = ov.header().ov_guid;
  const auto tx = store.begin();
  const bool replaced = tx->get_voucher(guid).has_value();
  tx->put_voucher(storage::VoucherRecord{
      .guid = guid,
      .serial = {},
      .device_info = ov.header().ov_device_info,
      .voucher = Bytes(bytes.begin(), bytes.end()),
      .created_at = now,
      .owner_key_id = to_hex(crypto::hash(crypto::HashAlg::Sha256, ov.owner_key().raw())),
  });
  const std::optional<storage::OwnerDeviceRecord> before = tx->get_owner_device(guid);
  tx->put_owner_device(storage::OwnerDeviceRecord{
      .guid = guid,
      .state = "imported",
      .step = {},
      .error = {},
      .new_guid = {},
      .to0_expires_at = 0,
      .to0_detail = {},
      .onboard_count = before ? before->onboard_count : 0,
      .updated_at = now,
      .replaces = {},
      .modules = {},
  });
  tx->commit();
  return replaced;
}

}  // namespace

std::string owner_key_id(ByteView voucher) {
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(voucher);
  return to_hex(crypto::hash(crypto::HashAlg::Sha256, ov.owner_key().raw()));
}

std::vector<ImportOutcome> import_vouchers(storage::Store& store, const OwnerKeyRing& owner_keys,
                                           ByteView file_content, std::int64_t now) {
  std::vector<Bytes> vouchers;
  try {
    vouchers = split_vouchers(file_content);
  } catch (const Error& e) {
    return {ImportOutcome{.guid = {}, .ok = false, .detail = std::string("not an ownership voucher: ") + e.what()}};
  }
  std::vector<ImportOutcome> out;
  for (std::size_t i = 0; i < vouchers.size(); ++i) {
    ImportOutcome outcome{.guid = {}, .ok = false, .detail = {}, .index = i + 1};
    std::optional<voucher::OwnershipVoucher> ov;
    const std::optional<std::string> why = refusal(vouchers[i], owner_keys, ov);
    if (ov) {
      outcome.guid = ov->header().ov_guid;
      outcome.guid_known = true;
    }
    if (why) {
      outcome.detail = *why;
    } else {
      outcome.ok = true;
      outcome.detail = store_voucher(store, *ov, vouchers[i], now) ? "replaced the stored voucher" : "imported";
    }
    out.push_back(std::move(outcome));
  }
  return out;
}

std::optional<storage::VoucherRecord> take_for_export(storage::Transaction& tx, const Guid& guid, std::int64_t now) {
  std::optional<storage::VoucherRecord> record = tx.get_voucher(guid);
  if (!record) {
    return std::nullopt;
  }
  storage::OwnerDeviceRecord device;
  device.guid = guid;
  if (std::optional<storage::OwnerDeviceRecord> before = tx.get_owner_device(guid)) {
    device = std::move(*before);
  }
  device.state = "exported";
  device.step = "vouchers export";
  device.error.clear();
  device.updated_at = now;
  tx.put_owner_device(device);
  tx.erase_voucher(guid);
  return record;
}

}  // namespace fdo::owner_tool
