// The TPM layer against a private swtpm per test (docs/tpm-credentials.md). tpm2-tools is not used here: these tests check our
// code through our code and OpenSSL; integration-tests/tpm_test.cpp adds tpm2-tools as the independent check.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/swtpm_test_support.h"
#include "libfdo/tpm/tpm.h"
#include "libfdo/tpm/tpm_app_key.h"
#include "libfdo/tpm/tpm_identity.h"

namespace fdo::tpm {
namespace {

using testing::Swtpm;

class TpmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    m_swtpm = Swtpm::start(&why);
    if (!m_swtpm) {
      GTEST_SKIP() << "swtpm cannot start: " << why;
    }
    m_tpm = Tpm::open(m_swtpm->tcti());
  }

  DeviceCredential sample_credential(std::uint8_t guid_byte, bool active) {
    DeviceCredential c;
    c.dc_active = active;
    c.dc_device_info = "model-x";
    Bytes g(Guid::kSize, guid_byte);
    c.dc_guid = Guid::from(g);
    c.dc_rv_info = RendezvousInfo::from_urls("http://127.0.0.1:8040");
    c.dc_pub_key_hash = Hash::compute(HashType::Sha256, Bytes{1, 2, 3});
    c.storage = CredentialStorage::Tpm;
    c.tpm = TpmKeyRef{.device_key_handle = handle::kDeviceKey, .hmac_key_handle = handle::kHmacKey};
    return c;
  }

  std::unique_ptr<Swtpm> m_swtpm;
  std::unique_ptr<Tpm> m_tpm;
};

TEST_F(TpmTest, ProvisionDefinesTheRdIndicesAndPolicyKeys) {
  FdoTpm fdo(*m_tpm);
  EXPECT_FALSE(fdo.provisioned());
  fdo.provision({.curve = crypto::KeyType::P256, .device_info = "TPM"});
  EXPECT_TRUE(fdo.provisioned());
  const TpmStatus s = fdo.status();
  for (const auto& i : s.indices) {
    if (i.handle == handle::kDcOv || i.handle == handle::kCertificate || i.handle == handle::kAkCert) {
      EXPECT_FALSE(i.nv) << i.name;
      continue;
    }
    ASSERT_TRUE(i.nv) << i.name;
    const std::uint32_t locked =
        i.handle == handle::kDeviceKeyUs ? nv_attr::kWriteDefine | nv_attr::kWriteLocked : 0;
    EXPECT_EQ(i.nv->attributes, kFdoNvAttributes | nv_attr::kWritten | locked) << i.name;
  }
  // The device key's U/S is write-locked for good: the key cannot be changed under the voucher.
  EXPECT_THROW(m_tpm->nv_write(handle::kDeviceKeyUs, Bytes(64, 0)), Error);
  EXPECT_EQ(*s.hmac_us_size, 32U);
  EXPECT_EQ(*s.device_key_us_size, 64U);
  ASSERT_TRUE(s.keys[0].pub && s.keys[1].pub);
  // FDO-in-TPM Table 11: fixedTPM, fixedParent, sensitiveDataOrigin, sign; no userWithAuth.
  EXPECT_EQ(s.keys[0].pub->attributes, 0x00040032U);
  EXPECT_EQ(s.keys[1].pub->attributes, 0x00040032U);
  EXPECT_FALSE(s.keys[0].pub->auth_policy.empty());
  EXPECT_EQ(s.active, false);
  ASSERT_TRUE(s.dctpm);
  EXPECT_FALSE(s.dctpm->has_credential());
  EXPECT_EQ(s.journal, "clear");
  EXPECT_EQ(fdo.load(), std::nullopt);
}

TEST_F(TpmTest, ProvisionTwiceNamesTheIndexInUse) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  try {
    fdo.provision({});
    FAIL() << "second provision succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0x01d10000"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("clear"), std::string::npos) << e.what();
  }
}

TEST_F(TpmTest, SignaturesVerifyWithTheDevicePublicKey) {
  for (const crypto::KeyType curve : {crypto::KeyType::P256, crypto::KeyType::P384}) {
    FdoTpm fdo(*m_tpm);
    fdo.clear();
    fdo.provision({.curve = curve});
    EXPECT_EQ(fdo.key_type(), curve);
    const TpmSigner signer(fdo);
    const Bytes message(3000, 0x5A);
    const Bytes sig = signer.sign(message);
    EXPECT_EQ(sig.size(), curve == crypto::KeyType::P384 ? 96U : 64U);
    EXPECT_TRUE(signer.public_key().verify(signer.sig_alg(), message, sig));
    Bytes other = message;
    other[0] ^= 1;
    EXPECT_FALSE(signer.public_key().verify(signer.sig_alg(), other, sig));
  }
}

TEST_F(TpmTest, CsrIsSignedInTheTpmAndVerifies) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  const TpmSigner signer(fdo);
  const crypto::CertificateRequest req = crypto::parse_csr(signer.csr("device-1"));
  EXPECT_TRUE(req.signature_valid);
  EXPECT_EQ(req.public_key.to_pem(), signer.public_key().to_pem());
  EXPECT_NE(req.subject.find("device-1"), std::string::npos);
}

