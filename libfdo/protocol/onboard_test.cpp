// onboard_device (libfdo/protocol/onboard.h): TO1 then TO2, and the unattended restart from TO1 after a failed TO2
// (docs/conformance.md DEV-03, DEV-04 and DEV-28, their TO2 halves). The rendezvous and the owner are real, in
// process; a man in the middle makes the owner's answers faulty once.
#include "libfdo/protocol/onboard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "libfdo/core/hex.h"
#include "libfdo/messages/to0.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to2_test_support.h"
#include "libfdo/transport/loopback_transport.h"

namespace fdo::protocol {
namespace {

using testing::credential_for;
using testing::make_test_voucher;
using testing::OwnerServer;
using testing::OwnerSignBuilder;
using testing::RvServer;
using testing::TestVoucher;
using testing::To2Mitm;

const Guid kGuid = Guid::from(from_hex("0d0e0f101112131415161718191a1b1c"));

class Onboarding : public ::testing::Test {
 protected:
  Onboarding()
      : m_tv(make_test_voucher("p256", "p256", 2, kGuid, "http://127.0.0.1:8040")),
        m_owner(std::make_unique<OwnerServer>(*m_tv)),
        m_mitm(std::make_unique<To2Mitm>(*m_owner)),
        m_signer(credential_for(*m_tv).private_key()),
        m_hmac(credential_for(*m_tv).dc_hmac_secret.clone()) {
    register_owner();
  }

  // The owner's TO0 at the rendezvous server: to1d names http://127.0.0.1:8042.
  void register_owner() {
    const transport::Response ack = m_rv.post(20, Bytes{0x80});
    ASSERT_EQ(ack.msg_type, 21);
    OwnerSignBuilder b;
    b.voucher = m_tv->bytes;
    b.signer = m_tv->owner;
    b.nonce = to0::HelloAck::decode(ack.body).nonce_to0_sign;
    ASSERT_EQ(m_rv.post(22, b.body(), ack.token).msg_type, 23);
  }

  OnboardOptions options() {
    OnboardOptions o;
    o.max_rounds = 5;  // bounded only so that a regression fails instead of looping
    o.find.make_transport = [this](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
      m_rv_urls.push_back(url);
      return std::make_unique<transport::LoopbackTransport>(m_rv.dispatcher);
    };
    o.make_to2_transport = [this](const std::string& url) -> std::unique_ptr<transport::MessageTransport> {
      m_owner_urls.push_back(url);
      return std::make_unique<transport::LoopbackTransport>(*m_mitm);
    };
    o.to2_options = [] {
      To2DeviceOptions t;
      t.devmod = testing::test_devmod();
      t.sleep = [](std::chrono::milliseconds) {};
      return t;
    };
    o.find.sleep = [this](std::chrono::milliseconds d) {
      m_sleeps.push_back(d);
      if (m_between_rounds) {
        m_between_rounds();
      }
    };
    return o;
  }

  OnboardResult run() { return onboard_device(m_credential, m_signer, m_hmac, options()); }

  [[nodiscard]] std::size_t hellos_to_rv() const { return m_rv_urls.size(); }

