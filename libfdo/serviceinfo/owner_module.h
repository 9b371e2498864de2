#pragma once
// The owner half of a ServiceInfo module, the factory registry that rebuilds modules from stored state in any
// server process, and the plan of modules an owner runs for a device (FDO 1.1 §3.8; docs/service-info.md).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/serviceinfo/devmod.h"
#include "libfdo/serviceinfo/kv.h"

namespace fdo::serviceinfo {

/// What an owner module hands the engine for the next TO2.OwnerServiceInfo (69).
struct Produced {
  /// KVs in order; keys "<module>:<message>" (make_kv()). More than the budget is queued for later 69s, but each KV
  /// must fit a 69 alone.
  ServiceInfo kvs;
  /// Nothing more to send and no device answer awaited: the engine moves on to the next module.
  bool done = false;
  /// Keep the floor: set IsMoreServiceInfo so the device answers [false, []] (go-fdo's "block the peer").
  bool block_device = false;
  /// The module quarantines the device (TPM-Attest on a PCR mismatch, docs/service-info.md "TPM-Attest"): of the
  /// plan's later steps only these modules still run (the quarantine plan); the others are skipped and the device
  /// status says "quarantined".
  std::optional<std::vector<std::string>> quarantine;
};

/// An owner ServiceInfo module. The engine sends `module:active = true` before its first KV, routes the device's
/// messages for it, and asks it for output when it is the current module. Its whole state goes through save() and
/// restore(), because each 68 may reach another server process. An exception fails TO2 with
/// InternalServerError (500), except fdo::Error with MessageBodyError / InvalidMessageError (the device's input).
class OwnerModule {
 public:
  virtual ~OwnerModule() = default;
  /// The module name, "fdo.command".
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Called once when the device's devmod is complete and lists this module; false opts out for this device.
  virtual bool on_devmod(const DevmodInfo& info) {
    (void)info;
    return true;
  }
  /// One device message for this module, in arrival order (`active` is handled by the engine).
  virtual void on_message(std::string_view message, ByteView value) = 0;
  /// Output for the next 69: KVs whose encoded_size() sum should stay within `budget` bytes.
  virtual Produced produce(std::size_t budget) = 0;
  /// The module's state as CBOR (opaque to the engine).
  [[nodiscard]] virtual Bytes save() const = 0;
  /// Continues from save()'s output, on a module freshly made by the registry with the same params.
  virtual void restore(ByteView state) = 0;
  /// One line for the owner's device status: what the module did or got back ("exit 0", "sha384 ok, 1048576
  /// bytes"); empty when there is nothing to say yet. No secrets.
  [[nodiscard]] virtual std::string summary() const { return {}; }
};

/// One module of a plan: its name, its CBOR parameters (module-defined; the factory reads them) and whether the run
/// fails when the device does not support it.
struct PlanStep {
  std::string module;
  Bytes params;
  bool required = false;
  bool operator==(const PlanStep&) const = default;
};

/// The modules an owner runs for one device, in order.
struct Plan {
  std::vector<PlanStep> steps;
  bool operator==(const Plan&) const = default;
};

/// Owner module factories by name: make a module from its PlanStep params.
class OwnerRegistry {
 public:
  using Factory = std::function<std::unique_ptr<OwnerModule>(ByteView params)>;
  /// Registers `name`; a second registration of a name is Error(InternalServerError).
  void add(std::string name, Factory factory);
  [[nodiscard]] bool contains(std::string_view name) const;
  /// Registered names in sorted order.
  [[nodiscard]] std::vector<std::string> names() const;
  /// A new module; Error(InternalServerError) for an unknown name or a factory that gives nothing.
  [[nodiscard]] std::unique_ptr<OwnerModule> create(std::string_view name, ByteView params) const;

 private:
  std::map<std::string, Factory, std::less<>> m_factories;
};

}  // namespace fdo::serviceinfo
