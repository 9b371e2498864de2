#include "libfdo/fsim/async_command.h"

#include <signal.h>

#include <thread>
#include <utility>

namespace fdo::fsim {

void AsyncCommand::start(const DeviceContext& context, std::vector<std::string> argv) {
  m_state = std::make_shared<State>();
  std::thread([state = m_state, ctx = context, args = std::move(argv)] {
    CommandResult result = run_in_root(ctx, args, 64 * 1024, [&state](pid_t pid) {
      const std::lock_guard<std::mutex> lock(state->mutex);
      state->pid = pid;
    });
    const std::lock_guard<std::mutex> lock(state->mutex);
    state->pid = 0;
    state->result = std::move(result);
    state->ended.notify_all();
  }).detach();
}

std::optional<CommandResult> AsyncCommand::wait_for(std::chrono::milliseconds wait) const {
  if (!m_state) {
    return std::nullopt;
  }
  std::unique_lock<std::mutex> lock(m_state->mutex);
  m_state->ended.wait_for(lock, wait, [&] { return m_state->result.has_value(); });
  return m_state->result;
}

bool AsyncCommand::signal(int sig) const {
  if (!m_state) {
    return false;
  }
  const std::lock_guard<std::mutex> lock(m_state->mutex);
  if (m_state->result || m_state->pid <= 0) {
    return false;
  }
  return ::kill(-m_state->pid, sig) == 0;
}

std::string describe_failure(const CommandResult& result, const DeviceContext& context) {
  if (result.timed_out) {
    return "timed out after " + std::to_string(context.command_timeout.count()) + " s";
  }
  if (!result.error.empty()) {
    return result.error;
  }
  return "exit " + std::to_string(result.exit_code);
}

}  // namespace fdo::fsim
