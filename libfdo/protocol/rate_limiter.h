#pragma once
// Abuse limits of the FDO servers (docs/style.md §7): a token bucket per peer address for new protocol runs, and a
// cap on the runs in progress. Both are thread-safe; times are the dispatcher's Unix seconds.
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

/// The protocol runs in progress, for a cap on live sessions (docs/interop.md "session-tokens": sessions end after the
/// last message, after an error, or at their TTL). A server opens a run when it answers a first message and closes it
/// when the run's last request is handled, whatever the outcome; a run that is never closed (the client gave
/// up, or sent a 255) counts until `ttl` seconds after it opened.
class RunTracker {
 public:
  /// At most `max_runs` live runs (0: unlimited); abandoned runs are dropped `ttl` seconds after opening.
  RunTracker(std::size_t max_runs, std::int64_t ttl);
  /// Whether another run may start at `now`.
  [[nodiscard]] bool has_room(std::int64_t now);
  /// Records run `id` (unique per run, e.g. its nonce) as opened at `now`.
  void open(const std::string& id, std::int64_t now);
  /// Forgets run `id`; unknown ids are ignored.
  void close(const std::string& id);
  /// Live runs at `now`.
  [[nodiscard]] std::size_t live(std::int64_t now);

 private:
  void expire(std::int64_t now);
  std::size_t m_max_runs;
  std::int64_t m_ttl;
  std::int64_t m_last_expire = 0;
  std::mutex m_mutex;
  std::map<std::string, std::int64_t> m_opened;
};

}  // namespace fdo::protocol
