#include "owner/config.h"

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/storage/sqlite_store.h"

namespace fdo::owner_tool {
namespace {

constexpr int kCertificateDays = 20 * 365;
constexpr std::size_t kAdminTokenBytes = 32;

void public_file_at(const std::filesystem::path& path, const std::string& pem, std::vector<tool::InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    steps.push_back({path, false});
    return;
  }
  tool::write_public_file(path, pem);
  steps.push_back({path, true});
}

}  // namespace

std::vector<tool::InitStep> init_owner_dir(const OwnerDir& dir, const std::string& key_type,
                                           const std::string& ca_key_type) {
  const crypto::KeyType type = tool::key_type_option(key_type, "--key-type");
  const crypto::KeyType ca_type = tool::key_type_option(ca_key_type, "--ca-key-type");
  tool::create_private_directory(dir.dir);
  std::vector<tool::InitStep> steps;
  const crypto::PrivateKey owner = tool::private_key_at(dir.owner_key(), type, steps);
  public_file_at(dir.owner_pub(), owner.public_key().to_pem(), steps);
  const crypto::PrivateKey ca = tool::private_key_at(dir.ca_key(), ca_type, steps);
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
  if (std::filesystem::exists(dir.admin_token())) {
    steps.push_back({dir.admin_token(), false});
  } else {
    write_file_atomic(dir.admin_token(), to_bytes(to_hex(random_bytes(kAdminTokenBytes)) + "\n"), 0600);
    steps.push_back({dir.admin_token(), true});
  }
  return steps;
}

crypto::PrivateKey load_owner_key(const OwnerDir& dir) {
  if (!std::filesystem::exists(dir.owner_key())) {
    throw_internal(dir.dir.string() + " holds no owner key: run `fdo-owner init --dir " + dir.dir.string() + "`");
  }
  return tool::read_private_key(dir.owner_key());
}

std::string load_admin_token(const OwnerDir& dir) {
  if (!std::filesystem::exists(dir.admin_token())) {
    throw_internal(dir.dir.string() + " holds no admin token: run `fdo-owner init --dir " + dir.dir.string() + "`");
  }
  const std::string text = to_string(read_file(dir.admin_token()));
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw_internal(dir.admin_token().string() + " is empty");
  }
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::unique_ptr<storage::Store> open_owner_store(const OwnerDir& dir, const std::filesystem::path& db, bool create) {
  if (!std::filesystem::is_directory(dir.dir)) {
    throw_internal("no directory " + dir.dir.string() + " (made by `fdo-owner init --dir " + dir.dir.string() + "`)");
  }
  if (!create && !std::filesystem::exists(db)) {
    return nullptr;
  }
  return storage::open_sqlite_store(db);
}

}  // namespace fdo::owner_tool
