#pragma once
// The owner's directory (docs/cli.md `fdo-owner init`), shared by every fdo-owner subcommand:
//   DIR/owner.key.pem           the owner private key, PKCS#8, 0600 (signs to1d in TO0, ProveOVHdr in TO2)
//   DIR/owner.pub.pem           its public key, what a reseller extends vouchers to
//   DIR/device-app-ca.key.pem   the device-application CA key, PKCS#8, 0600 (ServiceInfo credentials, later)
//   DIR/device-app-ca.cert.pem  its self-signed certificate

#include <filesystem>
#include <string>
#include <vector>

#include "libfdo/crypto/keys.h"
#include "tools/common/key_files.h"

namespace fdo::owner_tool {

/// The files of an owner directory.
struct OwnerDir {
  std::filesystem::path dir;
  [[nodiscard]] std::filesystem::path owner_key() const { return dir / "owner.key.pem"; }
  [[nodiscard]] std::filesystem::path owner_pub() const { return dir / "owner.pub.pem"; }
  [[nodiscard]] std::filesystem::path ca_key() const { return dir / "device-app-ca.key.pem"; }
  [[nodiscard]] std::filesystem::path ca_cert() const { return dir / "device-app-ca.cert.pem"; }
};

/// Creates DIR (0700), the owner key of `key_type` and its public key, and the device-application CA key of
/// `ca_key_type` with a self-signed certificate: only files that are absent (an existing key is never replaced).
/// Private keys are written 0600 and atomically. Error(MessageBodyError) for an unknown key type,
/// Error(InternalServerError) when a file cannot be written.
std::vector<tool::InitStep> init_owner_dir(const OwnerDir& dir, const std::string& key_type,
                                           const std::string& ca_key_type);

/// The owner private key of DIR. Error(InternalServerError) naming the file when it is missing ("run fdo-owner
/// init") or does not parse.
crypto::PrivateKey load_owner_key(const OwnerDir& dir);

}  // namespace fdo::owner_tool
