#pragma once
// A small JSON writer (RFC 8259) for the tools' `--json` output (docs/cli.md): escaping and nesting only.
// No JSON library is a project dependency.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fdo {

/// The body of a JSON string literal for `s` (RFC 8259 §7), without the quotes: `"` and `\` escaped,
/// control characters as \n, \t, … or \u00XX, and bytes that are not valid UTF-8 replaced by U+FFFD.
std::string json_escape(std::string_view s);

/// Writes one JSON document. Calls must nest properly; misuse (a value where a key is due, unbalanced
/// ends, two top-level values) is our bug and throws Error(InternalServerError).
///   JsonWriter j;  j.begin_object().key("guid").string(hex).key("active").boolean(true).end_object();
class JsonWriter {
 public:
  /// `pretty`: newline and two-space indentation per level.
  explicit JsonWriter(bool pretty = false) : m_pretty(pretty) {}

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
  struct Level {
    bool object = false;
    std::size_t count = 0;
  };
  void before_value();
  void after_value();
  void newline_indent();
  void close(bool object);

  std::string m_out;
  std::vector<Level> m_stack;
  bool m_pretty;
  bool m_after_key = false;
  bool m_done = false;
};

}  // namespace fdo
