#include "libfdo/types/json.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"

namespace fdo {
namespace {

using Document = nlohmann::ordered_json;  // ordered: members stay in the order the tools write them

// RFC 8259 text of `v`: compact, or two-space indentation; invalid UTF-8 becomes U+FFFD instead of throwing.
std::string dump(const Document& v, bool pretty) {
  return v.dump(pretty ? 2 : -1, ' ', false, Document::error_handler_t::replace);
}

}  // namespace

std::string json_escape(std::string_view s) {
  const std::string quoted = dump(Document(std::string(s)), false);
  return quoted.substr(1, quoted.size() - 2);
}

bool is_json_object(std::string_view text) {
  // accept() parses without building the document; it never throws for malformed input.
  return Document::accept(text) && text.find_first_not_of(" \t\r\n") != std::string_view::npos &&
         text[text.find_first_not_of(" \t\r\n")] == '{';
}

// An open object or array, and the key it will have in its parent (if that is an object).
struct Open {
  Document value;
  std::optional<std::string> key;
};

struct JsonWriter::State {
  bool pretty = false;
  std::vector<Open> stack;
  std::optional<std::string> pending_key;  // key() was called; its value is next
  std::optional<Document> root;            // set once the top-level value is complete

  // Checks that a value may come now and returns the key it goes under (inside an object).
  std::optional<std::string> before_value() {
    if (stack.empty()) {
      if (root) {
        throw_internal("JsonWriter: a second top-level value");
      }
      return std::nullopt;
    }
    if (stack.back().value.is_object()) {
      if (!pending_key) {
        throw_internal("JsonWriter: a value inside an object needs a key first");
      }
      return std::exchange(pending_key, std::nullopt);
    }
    return std::nullopt;
  }

  // Puts a complete value in its place: the root, the open array, or the open object under `key`.
  void attach(Document v, std::optional<std::string> key) {
    if (stack.empty()) {
      root = std::move(v);
      return;
    }
    Document& parent = stack.back().value;
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return;
    }
    if (!parent.emplace(*key, std::move(v)).second) {
      throw_internal("JsonWriter: key '" + *key + "' written twice");
    }
  }

  void scalar(Document v) {
    std::optional<std::string> key = before_value();
    attach(std::move(v), std::move(key));
  }

  void open(Document empty) {
    std::optional<std::string> key = before_value();
    stack.push_back(Open{std::move(empty), std::move(key)});
  }

  void close(bool object) {
    if (stack.empty() || stack.back().value.is_object() != object || pending_key) {
      throw_internal(object ? "JsonWriter: unbalanced end_object" : "JsonWriter: unbalanced end_array");
    }
    Open done = std::move(stack.back());
    stack.pop_back();
    attach(std::move(done.value), std::move(done.key));
  }
};

JsonWriter::JsonWriter(bool pretty) : m_state(std::make_unique<State>()) {
  m_state->pretty = pretty;
}
JsonWriter::~JsonWriter() = default;
JsonWriter::JsonWriter(JsonWriter&&) noexcept = default;
JsonWriter& JsonWriter::operator=(JsonWriter&&) noexcept = default;

JsonWriter& JsonWriter::begin_object() {
  m_state->open(Document::object());
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  m_state->open(Document::array());
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  m_state->close(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  m_state->close(false);
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (m_state->stack.empty() || !m_state->stack.back().value.is_object() || m_state->pending_key) {
    throw_internal("JsonWriter: key outside an object or after another key");
  }
  m_state->pending_key = std::string(name);
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view value) {
  m_state->scalar(Document(std::string(value)));
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  m_state->scalar(Document(value));
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) {
  m_state->scalar(Document(value));
  return *this;
}

JsonWriter& JsonWriter::uinteger(std::uint64_t value) {
  m_state->scalar(Document(value));
  return *this;
}

JsonWriter& JsonWriter::null() {
  m_state->scalar(Document(nullptr));
  return *this;
}

std::string JsonWriter::str() const {
  if (!m_state->root || !m_state->stack.empty()) {
    throw_internal("JsonWriter: document is incomplete");
  }
  return dump(*m_state->root, m_state->pretty);
}

}  // namespace fdo
