#include "manufacturer/keys.h"

#include <sys/stat.h>

#include <array>
#include <system_error>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"

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

crypto::KeyType parse_type(const std::string& name) {
  const std::optional<crypto::KeyType> type = crypto::parse_key_type(name);
  if (!type) {
    throw_body_error("--key-type: unknown key type '" + name + "' (p256, p384, rsa2048, rsa3072)");
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

void certificate_at(const std::filesystem::path& path, const crypto::PrivateKey& key,
                    const crypto::CertificateProfile& profile, std::vector<InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    static_cast<void>(read_certificate(path, key));
    steps.push_back({path, false});
    return;
  }
  write_file_atomic(path, to_bytes(crypto::make_self_signed(key, profile).to_pem()), 0644);
  steps.push_back({path, true});
}

}  // namespace

std::vector<InitStep> init_directory(const std::filesystem::path& dir, const std::vector<std::string>& key_types,
                                     const std::string& ca_key_type) {
  std::vector<crypto::KeyType> types;
  for (const std::string& name : key_types) {
    types.push_back(parse_type(name));
  }
  const crypto::KeyType ca_type = parse_type(ca_key_type);
  std::error_code ec;
  if (!std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir, ec);
    if (ec || ::chmod(dir.c_str(), 0700) != 0) {
      throw_internal("cannot create directory " + dir.string() + ": " + ec.message());
    }
  }
  std::vector<InitStep> steps;
  for (const crypto::KeyType type : types) {
    const crypto::PrivateKey key = key_at(key_path(dir, type), type, steps);
    certificate_at(cert_path(dir, type), key,
                   {.common_name = "FDO manufacturer " + std::string(crypto::key_type_name(type)),
                    .organization = "fdo-cpp manufacturer",
                    .validity_days = kCertificateDays,
                    .is_ca = false},
                   steps);
  }
  const crypto::PrivateKey ca = key_at(ca_key_path(dir), ca_type, steps);
  certificate_at(ca_cert_path(dir), ca,
                 {.common_name = "FDO device CA", .organization = "fdo-cpp manufacturer",
                  .validity_days = kCertificateDays, .is_ca = true},
                 steps);
  return steps;
}

protocol::ManufacturerKeys load_keys(const std::filesystem::path& dir,
                                     std::optional<crypto::KeyType> default_key_type) {
  if (!std::filesystem::exists(ca_key_path(dir))) {
    throw_internal(dir.string() + " holds no device CA key: run `fdo-manufacturer init --dir " + dir.string() + "`");
  }
  crypto::PrivateKey ca_key = read_key(ca_key_path(dir));
  crypto::Certificate ca_cert = read_certificate(ca_cert_path(dir), ca_key);
  protocol::ManufacturerKeys keys{.signing_keys = {},
                                  .default_key_type = crypto::KeyType::P256,
                                  .device_ca_key = std::move(ca_key),
                                  .device_ca_chain = {std::move(ca_cert)}};
  for (const crypto::KeyType type : kKeyTypes) {
    if (!std::filesystem::exists(key_path(dir, type))) {
      continue;
    }
    crypto::PrivateKey key = read_key(key_path(dir, type));
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
