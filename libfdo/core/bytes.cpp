#include "libfdo/core/bytes.h"

#include <algorithm>

namespace fdo {

Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string to_string(ByteView b) { return std::string(b.begin(), b.end()); }

void append(Bytes& out, ByteView tail) { out.insert(out.end(), tail.begin(), tail.end()); }

Bytes concat(ByteView a, ByteView b) {
  Bytes out;
  out.reserve(a.size() + b.size());
  append(out, a);
  append(out, b);
  return out;
}

bool equal(ByteView a, ByteView b) { return std::ranges::equal(a, b); }

}  // namespace fdo
