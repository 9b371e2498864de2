#include "owner/config.h"

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/storage/postgres_store.h"
#include "tools/common/admin.h"

namespace fdo::owner_tool {
namespace {

constexpr int kCertificateDays = 20 * 365;

void public_file_at(const std::filesystem::path& path, const std::string& pem, std::vector<tool::InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    steps.push_back({path, false});
    return;
  }
  tool::write_public_file(path, pem);
  steps.push_back({path, true});
}

}  // namespace

std::vector<tool::InitStep> init_owner_dir(const OwnerDir& dir, const std::vector<std::string>& key_types,
                                           const std::string& ca_key_type) {
  if (key_types.empty()) {
    throw_body_error("--key-type: at least one owner key type is needed");
  }
  std::vector<crypto::KeyType> types;
  for (const std::string& name : key_types) {
    types.push_back(tool::key_type_option(name, "--key-type"));
  }
  const crypto::KeyType ca_type = tool::key_type_option(ca_key_type, "--ca-key-type");
  tool::create_private_directory(dir.dir);
  std::vector<tool::InitStep> steps;
  const crypto::PrivateKey owner = tool::private_key_at(dir.owner_key(), types.front(), steps);
  public_file_at(dir.owner_pub(), owner.public_key().to_pem(), steps);
  for (std::size_t i = 1; i < types.size(); ++i) {
    if (types[i] == owner.type()) {
      continue;  // the primary key is of this type already
    }
    const std::string_view name = crypto::key_type_name(types[i]);
    const crypto::PrivateKey more = tool::private_key_at(dir.owner_key(name), types[i], steps);
    public_file_at(dir.owner_pub(name), more.public_key().to_pem(), steps);
  }
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
  tool::admin_token_at(dir.admin_token(), steps);
  return steps;
}

OwnerKeyRing::OwnerKeyRing(const crypto::PrivateKey& key) : m_keys{&key}, m_spki{key.public_key().spki_der()} {}

OwnerKeyRing::OwnerKeyRing(const std::vector<crypto::PrivateKey>& keys) {
  for (const crypto::PrivateKey& key : keys) {
    m_keys.push_back(&key);
    m_spki.push_back(key.public_key().spki_der());
  }
}

const crypto::PrivateKey* OwnerKeyRing::find(const crypto::PublicKey& key) const {
  const Bytes wanted = key.spki_der();
  for (std::size_t i = 0; i < m_keys.size(); ++i) {
    if (m_spki[i] == wanted) {
      return m_keys[i];
    }
  }
  return nullptr;
}

std::string OwnerKeyRing::describe() const {
  std::string out;
  for (const crypto::PrivateKey* k : m_keys) {
    out += (out.empty() ? "" : ", ") + std::string(crypto::key_type_name(k->type()));
  }
  return out;
}

std::vector<crypto::PrivateKey> load_owner_keys(const OwnerDir& dir) {
  std::vector<crypto::PrivateKey> keys;
  keys.push_back(load_owner_key(dir));
  for (const crypto::KeyType type :
       {crypto::KeyType::P256, crypto::KeyType::P384, crypto::KeyType::Rsa2048, crypto::KeyType::Rsa3072}) {
    const std::filesystem::path path = dir.owner_key(crypto::key_type_name(type));
    if (std::filesystem::exists(path)) {
      keys.push_back(tool::read_private_key(path));
    }
  }
  return keys;
}

crypto::PrivateKey load_owner_key(const OwnerDir& dir) {
  if (!std::filesystem::exists(dir.owner_key())) {
    throw_internal(dir.dir.string() + " holds no owner key: run `fdo-owner init --dir " + dir.dir.string() + "`");
  }
  return tool::read_private_key(dir.owner_key());
}

std::unique_ptr<storage::Store> open_owner_store(const OwnerDir& dir, const storage::StoreSpec& spec, bool create) {
  if (!std::filesystem::is_directory(dir.dir)) {
    throw_internal("no directory " + dir.dir.string() + " (made by `fdo-owner init --dir " + dir.dir.string() + "`)");
  }
  if (!create && !storage::is_postgres_uri(spec.db) && !std::filesystem::exists(spec.db)) {
    return nullptr;
  }
  return storage::open_store(spec);
}

storage::StoreSpec command_store_spec(const OwnerDir& dir, const std::filesystem::path& db,
                                      const std::filesystem::path& password_file) {
  return storage::StoreSpec{.db = dir.db(db).string(), .password_file = password_file, .pool_size = 1};
}

}  // namespace fdo::owner_tool
