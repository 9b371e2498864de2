#include "libfdo/cbor/reader.h"

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

#include <cbor.h>

#include <limits>
#include <string>

// Item heads are decoded here by hand, with libcbor's constants, rather than by
// cbor_stream_decode(): libcbor 0.8 (Debian 12) reports the well-formed one-byte tags 6-20 as
// errors, and FDO's COSE_Sign1 / COSE_Mac0 / COSE_Encrypt0 are exactly tags 18, 17 and 16.

namespace fdo::cbor {
namespace {

static_assert(static_cast<int>(MajorType::Unsigned) == CBOR_TYPE_UINT);
static_assert(static_cast<int>(MajorType::Negative) == CBOR_TYPE_NEGINT);
static_assert(static_cast<int>(MajorType::Bytes) == CBOR_TYPE_BYTESTRING);
static_assert(static_cast<int>(MajorType::Text) == CBOR_TYPE_STRING);
static_assert(static_cast<int>(MajorType::Array) == CBOR_TYPE_ARRAY);
static_assert(static_cast<int>(MajorType::Map) == CBOR_TYPE_MAP);
static_assert(static_cast<int>(MajorType::Tag) == CBOR_TYPE_TAG);
static_assert(static_cast<int>(MajorType::Simple) == CBOR_TYPE_FLOAT_CTRL);

// RFC 8949 §3: additional information values with a meaning of their own.
constexpr std::uint8_t kOneByteArgument = 24;
constexpr std::uint8_t kFirstReserved = 28;
constexpr std::uint8_t kIndefinite = 31;
constexpr std::uint8_t kFirstFloat = 25;
constexpr std::uint8_t kLastFloat = 27;
// RFC 8949 §3.3: "an encoder MUST NOT issue two-byte sequences that start with 0xf8 and continue
// with a byte less than 0x20"; a decoder treats them as not well-formed.
constexpr std::uint64_t kMinTwoByteSimple = 32;
constexpr std::size_t kValidUtf8 = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string_view type_name(MajorType type) {
  switch (type) {
    case MajorType::Unsigned:
      return "uint";
    case MajorType::Negative:
      return "negative int";
    case MajorType::Bytes:
      return "bstr";
    case MajorType::Text:
      return "tstr";
    case MajorType::Array:
      return "array";
    case MajorType::Map:
      return "map";
    case MajorType::Tag:
      return "tag";
    case MajorType::Simple:
      return "simple value";
  }
  return "unknown";
}

// "-<argument + 1>" for a major type 1 argument, without overflowing at 2^64 - 1.
std::string negative_text(std::uint64_t argument) {
  if (argument == std::numeric_limits<std::uint64_t>::max()) {
    return "-18446744073709551616";
  }
  return "-" + std::to_string(argument + 1);
}

// What an item is, for "expected X, got Y" messages.
std::string describe(MajorType type, std::uint8_t additional, std::uint64_t argument) {
  if (additional == kIndefinite && type != MajorType::Simple) {
    return "indefinite-length " + std::string(type_name(type));
  }
  switch (type) {
    case MajorType::Unsigned:
      return "uint " + std::to_string(argument);
    case MajorType::Negative:
      return "negative int " + negative_text(argument);
    case MajorType::Tag:
      return "tag " + std::to_string(argument);
    case MajorType::Simple:
      break;
    default:
      return std::string(type_name(type));
  }
  switch (additional) {
    case CBOR_CTRL_FALSE:
      return "false";
    case CBOR_CTRL_TRUE:
      return "true";
    case CBOR_CTRL_NULL:
      return "null";
    case CBOR_CTRL_UNDEF:
      return "undefined";
    case kIndefinite:
      return "break (0xff) outside an indefinite-length item";
    default:
      break;
  }
  if (additional >= kFirstFloat && additional <= kLastFloat) {
    return "float";
  }
  return "simple(" + std::to_string(argument) + ")";
}

// Offset of the first byte that breaks UTF-8 (RFC 3629 §4 syntax), or kValidUtf8.
std::size_t utf8_error_offset(ByteView s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint8_t low = 0x80;  // allowed range of the second byte
    std::uint8_t high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c == 0xe0) {
      length = 3;
      low = 0xa0;  // no overlong 3-byte forms
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      length = 3;
    } else if (c == 0xed) {
      length = 3;
      high = 0x9f;  // no UTF-16 surrogates
    } else if (c == 0xf0) {
      length = 4;
      low = 0x90;  // no overlong 4-byte forms
    } else if (c >= 0xf1 && c <= 0xf3) {
      length = 4;
    } else if (c == 0xf4) {
      length = 4;
      high = 0x8f;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (s.size() - i < length) {
      return i;
    }
    if (s[i + 1] < low || s[i + 1] > high) {
      return i;
    }
    for (std::size_t k = 2; k < length; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) {
        return i;
      }
    }
    i += length;
  }
  return kValidUtf8;
}

}  // namespace

