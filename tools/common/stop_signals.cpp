#include "tools/common/stop_signals.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::tool {
namespace {

int log_stop(int signal_number) {
  log::info(std::string("stopping on ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  return signal_number;
}

}  // namespace

StopSignals::StopSignals() {
  sigemptyset(&m_signals);
  sigaddset(&m_signals, SIGTERM);
  sigaddset(&m_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &m_signals, nullptr) != 0) {
    throw_internal("cannot block SIGTERM/SIGINT");
  }
}

int StopSignals::wait() const {
  int signal_number = 0;
  sigwait(&m_signals, &signal_number);
  return log_stop(signal_number);
}

int StopSignals::wait(std::chrono::seconds interval, const std::function<void()>& on_interval) const {
  const timespec timeout{static_cast<std::time_t>(interval.count()), 0};
  int signal_number = -1;
  while (signal_number < 0) {
    signal_number = sigtimedwait(&m_signals, nullptr, &timeout);
    if (signal_number < 0 && errno == EAGAIN) {
      on_interval();
    }
  }
  return log_stop(signal_number);
}

}  // namespace fdo::tool
