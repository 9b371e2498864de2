#pragma once
// The manufacturer's directory (docs/manufacturer.md): its OVPubKey keys, one per key type, and the device CA.
//   DIR/manufacturer-<type>.key.pem   PKCS#8, 0600      DIR/manufacturer-<type>.cert.pem  self-signed (X5CHAIN)
//   DIR/device-ca.key.pem             PKCS#8, 0600      DIR/device-ca.cert.pem            self-signed CA
//   DIR/admin-token                   the admin API's bearer token, 64 hex digits, 0600

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/crypto/keys.h"
#include "libfdo/protocol/di_manufacturer.h"
#include "tools/common/key_files.h"

namespace fdo::manufacturer {

/// Creates DIR (0700) and, for each key type, a manufacturer key and a self-signed certificate for it, and the
/// device CA key and certificate, and the admin token: only files that are absent (an existing key is never
/// replaced). Keys and the token are written 0600 and atomically. Throws Error(InternalServerError) when a file cannot be written, and
/// Error(MessageBodyError) for an unknown key type.
std::vector<tool::InitStep> init_directory(const std::filesystem::path& dir, const std::vector<std::string>& key_types,
                                           const std::string& ca_key_type);

/// Loads the keys of DIR for the DI server. `default_key_type`: the key used when none fits the device;
/// nullopt picks p256 if present, else the first present in the order p256, p384, rsa2048, rsa3072.
/// Throws Error(InternalServerError) naming the file when a key or certificate is missing, unreadable, or a
/// certificate does not belong to its key, and when `default_key_type` has no key.
protocol::ManufacturerKeys load_keys(const std::filesystem::path& dir,
                                     std::optional<crypto::KeyType> default_key_type);

}  // namespace fdo::manufacturer
