#include "libfdo/cbor/writer.h"

#include "libfdo/cbor/reader.h"
#include "libfdo/core/error.h"

#include <cbor.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>

namespace fdo::cbor {
namespace {

// The longest head: initial byte plus an 8-byte argument (RFC 8949 §3).
constexpr std::size_t kMaxHead = 9;

static_assert(sizeof(std::size_t) == sizeof(std::uint64_t), "lengths are passed to libcbor as size_t");

}  // namespace

// libcbor's cbor_encode_* pick the shortest argument for the value: the preferred serialization
// that RFC 8949 §4.2.1 requires ("0 to 23 and -1 to -24 MUST be expressed in the same byte as the
// major type; 24 to 255 and -25 to -256 MUST be expressed only with an additional uint8_t", ...).
void Writer::head(std::uint8_t major, std::uint64_t value) {
  std::array<unsigned char, kMaxHead> buffer{};
  std::size_t written = 0;
  switch (static_cast<MajorType>(major)) {
    case MajorType::Unsigned:
      written = cbor_encode_uint(value, buffer.data(), buffer.size());
      break;
    case MajorType::Negative:
      written = cbor_encode_negint(value, buffer.data(), buffer.size());
      break;
    case MajorType::Bytes:
      written = cbor_encode_bytestring_start(static_cast<std::size_t>(value), buffer.data(), buffer.size());
      break;
    case MajorType::Text:
      written = cbor_encode_string_start(static_cast<std::size_t>(value), buffer.data(), buffer.size());
      break;
    case MajorType::Array:
      written = cbor_encode_array_start(static_cast<std::size_t>(value), buffer.data(), buffer.size());
      break;
    case MajorType::Map:
      written = cbor_encode_map_start(static_cast<std::size_t>(value), buffer.data(), buffer.size());
      break;
    case MajorType::Tag:
      written = cbor_encode_tag(value, buffer.data(), buffer.size());
      break;
    case MajorType::Simple:
      break;
  }
  if (written == 0) {
    throw_internal("cbor::Writer: cannot encode a head of major type " + std::to_string(major));
  }
  m_out.insert(m_out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(written));
}

Writer& Writer::uint(std::uint64_t v) {
  head(static_cast<std::uint8_t>(MajorType::Unsigned), v);
  return *this;
}

Writer& Writer::int_(std::int64_t v) {
  if (v >= 0) {
    return uint(static_cast<std::uint64_t>(v));
  }
  // Major type 1 carries -1 - v; -(v + 1) cannot overflow, even for INT64_MIN.
  head(static_cast<std::uint8_t>(MajorType::Negative), static_cast<std::uint64_t>(-(v + 1)));
  return *this;
}

Writer& Writer::bstr(ByteView b) {
  head(static_cast<std::uint8_t>(MajorType::Bytes), b.size());
  append(m_out, b);
  return *this;
}

Writer& Writer::tstr(std::string_view s) {
  const ByteView text(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  // RFC 8949 §3.1: a text string "is encoded as UTF-8"; writing anything else is our bug.
  if (!is_valid_utf8(text)) {
    throw_internal("cbor::Writer: tstr is not valid UTF-8");
  }
  head(static_cast<std::uint8_t>(MajorType::Text), text.size());
  append(m_out, text);
  return *this;
}

Writer& Writer::boolean(bool v) {
  std::array<unsigned char, 1> buffer{};
  if (cbor_encode_bool(v, buffer.data(), buffer.size()) != 1) {
    throw_internal("cbor::Writer: cannot encode a bool");
  }
  m_out.push_back(buffer[0]);
  return *this;
}

Writer& Writer::null() {
  std::array<unsigned char, 1> buffer{};
  if (cbor_encode_null(buffer.data(), buffer.size()) != 1) {
    throw_internal("cbor::Writer: cannot encode null");
  }
  m_out.push_back(buffer[0]);
  return *this;
}

Writer& Writer::array(std::size_t count) {
  head(static_cast<std::uint8_t>(MajorType::Array), count);
  return *this;
}

Writer& Writer::map(std::size_t count) {
  head(static_cast<std::uint8_t>(MajorType::Map), count);
  return *this;
}

Writer& Writer::tag(std::uint64_t tag) {
  head(static_cast<std::uint8_t>(MajorType::Tag), tag);
  return *this;
}

Writer& Writer::raw(ByteView encoded_item) {
  append(m_out, encoded_item);
  return *this;
}

// RFC 8949 §4.2.1: "The keys in every map MUST be sorted in the bytewise lexicographic order of
// their deterministic encodings." std::vector's operator< is exactly that order on bytes.
Writer& Writer::write_map(std::vector<std::pair<Bytes, Bytes>> entries) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto duplicate = std::adjacent_find(entries.begin(), entries.end(),
                                            [](const auto& a, const auto& b) { return a.first == b.first; });
  if (duplicate != entries.end()) {
    throw_internal("cbor::Writer: duplicate map key");
  }
  map(entries.size());
  for (const auto& [key, value] : entries) {
    append(m_out, key);
    append(m_out, value);
  }
  return *this;
}

Bytes encode_uint(std::uint64_t v) {
  Writer w;
  w.uint(v);
  return std::move(w).take();
}

Bytes encode_int(std::int64_t v) {
  Writer w;
  w.int_(v);
  return std::move(w).take();
}

Bytes encode_bstr(ByteView b) {
  Writer w;
  w.bstr(b);
  return std::move(w).take();
}

Bytes encode_tstr(std::string_view s) {
  Writer w;
  w.tstr(s);
  return std::move(w).take();
}

}  // namespace fdo::cbor
