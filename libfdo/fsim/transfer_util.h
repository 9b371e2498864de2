#pragma once
// Shared by the owner modules that wait on the device (docs/service-info.md "Owner deadlines"): the deadline kept in
// saved owner state; and by the file-transfer modules fdo.download, fdo.upload and fdo.wget: the owner's failure rule
// and the SHA-384 helpers.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"

namespace fdo::fsim::transfer {

/// Bytes of a SHA-384 digest, the checksum these FSIMs carry in `sha-384`.
inline constexpr std::size_t kSha384Size = 48;
/// Largest file a device module buffers (download, wget) or sends (upload): 256 MiB.
inline constexpr std::uint64_t kMaxDeviceFile = std::uint64_t{256} << 20;
/// Default seconds an owner module waits for the device's answer (docs/service-info.md: 10 min).
inline constexpr std::int64_t kDefaultTimeout = 600;

/// Wall-clock milliseconds since 1970, for deadlines kept in owner state (any server process may check them).
[[nodiscard]] std::int64_t now_ms();

/// Largest `timeout` parameter an owner module takes: one week.
inline constexpr std::int64_t kMaxTimeout = 7 * 24 * 3600;

/// An owner module's wait for the device's answer (docs/service-info.md "Owner deadlines"). start() when the request
/// goes out; expired() in later produce() calls. The deadline is wall-clock time, so it goes into the module's save()
/// (saved()/restore()) and any server process can check it.
class OwnerDeadline {
 public:
  explicit OwnerDeadline(std::int64_t timeout_s = kDefaultTimeout) : m_timeout_s(timeout_s) {}
  /// The deadline is now + the timeout.
  void start();
  /// Whether the deadline has passed. The first call after start() says false: the engine may ask the module again
  /// for the 69 that carries the request, and a timeout of 0 must still give the device one round.
  [[nodiscard]] bool expired();
  [[nodiscard]] std::int64_t timeout_s() const { return m_timeout_s; }
  /// "within N s", for the failure text.
  [[nodiscard]] std::string within() const { return "within " + std::to_string(m_timeout_s) + " s"; }
  /// The deadline in ms since 1970 (0 before start()), for save().
  [[nodiscard]] std::int64_t saved() const { return m_deadline_ms; }
  void restore(std::int64_t deadline_ms) {
    m_deadline_ms = deadline_ms;
    m_started_here = false;
  }

 private:
  std::int64_t m_timeout_s;
  std::int64_t m_deadline_ms = 0;
  bool m_started_here = false;  // not saved: set by start() until the next expired()
};

/// SHA-384 of the whole file at `path`, reading it in blocks; its length in `length`. Error(InternalServerError).
Bytes sha384_file(const std::filesystem::path& path, std::uint64_t& length);

/// Owner failure rule: a required module throws Error(code) "MODULE: WHY" (the engine records it and TO2 ends);
/// an optional one only logs, and the module records the failure in its summary().
void owner_failure(std::string_view module, bool required, const std::string& why,
                   ErrorCode code = ErrorCode::InternalServerError);

}  // namespace fdo::fsim::transfer
