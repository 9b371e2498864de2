// Fuzz target: EAT verification (libfdo/protocol/eat.h, FDO 1.1 §3.3.6, §5.4.3): the input as a COSE_Sign1 checked
// by verify_eat() against the fixed key, nonce and GUID of fuzz_key.h (strict, with the expected alg, and with
// Quirk::EatUeidClaim11), and as a bare EAT payload. Only fdo::Error may be thrown; a seed signed with the fixed
// key reaches the signature check. Anything else, any crash and any sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <set>

#include "libfdo/core/error.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/fuzz/fuzz_key.h"
#include "libfdo/protocol/eat.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;
  if (size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView in(data, size);
  static const fdo::Leniency strict;
  static const fdo::Leniency lenient(std::set<fdo::Quirk>{fdo::Quirk::UntaggedCose, fdo::Quirk::EatUeidClaim11});
  const fdo::protocol::EatExpectation any_alg{.nonce = fdo::fuzz::nonce(), .guid = fdo::fuzz::guid(), .alg = {}};
  const fdo::protocol::EatExpectation es256{
      .nonce = fdo::fuzz::nonce(), .guid = fdo::fuzz::guid(), .alg = fdo::crypto::SigAlg::ES256};
  for (const fdo::Leniency* leniency : {&strict, &lenient}) {
    try {
      const fdo::cose::Sign1 eat = fdo::cose::Sign1::decode(in, "EAT", *leniency);
      for (const fdo::protocol::EatExpectation* expected : {&any_alg, &es256}) {
        try {
          (void)fdo::protocol::verify_eat(eat, fdo::fuzz::public_key(), *expected, *leniency);
        } catch (const fdo::Error&) {
        }
      }
    } catch (const fdo::Error&) {
    }
    try {
      (void)fdo::protocol::EatPayload::decode(in, *leniency);
    } catch (const fdo::Error&) {
    }
  }
  return 0;
}