TEST_F(TpmTest, HmacIsKeyedInsideTheTpmAndCoversLongInput) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({.curve = crypto::KeyType::P384});
  const TpmHmac hmac(fdo);
  const Bytes long_input(3000, 0x11);  // more than one TPM2B_MAX_BUFFER
  const Bytes a = hmac.hmac(crypto::HashAlg::Sha384, long_input);
  EXPECT_EQ(a.size(), 48U);
  EXPECT_EQ(a, hmac.hmac(crypto::HashAlg::Sha384, long_input));
  Bytes other = long_input;
  other.back() ^= 1;
  EXPECT_NE(a, hmac.hmac(crypto::HashAlg::Sha384, other));
  EXPECT_THROW(static_cast<void>(hmac.hmac(crypto::HashAlg::Sha256, long_input)), Error);
}

TEST_F(TpmTest, CommitThenLoadRoundTripsAndRenewsTheHmacKey) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  const Bytes data{1, 2, 3, 4};
  const Bytes before = fdo.hmac(crypto::HashAlg::Sha256, data);
  fdo.commit(sample_credential(0x11, true), std::nullopt);
  std::optional<DeviceCredential> loaded = fdo.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->dc_guid, sample_credential(0x11, true).dc_guid);
  EXPECT_TRUE(loaded->dc_active);
  EXPECT_EQ(loaded->dc_device_info, "model-x");
  EXPECT_EQ(loaded->storage, CredentialStorage::Tpm);
  EXPECT_EQ(fdo.hmac(crypto::HashAlg::Sha256, data), before);

  const SecretBytes next = fdo.new_hmac_us();
  const Bytes expected = fdo.hmac_with_us(next.view(), crypto::HashAlg::Sha256, data);
  EXPECT_NE(expected, before);
  fdo.commit(sample_credential(0x22, false), next.clone());
  loaded = fdo.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->dc_guid, sample_credential(0x22, false).dc_guid);
  EXPECT_FALSE(loaded->dc_active);
  EXPECT_EQ(fdo.hmac(crypto::HashAlg::Sha256, data), expected);
}

// docs/tpm-credentials.md "Atomic replacement": a crash before the journal record leaves the old credential, one after it the
// new one (finished by the next open), at every step.
TEST_F(TpmTest, CrashAtEveryCommitStepLeavesOneWholeCredential) {
  const Bytes data{9, 9, 9};
  for (const std::string step : {"staging", "journal", "dctpm", "hmac-us", "active", "hmac-key", "done"}) {
    SCOPED_TRACE(step);
    FdoTpm fdo(*m_tpm);
    fdo.clear();
    fdo.provision({});
    fdo.commit(sample_credential(0x11, true), std::nullopt);
    const Bytes old_hmac = fdo.hmac(crypto::HashAlg::Sha256, data);
    const SecretBytes next = fdo.new_hmac_us();
    const Bytes new_hmac = fdo.hmac_with_us(next.view(), crypto::HashAlg::Sha256, data);
    fdo.on_commit_step = [&](std::string_view s) {
      if (s == step) {
        throw std::runtime_error("power cut");
      }
    };
    EXPECT_THROW(fdo.commit(sample_credential(0x22, false), next.clone()), std::runtime_error);

    FdoTpm after(*m_tpm);  // the next boot
    const std::optional<DeviceCredential> c = after.load();
    ASSERT_TRUE(c);
    const bool replaced = step != "staging" && step != "journal";
    EXPECT_EQ(c->dc_guid, sample_credential(replaced ? 0x22 : 0x11, true).dc_guid);
    EXPECT_EQ(c->dc_active, !replaced);
    EXPECT_EQ(after.hmac(crypto::HashAlg::Sha256, data), replaced ? new_hmac : old_hmac);
    EXPECT_EQ(after.status().journal, "clear");
  }
}

// The TPM itself stops in the middle of the replacement (swtpm killed, as a power cut would), then starts again.
TEST_F(TpmTest, SwtpmKilledMidReplacementRecoversOnRestart) {
  {
    FdoTpm fdo(*m_tpm);
    fdo.provision({});
    fdo.commit(sample_credential(0x11, true), std::nullopt);
    const SecretBytes next = fdo.new_hmac_us();
    fdo.on_commit_step = [&](std::string_view s) {
      if (s == "active") {
        m_swtpm->kill();
      }
    };
    EXPECT_THROW(fdo.commit(sample_credential(0x22, false), next.clone()), Error);
  }
  m_tpm.reset();
  ASSERT_TRUE(m_swtpm->restart());
  m_tpm = Tpm::open(m_swtpm->tcti());
  FdoTpm fdo(*m_tpm);
  const std::optional<DeviceCredential> c = fdo.load();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dc_guid, sample_credential(0x22, false).dc_guid);
  EXPECT_FALSE(c->dc_active);
}

