#include "libfdo/core/random.h"

#include <sys/random.h>

#include <cerrno>

#include "libfdo/core/error.h"

namespace fdo {

void fill_random(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_internal("getrandom failed");
    }
    done += static_cast<std::size_t>(n);
  }
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  fill_random(out);
  return out;
}

}  // namespace fdo
