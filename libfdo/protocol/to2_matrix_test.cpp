// The full TO2 matrix, as a generated table of cases: every device key type × every key exchange × every cipher
// suite onboards for real (run_to2 over a loopback transport to the owner endpoint, FDO 1.1 §5.5), each with an
// owner key that suits the exchange (FDO 1.1 §3.6).
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"
#include "libfdo/messages/to2.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to2_device.h"
#include "libfdo/protocol/to2_test_support.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/sig_info.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

using crypto::CipherSuite;
using crypto::KexSuite;
using crypto::SigAlg;

const Guid kGuid = Guid::from(from_hex("6b6b6b6b000011112222333344445555"));

/// A device: its attestation key (device-<key>.pem) and the alg it signs its EAT with, which fixes eASigInfo
/// (FDO 1.1 §3.3.5). The pkType names say which alg goes with the key (FDO 1.1 §3.3.4): RSA2048RESTR → RS256,
/// RSAPKCS → RS256/RS384 by size (we take 3072, RS384), RSAPSS → PS256/PS384 (we take 2048, PS256; PS256 is one
/// of the COSE-compatible sgTypes, docs/interop.md "signature-alg-from-header").
struct Device {
  std::string name;
  std::string key;
  SigAlg alg;
};

/// An owner: the key type of the voucher's owner chain and its pkType (one key type per voucher, FDO 1.1 §3.4.2).
struct Owner {
  std::string name;
  std::string key;
  PkType pk_type;
};

struct Case {
  Device device;
  Owner owner;
  KexSuite kex;
  CipherSuite cipher;
};

/// A pair the table leaves out, with the rule that forbids it.
struct Skip {
  std::string name;
  std::string rule;
};

const std::vector<Device>& devices() {
  static const std::vector<Device> v{{"p256", "p256", SigAlg::ES256},
                                     {"p384", "p384", SigAlg::ES384},
                                     {"rsa2048restr", "rsa2048", SigAlg::RS256},
                                     {"rsapkcs3072", "rsa3072", SigAlg::RS384},
                                     {"rsapss2048", "rsa2048", SigAlg::PS256}};
  return v;
}

const std::vector<KexSuite>& kexes() {
  static const std::vector<KexSuite> v{KexSuite::Ecdh256,   KexSuite::Ecdh384,     KexSuite::DhKexId14,
                                       KexSuite::DhKexId15, KexSuite::AsymKex2048, KexSuite::AsymKex3072};
  return v;
}

const std::vector<CipherSuite>& ciphers() {
  static const std::vector<CipherSuite> v{CipherSuite::A128GCM,
                                          CipherSuite::A256GCM,
                                          CipherSuite::AesCcm64_128_128,
                                          CipherSuite::AesCcm64_128_256,
                                          CipherSuite::Aes128CtrHmacSha256,
                                          CipherSuite::Aes128CbcHmacSha256,
                                          CipherSuite::Aes256CtrHmacSha384,
                                          CipherSuite::Aes256CbcHmacSha384};
  return v;
}

/// The owner key that suits `kex` (FDO 1.1 §3.6 suite table): ECDH256 → P-256, ECDH384 → P-384, DHKEXid14 and
/// ASYMKEX2048 → RSA-2048, DHKEXid15 and ASYMKEX3072 → RSA-3072. ASYMKEX2048 keeps the spec's RSA2048RESTR; the
/// other RSA chains alternate with the cipher: RSA2048RESTR (RS256) or RSAPKCS (RS384), and RSAPSS (PS256/PS384).
Owner owner_for(KexSuite kex, std::size_t cipher_index) {
  const bool pss = cipher_index % 2 == 1;
  switch (kex) {
    case KexSuite::Ecdh256:
      return {"p256", "p256", PkType::Secp256r1};
    case KexSuite::Ecdh384:
      return {"p384", "p384", PkType::Secp384r1};
    case KexSuite::DhKexId14:
      return pss ? Owner{"rsa2048pss", "rsa2048", PkType::RsaPss}
                 : Owner{"rsa2048restr", "rsa2048", PkType::Rsa2048Restr};
    case KexSuite::AsymKex2048:
      return {"rsa2048restr", "rsa2048", PkType::Rsa2048Restr};
    case KexSuite::DhKexId15:
    case KexSuite::AsymKex3072:
      return pss ? Owner{"rsa3072pss", "rsa3072", PkType::RsaPss} : Owner{"rsa3072pkcs", "rsa3072", PkType::RsaPkcs};
  }
  return {"p256", "p256", PkType::Secp256r1};
}