std::optional<ItemHead> decode_head(ByteView in, std::string& error) {
  if (in.empty()) {
    error = "end of input";
    return std::nullopt;
  }
  ItemHead head;
  head.type = static_cast<MajorType>(in[0] >> 5);
  head.additional = static_cast<std::uint8_t>(in[0] & 0x1f);
  head.size = 1;
  if (head.additional < kOneByteArgument) {
    head.argument = head.additional;
  } else if (head.additional < kFirstReserved) {
    const std::size_t bytes = std::size_t{1} << (head.additional - kOneByteArgument);
    if (in.size() - 1 < bytes) {
      error = "truncated head, needs " + std::to_string(1 + bytes) + " bytes, got " + std::to_string(in.size());
      return std::nullopt;
    }
    for (std::size_t i = 1; i <= bytes; ++i) {
      head.argument = (head.argument << 8) | in[i];
    }
    head.size += bytes;
  } else if (head.additional < kIndefinite) {
    error = "reserved additional information " + std::to_string(head.additional) + " (initial byte 0x" +
            to_hex(in.first(1)) + ")";
    return std::nullopt;
  } else if (head.type == MajorType::Unsigned || head.type == MajorType::Negative || head.type == MajorType::Tag) {
    error = "indefinite length is not defined for " + std::string(type_name(head.type));
    return std::nullopt;
  }
  if (head.type == MajorType::Simple && head.additional == kOneByteArgument && head.argument < kMinTwoByteSimple) {
    error = "two-byte simple value " + std::to_string(head.argument) + " below 32";
    return std::nullopt;
  }
  return head;
}

bool is_valid_utf8(ByteView text) { return utf8_error_offset(text) == kValidUtf8; }

bool is_single_item(ByteView in) {
  try {
    Reader reader(in);
    reader.skip("item");
    return reader.at_end();
  } catch (const Error&) {
    return false;
  }
}

Reader::Reader(ByteView in, std::string_view context) : m_in(in), m_context(context) {}

void Reader::fail(std::string_view field, std::string_view what) const {
  std::string message = m_context;
  if (!field.empty()) {
    if (!message.empty() && field.front() != '[') {
      message += ' ';
    }
    message += field;
  }
  message += ": ";
  message += what;
  throw Error(ErrorCode::MessageBodyError, message);
}

Reader::Head Reader::peek_head(std::string_view field) const {
  if (at_end()) {
    fail(field, "expected an item, got end of input");
  }
  std::string error;
  const std::optional<ItemHead> head = decode_head(m_in.subspan(m_pos), error);
  if (!head) {
    fail(field, "malformed item at offset " + std::to_string(m_pos) + ": " + error);
  }
  return Head{.type = head->type, .value = head->argument, .head_size = head->size, .additional = head->additional};
}

