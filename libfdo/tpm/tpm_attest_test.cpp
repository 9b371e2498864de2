// TPM-Attest's two halves against a private swtpm: a quote that matches the policy, one that does not (quarantine),
// and forged or replayed quotes (rejected, then the run ends).

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <memory>
#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/params.h"
#include "libfdo/tpm/swtpm_test_support.h"
#include "libfdo/tpm/tpm_attest.h"

namespace fdo::tpm {
namespace {

class TpmAttestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    m_swtpm = testing::Swtpm::start(&why);
    if (!m_swtpm) {
      GTEST_SKIP() << "swtpm cannot start: " << why;
    }
    m_tpm = Tpm::open(m_swtpm->tcti());
    m_verdict = m_swtpm->state_dir() / "verdict";
  }

  static Bytes params(serviceinfo::ModuleParams::Values values) {
    return serviceinfo::ModuleParams(std::string(kTpmAttest), std::move(values)).encode();
  }

  // The device's answer to the owner's first output, as KVs.
  std::deque<serviceinfo::OutboxEntry> device_answer(TpmAttestOwner& owner) {
    const serviceinfo::Produced req = owner.produce(1300);
    EXPECT_EQ(req.kvs.size(), 1U);
    EXPECT_EQ(req.kvs.at(0).key, "TPM-Attest:quote-req");
    std::deque<serviceinfo::OutboxEntry> queue;
    serviceinfo::Outbox out(kTpmAttest, queue);
    TpmAttestDevice device(*m_tpm, m_verdict);
    device.on_message("quote-req", req.kvs.at(0).value, out);
    return queue;
  }

  static void deliver(TpmAttestOwner& owner, const std::deque<serviceinfo::OutboxEntry>& queue) {
    for (const serviceinfo::OutboxEntry& e : queue) {
      owner.on_message(e.kv.key.substr(e.kv.key.find(':') + 1), e.kv.value);
    }
  }

  // The verdict KV's [plan, reason] and delivers it to the device.
  std::pair<std::uint64_t, serviceinfo::Produced> verdict(TpmAttestOwner& owner) {
    serviceinfo::Produced out = owner.produce(1300);
    EXPECT_EQ(out.kvs.size(), 1U);
    EXPECT_EQ(out.kvs.at(0).key, "TPM-Attest:verdict");
    cbor::Reader r(out.kvs.at(0).value);
    r.read_array("");
    const std::uint64_t plan = r.read_uint("plan");
    std::deque<serviceinfo::OutboxEntry> queue;
    serviceinfo::Outbox box(kTpmAttest, queue);
    TpmAttestDevice(*m_tpm, m_verdict).on_message("verdict", out.kvs.at(0).value, box);
    return {plan, std::move(out)};
  }

  std::string pcr7_hex() { return to_hex(m_tpm->pcr_read({7}).at(0)); }

  std::unique_ptr<testing::Swtpm> m_swtpm;
  std::unique_ptr<Tpm> m_tpm;
  std::filesystem::path m_verdict;
};

TEST_F(TpmAttestTest, MatchingPcrsGiveTheNormalVerdict) {
  TpmAttestOwner owner(params({{"pcrs", {"0", "7"}}, {"expect", {"7=" + pcr7_hex()}}}), {});
  const auto answer = device_answer(owner);
  ASSERT_EQ(answer.size(), 2U);
  EXPECT_EQ(answer[0].kv.key, "TPM-Attest:ak-pub");
  EXPECT_EQ(answer[1].kv.key, "TPM-Attest:quote");
  deliver(owner, answer);
  const auto [plan, out] = verdict(owner);
  EXPECT_EQ(plan, 0U);
  EXPECT_TRUE(out.done);
  EXPECT_FALSE(out.quarantine);
  EXPECT_NE(owner.summary().find("verdict normal: PCRs match the policy"), std::string::npos) << owner.summary();
  EXPECT_EQ(to_string(*read_file_if_exists(m_verdict)), "normal: PCRs match the policy\n");
  // The AK is a restricted signing key made in the TPM.
  const ObjectPublic ak = decode_public(m_tpm->marshalled_public(kAttestKeyHandle));
  EXPECT_NE(ak.attributes & obj_attr::kRestricted, 0U);
  EXPECT_NE(ak.attributes & obj_attr::kFixedTpm, 0U);
}

