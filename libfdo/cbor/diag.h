#pragma once
// CBOR diagnostic notation (RFC 8949 §8) for traces and `fdo-reseller show --raw`.

#include <string>

#include "libfdo/core/bytes.h"

namespace fdo::cbor {

/// Options for the printer.
struct DiagOptions {
  /// Indent nested arrays/maps on new lines (two spaces per level).
  bool pretty = true;
  /// Byte strings whose content is itself one CBOR item are shown as <<item>> (RFC 8610 §3.8.1).
  bool expand_embedded = true;
  /// Byte strings longer than this are shown as h'…' with a length note, 0 = no limit.
  std::size_t max_bstr = 0;
};

/// Diagnostic notation (RFC 8949 §8) of one CBOR item, e.g. an FDO message body (FDO 1.1 §3.2).
/// Malformed input, trailing bytes or nesting deeper than kMaxDepth give what was printed so far plus
/// "<error: …>" instead of throwing, so traces of bad input still print. Indefinite lengths are shown
/// ("[_ 1]"), although the strict Reader refuses them.
std::string to_diag(ByteView in, const DiagOptions& options = {});

}  // namespace fdo::cbor
