#include "libfdo/types/json.h"

#include "libfdo/core/error.h"

namespace fdo {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629 §4), or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) {
      lo = 0xA0;
    } else if (c == 0xED) {
      hi = 0x9F;
    }
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) {
      lo = 0x90;
    } else if (c == 0xF4) {
      hi = 0x8F;
    }
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  if (byte(i + 1) < lo || byte(i + 1) > hi) {
    return 0;
  }
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return n;
}

}  // namespace

std::string json_escape(std::string_view s) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0x0F];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

void JsonWriter::newline_indent() {
  if (m_pretty) {
    m_out += '\n';
    m_out.append(2 * m_stack.size(), ' ');
  }
}

void JsonWriter::before_value() {
  if (m_stack.empty()) {
    if (m_done) {
      throw_internal("JsonWriter: a second top-level value");
    }
    return;
  }
  Level& top = m_stack.back();
  if (top.object) {
    if (!m_after_key) {
      throw_internal("JsonWriter: a value inside an object needs a key first");
    }
    m_after_key = false;
    return;
  }
  if (top.count > 0) {
    m_out += ',';
  }
  ++top.count;
  newline_indent();
}

void JsonWriter::after_value() {
  if (m_stack.empty()) {
    m_done = true;
  }
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  m_out += '{';
  m_stack.push_back(Level{.object = true, .count = 0});
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  m_out += '[';
  m_stack.push_back(Level{.object = false, .count = 0});
  return *this;
}

void JsonWriter::close(bool object) {
  if (m_stack.empty() || m_stack.back().object != object || m_after_key) {
    throw_internal(object ? "JsonWriter: unbalanced end_object" : "JsonWriter: unbalanced end_array");
  }
  const std::size_t count = m_stack.back().count;
  m_stack.pop_back();
  if (count > 0) {
    newline_indent();
  }
  m_out += object ? '}' : ']';
  after_value();
}

JsonWriter& JsonWriter::end_object() {
  close(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(false);
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (m_stack.empty() || !m_stack.back().object || m_after_key) {
    throw_internal("JsonWriter: key outside an object or after another key");
  }
  Level& top = m_stack.back();
  if (top.count > 0) {
    m_out += ',';
  }
  ++top.count;
  newline_indent();
  m_out += '"';
  m_out += json_escape(name);
  m_out += m_pretty ? "\": " : "\":";
  m_after_key = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view value) {
  before_value();
  m_out += '"';
  m_out += json_escape(value);
  m_out += '"';
  after_value();
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  before_value();
  m_out += value ? "true" : "false";
  after_value();
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) {
  before_value();
  m_out += std::to_string(value);
  after_value();
  return *this;
}

JsonWriter& JsonWriter::uinteger(std::uint64_t value) {
  before_value();
  m_out += std::to_string(value);
  after_value();
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  m_out += "null";
  after_value();
  return *this;
}

std::string JsonWriter::str() const {
  if (!m_done || !m_stack.empty()) {
    throw_internal("JsonWriter: document is incomplete");
  }
  return m_out;
}

}  // namespace fdo