TEST_F(TpmAttestTest, ChangedPcrQuarantinesWithTheQuarantinePlan) {
  const std::string before = pcr7_hex();
  m_tpm->pcr_extend(7, crypto::hash(crypto::HashAlg::Sha256, to_bytes("an unexpected bootloader")));
  TpmAttestOwner owner(
      params({{"pcrs", {"7"}}, {"expect", {"7=" + before}}, {"quarantine", {"fdo_sys"}}}), {});
  deliver(owner, device_answer(owner));
  const auto [plan, out] = verdict(owner);
  EXPECT_EQ(plan, 1U);
  EXPECT_TRUE(out.done);
  ASSERT_TRUE(out.quarantine);
  EXPECT_EQ(*out.quarantine, std::vector<std::string>{"fdo_sys"});
  EXPECT_NE(owner.summary().find("verdict quarantine: PCR 7 is " + pcr7_hex()), std::string::npos) << owner.summary();
  EXPECT_EQ(to_string(*read_file_if_exists(m_verdict)).rfind("quarantine: PCR 7", 0), 0U);
}

TEST_F(TpmAttestTest, ForgedQuoteIsRejectedAndEndsTheRun) {
  TpmAttestOwner owner(params({{"pcrs", {"0"}}}), {});
  auto answer = device_answer(owner);
  // Flip one byte of the TPMS_ATTEST inside TPM-Attest:quote (after the array and bstr heads).
  cbor::Reader r(answer[1].kv.value);
  r.read_array("");
  Bytes attest = r.read_bstr("attest");
  attest.back() ^= 0x01;
  const Bytes sig = r.read_bstr("sig");
  const ByteView rest = r.read_raw("values");
  cbor::Writer w;
  w.array(3).bstr(attest).bstr(sig).raw(rest);
  answer[1].kv.value = std::move(w).take();
  deliver(owner, answer);
  const auto [plan, out] = verdict(owner);
  EXPECT_EQ(plan, 2U);
  EXPECT_FALSE(out.done);
  EXPECT_NE(owner.summary().find("rejected"), std::string::npos) << owner.summary();
  try {
    static_cast<void>(owner.produce(1300));
    FAIL() << "a rejected quote did not end the run";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidMessageError);
  }
}

TEST_F(TpmAttestTest, ReplayedQuoteFailsTheNonceCheck) {
  TpmAttestOwner first(params({{"pcrs", {"0"}}}), {});
  const auto recorded = device_answer(first);
  TpmAttestOwner second(params({{"pcrs", {"0"}}}), {});
  static_cast<void>(second.produce(1300));  // a fresh nonce the recording does not carry
  deliver(second, recorded);
  EXPECT_EQ(verdict(second).first, 2U);
  EXPECT_NE(second.summary().find("nonce"), std::string::npos) << second.summary();
}

TEST_F(TpmAttestTest, UntrustedAttestationKeyIsRejected) {
  const std::filesystem::path other = m_swtpm->state_dir() / "other-ak.pem";
  write_file_atomic(other, to_bytes(crypto::PrivateKey::generate(crypto::KeyType::P256).public_key().to_pem()));
  TpmAttestOwner owner(params({{"pcrs", {"0"}}, {"trusted-ak", {other.string()}}}), {});
  deliver(owner, device_answer(owner));
  EXPECT_EQ(verdict(owner).first, 2U);
  EXPECT_NE(owner.summary().find("trusted-ak"), std::string::npos) << owner.summary();
}

