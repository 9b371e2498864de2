#pragma once
// OVEntry and OVEntryPayload, FDO 1.1 §3.4.2.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"

namespace fdo::voucher {

/// OVEExtraInfo = { * OVEExtraInfoType: bstr }, OVEExtraInfoType = int (FDO 1.1 §3.4.2). Values -65536..65535
/// are reserved for FIDO assignment; private use is <= -65537 (FDO 1.1 §3.4.2).
using OVEExtraInfo = std::map<std::int64_t, Bytes>;

/// Deterministic encoding of an OVEExtraInfo map (keys sorted by their encoding).
Bytes encode_ove_extra_info(const OVEExtraInfo& extra);
/// Decodes the content of an OVEExtra bstr: a map int → bstr with unique keys, nothing after it.
/// Error(MessageBodyError) naming `field` otherwise.
OVEExtraInfo decode_ove_extra_info(ByteView in, std::string_view field = "OVEExtraInfo");

/// The payload of one voucher entry, FDO 1.1 §3.4.2:
///   OVEntryPayload = [
///       OVEHashPrevEntry: Hash,
///       OVEHashHdrInfo:   Hash,  ;; hash[GUID||DeviceInfo] in header
///       OVEExtra:         null / bstr .cbor OVEExtraInfo
///       OVEPubKey:        PublicKey
///   ]
struct OVEntryPayload {
  Hash ove_hash_prev_entry;
  Hash ove_hash_hdr_info;
  /// nullopt for null. An empty bstr reads as an empty map (it carries no information).
  std::optional<OVEExtraInfo> ove_extra;
  PublicKey ove_pub_key;

  /// Deterministic encoding; OVEExtra is written as null or as `bstr .cbor {…}`, never `h''`
  /// (docs/interop.md "oveextra-encoding"; the C SDK refuses an empty bstr).
  [[nodiscard]] Bytes encode() const;
  /// Strict decode (FDO 1.1 §3.4.2; docs/voucher.md check `entry structure`): a 4-element array of two SHA Hashes,
  /// OVEExtra and a supported PublicKey. OVEExtra is null or a bstr holding a map int → bstr; a bare map (fdo-rs) only
  /// when `leniency` accepts Quirk::BareOveExtraMap. `context` prefixes errors ("OVEntry[2] payload").
  static OVEntryPayload decode(ByteView in, const Leniency& leniency = {},
                               std::string_view context = "OVEntryPayload");
};

/// One voucher entry: a COSE_Sign1 over an OVEntryPayload, signed by the previous owner key
/// (FDO 1.1 §3.4.2). `bytes` is the complete entry as it sits in OVEntryArray (tag
/// included); the next entry hashes exactly these bytes (docs/interop.md "signed-bytes-as-received").
struct OVEntry {
  Bytes bytes;
  cose::Sign1 sign1;
  OVEntryPayload payload;

  /// Strict decode of entry `index` (FDO 1.1 §3.4.2; docs/voucher.md check `entry structure`): tagged COSE_Sign1
  /// (untagged only under Quirk::UntaggedCose), protected exactly `{1: alg}`, an empty unprotected map, a payload that
  /// is an OVEntryPayload. Error(MessageBodyError) naming the entry otherwise (Error 101 for an alg FDO does
  /// not use).
  static OVEntry decode(ByteView entry_bytes, std::size_t index, const Leniency& leniency = {});
};

}  // namespace fdo::voucher
