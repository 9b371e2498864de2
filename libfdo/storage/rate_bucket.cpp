// The token bucket every Store keeps per client address (records.h, docs/security.md "Rate limit").
#include <algorithm>
#include <cmath>

#include "libfdo/storage/records.h"

namespace fdo::storage {
namespace {

constexpr double kMilli = 1000;

std::int64_t millis(double tokens) { return static_cast<std::int64_t>(std::floor(tokens * kMilli)); }

}  // namespace

RateBucket full_bucket(const RateLimit& limit, std::int64_t now) { return {millis(limit.burst), now}; }

bool take_token(RateBucket& bucket, const RateLimit& limit, std::int64_t now) {
  const std::int64_t cap = millis(limit.burst);
  const std::int64_t elapsed = std::max<std::int64_t>(0, now - bucket.updated);
  // In doubles first: a long pause times the rate would overflow an integer.
  const double refilled = static_cast<double>(bucket.millitokens) + static_cast<double>(elapsed) * limit.rate * kMilli;
  bucket.millitokens = refilled >= static_cast<double>(cap) ? cap : static_cast<std::int64_t>(refilled);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.millitokens < static_cast<std::int64_t>(kMilli)) {
    return false;
  }
  bucket.millitokens -= static_cast<std::int64_t>(kMilli);
  return true;
}

std::int64_t full_before(const RateLimit& limit, std::int64_t now) {
  return now - static_cast<std::int64_t>(std::ceil(limit.burst / limit.rate));
}

}  // namespace fdo::storage
