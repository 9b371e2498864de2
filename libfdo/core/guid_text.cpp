#include "libfdo/core/guid_text.h"

#include <array>
#include <cstddef>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

namespace fdo {
namespace {

// Where the dashes of the UUID form sit (RFC 4122 §3: 8-4-4-4-12).
constexpr std::array<std::size_t, 4> kDashes = {8, 13, 18, 23};
constexpr std::size_t kUuidLength = 36;

[[noreturn]] void bad_guid(std::string_view text, const std::string& why) {
  throw_body_error("GUID '" + std::string(text) + "': expected 32 hex digits or 8-4-4-4-12 (" + why + ")");
}

bool all_hex(std::string_view s) {
  for (const char c : s) {
    const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit) {
      return false;
    }
  }
  return true;
}

}  // namespace

Guid parse_guid(std::string_view text) {
  std::string hex;
  if (text.size() == 2 * Guid::kSize) {
    hex = std::string(text);
  } else if (text.size() == kUuidLength) {
    std::size_t from = 0;
    for (const std::size_t dash : kDashes) {
      if (text[dash] != '-') {
        bad_guid(text, "no '-' at offset " + std::to_string(dash));
      }
      hex += text.substr(from, dash - from);
      from = dash + 1;
    }
    hex += text.substr(from);
  } else {
    bad_guid(text, std::to_string(text.size()) + " characters");
  }
  if (!all_hex(hex)) {
    bad_guid(text, "not a hex digit");
  }
  return Guid::from(from_hex(hex), "GUID");
}

std::string guid_uuid_text(const Guid& guid) {
  const std::string hex = guid.hex();
  std::string out;
  std::size_t from = 0;
  for (std::size_t i = 0; i < kDashes.size(); ++i) {
    const std::size_t end = kDashes[i] - i;  // the same place in `hex`, which has no dashes before it
    out += hex.substr(from, end - from) + "-";
    from = end;
  }
  return out + hex.substr(from);
}

}  // namespace fdo
