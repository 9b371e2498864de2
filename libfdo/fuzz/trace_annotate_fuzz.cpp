// Fuzz target: the trace annotator, annotated_diag (libfdo/protocol/trace_file.cpp), which prints every message a
// traced device or owner receives, a peer's malformed ones included. The first input byte is the message type, the
// rest the body (the message_decode corpus's format). It must never throw: a part of the wrong shape is printed
// plainly. Any exception, crash or sanitizer report is a finding.

#include <cstddef>
#include <cstdint>

#include "libfdo/protocol/trace_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;
  if (size == 0 || size > kMaxInput) {
    return 0;
  }
  const fdo::ByteView body(data + 1, size - 1);
  const std::string as_sent = fdo::protocol::annotated_diag(data[0], body, false);
  const std::string decrypted = fdo::protocol::annotated_diag(data[0], body, true);
  if (as_sent.empty() || decrypted.empty()) {
    __builtin_trap();
  }
  return 0;
}