std::string case_name(const Device& d, const Owner& o, KexSuite kex, CipherSuite cipher) {
  std::string name = d.name + "_" + o.name + "_" + std::string(crypto::kex_suite_name(kex)) + "_" +
                     std::string(crypto::cipher_suite_name(cipher));
  for (char& ch : name) {
    if (std::isalnum(static_cast<unsigned char>(ch)) == 0) {
      ch = '_';
    }
  }
  return name;
}

/// The rule that forbids a combination, if one does. The spec ties only the owner key to the exchange (ASYMKEX*
/// encrypts to an RSA owner key of its size, FDO 1.1 §3.6); nothing ties the device key or the cipher suite to the
/// exchange, so with owner_for() no case is forbidden. The check stays, so that a change of owner_for() shows up
/// as a listed skip instead of a failing case.
std::optional<std::string> forbidden(const Case& c) {
  const bool asym = c.kex == KexSuite::AsymKex2048 || c.kex == KexSuite::AsymKex3072;
  const std::string needed = c.kex == KexSuite::AsymKex2048 ? "rsa2048" : "rsa3072";
  if (asym && c.owner.key != needed) {
    return "FDO 1.1 §3.6: " + std::string(crypto::kex_suite_name(c.kex)) + " needs an " + needed + " owner key";
  }
  return std::nullopt;
}

struct Table {
  std::vector<Case> cases;
  std::vector<Skip> skipped;
};

const Table& table() {
  static const Table t = [] {
    Table out;
    for (const Device& d : devices()) {
      for (const KexSuite kex : kexes()) {
        for (std::size_t i = 0; i < ciphers().size(); ++i) {
          const Case c{d, owner_for(kex, i), kex, ciphers()[i]};
          if (const std::optional<std::string> rule = forbidden(c)) {
            out.skipped.push_back(Skip{case_name(c.device, c.owner, c.kex, c.cipher), *rule});
          } else {
            out.cases.push_back(c);
          }
        }
      }
    }
    return out;
  }();
  return t;
}

/// Pairs the spec forbids, each with its rule: none (see forbidden()).
const std::vector<Skip> kExpectedSkips{};

/// One voucher per (device key, owner chain), made once: the keys are read and the chain signed only once.
const testing::TestVoucher& voucher_for(const Device& d, const Owner& o) {
  static std::map<std::string, std::unique_ptr<testing::TestVoucher>> cache;
  std::unique_ptr<testing::TestVoucher>& tv = cache[d.key + "/" + o.name];
  if (!tv) {
    tv = testing::make_test_voucher(voucher::testing::profile(o.key, d.key, o.pk_type), 1, kGuid);
  }
  return *tv;
}

