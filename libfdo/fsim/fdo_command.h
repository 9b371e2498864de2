#pragma once
// fdo.command (docs/service-info.md "fdo.command"; FSIM fdo.command): the owner has the device run one command
// in its root and gets back its exit code and, if asked, its output. The owner sends command, args,
// may_fail, return_stdout, return_stderr, then execute; the device answers stdout / stderr blocks and exitcode.
//
// Plan parameters: command = "sh" (required), args = [...], may_fail, return_stdout, return_stderr = true|false,
// args_form = auto|bstr|plain (default auto: plain when the device lists fdo_sys, i.e. Java PRI or the C SDK),
// timeout = seconds the owner waits for the exit code (600).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/fsim/async_command.h"
#include "libfdo/fsim/device_failure.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kFdoCommand = "fdo.command";

/// Device half. `args` is read as the FSIM's bstr .cbor [* tstr]; the bare array of Java PRI and the C SDK only
/// when `leniency` allows Quirk::BareCommandArgs (docs/interop.md "bare-command-args"). The command runs on a
/// thread of its own (AsyncCommand) and is reported from on_poll().
class FdoCommandDevice final : public serviceinfo::DeviceModule {
 public:
  /// `context` must outlive the module.
  FdoCommandDevice(const DeviceContext& context, Leniency leniency)
      : m_context(context), m_leniency(std::move(leniency)) {}
  [[nodiscard]] std::string_view name() const override { return kFdoCommand; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  void on_poll(serviceinfo::Outbox& out) override;

 private:
  void handle(std::string_view message, ByteView value);
  std::vector<std::string> read_args(ByteView value) const;
  void start();
  void fail(ErrorCode code, const std::string& what, serviceinfo::Outbox& out);

  const DeviceContext& m_context;
  Leniency m_leniency;
  DeviceFailure m_failure;
  std::optional<std::string> m_command;
  std::vector<std::string> m_args;
  bool m_may_fail = false;
  bool m_return_stdout = false;
  bool m_return_stderr = false;
  bool m_args_pending = false;  // args came without execute (yet)
  AsyncCommand m_run;
  bool m_reported = false;
};

/// Owner half: sends the command, waits for exitcode with a deadline. summary() is "exit N" (plus output sizes).
class FdoCommandOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for bad parameters.
  explicit FdoCommandOwner(ByteView params);
  [[nodiscard]] std::string_view name() const override { return kFdoCommand; }
  bool on_devmod(const serviceinfo::DevmodInfo& info) override;
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;

 private:
  // From the parameters.
  std::string m_command;
  std::vector<std::string> m_args;
  bool m_may_fail = false;
  bool m_return_stdout = false;
  bool m_return_stderr = false;
  std::string m_args_form;
  int m_signal = 0;  // signal_at_timeout; 0: none
  // State (save/restore).
  bool m_plain_args = false;
  bool m_sent = false;
  transfer::OwnerDeadline m_deadline;
  std::uint64_t m_stdout = 0;
  std::uint64_t m_stderr = 0;
  std::optional<std::int64_t> m_exit;
  bool m_signal_sent = false;
  transfer::OwnerDeadline m_grace;
};

}  // namespace fdo::fsim
