#include "owner/config.h"

#include <sys/stat.h>

#include <optional>
#include <system_error>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/x509.h"

namespace fdo::owner_tool {
namespace {

constexpr int kCertificateDays = 20 * 365;

crypto::KeyType parse_type(const std::string& name, const std::string& option) {
  const std::optional<crypto::KeyType> type = crypto::parse_key_type(name);
  if (!type) {
    throw_body_error(option + ": unknown key type '" + name + "' (p256, p384, rsa2048, rsa3072)");
  }
  return *type;
}

crypto::PrivateKey read_key(const std::filesystem::path& path) {
  const SecretBytes pem(read_file(path));
  try {
    return crypto::PrivateKey::from_pem(to_string(pem.view()));
  } catch (const Error& e) {
    throw_internal(path.string() + ": " + e.what());
  }
}

// The private key at `path`, created when absent; records what happened in `steps`.
crypto::PrivateKey key_at(const std::filesystem::path& path, crypto::KeyType type, std::vector<InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    steps.push_back({path, false});
    return read_key(path);
  }
  crypto::PrivateKey key = crypto::PrivateKey::generate(type);
  write_file_atomic(path, key.to_pem().view(), 0600);
  steps.push_back({path, true});
  return key;
}

void public_file_at(const std::filesystem::path& path, const std::string& pem, std::vector<InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    steps.push_back({path, false});
    return;
  }
  write_file_atomic(path, to_bytes(pem), 0644);
  steps.push_back({path, true});
}

}  // namespace

std::vector<InitStep> init_owner_dir(const OwnerDir& dir, const std::string& key_type, const std::string& ca_key_type) {
  const crypto::KeyType type = parse_type(key_type, "--key-type");
  const crypto::KeyType ca_type = parse_type(ca_key_type, "--ca-key-type");
  std::error_code ec;
  if (!std::filesystem::exists(dir.dir)) {
    std::filesystem::create_directories(dir.dir, ec);
    if (ec || ::chmod(dir.dir.c_str(), 0700) != 0) {
      throw_internal("cannot create directory " + dir.dir.string() + ": " + ec.message());
    }
  }
  std::vector<InitStep> steps;
  const crypto::PrivateKey owner = key_at(dir.owner_key(), type, steps);
  public_file_at(dir.owner_pub(), owner.public_key().to_pem(), steps);
  const crypto::PrivateKey ca = key_at(dir.ca_key(), ca_type, steps);
  if (std::filesystem::exists(dir.ca_cert())) {
    steps.push_back({dir.ca_cert(), false});
  } else {
    const crypto::Certificate cert =
        crypto::make_self_signed(ca, crypto::CertificateProfile{.common_name = "FDO owner device-application CA",
                                                                .organization = "fdo-cpp owner",
                                                                .validity_days = kCertificateDays,
                                                                .is_ca = true});
    public_file_at(dir.ca_cert(), cert.to_pem(), steps);
  }
  return steps;
}

crypto::PrivateKey load_owner_key(const OwnerDir& dir) {
  if (!std::filesystem::exists(dir.owner_key())) {
    throw_internal(dir.dir.string() + " holds no owner key: run `fdo-owner init --dir " + dir.dir.string() + "`");
  }
  return read_key(dir.owner_key());
}

}  // namespace fdo::owner_tool