  std::unique_ptr<TestVoucher> m_tv;
  RvServer m_rv;
  std::unique_ptr<OwnerServer> m_owner;
  std::unique_ptr<To2Mitm> m_mitm;
  DeviceCredential m_credential = credential_for(*m_tv);
  SoftwareSigner m_signer;
  SoftwareHmac m_hmac;
  std::vector<std::string> m_rv_urls;
  std::vector<std::string> m_owner_urls;
  std::vector<std::chrono::milliseconds> m_sleeps;
  std::function<void()> m_between_rounds;
};

TEST_F(Onboarding, DEV_04_ACleanTo1LeadsToTo2AtTheAddressOfTheTo1d) {
  const OnboardResult r = run();
  ASSERT_TRUE(r.to2);
  EXPECT_EQ(r.rounds, 1U);
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(r.rendezvous, "http://127.0.0.1:8040");
  EXPECT_EQ(r.owner_url, "http://127.0.0.1:8042");
  EXPECT_EQ(m_owner_urls, std::vector<std::string>{"http://127.0.0.1:8042"});
  EXPECT_NE(r.to2->credential.dc_guid, kGuid);
  EXPECT_TRUE(m_sleeps.empty());
}

TEST_F(Onboarding, DEV_03_AFuzzedTo1dSignatureIsAcceptedAtTo1ThenTo2Aborts101AndTheDeviceStartsAgainFromTo1) {
  // The registration's to1d with one signature byte flipped: the device cannot check it at TO1 (it does not know
  // the owner key yet); TO2 does, once the voucher is proven (FDO 1.1 §5.5.3 check 11).
  storage::RvRegistration good;
  {
    auto tx = m_rv.store->begin();
    good = *tx->get_rv_registration(kGuid, m_rv.now);
    storage::RvRegistration bad = good;
    bad.to1d[bad.to1d.size() - 5] ^= 0x01;
    tx->put_rv_registration(bad);
    tx->commit();
  }
  // The owner refreshes its registration while the device waits.
  m_between_rounds = [this, good] {
    auto tx = m_rv.store->begin();
    tx->put_rv_registration(good);
    tx->commit();
  };
  const OnboardResult r = run();
  ASSERT_TRUE(r.to2) << (r.failures.empty() ? "" : r.failures.back().error);
  EXPECT_EQ(r.rounds, 2U);
  ASSERT_EQ(r.failures.size(), 1U);
  EXPECT_EQ(r.failures[0].step(), "TO2 at http://127.0.0.1:8042");
  EXPECT_EQ(r.failures[0].url, "http://127.0.0.1:8042");
  EXPECT_EQ(r.failures[0].code, ErrorCode::InvalidMessageError);
  // The device told the owner why (its 255, 101) after the entries, and walked to the rendezvous server again.
  ASSERT_TRUE(m_mitm->device_error());
  EXPECT_EQ(m_mitm->device_error()->em_error_code, 101);
  EXPECT_EQ(hellos_to_rv(), 2U);
}

TEST_F(Onboarding, DEV_28_EachTo2FaultOnceThenTheDeviceOnboardsByItselfAfterTheRetryDelay) {
  // One faulty answer per case (a DEV line of TO2), then the owner behaves; no operator acts in between.
  const std::vector<std::pair<std::string, std::uint8_t>> faults = {{"DEV-06: TO2.ProveOVHdr with another nonce", 61},
                                                                    {"DEV-13: a mutated voucher entry", 63},
                                                                    {"DEV-16: TO2.SetupDevice with another nonce", 65},
                                                                    {"DEV-24: TO2.Done2 with another nonce", 71}};
  for (const auto& [what, type] : faults) {
    SCOPED_TRACE(what);
    m_owner = std::make_unique<OwnerServer>(*m_tv);
    m_mitm = std::make_unique<To2Mitm>(*m_owner);
    m_sleeps.clear();
    m_rv_urls.clear();
    auto fired = std::make_shared<bool>(false);
    m_mitm->plain[type] = [fired, type = type](Bytes& body) {
      if (*fired) {
        return;
      }
      *fired = true;
      if (type == 63) {
        body[body.size() - 3] ^= 0x01;  // inside the entry's signature
        return;
      }
      // The answer's nonce replaced: the last 16-byte bstr (header 0x50) of the plaintext is a nonce in 61 and 71;
      // in 65 the payload's NonceTO2SetupDv is signed, so any change breaks it too.
      const auto at = std::find(body.rbegin(), body.rend(), std::uint8_t{0x50});
      ASSERT_NE(at, body.rend());
      const auto index = static_cast<std::size_t>(std::distance(at, body.rend()));
      body[index] ^= 0x01;
    };
    const OnboardResult r = run();
    ASSERT_TRUE(r.to2) << (r.failures.empty() ? "" : r.failures.back().error);
    EXPECT_EQ(r.rounds, 2U);
    ASSERT_EQ(r.failures.size(), 1U);
    EXPECT_TRUE(r.failures[0].code.has_value());
    EXPECT_EQ(hellos_to_rv(), 2U) << "each round starts from TO1";
    // Between the rounds: the retry delay, 120 s ±25 % (docs/interop.md "rv-device-walk").
    ASSERT_EQ(m_sleeps.size(), 1U);
    EXPECT_GE(m_sleeps[0], std::chrono::milliseconds(90'000));
    EXPECT_LE(m_sleeps[0], std::chrono::milliseconds(150'000));
  }
}

TEST_F(Onboarding, OutOfRoundsLeavesTheCredentialAndRecordsEveryFailure) {
  m_mitm->plain[61] = [](Bytes& body) { body[body.size() - 3] ^= 0x01; };  // every ProveOVHdr's signature broken
  OnboardOptions o = options();
  o.max_rounds = 3;
  const OnboardResult r = onboard_device(m_credential, m_signer, m_hmac, o);
  EXPECT_FALSE(r.to2);
  EXPECT_EQ(r.rounds, 3U);
  ASSERT_EQ(r.failures.size(), 3U);
  for (const OnboardFailure& f : r.failures) {
    EXPECT_EQ(f.step(), "TO2 at http://127.0.0.1:8042");
  }
  EXPECT_EQ(m_sleeps.size(), 2U);
  EXPECT_EQ(m_credential.dc_guid, kGuid);
}

TEST_F(Onboarding, WithOwnerUrlsTheRoundsRepeatTo2WithoutTo1) {
  auto fired = std::make_shared<bool>(false);
  m_mitm->plain[61] = [fired](Bytes& body) {
    if (!*fired) {
      *fired = true;
      body[body.size() - 3] ^= 0x01;
    }
  };
  OnboardOptions o = options();
  o.owner_urls = {"http://owner.example:8042"};
  const OnboardResult r = onboard_device(m_credential, m_signer, m_hmac, o);
  ASSERT_TRUE(r.to2);
  EXPECT_EQ(r.rounds, 2U);
  EXPECT_EQ(hellos_to_rv(), 0U);
  EXPECT_EQ(r.owner_url, "http://owner.example:8042");
}

}  // namespace
}  // namespace fdo::protocol
