#include "manufacturer/keys.h"

#include <array>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"
#include "tools/common/admin.h"

namespace fdo::manufacturer {
namespace {

constexpr std::array<crypto::KeyType, 4> kKeyTypes = {crypto::KeyType::P256, crypto::KeyType::P384,
                                                      crypto::KeyType::Rsa2048, crypto::KeyType::Rsa3072};
constexpr int kCertificateDays = 20 * 365;

std::filesystem::path key_path(const std::filesystem::path& dir, crypto::KeyType type) {
  return dir / ("manufacturer-" + std::string(crypto::key_type_name(type)) + ".key.pem");
}
std::filesystem::path cert_path(const std::filesystem::path& dir, crypto::KeyType type) {
  return dir / ("manufacturer-" + std::string(crypto::key_type_name(type)) + ".cert.pem");
}
std::filesystem::path ca_key_path(const std::filesystem::path& dir) { return dir / "device-ca.key.pem"; }
std::filesystem::path ca_cert_path(const std::filesystem::path& dir) { return dir / "device-ca.cert.pem"; }

crypto::Certificate read_certificate(const std::filesystem::path& path, const crypto::PrivateKey& key) {
  const std::vector<crypto::Certificate> certs = crypto::Certificate::from_pem_all(to_string(read_file(path)));
  if (certs.empty()) {
    throw_internal(path.string() + ": no CERTIFICATE block");
  }
  if (!certs.front().public_key().same_key(key.public_key())) {
    throw_internal(path.string() + ": the certificate is not for the key beside it");
  }
  return certs.front();
}

void certificate_at(const std::filesystem::path& path, const crypto::PrivateKey& key,
                    const crypto::CertificateProfile& profile, std::vector<tool::InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    static_cast<void>(read_certificate(path, key));
    steps.push_back({path, false});
    return;
  }
  tool::write_public_file(path, crypto::make_self_signed(key, profile).to_pem());
  steps.push_back({path, true});
}

}  // namespace

std::vector<tool::InitStep> init_directory(const std::filesystem::path& dir, const std::vector<std::string>& key_types,
                                           const std::string& ca_key_type) {
  std::vector<crypto::KeyType> types;
  for (const std::string& name : key_types) {
    types.push_back(tool::key_type_option(name, "--key-type"));
  }
  const crypto::KeyType ca_type = tool::key_type_option(ca_key_type, "--key-type");
  tool::create_private_directory(dir);
  std::vector<tool::InitStep> steps;
  for (const crypto::KeyType type : types) {
    const crypto::PrivateKey key = tool::private_key_at(key_path(dir, type), type, steps);
    certificate_at(cert_path(dir, type), key,
                   {.common_name = "FDO manufacturer " + std::string(crypto::key_type_name(type)),
                    .organization = "fdo-cpp manufacturer",
                    .validity_days = kCertificateDays,
                    .is_ca = false},
                   steps);
  }
  const crypto::PrivateKey ca = tool::private_key_at(ca_key_path(dir), ca_type, steps);
  certificate_at(ca_cert_path(dir), ca,
                 {.common_name = "FDO device CA", .organization = "fdo-cpp manufacturer",
                  .validity_days = kCertificateDays, .is_ca = true},
                 steps);
  tool::admin_token_at(tool::admin_token_path(dir), steps);
  return steps;
}

protocol::ManufacturerKeys load_keys(const std::filesystem::path& dir,
                                     std::optional<crypto::KeyType> default_key_type) {
  if (!std::filesystem::exists(ca_key_path(dir))) {
    throw_internal(dir.string() + " holds no device CA key: run `fdo-manufacturer init --dir " + dir.string() + "`");
  }
  crypto::PrivateKey ca_key = tool::read_private_key(ca_key_path(dir));
  crypto::Certificate ca_cert = read_certificate(ca_cert_path(dir), ca_key);
  protocol::ManufacturerKeys keys{.signing_keys = {},
                                  .default_key_type = crypto::KeyType::P256,
                                  .device_ca_key = std::move(ca_key),
                                  .device_ca_chain = {std::move(ca_cert)}};
  for (const crypto::KeyType type : kKeyTypes) {
    if (!std::filesystem::exists(key_path(dir, type))) {
      continue;
    }
    crypto::PrivateKey key = tool::read_private_key(key_path(dir, type));
    std::vector<crypto::Certificate> chain;
    if (std::filesystem::exists(cert_path(dir, type))) {
      chain.push_back(read_certificate(cert_path(dir, type), key));
    }
    keys.signing_keys.push_back(protocol::ManufacturerKey{std::move(key), std::move(chain)});
  }
  if (keys.signing_keys.empty()) {
    throw_internal(dir.string() + " holds no manufacturer key: run `fdo-manufacturer init --dir " + dir.string() +
                   "`");
  }
  const auto held = [&](crypto::KeyType type) {
    for (const protocol::ManufacturerKey& k : keys.signing_keys) {
      if (k.private_key.type() == type) {
        return true;
      }
    }
    return false;
  };
  if (default_key_type) {
    if (!held(*default_key_type)) {
      throw_internal("--default-key-type: " + dir.string() + " holds no " +
                     std::string(crypto::key_type_name(*default_key_type)) + " manufacturer key");
    }
    keys.default_key_type = *default_key_type;
  } else {
    keys.default_key_type = held(crypto::KeyType::P256) ? crypto::KeyType::P256
                                                        : keys.signing_keys.front().private_key.type();
  }
  return keys;
}

}  // namespace fdo::manufacturer
