#include "tools/common/key_files.h"

#include <sys/stat.h>

#include <iostream>
#include <optional>
#include <system_error>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/secret_bytes.h"

namespace fdo::tool {

void print_init_steps(const std::vector<InitStep>& steps) {
  for (const InitStep& step : steps) {
    std::cout << (step.created ? "created " : "kept    ") << step.path.string() << "\n";
  }
}

crypto::KeyType key_type_option(const std::string& name, std::string_view option) {
  const std::optional<crypto::KeyType> type = crypto::parse_key_type(name);
  if (!type) {
    throw_body_error(std::string(option) + ": unknown key type '" + name + "' (p256, p384, rsa2048, rsa3072)");
  }
  return *type;
}

void create_private_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    throw_internal("cannot create directory " + dir.string() + ": " + ec.message());
  }
}

crypto::PrivateKey read_private_key(const std::filesystem::path& path) {
  const SecretBytes pem(read_file(path));
  try {
    return crypto::PrivateKey::from_pem(to_string(pem.view()));
  } catch (const Error& e) {
    throw_internal(path.string() + ": " + e.what());
  }
}

void write_private_key(const std::filesystem::path& path, const crypto::PrivateKey& key) {
  write_file_atomic(path, key.to_pem().view(), 0600);
}

void write_public_file(const std::filesystem::path& path, ByteView data) { write_file_atomic(path, data, 0644); }

void write_public_file(const std::filesystem::path& path, std::string_view text) {
  write_public_file(path, to_bytes(text));
}

crypto::PrivateKey private_key_at(const std::filesystem::path& path, crypto::KeyType type,
                                  std::vector<InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    steps.push_back({path, false});
    return read_private_key(path);
  }
  crypto::PrivateKey key = crypto::PrivateKey::generate(type);
  write_private_key(path, key);
  steps.push_back({path, true});
  return key;
}

}  // namespace fdo::tool
