#pragma once
// Abuse limits of the FDO servers (docs/style.md §7): a token bucket per peer address for new protocol runs (the cap
// on runs in progress counts the store's live sessions, RendezvousLimits). Thread-safe; times are the dispatcher's
// Unix seconds.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace fdo::protocol {

/// A token bucket per key (a peer address): each key may take `burst` tokens at once and gains `rate` tokens
/// per second. Keys whose bucket has refilled are forgotten, so memory stays bounded by the active peers.
class RateLimiter {
 public:
  /// `rate` tokens per second (> 0), at most `burst` (>= 1) held per key; `max_keys` caps the table.
  RateLimiter(double rate, double burst, std::size_t max_keys = 65536);
  /// Takes one token for `key` at time `now`; false when its bucket is empty (or the table is full of
  /// peers that are all still limited).
  [[nodiscard]] bool allow(std::string_view key, std::int64_t now);
  /// How many keys are tracked (tests, diagnostics).
  [[nodiscard]] std::size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated = 0;
  };
  void forget_refilled(std::int64_t now);
  double m_rate;
  double m_burst;
  std::size_t m_max_keys;
  mutable std::mutex m_mutex;
  std::map<std::string, Bucket, std::less<>> m_buckets;
};


}  // namespace fdo::protocol
