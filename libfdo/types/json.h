#pragma once
// The JSON writer (RFC 8259) of the tools' `--json` output (docs/cli.md). It is built on nlohmann-json, which
// only this layer sees (docs/adr/0002-dependency-containment.md): callers say what to write, in order, and the
// library does the escaping and the layout.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fdo {

/// The body of a JSON string literal for `s` (RFC 8259 §7), without the quotes: `"` and `\` escaped,
/// control characters as \n, \t, … or \u00XX, and each maximal piece that is not valid UTF-8 (a stray byte,
/// or the start of a sequence cut short) replaced by one U+FFFD. Never throws on bad UTF-8.
std::string json_escape(std::string_view s);

/// Whether `text` is exactly one JSON object (RFC 8259, read by nlohmann-json): `{` … `}` with blanks around it,
/// valid UTF-8, nothing after it. For input the tools store as received without interpreting it.
[[nodiscard]] bool is_json_object(std::string_view text);

/// Writes one JSON document; members keep the order they were written in. Calls must nest properly; misuse (a
/// value where a key is due, unbalanced ends, two top-level values, a key written twice in one object) is our bug
/// and throws Error(InternalServerError). Strings are escaped as json_escape() does.
///   JsonWriter j;  j.begin_object().key("guid").string(hex).key("active").boolean(true).end_object();
class JsonWriter {
 public:
  /// `pretty`: newline and two-space indentation per level.
  explicit JsonWriter(bool pretty = false);
  ~JsonWriter();
  JsonWriter(JsonWriter&&) noexcept;
  JsonWriter& operator=(JsonWriter&&) noexcept;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The next member's name (inside an object).
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view value);
  JsonWriter& boolean(bool value);
  JsonWriter& integer(std::int64_t value);
  JsonWriter& uinteger(std::uint64_t value);
  JsonWriter& null();

  /// The document; throws Error(InternalServerError) unless exactly one complete value was written.
  [[nodiscard]] std::string str() const;

 private:
  struct State;  // the nlohmann document under construction (json.cpp)
  std::unique_ptr<State> m_state;
};

}  // namespace fdo
