#include "libfdo/protocol/rate_limiter.h"

#include <algorithm>

#include "libfdo/core/error.h"

namespace fdo::protocol {

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_keys)
    : m_rate(rate), m_burst(burst), m_max_keys(max_keys) {
  if (!(rate > 0) || !(burst >= 1) || max_keys == 0) {
    throw_internal("RateLimiter: rate must be > 0, burst >= 1 and max_keys > 0");
  }
}

bool RateLimiter::allow(std::string_view key, std::int64_t now) {
  const std::lock_guard lock(m_mutex);
  auto it = m_buckets.find(key);
  if (it == m_buckets.end()) {
    if (m_buckets.size() >= m_max_keys) {
      forget_refilled(now);
      if (m_buckets.size() >= m_max_keys) {
        return false;  // every tracked peer is still limited: refuse newcomers rather than grow without bound
      }
    }
    it = m_buckets.emplace(std::string(key), Bucket{m_burst, now}).first;
  }
  Bucket& bucket = it->second;
  const std::int64_t elapsed = std::max<std::int64_t>(0, now - bucket.updated);
  bucket.tokens = std::min(m_burst, bucket.tokens + static_cast<double>(elapsed) * m_rate);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.tokens < 1) {
    return false;
  }
  bucket.tokens -= 1;
  return true;
}

std::size_t RateLimiter::tracked() const {
  const std::lock_guard lock(m_mutex);
  return m_buckets.size();
}

void RateLimiter::forget_refilled(std::int64_t now) {
  std::erase_if(m_buckets, [&](const auto& entry) {
    const Bucket& b = entry.second;
    return b.tokens + static_cast<double>(std::max<std::int64_t>(0, now - b.updated)) * m_rate >= m_burst;
  });
}

}  // namespace fdo::protocol
