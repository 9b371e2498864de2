// Fuzz target: the `--rv-info FILE` reader, RendezvousInfo::from_json (libfdo/types/rendezvous_info_json.cpp,
// docs/cli.md "Rendezvous info"). It may throw only fdo::Error; what it accepts must encode, render and read back
// to the same RendezvousInfo. Anything else, any crash and any sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "libfdo/core/error.h"
#include "libfdo/types/json.h"
#include "libfdo/types/rendezvous_info.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;
  if (size > kMaxInput) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fdo::RendezvousInfo info;
  try {
    info = fdo::RendezvousInfo::from_json(text, "fuzz.json");
  } catch (const fdo::Error&) {
    return 0;
  }
  (void)fdo::RendezvousInfo::decode(info.encode());
  (void)info.describe();
  fdo::JsonWriter j;
  info.to_json(j, true);
  if (!(fdo::RendezvousInfo::from_json(j.str(), "again") == info)) {
    __builtin_trap();
  }
  return 0;
}
