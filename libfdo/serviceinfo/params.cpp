#include "libfdo/serviceinfo/params.h"

#include <charconv>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::serviceinfo {

Bytes ModuleParams::encode() const {
  cbor::Writer w;
  w.map(m_values.size());
  for (const auto& [key, values] : m_values) {  // std::map: sorted keys, one encoding
    w.tstr(key).array(values.size());
    for (const std::string& v : values) {
      w.tstr(v);
    }
  }
  return std::move(w).take();
}

ModuleParams ModuleParams::decode(std::string_view module, ByteView cbor) {
  Values values;
  if (!cbor.empty()) {
    cbor::Reader r(cbor, std::string(module) + " parameters");
    const std::size_t n = r.read_map("");
    for (std::size_t i = 0; i < n; ++i) {
      std::string key = r.read_tstr("key");
      const std::size_t count = r.read_array(key);
      std::vector<std::string> list;
      for (std::size_t j = 0; j < count; ++j) {
        list.push_back(r.read_tstr(key));
      }
      values[std::move(key)] = std::move(list);
    }
    r.expect_end();
  }
  return ModuleParams(std::string(module), std::move(values));
}

void ModuleParams::fail(std::string_view key, const std::string& what) const {
  throw_body_error(m_module + ": parameter " + std::string(key) + ": " + what);
}

void ModuleParams::expect_only(const std::vector<std::string_view>& known) const {
  for (const auto& [key, values] : m_values) {
    bool ok = false;
    std::string names;
    for (const std::string_view k : known) {
      ok = ok || k == key;
      names += (names.empty() ? "" : ", ") + std::string(k);
    }
    if (!ok) {
      throw_body_error(m_module + ": unknown parameter " + key + " (known: " + (names.empty() ? "none" : names) + ")");
    }
  }
}

std::string ModuleParams::required(std::string_view key) const {
  const auto it = m_values.find(key);
  if (it == m_values.end()) {
    fail(key, "missing");
  }
  if (it->second.size() != 1) {
    fail(key, "expected one value, got " + std::to_string(it->second.size()));
  }
  return it->second.front();
}

std::string ModuleParams::get(std::string_view key, std::string_view fallback) const {
  return has(key) ? required(key) : std::string(fallback);
}

std::vector<std::string> ModuleParams::list(std::string_view key) const {
  const auto it = m_values.find(key);
  return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

bool ModuleParams::flag(std::string_view key, bool fallback) const {
  if (!has(key)) {
    return fallback;
  }
  const std::string v = required(key);
  if (v != "true" && v != "false") {
    fail(key, "expected true or false, got \"" + v + "\"");
  }
  return v == "true";
}

std::int64_t ModuleParams::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
  if (!has(key)) {
    return fallback;
  }
  const std::string v = required(key);
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || end != v.data() + v.size() || out < min || out > max) {
    fail(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got \"" + v + "\"");
  }
  return out;
}

}  // namespace fdo::serviceinfo
