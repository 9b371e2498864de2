#include "libfdo/fsim/transfer_util.h"

#include <chrono>
#include <fstream>
#include <vector>

#include "libfdo/core/log.h"
#include "libfdo/crypto/hash.h"

namespace fdo::fsim::transfer {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void OwnerDeadline::start() {
  m_deadline_ms = now_ms() + m_timeout_s * 1000;
  m_started_here = true;
}

bool OwnerDeadline::expired() {
  if (m_started_here) {
    m_started_here = false;
    return false;
  }
  return now_ms() > m_deadline_ms;
}

Bytes sha384_file(const std::filesystem::path& path, std::uint64_t& length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw_internal("cannot read " + path.string());
  }
  crypto::Hasher hasher(crypto::HashAlg::Sha384);
  std::vector<char> block(std::size_t{1} << 16);
  length = 0;
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) {
      break;
    }
    hasher.update(ByteView(reinterpret_cast<const std::uint8_t*>(block.data()), static_cast<std::size_t>(got)));
    length += static_cast<std::uint64_t>(got);
  }
  if (in.bad()) {
    throw_internal("cannot read " + path.string());
  }
  return hasher.finish();
}

void owner_failure(std::string_view module, bool required, const std::string& why, ErrorCode code) {
  const std::string text = std::string(module) + ": " + why;
  if (required) {
    throw Error(code, text);
  }
  log::warn(text + " (module not required: onboarding goes on)");
}

}  // namespace fdo::fsim::transfer
