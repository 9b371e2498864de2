#pragma once
// The ServiceInfo modules this implementation has, for the tools to register (docs/service-info.md "Modules"):
// the device half of each with the device's context, the owner half with the owner's. A module of one name exists on
// both sides; a plan names modules by that name.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/app_key.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

/// Where and as whom device modules act (docs/service-info.md "Device configuration"). Every file a module writes and
/// every command it runs stays inside `root`.
struct DeviceContext {
  /// The directory device modules write into and run commands in (`fdo-device onboard --root`).
  std::filesystem::path root;
  /// The user commands run as (`--run-as`); nullopt: the device tool's own user.
  std::optional<std::string> run_as;
  /// The shadow-format password file Password-Manager edits (`--shadow-file`).
  std::filesystem::path shadow_file = "/etc/shadow";
  /// How long a command may run before it is killed and reported as failed.
  std::chrono::seconds command_timeout{600};
  /// Where AsymKey and fdo.csr make their keys (the TPM's with `fdo-device --tpm`); nullptr: in software.
  AppKeyFactory* app_keys = nullptr;
};

/// What owner modules need from the owner (docs/owner.md "Plans").
struct OwnerContext {
  /// The device-application CA that signs device certificates (AsymKey, fdo.csr); may be null.
  const crypto::PrivateKey* ca_key = nullptr;
  std::optional<crypto::Certificate> ca_cert;
  /// Relative file names in plan parameters are read from here (the plan file's directory).
  std::filesystem::path plan_dir;
};

/// Adds the device half of every module to `registry`; `context` must outlive the modules.
void register_device_modules(serviceinfo::DeviceRegistry& registry, const DeviceContext& context);
/// Adds the owner half of every module to `registry`; `context` must outlive the registry.
void register_owner_modules(serviceinfo::OwnerRegistry& registry, const OwnerContext& context);

}  // namespace fdo::fsim
