#include "libfdo/cbor/diag.h"

#include "libfdo/cbor/reader.h"
#include "libfdo/core/hex.h"

#include <cbor.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fdo::cbor {
namespace {

constexpr std::uint8_t kBreak = 0xff;
constexpr std::uint8_t kFirstFloat = 25;
constexpr std::uint8_t kLastFloat = 27;
constexpr std::string_view kHexDigits = "0123456789abcdef";

// Floats (half, single, double) are decoded by libcbor's streaming decoder.
struct FloatCapture {
  std::optional<double> value;
};

void on_float(void* context, float value) { static_cast<FloatCapture*>(context)->value = value; }
void on_double(void* context, double value) { static_cast<FloatCapture*>(context)->value = value; }

std::optional<double> decode_float(ByteView item) {
  cbor_callbacks callbacks = cbor_empty_callbacks;
  callbacks.float2 = on_float;
  callbacks.float4 = on_float;
  callbacks.float8 = on_double;
  FloatCapture capture;
  const cbor_decoder_result result = cbor_stream_decode(item.data(), item.size(), &callbacks, &capture);
  if (result.status != CBOR_DECODER_FINISHED) {
    return std::nullopt;
  }
  return capture.value;
}

// RFC 8949 §8 writes floats like JavaScript numbers, always with a fraction or an exponent
// ("1.5", "100000.0", "1.0e+300", "5.960464477539063e-8", "0.00006103515625"): the shortest
// digits that round-trip, placed by the ECMAScript Number::toString rules.
std::string format_float(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "Infinity" : "-Infinity";
  }
  std::string out = std::signbit(value) ? "-" : "";
  const double magnitude = std::fabs(value);
  if (magnitude == 0) {
    return out + "0.0";
  }
  std::array<char, 64> buffer{};
  const std::to_chars_result chars =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), magnitude, std::chars_format::scientific);
  const std::string_view scientific(buffer.data(), static_cast<std::size_t>(chars.ptr - buffer.data()));
  const std::size_t e = scientific.find('e');
  std::string digits;
  for (const char c : scientific.substr(0, e)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exponent = 0;
  std::from_chars(scientific.data() + e + 2, scientific.data() + scientific.size(), exponent);
  if (scientific[e + 1] == '-') {
    exponent = -exponent;
  }
  const int point = exponent + 1;  // the decimal point sits after `point` digits
  const int count = static_cast<int>(digits.size());
  if (count <= point && point <= 21) {
    out += digits + std::string(static_cast<std::size_t>(point - count), '0') + ".0";
  } else if (0 < point && point <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(point)) + "." + digits.substr(static_cast<std::size_t>(point));
  } else if (-6 < point && point <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else {
    out += digits.substr(0, 1) + "." + (count > 1 ? digits.substr(1) : "0") + "e" + (point - 1 >= 0 ? "+" : "-") +
           std::to_string(std::abs(point - 1));
  }
  return out;
}

void append_u_escape(std::string& out, std::uint32_t unit) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) {
    out += kHexDigits[(unit >> shift) & 0xf];
  }
}

// A JSON-style string literal (RFC 8949 §8): ASCII shown as is, everything else as \u escapes
// (UTF-16 surrogate pairs above U+FFFF), as in RFC 8949 Appendix A. `text` is valid UTF-8.
void append_text(std::string& out, ByteView text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const std::uint8_t lead = text[i];
    std::uint32_t code = lead;
    std::size_t length = 1;
    if (lead >= 0xf0) {
      code = lead & 0x07U;
      length = 4;
    } else if (lead >= 0xe0) {
      code = lead & 0x0fU;
      length = 3;
    } else if (lead >= 0xc0) {
      code = lead & 0x1fU;
      length = 2;
    }
    for (std::size_t k = 1; k < length; ++k) {
      code = (code << 6) | (text[i + k] & 0x3fU);
    }
    i += length;
    switch (code) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (code >= 0x20 && code < 0x7f) {
      out += static_cast<char>(code);
    } else if (code <= 0xffff) {
      append_u_escape(out, code);
    } else {
      const std::uint32_t offset = code - 0x10000;
      append_u_escape(out, 0xd800 + (offset >> 10));
      append_u_escape(out, 0xdc00 + (offset & 0x3ff));
    }
  }
  out += '"';
}

