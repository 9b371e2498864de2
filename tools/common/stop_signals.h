#pragma once
// How a server waits for its stop (docs/cli.md: servers stop cleanly on SIGTERM/SIGINT): the signals are blocked in
// every thread and the main thread takes them with sigwait, so no handler runs inside a server thread.

#include <signal.h>

#include <chrono>
#include <functional>

namespace fdo::tool {

/// SIGTERM and SIGINT, blocked from construction on. Construct it before the first server thread starts, so every
/// thread inherits the mask and only wait() sees the signals. The mask stays after destruction: the process is
/// stopping, and a second SIGTERM must not kill it while it shuts down.
class StopSignals {
 public:
  /// Blocks SIGTERM and SIGINT in the calling thread. Throws Error(InternalServerError) if it cannot.
  StopSignals();

  /// Waits for SIGTERM or SIGINT, logs "stopping on SIGTERM" (or SIGINT) and returns the signal number.
  int wait() const;

  /// As wait(), calling `on_interval` each time `interval` passes without a signal.
  int wait(std::chrono::seconds interval, const std::function<void()>& on_interval) const;

 private:
  sigset_t m_signals;
};

}  // namespace fdo::tool
