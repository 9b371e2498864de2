#include "libfdo/serviceinfo/mtu.h"

#include <string>

#include "libfdo/core/log.h"

namespace fdo::serviceinfo {
namespace {

// The outer array head of a 68 or 69 (2 or 3 elements).
constexpr std::size_t kOuterHead = 1;
// The largest array head a ServiceInfo of up to 65535 KVs needs.
constexpr std::size_t kMaxListHead = 3;

std::size_t body_of(std::size_t kv_bytes, std::size_t count, std::size_t flags) {
  return kOuterHead + flags + encoded_head_size(count) + kv_bytes;
}

}  // namespace

std::size_t effective_mtu(std::optional<std::uint64_t> announced, std::string_view field) {
  if (!announced) {
    return kDefaultMtu;
  }
  if (*announced < kMinMtu) {
    log::info(std::string(field) + " " + std::to_string(*announced) + " is below " + std::to_string(kMinMtu) +
              "; using " + std::to_string(kMinMtu));
    return kMinMtu;
  }
  return static_cast<std::size_t>(*announced);
}

std::size_t body_size(const ServiceInfo& kvs, std::size_t flags) {
  return kOuterHead + flags + encoded_size(kvs);
}

std::size_t max_single_kv(std::size_t limit, std::size_t flags) {
  const std::size_t overhead = body_of(0, 1, flags);
  return limit > overhead ? limit - overhead : 0;
}

std::size_t max_bstr_chunk(std::size_t kv_budget, std::string_view key) {
  const auto kv_size = [&](std::size_t n) {
    const std::size_t value = encoded_head_size(n) + n;
    return 1 + encoded_head_size(key.size()) + key.size() + encoded_head_size(value) + value;
  };
  if (kv_size(0) > kv_budget) {
    return 0;
  }
  // The heads take at most 1 + 9 + 9 + 9 bytes, so start there and step down by the few bytes heads may change.
  std::size_t n = kv_budget - (kv_size(0) - 2);
  while (n > 0 && kv_size(n) > kv_budget) {
    --n;
  }
  return n;
}

bool Packer::try_add(const ServiceInfoKv& kv) {
  const std::size_t kv_bytes = encoded_size(kv);
  if (body_of(m_size + kv_bytes, m_kvs.size() + 1, m_flags) > m_limit) {
    return false;
  }
  m_size += kv_bytes;
  m_kvs.push_back(kv);
  return true;
}

std::size_t Packer::room() const {
  const std::size_t used = kOuterHead + m_flags + kMaxListHead + m_size;
  return m_limit > used ? m_limit - used : 0;
}

bool Packer::fits_alone(const ServiceInfoKv& kv) const {
  return body_of(encoded_size(kv), 1, m_flags) <= m_limit;
}

}  // namespace fdo::serviceinfo