// The AK certificate of the TPM maker (fdo-tpm-provisioner certify-ak): an owner whose plan names ak-ca accepts only
// an AK that comes with a certificate chaining to it.
TEST_F(TpmAttestTest, AkCaAcceptsOnlyAnAttestationKeyCertifiedByIt) {
  const auto make_ca = [](const std::string& cn) {
    crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
    crypto::Certificate cert = crypto::make_self_signed(
        key, crypto::CertificateProfile{.common_name = cn, .organization = "tpm maker", .validity_days = 30,
                                        .is_ca = true});
    return std::make_pair(std::move(key), std::move(cert));
  };
  const auto [maker_key, maker_ca] = make_ca("TPM maker CA");
  const auto [other_key, other_ca] = make_ca("someone else");
  const std::filesystem::path maker_pem = m_swtpm->state_dir() / "maker-ca.pem";
  const std::filesystem::path other_pem = m_swtpm->state_dir() / "other-ca.pem";
  write_file_atomic(maker_pem, to_bytes(maker_ca.to_pem()));
  write_file_atomic(other_pem, to_bytes(other_ca.to_pem()));

  // No certificate in the TPM yet: an ak-ca plan rejects the AK.
  {
    TpmAttestOwner owner(params({{"pcrs", {"0"}}, {"ak-ca", {maker_pem.string()}}}), {});
    deliver(owner, device_answer(owner));
    EXPECT_EQ(verdict(owner).first, 2U);
    EXPECT_NE(owner.summary().find("without the certificate"), std::string::npos) << owner.summary();
  }
  const ObjectPublic ak = m_tpm->ensure_attestation_key(kAttestKeyHandle);
  const crypto::Certificate ak_cert = crypto::issue_certificate(
      maker_key, maker_ca, crypto::PublicKey::from_ec_point(crypto::KeyType::P256, ak.x, ak.y),
      crypto::CertificateProfile{.common_name = "AK of TPM 1", .organization = "tpm maker", .validity_days = 30,
                                 .is_ca = false});
  // A certificate for another key is refused before it reaches the TPM.
  const crypto::Certificate wrong = crypto::issue_certificate(
      maker_key, maker_ca, crypto::PrivateKey::generate(crypto::KeyType::P256).public_key(),
      crypto::CertificateProfile{.common_name = "x", .organization = "x", .validity_days = 30, .is_ca = false});
  EXPECT_THROW(store_ak_certificate(*m_tpm, wrong.der()), Error);
  store_ak_certificate(*m_tpm, ak_cert.der());
  ASSERT_EQ(load_ak_certificate(*m_tpm), ak_cert.der());
  {
    TpmAttestOwner owner(params({{"pcrs", {"0"}}, {"ak-ca", {maker_pem.string()}}}), {});
    const auto answer = device_answer(owner);
    ASSERT_EQ(answer.size(), 3U);
    EXPECT_EQ(answer[1].kv.key, "TPM-Attest:ak-cert");
    deliver(owner, answer);
    EXPECT_EQ(verdict(owner).first, 0U);
    EXPECT_NE(owner.summary().find("AK certified as CN=AK of TPM 1"), std::string::npos) << owner.summary();
  }
  {
    TpmAttestOwner owner(params({{"pcrs", {"0"}}, {"ak-ca", {other_pem.string()}}}), {});
    deliver(owner, device_answer(owner));
    EXPECT_EQ(verdict(owner).first, 2U);
    EXPECT_NE(owner.summary().find("does not chain"), std::string::npos) << owner.summary();
  }
}

TEST_F(TpmAttestTest, DeviceAnswersAnUnsupportedBankWithError3) {
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out(kTpmAttest, queue);
  cbor::Writer w;
  w.array(2).bstr(Bytes(32, 1)).array(1).array(2).uint(0x0004).array(1).uint(0);  // SHA-1 bank
  TpmAttestDevice(*m_tpm, m_verdict).on_message("quote-req", std::move(w).take(), out);
  ASSERT_EQ(queue.size(), 1U);
  EXPECT_EQ(queue[0].kv.key, "TPM-Attest:error");
  cbor::Reader r(queue[0].kv.value);
  r.read_array("");
  EXPECT_EQ(r.read_int("code"), 3);
}

TEST(TpmAttestParams, BadParametersAreRefusedAtLoad) {
  const auto make = [](serviceinfo::ModuleParams::Values v) {
    return TpmAttestOwner(serviceinfo::ModuleParams(std::string(kTpmAttest), std::move(v)).encode(), {});
  };
  EXPECT_THROW(make({{"pcrs", {"24"}}}), Error);
  EXPECT_THROW(make({{"expect", {"7=abcd"}}}), Error);
  EXPECT_THROW(make({{"trusted-ak", {"/nonexistent.pem"}}}), Error);
  EXPECT_THROW(make({{"colour", {"blue"}}}), Error);
  EXPECT_NO_THROW(make({{"pcrs", {"0", "7"}}, {"quarantine", {"fdo_sys"}}}));
}

}  // namespace
}  // namespace fdo::tpm
