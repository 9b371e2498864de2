#pragma once
// fdo-device's subcommands (docs/cli.md). Each <name>_command.cpp defines one register_<name>() that adds its
// subcommand, options and action to a Commands (tools/common/commands.h); main.cpp is the list of registrations.

#include <filesystem>
#include <memory>
#include <string>

#include "libfdo/protocol/device_identity.h"
#include "libfdo/tpm/tpm_identity.h"
#include "libfdo/types/device_credential.h"
#include "tools/common/commands.h"

namespace fdo::device_tool {

using tool::Commands;
using tool::kFailure;

/// The credential in `path` (credential_file.cpp). Throws Error naming the file when it is missing ("run
/// `fdo-device di` first"), when it is an ownership voucher ("… is an ownership voucher, not a device
/// credential"), or when it does not decode ("… is not a device credential: …").
DeviceCredential load_credential(const std::filesystem::path& path);

/// A device's credential and secrets as a command uses them: the credential file, or the TPM with `--tpm TCTI`
/// (docs/tpm-credentials.md), behind the same interfaces.
struct DeviceState {
  /// With --tpm: the TPM connection and its FDO state.
  std::unique_ptr<tpm::TpmDevice> tpm;
  std::unique_ptr<protocol::CredentialStore> store;
  DeviceCredential credential;
  std::unique_ptr<protocol::DeviceSigner> signer;
  std::unique_ptr<protocol::DeviceHmac> hmac;
};

/// Opens the credential: from the TPM at `tcti` when it is not empty (then `credential`, if given, is the cache
/// file written after each change), else from the file `credential`. Throws Error as load_credential does, or
/// naming the TPM ("no FDO credential in the TPM at …: run `fdo-device di --tpm …` first").
DeviceState open_device(const std::filesystem::path& credential, const std::string& tcti);

/// Adds `--credential PATH` and `--tpm TCTI` to a subcommand; one of the two is required (usage error, exit 2).
void add_credential_options(CLI::App& cmd, std::filesystem::path& credential, std::string& tcti,
                            const std::string& credential_help);

/// Adds `--trace DIR`: every protocol message of the run written into DIR (protocol/trace_file.h).
void add_trace_option(CLI::App& cmd, std::filesystem::path& dir);

/// `fdo-device di`: Device Initialize against a manufacturer (FDO 1.1 §5.2).
void register_di(Commands& commands);
/// `fdo-device show`: the stored DeviceCredential (FDO 1.1 §3.4.1).
void register_show(Commands& commands);
/// `fdo-device to1`: find the owner through the rendezvous server (FDO 1.1 §5.4); in to1_command.cpp.
void register_to1(Commands& commands);
/// `fdo-device onboard`: TO1 then TO2 (FDO 1.1 §5.4-§5.5); in onboard_command.cpp.
void register_onboard(Commands& commands);
/// `fdo-device report`: a reading to the owner's platform over mutual TLS (docs/owner.md); in report_command.cpp.
void register_report(Commands& commands);

}  // namespace fdo::device_tool
