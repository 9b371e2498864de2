#pragma once
// The device half of a ServiceInfo module and the registry the device builds its module list from
// (FDO 1.1 §3.8; docs/service-info.md "Writing a module").

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"

namespace fdo::serviceinfo {

/// One queued device KV; `break_before` makes it start a new TO2.DeviceServiceInfo (68).
struct OutboxEntry {
  ServiceInfoKv kv;
  bool break_before = false;
};

/// Where a device module puts its messages for the owner; the engine packs them into 68s in order.
class Outbox {
 public:
  /// `kv_budget`: kv_budget() below; the engine gives the one of the MTU it sends at, the default is 1300's.
  Outbox(std::string_view module, std::deque<OutboxEntry>& queue,
         std::size_t kv_budget = max_single_kv(kMinMtu, kDeviceFlags))
      : m_module(module), m_queue(queue), m_kv_budget(kv_budget) {}
  /// Queues "<module>:<message>" with `cbor_value` (one encoded CBOR item, e.g. from tstr_value()).
  void send(std::string_view message, ByteView cbor_value);
  /// The next message sent starts a new 68 (go-fdo's "yield").
  void yield() { m_break = true; }
  /// The largest encoded_size() of a KV that fits a 68 alone at the owner's maxDeviceServiceInfoSz (FDO 1.1 §5.5.9,
  /// as effective_mtu() reads it); modules cut data into blocks of that size (max_bstr_chunk()).
  [[nodiscard]] std::size_t kv_budget() const { return m_kv_budget; }

 private:
  std::string m_module;
  std::deque<OutboxEntry>& m_queue;
  std::size_t m_kv_budget;
  bool m_break = false;
};

/// A device ServiceInfo module. The framework owns `module:active`, unknown modules, packing and the 68/69 loop
/// rules; a module only reacts. Any exception ends TO2: fdo::Error with MessageBodyError / InvalidMessageError
/// keeps its code (the owner's input was wrong), anything else becomes InternalServerError (500).
class DeviceModule {
 public:
  virtual ~DeviceModule() = default;
  /// The module name, "fdo.download".
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// The owner activated (true) or deactivated (false) the module; called on changes only.
  virtual void on_active(bool active) { (void)active; }
  /// One owner message for this active module, in arrival order; `value` is the decoded bstr content.
  virtual void on_message(std::string_view message, ByteView value, Outbox& out) = 0;
  /// Called once per 68 the device may fill, so a module waiting on work (a command) can report.
  virtual void on_poll(Outbox& out) { (void)out; }
  /// The end of TO2: success after TO2.Done2, false on any failure (clean temp files, pending keys).
  virtual void on_end(bool success) { (void)success; }
};

/// Device module factories by name; a device makes fresh modules for each TO2 run.
class DeviceRegistry {
 public:
  using Factory = std::function<std::unique_ptr<DeviceModule>()>;
  /// Registers `name`; a second registration of a name is Error(InternalServerError).
  void add(std::string name, Factory factory);
  [[nodiscard]] bool contains(std::string_view name) const;
  /// Registered names in sorted order.
  [[nodiscard]] std::vector<std::string> names() const;
  /// One module per registered name (or per name in `only`, skipping unknown names with a warning).
  [[nodiscard]] std::vector<std::unique_ptr<DeviceModule>> create_all() const;
  [[nodiscard]] std::vector<std::unique_ptr<DeviceModule>> create(const std::vector<std::string>& only) const;

 private:
  std::map<std::string, Factory, std::less<>> m_factories;
};

}  // namespace fdo::serviceinfo