TEST(To2MatrixTable, CoversEveryKeyExchangeCipherDeviceAndOwnerKeyType) {
  const Table& t = table();
  EXPECT_EQ(t.cases.size() + t.skipped.size(), devices().size() * kexes().size() * ciphers().size());
  ASSERT_EQ(t.skipped.size(), kExpectedSkips.size());
  for (std::size_t i = 0; i < t.skipped.size(); ++i) {
    EXPECT_EQ(t.skipped[i].name, kExpectedSkips[i].name);
    EXPECT_EQ(t.skipped[i].rule, kExpectedSkips[i].rule);
  }
  std::set<std::string> owner_keys;
  std::set<PkType> owner_pk_types;
  std::set<std::string> device_names;
  std::set<std::string> names;
  for (const Case& c : t.cases) {
    owner_keys.insert(c.owner.key);
    owner_pk_types.insert(c.owner.pk_type);
    device_names.insert(c.device.name);
    EXPECT_TRUE(names.insert(case_name(c.device, c.owner, c.kex, c.cipher)).second);
  }
  EXPECT_EQ(owner_keys, (std::set<std::string>{"p256", "p384", "rsa2048", "rsa3072"}));
  EXPECT_EQ(owner_pk_types, (std::set<PkType>{PkType::Secp256r1, PkType::Secp384r1, PkType::Rsa2048Restr,
                                              PkType::RsaPkcs, PkType::RsaPss}));
  EXPECT_EQ(device_names.size(), devices().size());
}

TEST(To2MatrixTable, TheSoftwareSignerSignsWithTheAlgGivenIfItSuitsTheKey) {
  const SoftwareSigner pss(voucher::testing::test_key("device-rsa2048"), SigAlg::PS256);
  EXPECT_EQ(pss.sig_alg(), SigAlg::PS256);
  EXPECT_TRUE(pss.public_key().verify(SigAlg::PS256, Bytes{1, 2, 3}, pss.sign(Bytes{1, 2, 3})));
  EXPECT_EQ(SoftwareSigner(voucher::testing::test_key("device-rsa3072")).sig_alg(), SigAlg::RS384);
  fdo::test::expect_error([] { SoftwareSigner(voucher::testing::test_key("device-rsa2048"), SigAlg::PS384); },
                          ErrorCode::InternalServerError);
  fdo::test::expect_error([] { SoftwareSigner(voucher::testing::test_key("device-p256"), SigAlg::PS256); },
                          ErrorCode::InternalServerError);
}

class To2Matrix : public ::testing::TestWithParam<Case> {};

TEST_P(To2Matrix, Onboards) {
  const Case& c = GetParam();
  const testing::TestVoucher& tv = voucher_for(c.device, c.owner);
  testing::OwnerServer server(tv);
  testing::To2Mitm wire(server);  // records what the device sent
  To2DeviceOptions options;
  options.kex = c.kex;
  options.cipher = c.cipher;
  const To2Result result = testing::onboard(wire, testing::credential_for(tv), std::move(options), c.device.alg);

  // The device named its alg in eASigInfo and signed its EAT with it (FDO 1.1 §3.3.5, §5.5.6).
  ASSERT_GE(wire.received.size(), 3U);
  ASSERT_EQ(wire.received.front().first, 60);
  EXPECT_EQ(to2::HelloDevice::decode(wire.received.front().second).ea_sig_info, SigInfo::for_alg(c.device.alg));
  for (const auto& [type, body] : wire.received) {
    if (type == 64) {
      EXPECT_EQ(cose::Sign1::decode(body).alg(), c.device.alg);
    }
  }

  EXPECT_EQ(result.suites.kex, c.kex);
  EXPECT_EQ(result.suites.cipher, c.cipher);
  EXPECT_FALSE(result.reused);
  EXPECT_NE(result.credential.dc_guid, kGuid);
  // The owner keeps the replacement voucher, extended to its own key; it knew the device by its sgType.
  const std::optional<storage::VoucherRecord> fresh = server.voucher(result.credential.dc_guid);
  ASSERT_TRUE(fresh);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(fresh->voucher);
  EXPECT_TRUE(ov.owner_key().key().same_key(tv.owner->public_key()));
  EXPECT_EQ(ov.owner_key().pk_type(), c.owner.pk_type);
  ASSERT_TRUE(server.status(kGuid));
  EXPECT_EQ(server.status(kGuid)->state, "onboarded");
}

INSTANTIATE_TEST_SUITE_P(DeviceOwnerKexCipher, To2Matrix, ::testing::ValuesIn(table().cases),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return case_name(p.param.device, p.param.owner, p.param.kex, p.param.cipher);
                         });

}  // namespace
}  // namespace fdo::protocol