Reader::Head Reader::take_head(std::string_view field, MajorType expected) {
  const Head head = peek_head(field);
  const std::string_view name = type_name(expected);
  if (head.type != expected) {
    fail(field, "expected " + std::string(name) + ", got " + describe(head.type, head.additional, head.value));
  }
  // RFC 8949 §4.2.1: deterministically encoded items "MUST NOT" use indefinite-length encoding.
  if (head.additional == kIndefinite) {
    fail(field, "expected definite-length " + std::string(name) + ", got indefinite-length " + std::string(name));
  }
  // Every claimed length or count is checked against what is left, before anyone allocates.
  const std::size_t left = m_in.size() - m_pos - head.head_size;
  switch (expected) {
    case MajorType::Bytes:
    case MajorType::Text:
      if (head.value > left) {
        fail(field, "expected " + std::string(name) + " of " + std::to_string(head.value) + " bytes, got " +
                        std::to_string(left) + " bytes left at offset " + std::to_string(m_pos));
      }
      break;
    case MajorType::Array:
      if (head.value > left) {
        fail(field, "expected array of " + std::to_string(head.value) + " items, got " + std::to_string(left) +
                        " bytes left at offset " + std::to_string(m_pos));
      }
      break;
    case MajorType::Map:
      if (head.value > left / 2) {
        fail(field, "expected map of " + std::to_string(head.value) + " pairs, got " + std::to_string(left) +
                        " bytes left at offset " + std::to_string(m_pos));
      }
      break;
    default:
      break;
  }
  m_pos += head.head_size;
  return head;
}

MajorType Reader::peek_type() const { return peek_head("").type; }

bool Reader::peek_null() const {
  std::string error;
  const std::optional<ItemHead> head = decode_head(m_in.subspan(m_pos), error);
  return head && head->type == MajorType::Simple && head->additional == CBOR_CTRL_NULL;
}

bool Reader::peek_tag(std::uint64_t tag) const {
  std::string error;
  const std::optional<ItemHead> head = decode_head(m_in.subspan(m_pos), error);
  return head && head->type == MajorType::Tag && head->argument == tag;
}

std::uint64_t Reader::read_uint(std::string_view field) { return take_head(field, MajorType::Unsigned).value; }

std::uint64_t Reader::read_uint_max(std::string_view field, std::uint64_t max) {
  const std::uint64_t value = read_uint(field);
  if (value > max) {
    fail(field, "expected uint <= " + std::to_string(max) + ", got " + std::to_string(value));
  }
  return value;
}

std::int64_t Reader::read_int(std::string_view field) {
  const Head head = peek_head(field);
  if (head.type != MajorType::Unsigned && head.type != MajorType::Negative) {
    fail(field, "expected int, got " + describe(head.type, head.additional, head.value));
  }
  if (head.value > kInt64Max) {
    fail(field, "expected int64, got " + describe(head.type, head.additional, head.value) + " (outside int64)");
  }
  m_pos += head.head_size;
  const auto magnitude = static_cast<std::int64_t>(head.value);
  // Major type 1 encodes -1 - n; n <= INT64_MAX keeps the result >= INT64_MIN.
  return head.type == MajorType::Unsigned ? magnitude : -1 - magnitude;
}

ByteView Reader::read_bstr_view(std::string_view field) {
  const Head head = take_head(field, MajorType::Bytes);
  const ByteView content = m_in.subspan(m_pos, static_cast<std::size_t>(head.value));
  m_pos += content.size();
  return content;
}

Bytes Reader::read_bstr(std::string_view field) {
  const ByteView content = read_bstr_view(field);
  return Bytes(content.begin(), content.end());
}

Bytes Reader::read_bstr_size(std::string_view field, std::size_t size) {
  const ByteView content = read_bstr_view(field);
  if (content.size() != size) {
    fail(field, "expected bstr of " + std::to_string(size) + " bytes, got " + std::to_string(content.size()));
  }
  return Bytes(content.begin(), content.end());
}

std::string Reader::read_tstr(std::string_view field) {
  const Head head = take_head(field, MajorType::Text);
  const ByteView content = m_in.subspan(m_pos, static_cast<std::size_t>(head.value));
  const std::size_t bad = utf8_error_offset(content);
  if (bad != kValidUtf8) {
    fail(field, "expected UTF-8 tstr, got an invalid byte at offset " + std::to_string(m_pos + bad));
  }
  m_pos += content.size();
  return to_string(content);
}

