#include "libfdo/voucher/entry.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::voucher {
namespace {

OVEExtraInfo read_extra_map(cbor::Reader& r, std::string_view field) {
  const std::size_t count = r.read_map(field);
  OVEExtraInfo out;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t key = r.read_int(field);
    Bytes value = r.read_bstr(field);
    if (!out.emplace(key, std::move(value)).second) {
      r.fail(field, "duplicate OVEExtraInfoType " + std::to_string(key));
    }
  }
  return out;
}

}  // namespace

Bytes encode_ove_extra_info(const OVEExtraInfo& extra) {
  std::vector<std::pair<Bytes, Bytes>> entries;
  entries.reserve(extra.size());
  for (const auto& [key, value] : extra) {
    entries.emplace_back(cbor::encode_int(key), cbor::encode_bstr(value));
  }
  cbor::Writer w;
  w.write_map(std::move(entries));
  return std::move(w).take();
}

OVEExtraInfo decode_ove_extra_info(ByteView in, std::string_view field) {
  cbor::Reader r(in, field);
  OVEExtraInfo out = read_extra_map(r, "");
  r.expect_end();
  return out;
}

Bytes OVEntryPayload::encode() const {
  cbor::Writer w;
  w.array(4);
  ove_hash_prev_entry.encode(w);
  ove_hash_hdr_info.encode(w);
  if (ove_extra) {
    w.bstr(encode_ove_extra_info(*ove_extra));
  } else {
    w.null();
  }
  ove_pub_key.encode(w);
  return std::move(w).take();
}

OVEntryPayload OVEntryPayload::decode(ByteView in, const Leniency& leniency, std::string_view context) {
  cbor::Reader r(in, context);
  r.read_array_of("", 4);
  Hash prev = Hash::decode(r, "[0] OVEHashPrevEntry", HashKind::Digest);
  Hash hdr = Hash::decode(r, "[1] OVEHashHdrInfo", HashKind::Digest);
  std::optional<OVEExtraInfo> extra;
  if (r.try_read_null()) {
    extra = std::nullopt;
  } else if (r.peek_type() == cbor::MajorType::Bytes) {
    const ByteView content = r.read_bstr_view("[2] OVEExtra");
    // docs/interop.md "oveextra-encoding": on input null or any bstr; an empty bstr carries nothing.
    extra = content.empty() ? OVEExtraInfo{}
                            : decode_ove_extra_info(content, std::string(context) + "[2] OVEExtra content");
  } else if (r.peek_type() == cbor::MajorType::Map &&
             leniency.accept(Quirk::BareOveExtraMap, std::string(context) + "[2] OVEExtra")) {
    extra = read_extra_map(r, "[2] OVEExtra");
  } else {
    r.fail("[2] OVEExtra", "expected null or bstr .cbor OVEExtraInfo");
  }
  PublicKey pub_key = PublicKey::decode(r, leniency, "[3] OVEPubKey");
  r.expect_end();
  return OVEntryPayload{.ove_hash_prev_entry = std::move(prev),
                        .ove_hash_hdr_info = std::move(hdr),
                        .ove_extra = std::move(extra),
                        .ove_pub_key = std::move(pub_key)};
}

OVEntry OVEntry::decode(ByteView entry_bytes, std::size_t index, const Leniency& leniency) {
  const std::string context = "OVEntry[" + std::to_string(index) + "]";
  cose::Sign1 sign1 = cose::Sign1::decode(entry_bytes, context, leniency);
  // FDO 1.1 §3.4.2: each entry is a tagged COSE_Sign1 with protected {1: alg} and an empty unprotected map.
  if (!sign1.unprotected().empty()) {
    throw_body_error(context + " unprotected header: expected an empty map, got " +
                     std::to_string(sign1.unprotected().size()) + " entries");
  }
  OVEntryPayload payload = OVEntryPayload::decode(sign1.payload(), leniency, context + " payload");
  return OVEntry{.bytes = Bytes(entry_bytes.begin(), entry_bytes.end()),
                 .sign1 = std::move(sign1),
                 .payload = std::move(payload)};
}

}  // namespace fdo::voucher
