// Fuzz target: the strict CBOR reader and the diagnostic printer (libfdo/cbor, RFC 8949).
// Any exception other than fdo::Error, any crash and any sanitizer report is a finding.

#include "libfdo/cbor/diag.h"
#include "libfdo/cbor/reader.h"
#include "libfdo/core/error.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;
  if (size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView in(data, size);
  (void)fdo::cbor::to_diag(in);
  (void)fdo::cbor::to_diag(in, {.pretty = false, .expand_embedded = false, .max_bstr = 16});
  try {
    fdo::cbor::Reader reader(in, "fuzz");
    while (!reader.at_end()) {
      reader.skip("item");
    }
  } catch (const fdo::Error&) {
  }
  return 0;
}
