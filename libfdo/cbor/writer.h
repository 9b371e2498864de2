#pragma once
// Deterministic CBOR writer (RFC 8949 §4.2.1 core deterministic encoding): shortest heads,
// definite lengths; maps are written through write_map() which sorts keys by encoded bytes.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo::cbor {

/// Appends CBOR items to a byte buffer in the deterministic encoding FDO bodies need because peers
/// hash and sign re-encoded structures (FDO 1.1 §3.2, RFC 8949 §4.2.1). Each call writes one item
/// or one head; tstr() and write_map() throw Error(InternalServerError) on invalid UTF-8 or duplicate keys.
class Writer {
 public:
  /// Unsigned integer (major 0), shortest head.
  Writer& uint(std::uint64_t v);
  /// Signed integer: major 0 for v >= 0, major 1 otherwise.
  Writer& int_(std::int64_t v);
  /// Byte string (major 2).
  Writer& bstr(ByteView b);
  /// Text string (major 3); must be valid UTF-8.
  Writer& tstr(std::string_view s);
  /// false / true (simple values 20 / 21).
  Writer& boolean(bool v);
  /// null (simple value 22).
  Writer& null();
  /// Array head for `count` items that the caller writes next.
  Writer& array(std::size_t count);
  /// Map head for `count` pairs; the caller must write keys in deterministic order.
  /// Prefer write_map() below when keys are not statically ordered.
  Writer& map(std::size_t count);
  /// Tag head (major 6); the caller writes the tagged item next.
  Writer& tag(std::uint64_t tag);
  /// Appends an already encoded item verbatim (raw bytes kept as received).
  Writer& raw(ByteView encoded_item);
  /// Writes a complete map from encoded (key, value) pairs, sorted by encoded key bytes.
  Writer& write_map(std::vector<std::pair<Bytes, Bytes>> entries);

  /// The bytes written so far.
  [[nodiscard]] const Bytes& bytes() const& { return m_out; }
  /// Moves the bytes out: `std::move(writer).take()`.
  [[nodiscard]] Bytes take() && { return std::move(m_out); }

 private:
  void head(std::uint8_t major, std::uint64_t value);
  Bytes m_out;
};

/// Encoding of one uint, for building write_map() entries and tests.
Bytes encode_uint(std::uint64_t v);
/// Encoding of one int.
Bytes encode_int(std::int64_t v);
/// Encoding of one bstr.
Bytes encode_bstr(ByteView b);
/// Encoding of one tstr.
Bytes encode_tstr(std::string_view s);

}  // namespace fdo::cbor
