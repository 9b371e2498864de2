#include "libfdo/cose/header.h"

#include <string>

#include "libfdo/core/error.h"

namespace fdo::cose {

Bytes encode_protected_alg(std::int64_t alg) {
  cbor::Writer w;
  w.map(1).int_(kLabelAlg).int_(alg);
  return std::move(w).take();
}

std::int64_t decode_protected_alg(ByteView protected_bytes, std::string_view context) {
  cbor::Reader r(protected_bytes, context);
  if (protected_bytes.empty()) {
    r.fail("protected", "expected bstr .cbor {1: alg}, got an empty bstr");
  }
  if (r.peek_type() != cbor::MajorType::Map) {
    r.fail("protected", "expected a map {1: alg}");
  }
  const std::size_t count = r.read_map("protected");
  if (count != 1) {
    r.fail("protected", "expected exactly {1: alg}, got " + std::to_string(count) + " entries");
  }
  const std::int64_t label = r.read_int("protected label");
  if (label != kLabelAlg) {
    r.fail("protected", "expected label 1 (alg), got " + std::to_string(label));
  }
  const std::int64_t alg = r.read_int("protected alg");
  r.expect_end();
  return alg;
}

void write_header_map(cbor::Writer& out, const HeaderMap& map) {
  out.map(map.size());
  for (const auto& [label, value] : map) {
    out.int_(label).raw(value);
  }
}

HeaderMap read_header_map(cbor::Reader& in, std::string_view field) {
  HeaderMap map;
  const std::size_t count = in.read_map(field);
  const std::string label_field = std::string(field) + " label";
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t label = in.read_int(label_field);
    const ByteView value = in.read_raw(std::string(field) + "[" + std::to_string(label) + "]");
    if (!map.emplace(label, Bytes(value.begin(), value.end())).second) {
      in.fail(field, "duplicate label " + std::to_string(label));
    }
  }
  return map;
}

void read_cose_tag(cbor::Reader& in, std::uint64_t tag, std::string_view name, const Leniency& leniency) {
  if (in.peek_type() == cbor::MajorType::Tag) {
    in.expect_tag(name, tag);
    return;
  }
  // An untagged Encrypt0 / Mac0 / Sign1 only under the lenient option (docs/interop.md "untagged-cose").
  if (in.peek_type() == cbor::MajorType::Array &&
      leniency.accept(Quirk::UntaggedCose, std::string(name) + " without tag " + std::to_string(tag))) {
    return;
  }
  in.fail(name, "expected CBOR tag " + std::to_string(tag));
}

}  // namespace fdo::cose