// Prints items from a buffer; on malformed input it stops, keeps what it printed and records why.
// Every nested array, map, tag and embedded item adds one to `depth`, which is capped at kMaxDepth.
class Printer {
 public:
  Printer(ByteView in, const DiagOptions& options) : m_in(in), m_options(options) {}

  bool item(int depth, int indent);
  [[nodiscard]] bool at_end() const { return m_pos == m_in.size(); }
  [[nodiscard]] std::size_t position() const { return m_pos; }
  [[nodiscard]] const std::string& error() const { return m_error; }
  std::string take() { return std::move(m_out); }

 private:
  bool fail(const std::string& what);
  void newline(int indent);
  bool string_item(const ItemHead& head, int depth, int indent, bool may_embed);
  bool chunked_string(const ItemHead& head);
  bool container(const ItemHead& head, int depth, int indent);
  bool simple(const ItemHead& head);

  ByteView m_in;
  const DiagOptions& m_options;
  std::size_t m_pos = 0;
  std::string m_out;
  std::string m_error;
};

bool Printer::fail(const std::string& what) {
  m_error = what + " at offset " + std::to_string(m_pos);
  return false;
}

void Printer::newline(int indent) {
  m_out += '\n';
  m_out.append(static_cast<std::size_t>(indent) * 2, ' ');
}

bool Printer::item(int depth, int indent) {
  std::string why;
  const std::optional<ItemHead> head = decode_head(m_in.subspan(m_pos), why);
  if (!head) {
    return fail(why);
  }
  switch (head->type) {
    case MajorType::Unsigned:
      m_out += std::to_string(head->argument);
      m_pos += head->size;
      return true;
    case MajorType::Negative:
      // -1 - n, printed without overflow for n = 2^64 - 1.
      m_out += head->argument == std::numeric_limits<std::uint64_t>::max() ? "-18446744073709551616"
                                                                           : "-" + std::to_string(head->argument + 1);
      m_pos += head->size;
      return true;
    case MajorType::Bytes:
    case MajorType::Text:
      return head->indefinite() ? chunked_string(*head) : string_item(*head, depth, indent, true);
    case MajorType::Array:
    case MajorType::Map:
      return container(*head, depth, indent);
    case MajorType::Tag:
      if (depth >= kMaxDepth) {
        return fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
      }
      m_out += std::to_string(head->argument) + "(";
      m_pos += head->size;
      if (!item(depth + 1, indent)) {
        return false;
      }
      m_out += ')';
      return true;
    case MajorType::Simple:
      return simple(*head);
  }
  return fail("unknown major type");
}

bool Printer::string_item(const ItemHead& head, int depth, int indent, bool may_embed) {
  const std::size_t left = m_in.size() - m_pos - head.size;
  if (head.argument > left) {
    return fail("string of " + std::to_string(head.argument) + " bytes with " + std::to_string(left) + " bytes left");
  }
  const ByteView content = m_in.subspan(m_pos + head.size, static_cast<std::size_t>(head.argument));
  if (head.type == MajorType::Text) {
    if (!is_valid_utf8(content)) {
      return fail("invalid UTF-8 in tstr");
    }
    append_text(m_out, content);
    m_pos += head.size + content.size();
    return true;
  }
  m_pos += head.size + content.size();
  // RFC 8610 §3.8.1 / RFC 8949 §8: a bstr holding one encoded item is shown as <<item>>.
  if (may_embed && m_options.expand_embedded && !content.empty() && depth < kMaxDepth) {
    Printer inner(content, m_options);
    if (inner.item(depth + 1, indent) && inner.at_end()) {
      m_out += "<<" + inner.take() + ">>";
      return true;
    }
  }
  if (m_options.max_bstr != 0 && content.size() > m_options.max_bstr) {
    m_out += "h'" + to_hex(content.first(m_options.max_bstr)) + "...' / " + std::to_string(content.size()) + " bytes /";
    return true;
  }
  m_out += "h'" + to_hex(content) + "'";
  return true;
}

