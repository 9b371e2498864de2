#pragma once
// fdo.download (docs/service-info.md "fdo.download"; FIDO Alliance FSIM fdo.download): the owner sends a file, the
// device writes it under its root.
//
//   owner → device: active, name (tstr), length (uint), sha-384 (bstr 48), data (bstr)...
//   device → owner: done (int: the length written, or -1 on any failure)
//
// The device buffers the blocks and writes the file atomically only after the length and the SHA-384 match, so a
// failed transfer leaves nothing. Every bad input (wrong type, unknown message, data before name, a path leaving
// the root, too many bytes, a checksum mismatch) is answered with done = -1.
//
// Plan parameters: file = "firmware.bin" (read from the plan directory; checked when the plan loads),
// name = "…" (the device path, relative to its root; default the file's name), required = true|false (default
// true: a failed transfer fails TO2), timeout = seconds to wait for done (default 600).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kDownload = "fdo.download";

class DownloadDevice final : public serviceinfo::DeviceModule {
 public:
  /// `context` must outlive the module.
  explicit DownloadDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kDownload; }
  void on_active(bool active) override;
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  void on_end(bool success) override;
  /// Why the last transfer failed, or empty (for reports and tests).
  [[nodiscard]] const std::string& last_error() const { return m_last_error; }

 private:
  enum class Phase : std::uint8_t { Idle, Receiving, Complete, Failed };
  void handle(std::string_view message, ByteView value, serviceinfo::Outbox& out);
  void fail(const std::string& why, serviceinfo::Outbox& out);
  void complete(serviceinfo::Outbox& out);
  void reset();

  const DeviceContext& m_context;
  Phase m_phase = Phase::Idle;
  std::string m_name;
  std::filesystem::path m_path;
  std::optional<std::uint64_t> m_length;
  std::optional<Bytes> m_sha384;
  bool m_data_seen = false;
  Bytes m_data;
  std::string m_last_error;
};

class DownloadOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for a bad or unknown parameter or a missing `file`.
  DownloadOwner(ByteView params, const OwnerContext& context);
  [[nodiscard]] std::string_view name() const override { return kDownload; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;

 private:
  enum class Phase : std::uint8_t { Start = 0, Sending = 1, Waiting = 2, Done = 3 };
  void fail(const std::string& why, ErrorCode code = ErrorCode::InternalServerError);

  // Parameters.
  std::filesystem::path m_file;
  std::string m_target;
  bool m_required = true;
  // State (save()/restore()).
  Phase m_phase = Phase::Start;
  std::uint64_t m_length = 0;
  std::uint64_t m_offset = 0;
  Bytes m_sha384;
  transfer::OwnerDeadline m_deadline;
  std::int64_t m_done = 0;
  std::string m_error;
};

}  // namespace fdo::fsim