// A TPM whose RD indices another tool provisioned lacks our journal and staging indices: the first commit makes them.
TEST_F(TpmTest, ACommitMakesTheJournalWhenAnotherToolProvisioned) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  m_tpm->nv_undefine(handle::kJournal);
  m_tpm->nv_undefine(handle::kStaging);
  FdoTpm other(*m_tpm);
  other.commit(sample_credential(0x33, true), std::nullopt);
  EXPECT_EQ(other.load()->dc_guid, sample_credential(0x33, true).dc_guid);
  EXPECT_EQ(other.status().journal, "clear");
}

TEST_F(TpmTest, ClearRemovesEveryFdoHandle) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  fdo.clear();
  const TpmStatus s = fdo.status();
  EXPECT_FALSE(s.provisioned());
  for (const auto& i : s.indices) {
    EXPECT_FALSE(i.nv) << i.name;
  }
  EXPECT_FALSE(s.keys[0].pub);
  EXPECT_FALSE(s.keys[1].pub);
  fdo.provision({});  // provisionable again
  EXPECT_TRUE(fdo.provisioned());
}

TEST_F(TpmTest, AnotherStacksLayoutIsNamedNotMisread) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  // Draft B's DCTPM: a 10-element array starting with the magic "FDO1".
  Bytes draft_b = {0x8A, 0x1A, 0x46, 0x44, 0x4F, 0x31};
  draft_b.resize(kDcTpmSize, 0);
  m_tpm->nv_write(handle::kDcTpm, draft_b);
  try {
    static_cast<void>(fdo.load());
    FAIL() << "a draft-B DCTPM loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("draft B"), std::string::npos) << e.what();
  }
  EXPECT_NE(fdo.status().dctpm_error.find("draft B"), std::string::npos);
}

TEST_F(TpmTest, AppKeysAreMadeInTheTpmPersistedAtInstallAndEvictedOnRelease) {
  TpmAppKeys keys(*m_tpm);
  std::unique_ptr<fsim::PendingAppKey> key = keys.generate(crypto::KeyType::P384);
  const crypto::CertificateRequest req = crypto::parse_csr(key->csr("app"));
  EXPECT_TRUE(req.signature_valid);
  EXPECT_TRUE(req.public_key.same_key(key->public_key()));
  EXPECT_TRUE(m_tpm->handles(kAppKeyFirst, kAppKeyCount).empty());  // pending: nothing persisted yet

  const fsim::StoredKey stored = key->install(3);
  EXPECT_EQ(stored.file, "key.tpm");
  ASSERT_EQ(TpmAppKeys::handle_of(stored), kAppKeyFirst);
  const std::optional<ObjectPublic> pub = m_tpm->read_public(kAppKeyFirst);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->curve, crypto::KeyType::P384);
  EXPECT_NE(pub->attributes & obj_attr::kFixedTpm, 0U);
  EXPECT_NE(pub->attributes & obj_attr::kFixedParent, 0U);

  // A second key takes the next handle; releasing the first evicts it, discarding the second undoes its install.
  std::unique_ptr<fsim::PendingAppKey> second = keys.generate(crypto::KeyType::P256);
  EXPECT_EQ(TpmAppKeys::handle_of(second->install(4)), kAppKeyFirst + 1);
  keys.release(stored);
  EXPECT_FALSE(m_tpm->read_public(kAppKeyFirst));
  second->discard();
  EXPECT_TRUE(m_tpm->handles(kAppKeyFirst, kAppKeyCount).empty());
  EXPECT_THROW(static_cast<void>(keys.generate(crypto::KeyType::Rsa2048)), Error);
}

TEST(TpmOpen, NoTpmAtTheAddressIsAClearError) {
  try {
    static_cast<void>(Tpm::open("swtpm:host=127.0.0.1,port=1"));
    FAIL() << "opened a TPM on port 1";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
    EXPECT_NE(std::string(e.what()).find("swtpm:host=127.0.0.1,port=1"), std::string::npos) << e.what();
  }
}

TEST_F(TpmTest, QuoteCarriesTheNonceAndVerifiesWithTheKey) {
  FdoTpm fdo(*m_tpm);
  fdo.provision({});
  const Bytes nonce(16, 0x42);
  const KeyAuth auth{.policy_index = handle::kDeviceKeyUs, .policy_hash = crypto::HashAlg::Sha256};
  // The FDO device key is unrestricted, so TPM2_Quote can use it as the attestation key.
  const Quote q = m_tpm->quote(handle::kDeviceKey, auth, nonce, {0, 7}, 32);
  EXPECT_TRUE(fdo.public_key().verify(crypto::SigAlg::ES256, q.attest, q.signature));
  ASSERT_GT(q.attest.size(), 6U);
  EXPECT_EQ(Bytes(q.attest.begin(), q.attest.begin() + 4), (Bytes{0xFF, 0x54, 0x43, 0x47}));
}

}  // namespace
}  // namespace fdo::tpm