// Indefinite-length string (RFC 8949 §3.2.3): definite chunks of the same major type until break.
bool Printer::chunked_string(const ItemHead& head) {
  m_out += "(_ ";
  m_pos += head.size;
  for (std::size_t chunk = 0;; ++chunk) {
    if (!at_end() && m_in[m_pos] == kBreak) {
      ++m_pos;
      m_out += ')';
      return true;
    }
    std::string why;
    const std::optional<ItemHead> part = decode_head(m_in.subspan(m_pos), why);
    if (!part) {
      return fail(why);
    }
    if (chunk > 0) {
      m_out += ", ";
    }
    if (part->type != head.type || part->indefinite()) {
      return fail("chunk of an indefinite-length string is not a definite string of the same type");
    }
    if (!string_item(*part, 0, 0, false)) {
      return false;
    }
  }
}

bool Printer::container(const ItemHead& head, int depth, int indent) {
  if (depth >= kMaxDepth) {
    return fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  const bool is_map = head.type == MajorType::Map;
  const bool indefinite = head.indefinite();
  // A huge count needs no guard: every entry takes at least one byte, so the loop meets the end of
  // the input (and reports it) after at most that many entries.
  m_out += is_map ? "{" : "[";
  if (indefinite) {
    m_out += '_';
  }
  m_pos += head.size;
  std::uint64_t count = 0;
  for (;; ++count) {
    if (indefinite) {
      if (!at_end() && m_in[m_pos] == kBreak) {
        ++m_pos;
        break;
      }
    } else if (count == head.argument) {
      break;
    }
    if (m_options.pretty) {
      m_out += count > 0 ? "," : "";
      newline(indent + 1);
    } else if (count > 0) {
      m_out += ", ";
    } else if (indefinite) {
      m_out += ' ';
    }
    if (!item(depth + 1, indent + 1)) {
      return false;
    }
    if (is_map) {
      m_out += ": ";
      if (!item(depth + 1, indent + 1)) {
        return false;
      }
    }
  }
  if (count > 0 && m_options.pretty) {
    newline(indent);
  } else if (count == 0 && indefinite) {
    m_out += ' ';
  }
  m_out += is_map ? "}" : "]";
  return true;
}

bool Printer::simple(const ItemHead& head) {
  if (head.indefinite()) {
    return fail("break (0xff) outside an indefinite-length item");
  }
  if (head.additional >= kFirstFloat && head.additional <= kLastFloat) {
    const std::optional<double> value = decode_float(m_in.subspan(m_pos, head.size));
    if (!value) {
      return fail("undecodable float");
    }
    m_out += format_float(*value);
  } else {
    switch (head.additional) {
      case CBOR_CTRL_FALSE:
        m_out += "false";
        break;
      case CBOR_CTRL_TRUE:
        m_out += "true";
        break;
      case CBOR_CTRL_NULL:
        m_out += "null";
        break;
      case CBOR_CTRL_UNDEF:
        m_out += "undefined";
        break;
      default:
        m_out += "simple(" + std::to_string(head.argument) + ")";
        break;
    }
  }
  m_pos += head.size;
  return true;
}

}  // namespace

std::string to_diag(ByteView in, const DiagOptions& options) {
  Printer printer(in, options);
  const bool ok = printer.item(0, 0);
  std::string out = printer.take();
  std::string error;
  if (!ok) {
    error = printer.error();
  } else if (!printer.at_end()) {
    error = std::to_string(in.size() - printer.position()) + " trailing bytes at offset " +
            std::to_string(printer.position());
  }
  if (!error.empty()) {
    if (!out.empty() && out.back() != ' ' && out.back() != '\n') {
      out += ' ';
    }
    out += "<error: " + error + ">";
  }
  return out;
}

}  // namespace fdo::cbor
