#pragma once
// Key and PEM files of the tools (docs/cli.md: key and credential files are written 0600, atomically), and what an
// `init` subcommand reports about each file it made or kept.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/keys.h"

namespace fdo::tool {

/// What an `init` subcommand did with one file.
struct InitStep {
  std::filesystem::path path;
  /// True when the file was created, false when it existed and was kept.
  bool created = false;
};

/// Prints one line per step on stdout: "created PATH" or "kept    PATH".
void print_init_steps(const std::vector<InitStep>& steps);

/// The key type named by option `option` (p256, p384, rsa2048, rsa3072). Throws Error(MessageBodyError)
/// "OPTION: unknown key type 'NAME' (…)".
crypto::KeyType key_type_option(const std::string& name, std::string_view option);

/// Creates `dir` and its parents, mode 0700, when it does not exist. Throws Error(InternalServerError) naming the
/// directory when it cannot.
void create_private_directory(const std::filesystem::path& dir);

/// The PKCS#8 PEM private key in `path` (the file's bytes are wiped after parsing). Throws
/// Error(InternalServerError) naming the file when it cannot be read or does not parse.
crypto::PrivateKey read_private_key(const std::filesystem::path& path);

/// Writes `key` as PKCS#8 PEM, mode 0600, atomically (fdo::write_file_atomic).
void write_private_key(const std::filesystem::path& path, const crypto::PrivateKey& key);

/// Writes a file anyone may read (public key, certificate, voucher), mode 0644, atomically.
void write_public_file(const std::filesystem::path& path, ByteView data);
/// As above, for text (PEM).
void write_public_file(const std::filesystem::path& path, std::string_view text);

/// The private key at `path`, generated (of `type`) and written 0600 when the file is absent; an existing key is
/// never replaced. Records the step in `steps`.
crypto::PrivateKey private_key_at(const std::filesystem::path& path, crypto::KeyType type,
                                  std::vector<InitStep>& steps);

}  // namespace fdo::tool
