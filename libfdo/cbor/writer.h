#pragma once
// Deterministic CBOR writer (RFC 8949 §4.2.1 core deterministic encoding): shortest heads,
// definite lengths; maps are written through write_map() which sorts keys by encoded bytes.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo::cbor {

/// Appends CBOR items to a byte buffer. Each call writes one item or one head.
class Writer {
 public:
  Writer& uint(std::uint64_t v);
  /// Signed integer: major 0 for v >= 0, major 1 otherwise.
  Writer& int_(std::int64_t v);
  Writer& bstr(ByteView b);
  Writer& tstr(std::string_view s);
  Writer& boolean(bool v);
  Writer& null();
  /// Array head for `count` items that the caller writes next.
  Writer& array(std::size_t count);
  /// Map head for `count` pairs; the caller must write keys in deterministic order.
  /// Prefer write_map() below when keys are not statically ordered.
  Writer& map(std::size_t count);
  Writer& tag(std::uint64_t tag);
  /// Appends an already encoded item verbatim (raw bytes kept as received).
  Writer& raw(ByteView encoded_item);
  /// Writes a complete map from encoded (key, value) pairs, sorted by encoded key bytes.
  Writer& write_map(std::vector<std::pair<Bytes, Bytes>> entries);

  [[nodiscard]] const Bytes& bytes() const& { return m_out; }
  [[nodiscard]] Bytes take() && { return std::move(m_out); }

 private:
  void head(std::uint8_t major, std::uint64_t value);
  Bytes m_out;
};

/// Encodings of single values, for building map entries and tests.
Bytes encode_uint(std::uint64_t v);
Bytes encode_int(std::int64_t v);
Bytes encode_bstr(ByteView b);
Bytes encode_tstr(std::string_view s);

}  // namespace fdo::cbor
