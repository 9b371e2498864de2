#pragma once
// fdo_sys (docs/service-info.md "fdo_sys"): the legacy Intel module of Java PRI and the C SDK, whitepaper Table 3.
// The owner writes files onto the device (filedesc, then write blocks), runs a command (exec, or exec_cb polled
// with status_cb) and fetches files back (fetch → data blocks, eot). The device keeps everything inside its root.
//
// Plan parameters: files = [...] (read from the plan directory at load), exec = [argv...], exec_cb = true|false,
// wait_sec = 1..30 (default 5), fetch = [device paths], timeout = seconds the owner waits for the device (600).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/fsim/async_command.h"
#include "libfdo/fsim/device_failure.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kFdoSys = "fdo_sys";

/// Device half. A file named by filedesc is collected in memory and written atomically (write_in_root) when the
/// owner moves on (the next filedesc, exec, exec_cb, fetch, or the end of a successful TO2); a failed run writes
/// nothing of it.
class FdoSysDevice final : public serviceinfo::DeviceModule {
 public:
  /// `context` must outlive the module.
  explicit FdoSysDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kFdoSys; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  void on_poll(serviceinfo::Outbox& out) override;
  void on_end(bool success) override;

 private:
  void handle(std::string_view message, ByteView value, serviceinfo::Outbox& out);
  void flush();
  void exec(const std::vector<std::string>& argv, serviceinfo::Outbox& out);
  void fetch(const std::string& name, serviceinfo::Outbox& out);
  void fail(ErrorCode code, const std::string& what, serviceinfo::Outbox& out);

  const DeviceContext& m_context;
  DeviceFailure m_failure;
  std::optional<std::filesystem::path> m_file;  // the current file (filedesc), resolved in the root
  Bytes m_data;                                 // its content so far
  AsyncCommand m_command;                       // exec_cb
  bool m_reported = false;                      // exec_cb's final status_cb went out
  std::optional<std::chrono::steady_clock::time_point> m_answer_due;  // an owner status_cb awaits our answer
  std::uint64_t m_wait_sec = 5;
};

/// Owner half: sends the plan's files, then the command, then the fetches; waits for the command's status_cb
/// and each fetch's eot with a deadline. summary() says what happened ("setup.sh 102400 bytes; exit 0").
class FdoSysOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for bad parameters or a file that cannot be read.
  FdoSysOwner(ByteView params, const OwnerContext& context);
  [[nodiscard]] std::string_view name() const override { return kFdoSys; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;

 private:
  enum class Phase : std::uint8_t { Files = 0, Exec = 1, AwaitExec = 2, Fetch = 3, AwaitFetch = 4, Done = 5 };
  struct File {
    std::string device_name;
    Bytes data;
  };
  void start_wait();
  void check_deadline();

  // From the parameters.
  std::vector<File> m_files;
  std::vector<std::string> m_exec;
  bool m_exec_cb = false;
  std::uint64_t m_wait_sec = 5;
  std::vector<std::string> m_fetch;
  // State (save/restore).
  Phase m_phase = Phase::Files;
  std::size_t m_index = 0;    // file or fetch being sent
  std::size_t m_offset = std::numeric_limits<std::size_t>::max();  // bytes of that file sent; max: filedesc to go
  bool m_poll_due = false;    // the device sent status_cb [false, ...]: echo it
  std::optional<std::int64_t> m_exit;
  transfer::OwnerDeadline m_deadline;
  std::uint64_t m_fetched = 0;    // bytes of the current fetch
  std::string m_fetch_report;
};

}  // namespace fdo::fsim
