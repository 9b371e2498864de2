// Fuzz target: what the TPM layer reads that another party wrote (docs/tpm-credentials.md): a DCTPM NV index (another
// stack's, or a damaged one), and TPM-Attest's input from the device (marshalled TPMS_ATTEST, TPMT_PUBLIC and
// TPMT_SIGNATURE, and the whole TPM-Attest:quote check of the owner). The first input byte selects:
//   0 DcTpm::decode  1 decode_quote  2 decode_public  3 decode_ecdsa_signature
//   4 CBOR [bstr ak-pub, quote-value]: the owner's checks, as after its quote-req with the nonce 32 × 0x4E.
// Only fdo::Error may be thrown; anything else, any crash and any sanitizer report is a finding.

#include <cstddef>
#include <cstdint>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/serviceinfo/params.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/tpm/tpm_attest.h"

namespace {

void owner_checks(fdo::ByteView in) {
  fdo::cbor::Reader r(in, "fuzz input");
  r.read_array_of("", 2);
  const fdo::Bytes ak_pub = r.read_bstr("ak-pub");
  const fdo::ByteView quote = r.read_raw("quote");
  static const fdo::Bytes params =
      fdo::serviceinfo::ModuleParams("TPM-Attest", {{"pcrs", {"0", "7"}}, {"expect", {"7=" + std::string(64, '0')}}})
          .encode();
  fdo::tpm::TpmAttestOwner owner(params, {});
  // The saved state of an owner waiting for the quote (tpm_attest.cpp save()).
  fdo::cbor::Writer w;
  w.array(9).uint(1).bstr(fdo::Bytes(32, 0x4E)).bstr({}).int_(INT64_MAX).uint(255).tstr("").tstr("").bstr({}).tstr("");
  owner.restore(std::move(w).take());
  fdo::cbor::Writer pub;
  pub.bstr(ak_pub);
  owner.on_message("ak-pub", std::move(pub).take());
  owner.on_message("quote", quote);
  (void)owner.produce(1300);
  (void)owner.summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 16 * 1024;
  if (size == 0 || size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView in(data + 1, size - 1);
  try {
    switch (data[0] % 5) {
      case 0:
        (void)fdo::tpm::DcTpm::decode(in);
        break;
      case 1:
        (void)fdo::tpm::decode_quote(in);
        break;
      case 2:
        (void)fdo::tpm::decode_public(in);
        break;
      case 3:
        (void)fdo::tpm::decode_ecdsa_signature(in, 32);
        break;
      default:
        owner_checks(in);
        break;
    }
  } catch (const fdo::Error&) {
  }
  return 0;
}
