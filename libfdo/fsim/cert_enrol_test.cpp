#include "libfdo/fsim/cert_enrol.h"

#include <gtest/gtest.h>

#include "libfdo/core/file.h"
#include "libfdo/fsim/device_io.h"
#include "libfdo/fsim/transfer_test_support.h"

namespace fdo::fsim {
namespace {

StoredKey pem_of(const crypto::PrivateKey& key) { return StoredKey{.file = "key.pem", .data = key.to_pem(), .mode = 0600}; }

crypto::Certificate self_signed(const crypto::PrivateKey& key, const std::string& cn) {
  return crypto::make_self_signed(
      key, crypto::CertificateProfile{.common_name = cn, .organization = "test", .validity_days = 1, .is_ca = false});
}

TEST(StoreEnrolled, ASecondInstallReplacesKeyCertificateAndChainTogetherAndKeepsOtherFiles) {
  const testing::TempDir root("enrol");
  DeviceContext context;
  context.root = root.path();
  const crypto::PrivateKey first = crypto::PrivateKey::generate(crypto::KeyType::P256);
  store_enrolled(context, "asymkey/0", pem_of(first), self_signed(first, "one"), {self_signed(first, "ca")});
  write_in_root(path_in_root(context, "asymkey/0/extra.txt"), to_bytes("kept"), 0644);
  const crypto::PrivateKey second = crypto::PrivateKey::generate(crypto::KeyType::P256);
  store_enrolled(context, "asymkey/0", pem_of(second), self_signed(second, "two"), {});

  const std::filesystem::path slot = root.path() / "asymkey/0";
  EXPECT_TRUE(std::filesystem::is_symlink(slot));
  const std::string subject = crypto::Certificate::from_pem_all(to_string(read_file(slot / "cert.pem"))).at(0).subject();
  EXPECT_NE(subject.find("CN=two"), std::string::npos) << subject;
  EXPECT_TRUE(crypto::PrivateKey::from_pem(to_string(read_file(slot / "key.pem")))
                  .public_key()
                  .same_key(second.public_key()));
  EXPECT_FALSE(std::filesystem::exists(slot / "chain.pem"));  // the new set has no chain: none is left over
  EXPECT_EQ(to_string(read_file(slot / "extra.txt")), "kept");
  // One generation is left: the first was removed after the switch.
  std::size_t generations = 0;
  for (const auto& e : std::filesystem::directory_iterator(root.path() / "asymkey")) {
    generations += e.is_directory() && !e.is_symlink() ? 1 : 0;
  }
  EXPECT_EQ(generations, 1U);
}

}  // namespace
}  // namespace fdo::fsim
