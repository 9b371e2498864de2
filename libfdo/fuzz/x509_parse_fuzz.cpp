// Fuzz target: the X.509 readers that take a device's input: parse_csr (DI.AppStart's CSR, fdo.csr), with its
// strict DER walk for EC requests, and Certificate::public_key_of / from_der (the device certificate of a voucher,
// FDO 1.1 §3.4.2). They may throw only fdo::Error. A key the DER walk reads must be the key OpenSSL's parser reads
// whenever that parser accepts the same bytes. Anything else, any crash and any sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "libfdo/core/error.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 16 * 1024;
  if (size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView in(data, size);
  try {
    (void)fdo::crypto::parse_csr(in);
  } catch (const fdo::Error&) {
  }
  std::optional<fdo::crypto::PublicKey> walked;
  try {
    walked = fdo::crypto::Certificate::public_key_of(in);
  } catch (const fdo::Error&) {
  }
  try {
    const fdo::crypto::Certificate cert = fdo::crypto::Certificate::from_der(in);
    (void)cert.subject();
    const fdo::crypto::PublicKey parsed = cert.public_key();
    if (walked && !walked->same_key(parsed)) {
      std::abort();  // the two readers disagree on the key of one certificate
    }
  } catch (const fdo::Error&) {
  }
  return 0;
}
