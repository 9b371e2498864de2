#include "libfdo/fsim/registry.h"

#include <memory>

#include "libfdo/fsim/fdo_command.h"
#include "libfdo/fsim/fdo_sys.h"
#include "libfdo/fsim/fido_alliance.h"

namespace fdo::fsim {

// One line per module and side; each module's header says what it does (docs/serviceinfo.md "Modules").
void register_device_modules(serviceinfo::DeviceRegistry& registry, const DeviceContext& context) {
  (void)context;
  registry.add(std::string(kFidoAlliance), [] { return std::make_unique<FidoAllianceDevice>(); });
  registry.add(std::string(kFdoSys), [&context] { return std::make_unique<FdoSysDevice>(context); });
  // docs/serviceinfo.md "fdo.command": the device reads both args forms (docs/interop.md "bare-command-args").
  registry.add(std::string(kFdoCommand), [&context] {
    return std::make_unique<FdoCommandDevice>(context, Leniency({Quirk::BareCommandArgs}));
  });
}

void register_owner_modules(serviceinfo::OwnerRegistry& registry, const OwnerContext& context) {
  (void)context;
  registry.add(std::string(kFidoAlliance),
               [](ByteView params) { return std::make_unique<FidoAllianceOwner>(params); });
  registry.add(std::string(kFdoSys),
               [&context](ByteView params) { return std::make_unique<FdoSysOwner>(params, context); });
  registry.add(std::string(kFdoCommand), [](ByteView params) { return std::make_unique<FdoCommandOwner>(params); });
}

}  // namespace fdo::fsim