bool Reader::read_bool(std::string_view field) {
  const Head head = peek_head(field);
  if (head.type != MajorType::Simple || (head.additional != CBOR_CTRL_FALSE && head.additional != CBOR_CTRL_TRUE)) {
    fail(field, "expected bool, got " + describe(head.type, head.additional, head.value));
  }
  m_pos += head.head_size;
  return head.additional == CBOR_CTRL_TRUE;
}

void Reader::read_null(std::string_view field) {
  const Head head = peek_head(field);
  if (head.type != MajorType::Simple || head.additional != CBOR_CTRL_NULL) {
    fail(field, "expected null, got " + describe(head.type, head.additional, head.value));
  }
  m_pos += head.head_size;
}

bool Reader::try_read_null() {
  if (!peek_null()) {
    return false;
  }
  read_null("null");
  return true;
}

std::size_t Reader::read_array(std::string_view field) {
  return static_cast<std::size_t>(take_head(field, MajorType::Array).value);
}

void Reader::read_array_of(std::string_view field, std::size_t count) {
  const std::size_t got = read_array(field);
  if (got != count) {
    fail(field, "expected array of " + std::to_string(count) + " items, got " + std::to_string(got));
  }
}

std::size_t Reader::read_map(std::string_view field) {
  return static_cast<std::size_t>(take_head(field, MajorType::Map).value);
}

std::uint64_t Reader::read_tag(std::string_view field) { return take_head(field, MajorType::Tag).value; }

void Reader::expect_tag(std::string_view field, std::uint64_t tag) {
  const Head head = peek_head(field);
  if (head.type != MajorType::Tag || head.value != tag) {
    fail(field, "expected tag " + std::to_string(tag) + ", got " + describe(head.type, head.additional, head.value));
  }
  m_pos += head.head_size;
}

ByteView Reader::read_raw(std::string_view field) {
  const std::size_t start = m_pos;
  skip_item(field, 0);
  return m_in.subspan(start, m_pos - start);
}

void Reader::skip(std::string_view field) { skip_item(field, 0); }

// `depth` counts the arrays, maps and tags enclosing the item; a container may open only while
// fewer than kMaxDepth enclose it, which bounds the recursion whatever the input.
void Reader::skip_item(std::string_view field, int depth) {
  const Head head = peek_head(field);
  const auto open_container = [&] {
    if (depth >= kMaxDepth) {
      fail(field, "expected at most " + std::to_string(kMaxDepth) + " nested levels, got more at offset " +
                      std::to_string(m_pos));
    }
  };
  switch (head.type) {
    case MajorType::Unsigned:
    case MajorType::Negative:
      m_pos += head.head_size;
      return;
    case MajorType::Bytes:
      read_bstr_view(field);
      return;
    case MajorType::Text:
      read_tstr(field);
      return;
    case MajorType::Array: {
      open_container();
      const std::size_t count = read_array(field);
      for (std::size_t i = 0; i < count; ++i) {
        skip_item(field, depth + 1);
      }
      return;
    }
    case MajorType::Map: {
      open_container();
      const std::size_t count = read_map(field);
      for (std::size_t i = 0; i < count; ++i) {
        skip_item(field, depth + 1);
        skip_item(field, depth + 1);
      }
      return;
    }
    case MajorType::Tag:
      open_container();
      m_pos += head.head_size;
      skip_item(field, depth + 1);
      return;
    case MajorType::Simple:
      if (head.additional == kIndefinite) {
        fail(field, "expected an item, got " + describe(head.type, head.additional, head.value) + " at offset " +
                        std::to_string(m_pos));
      }
      m_pos += head.head_size;  // simple values and floats: the head is the whole item
      return;
  }
}

void Reader::expect_end() {
  if (!at_end()) {
    fail("", "expected end of input, got " + std::to_string(m_in.size() - m_pos) + " trailing bytes at offset " +
                 std::to_string(m_pos));
  }
}

}  // namespace fdo::cbor
