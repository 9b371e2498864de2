#pragma once
// A plan step's parameters (docs/owner.md "Plans"): what the owner's plan file gives one ServiceInfo module, as CBOR
// `{* tstr => [* tstr]}` (every value a list of strings, as the TOML plan gives them). Modules read them through
// ModuleParams, which names the module and the key in every error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo::serviceinfo {

class ModuleParams {
 public:
  using Values = std::map<std::string, std::vector<std::string>, std::less<>>;

  ModuleParams() = default;
  ModuleParams(std::string module, Values values) : m_module(std::move(module)), m_values(std::move(values)) {}

  /// The CBOR form stored in a PlanStep.
  [[nodiscard]] Bytes encode() const;
  /// Reads encode()'s output; empty bytes are no parameters. Error(MessageBodyError) naming `module` otherwise.
  static ModuleParams decode(std::string_view module, ByteView cbor);

  /// Error(MessageBodyError) "MODULE: unknown parameter KEY (known: …)" for any key not in `known`.
  void expect_only(const std::vector<std::string_view>& known) const;
  [[nodiscard]] bool has(std::string_view key) const { return m_values.find(key) != m_values.end(); }
  /// The one value of `key`; Error(MessageBodyError) when absent or given as a list of another length.
  [[nodiscard]] std::string required(std::string_view key) const;
  /// The one value of `key`, or `fallback`.
  [[nodiscard]] std::string get(std::string_view key, std::string_view fallback) const;
  /// Every value of `key` (empty when absent).
  [[nodiscard]] std::vector<std::string> list(std::string_view key) const;
  /// "true"/"false", or `fallback`; anything else is Error(MessageBodyError).
  [[nodiscard]] bool flag(std::string_view key, bool fallback) const;
  /// A decimal integer in [min, max], or `fallback`.
  [[nodiscard]] std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                     std::int64_t max) const;
  [[nodiscard]] const std::string& module() const { return m_module; }
  [[nodiscard]] const Values& values() const { return m_values; }

 private:
  [[noreturn]] void fail(std::string_view key, const std::string& what) const;
  std::string m_module;
  Values m_values;
};

}  // namespace fdo::serviceinfo
