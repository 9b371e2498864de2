// Fuzz target: voucher reading (libfdo/voucher): PEM/raw framing, strict decoding (strict and with every quirk
// accepted), the verification report and the tolerant summary of `show`. Decoders may throw only fdo::Error;
// verify() and summarize() must not throw at all. Anything else, any crash and any sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <set>

#include "libfdo/core/error.h"
#include "libfdo/core/quirks.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/summary.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;
  if (size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView in(data, size);
  const fdo::Leniency lenient(std::set<fdo::Quirk>{fdo::Quirk::LegacyCertChainHash, fdo::Quirk::UntaggedCose,
                                                   fdo::Quirk::BareOveExtraMap, fdo::Quirk::BareRvValues,
                                                   fdo::Quirk::CoseKeyCoordinateLength});
  for (const fdo::Leniency* leniency : {static_cast<const fdo::Leniency*>(nullptr), &lenient}) {
    const fdo::Leniency strict;
    const fdo::Leniency& l = leniency ? *leniency : strict;
    try {
      const fdo::voucher::OwnershipVoucher ov = fdo::voucher::OwnershipVoucher::decode(in, l);
      (void)ov.encode();
      (void)ov.owner_key();
    } catch (const fdo::Error&) {
    }
    fdo::voucher::VerifyOptions options;
    options.leniency = l;
    (void)fdo::voucher::verify(in, options).to_text();
    (void)fdo::voucher::summarize(in, l).to_text();
  }
  try {
    (void)fdo::voucher::read_vouchers(in);
  } catch (const fdo::Error&) {
  }
  return 0;
}
