#pragma once
// The ServiceInfo key/value codec of FDO 1.1 §3.8, carried by TO2.DeviceServiceInfo (68) and
// TO2.OwnerServiceInfo (69), and the helpers modules use to build and read values (docs/service-info.md).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo::cbor {
class Reader;
class Writer;
}  // namespace fdo::cbor

namespace fdo::serviceinfo {

/// One ServiceInfoKV (FDO 1.1 §3.8): key "module:message", value = the CBOR encoding of one item (the bstr content).
///   ServiceInfoKV = [ ServiceInfoKey: tstr, ServiceInfoVal: bstr .cbor any ]
struct ServiceInfoKv {
  std::string key;
  Bytes value;
  bool operator==(const ServiceInfoKv&) const = default;
};

/// ServiceInfo = [ * ServiceInfoKV ], processed strictly in array order (FDO 1.1 §3.8).
using ServiceInfo = std::vector<ServiceInfoKv>;

/// Writes `[* [tstr, bstr]]`; an empty list is `80`.
void encode_service_info(cbor::Writer& out, const ServiceInfo& kvs);
/// The encoding of `[* [tstr, bstr]]` alone.
Bytes encode_service_info(const ServiceInfo& kvs);
/// Reads `[* [tstr, bstr]]` strictly: Error(MessageBodyError) for a wrong shape or a key without a colon.
/// `[[]]` (an old C SDK form) is accepted as the empty list with a warning (docs/service-info.md "Interop").
/// The values are not decoded here; modules do that.
ServiceInfo decode_service_info(cbor::Reader& in);

/// Bytes a CBOR head takes for this argument (1, 2, 3, 5 or 9; RFC 8949 §3).
[[nodiscard]] std::size_t encoded_head_size(std::uint64_t argument);
/// Bytes this KV adds inside the ServiceInfo array: `[tstr, bstr]` with both heads.
[[nodiscard]] std::size_t encoded_size(const ServiceInfoKv& kv);
/// Bytes of the whole ServiceInfo array, its head included.
[[nodiscard]] std::size_t encoded_size(const ServiceInfo& kvs);

/// Splits a key at the first colon into (module, message) (FDO 1.1 §3.8; the module name has no colon).
/// A key without a colon is Error(MessageBodyError).
std::pair<std::string_view, std::string_view> split_key(std::string_view key);
/// The key "module:message".
[[nodiscard]] std::string make_key(std::string_view module, std::string_view message);
/// A KV "module:message" with an already encoded CBOR value.
ServiceInfoKv make_kv(std::string_view module, std::string_view message, ByteView cbor_value);

/// Joins runs of consecutive same-key KVs whose values are fragments of one CBOR item into that item (go-fdo's
/// sender may cut one value across KVs, docs/service-info.md "Interop"); logged. KVs that are complete
/// items, or that no join completes, are left as they are.
ServiceInfo join_fragments(ServiceInfo kvs);
/// The KVs of one received message ready to process, in order: `fragment` (a value split at the end of the previous
/// messages) first, then `kvs`, split values joined (join_fragments). When `is_more` and the last value is still
/// incomplete, it is kept back, joined so far, in `fragment` for the next message, so a value may span any number of
/// messages chained with IsMoreServiceInfo (split value, docs/service-info.md "MTU and packing").
ServiceInfo take_complete(std::optional<ServiceInfoKv>& fragment, const ServiceInfo& kvs, bool is_more);
/// `value` (one encoded CBOR item) as the KVs "module:message" that carry it, each of encoded_size() <= `kv_budget`:
/// one KV when it fits, else consecutive fragments of its bytes, which the receiver's take_complete() joins back,
/// also across messages chained with IsMoreServiceInfo (docs/service-info.md "MTU and packing"). For values that
/// their FSIM gives no parts of their own (fdo.csr). Error(InternalServerError) if `kv_budget` fits no fragment.
ServiceInfo split_value(std::string_view module, std::string_view message, ByteView value, std::size_t kv_budget);
/// Whether `value` is exactly one well-formed CBOR item (what every ServiceInfoVal must be).
[[nodiscard]] bool is_complete_value(ByteView value);

/// Value encodings: the CBOR item that goes inside the bstr (`true` → `f5`, so the KV carries `41 f5`).
Bytes bool_value(bool v);
Bytes uint_value(std::uint64_t v);
Bytes int_value(std::int64_t v);
Bytes tstr_value(std::string_view v);
Bytes bstr_value(ByteView v);

/// Value readers: the value must be exactly one item of that type, else Error(MessageBodyError) naming `key`.
bool read_bool_value(ByteView value, std::string_view key);
std::uint64_t read_uint_value(ByteView value, std::string_view key);
std::int64_t read_int_value(ByteView value, std::string_view key);
std::string read_tstr_value(ByteView value, std::string_view key);
Bytes read_bstr_value(ByteView value, std::string_view key);

}  // namespace fdo::serviceinfo
