// Fuzz target: COSE_Sign1 decoding and verification (libfdo/cose/sign1.h, FDO 1.1 §3.3, RFC 9052): strict and
// untagged (Quirk::UntaggedCose) decoding, verify() with the fixed key of fuzz_key.h (a seed signed with it
// verifies), and the Sig_structure. Decoding may throw only fdo::Error and verify() must not throw; what decodes
// must re-encode to a COSE_Sign1 that decodes strictly, with the protected and payload bytes unchanged
// (docs/style.md §5). Anything else, any crash and any sanitizer report is a finding.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "libfdo/core/error.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/fuzz/fuzz_key.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;
  if (size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView in(data, size);
  static const fdo::Leniency strict;
  static const fdo::Leniency untagged(std::set<fdo::Quirk>{fdo::Quirk::UntaggedCose});
  for (const fdo::Leniency* leniency : {&strict, &untagged}) {
    try {
      const fdo::cose::Sign1 sign1 = fdo::cose::Sign1::decode(in, "COSE_Sign1", *leniency);
      (void)sign1.verify(fdo::fuzz::public_key());
      (void)sign1.sig_structure();
      const fdo::Bytes again = sign1.encode();
      try {
        const fdo::cose::Sign1 re = fdo::cose::Sign1::decode(again, "COSE_Sign1");
        const auto same = [](fdo::ByteView a, fdo::ByteView b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
        if (!same(re.protected_bytes(), sign1.protected_bytes()) || !same(re.payload(), sign1.payload()) ||
            !same(re.signature(), sign1.signature())) {
          std::abort();  // re-encoding changed bytes that are signed
        }
      } catch (const fdo::Error&) {
        std::abort();  // our encoding of a decoded Sign1 does not decode
      }
    } catch (const fdo::Error&) {
    }
  }
  return 0;
}
