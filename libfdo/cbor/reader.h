#pragma once
// Strict CBOR pull reader (RFC 8949) for FDO structures. libcbor is used only inside this layer.
// Strict: definite lengths only, no trailing bytes (expect_end), lengths checked against the
// buffer, nesting depth capped, every error names the message and field (docs/style.md §3).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo::cbor {

/// CBOR major types (RFC 8949 §3.1); Simple covers false/true/null/undefined and floats.
enum class MajorType : std::uint8_t {
  Unsigned = 0,
  Negative = 1,
  Bytes = 2,
  Text = 3,
  Array = 4,
  Map = 5,
  Tag = 6,
  Simple = 7,
};

/// Maximum nesting depth accepted by skip()/read_raw() and the printer.
inline constexpr int kMaxDepth = 64;

/// A cursor over one CBOR buffer: an FDO message body is one CBOR item (FDO 1.1 §3.2, RFC 8949).
/// Every read_* consumes one item (or one head for arrays/maps/tags) and throws
/// fdo::Error(MessageBodyError) with "<context> <field>: expected X, got Y" on mismatch; lengths and
/// counts are checked against the remaining input before the caller can allocate for them.
class Reader {
 public:
  /// `context` names the structure being decoded ("TO2.HelloDevice"); it prefixes every error.
  explicit Reader(ByteView in, std::string_view context = "CBOR");

  /// Major type of the next item; throws at end of input.
  [[nodiscard]] MajorType peek_type() const;
  /// Whether the next item is null (simple value 22).
  [[nodiscard]] bool peek_null() const;
  /// Whether the next item is a tag head with this number.
  [[nodiscard]] bool peek_tag(std::uint64_t tag) const;
  /// Whether the input is fully consumed.
  [[nodiscard]] bool at_end() const { return m_pos == m_in.size(); }
  /// Byte offset of the cursor.
  [[nodiscard]] std::size_t position() const { return m_pos; }

  /// Unsigned integer (major 0).
  std::uint64_t read_uint(std::string_view field);
  /// Unsigned integer checked to be <= max.
  std::uint64_t read_uint_max(std::string_view field, std::uint64_t max);
  /// Any integer (major 0 or 1) that fits int64.
  std::int64_t read_int(std::string_view field);
  /// Byte string content (copied).
  Bytes read_bstr(std::string_view field);
  /// Byte string of exactly `size` bytes.
  Bytes read_bstr_size(std::string_view field, std::size_t size);
  /// Byte string content as a view into the input (valid while the input lives).
  ByteView read_bstr_view(std::string_view field);
  /// Text string (must be valid UTF-8).
  std::string read_tstr(std::string_view field);
  /// true/false.
  bool read_bool(std::string_view field);
  /// null.
  void read_null(std::string_view field);
  /// Consumes a null if present; returns whether it did.
  bool try_read_null();
  /// Array head; returns the element count.
  std::size_t read_array(std::string_view field);
  /// Array head with exactly `count` elements.
  void read_array_of(std::string_view field, std::size_t count);
  /// Map head; returns the pair count.
  std::size_t read_map(std::string_view field);
  /// Tag head; returns the tag number.
  std::uint64_t read_tag(std::string_view field);
  /// Tag head that must carry `tag`.
  void expect_tag(std::string_view field, std::uint64_t tag);
  /// The complete encoding of the next item (head, content, nested items), as received.
  ByteView read_raw(std::string_view field);
  /// Skips the next item entirely.
  void skip(std::string_view field);
  /// Throws unless the input is fully consumed ("trailing bytes").
  void expect_end();

  /// Throws Error(MessageBodyError, "<context> <field>: <what>"). A field starting with '[' is
  /// joined without the space ("TO2.HelloDevice[2] NonceTO2ProveOV"); an empty field is left out.
  [[noreturn]] void fail(std::string_view field, std::string_view what) const;

 private:
  struct Head {
    MajorType type{};
    std::uint64_t value = 0;  // argument: int value, length, count, tag number, simple value
    std::size_t head_size = 0;
    std::uint8_t additional = 0;
  };
  [[nodiscard]] Head peek_head(std::string_view field) const;
  Head take_head(std::string_view field, MajorType expected);
  void skip_item(std::string_view field, int depth);

  ByteView m_in;
  std::size_t m_pos = 0;
  std::string m_context;
};

/// Whether `in` is exactly one CBOR item as Reader::skip() accepts it: well-formed, definite
/// lengths, valid UTF-8 text, depth <= kMaxDepth, no trailing bytes.
[[nodiscard]] bool is_single_item(ByteView in);

/// Whether `text` is valid UTF-8 (RFC 3629 §4: no overlong forms, no surrogates, <= U+10FFFF), as
/// RFC 8949 §3.1 requires of major type 3.
[[nodiscard]] bool is_valid_utf8(ByteView text);

/// The head of one data item (RFC 8949 §3): the shared building block of Reader and the printer.
struct ItemHead {
  /// Major type (high three bits of the initial byte).
  MajorType type{};
  /// Low five bits of the initial byte; 31 marks an indefinite length (or "break" in major 7).
  std::uint8_t additional = 0;
  /// Value, length, count, tag number or simple value; the raw bits of a float.
  std::uint64_t argument = 0;
  /// Bytes taken by the head, including the argument (and a float's bits).
  std::size_t size = 0;
  /// Whether the head opens an indefinite-length item (or is a break, in major 7).
  [[nodiscard]] bool indefinite() const { return additional == 31; }
};

/// Decodes the item head at the start of `in` (RFC 8949 §3.1); never reads content or past the end.
/// Returns std::nullopt and sets `error` when the bytes are not a well-formed head: end of input,
/// truncated argument, reserved additional information 28-30, indefinite length on major 0/1/6,
/// or a two-byte simple value below 32 (RFC 8949 §3.3).
[[nodiscard]] std::optional<ItemHead> decode_head(ByteView in, std::string& error);

}  // namespace fdo::cbor
