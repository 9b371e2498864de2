#pragma once
// A command run in the device root without blocking the ServiceInfo loop (docs/service-info.md "fdo_sys",
// "fdo.command"): run_in_root() on a thread of its own, polled by the module from on_poll().

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/fsim/device_io.h"
#include "libfdo/fsim/registry.h"

namespace fdo::fsim {

/// One command started with start(); the process keeps its deadline (DeviceContext::command_timeout) even when the
/// module is gone, since run_in_root() kills it then.
class AsyncCommand {
 public:
  /// Starts `argv` in `context.root` (copied) on a detached thread.
  void start(const DeviceContext& context, std::vector<std::string> argv);
  [[nodiscard]] bool started() const { return m_state != nullptr; }
  /// Waits up to `wait` for the end; the result once the command has ended.
  [[nodiscard]] std::optional<CommandResult> wait_for(std::chrono::milliseconds wait) const;
  /// Sends `sig` to the running command's process group (fdo.command:sig); false when it is not running.
  bool signal(int sig) const;

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable ended;
    std::optional<CommandResult> result;
    pid_t pid = 0;  // the process group, while the command runs
  };
  std::shared_ptr<State> m_state;
};

/// The text for a command that did not end with exit 0: "exit 3", "timed out after 600 s", "cannot run x".
std::string describe_failure(const CommandResult& result, const DeviceContext& context);

}  // namespace fdo::fsim
