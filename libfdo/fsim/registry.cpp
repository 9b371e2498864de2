#include "libfdo/fsim/registry.h"

#include <memory>

#include "libfdo/fsim/asym_key.h"
#include "libfdo/fsim/download.h"
#include "libfdo/fsim/fdo_command.h"
#include "libfdo/fsim/fdo_csr.h"
#include "libfdo/fsim/fdo_sys.h"
#include "libfdo/fsim/fido_alliance.h"
#include "libfdo/fsim/password_manager.h"
#include "libfdo/fsim/upload.h"
#include "libfdo/fsim/wget.h"

namespace fdo::fsim {

// One line per module and side; each module's header says what it does (docs/service-info.md "Modules").
void register_device_modules(serviceinfo::DeviceRegistry& registry, const DeviceContext& context) {
  registry.add(std::string(kFidoAlliance), [] { return std::make_unique<FidoAllianceDevice>(); });
  registry.add(std::string(kFdoSys), [&context] { return std::make_unique<FdoSysDevice>(context); });
  // docs/service-info.md "fdo.command": the device reads both args forms (docs/interop.md "bare-command-args").
  registry.add(std::string(kFdoCommand), [&context] {
    return std::make_unique<FdoCommandDevice>(context, Leniency({Quirk::BareCommandArgs}));
  });
  registry.add(std::string(kDownload), [&context] { return std::make_unique<DownloadDevice>(context); });
  registry.add(std::string(kUpload), [&context] { return std::make_unique<UploadDevice>(context); });
  registry.add(std::string(kWget), [&context] { return std::make_unique<WgetDevice>(context); });
  registry.add(std::string(kPasswordManager), [&context] { return std::make_unique<PasswordManagerDevice>(context); });
  registry.add(std::string(kAsymKey), [&context] { return std::make_unique<AsymKeyDevice>(context); });
  registry.add(std::string(kFdoCsr), [&context] { return std::make_unique<FdoCsrDevice>(context); });
}

void register_owner_modules(serviceinfo::OwnerRegistry& registry, const OwnerContext& context) {
  registry.add(std::string(kFidoAlliance),
               [](ByteView params) { return std::make_unique<FidoAllianceOwner>(params); });
  registry.add(std::string(kFdoSys),
               [&context](ByteView params) { return std::make_unique<FdoSysOwner>(params, context); });
  registry.add(std::string(kFdoCommand), [](ByteView params) { return std::make_unique<FdoCommandOwner>(params); });
  registry.add(std::string(kDownload),
               [&context](ByteView params) { return std::make_unique<DownloadOwner>(params, context); });
  registry.add(std::string(kUpload),
               [&context](ByteView params) { return std::make_unique<UploadOwner>(params, context); });
  registry.add(std::string(kWget), [](ByteView params) { return std::make_unique<WgetOwner>(params); });
  registry.add(std::string(kPasswordManager),
               [&context](ByteView params) { return std::make_unique<PasswordManagerOwner>(params, context); });
  registry.add(std::string(kAsymKey),
               [&context](ByteView params) { return std::make_unique<AsymKeyOwner>(params, context); });
  registry.add(std::string(kFdoCsr),
               [&context](ByteView params) { return std::make_unique<FdoCsrOwner>(params, context); });
}

}  // namespace fdo::fsim
