// TO2 end to end in one process: the owner endpoint behind the dispatcher on a memory store, the device's run_to2 over
// a loopback transport; plus the owner's conformance checks (TO2-xx) driven message by message.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/messages/to2.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to2_device.h"
#include "libfdo/protocol/to2_owner.h"
#include "libfdo/protocol/to2_test_support.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/transport/loopback_transport.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

using testing::code_of;
using testing::credential_for;
using testing::make_test_voucher;
using testing::onboard;
using testing::OwnerServer;
using testing::TestVoucher;

const Guid kGuid = Guid::from(from_hex("5a5a5a5a000011112222333344445555"));

TEST(To2, ReplacementGivesANewGuidAndTheOwnerAVoucherToOnboardAgain) {
  const auto tv = make_test_voucher("p256", "p256", 2, kGuid);
  OwnerServer server(*tv);
  const DeviceCredential credential = credential_for(*tv);
  const To2Result result = onboard(server, credential);

  EXPECT_FALSE(result.reused);
  EXPECT_NE(result.credential.dc_guid, kGuid);
  EXPECT_FALSE(result.credential.dc_active);  // FDO dormant after TO2 (FDO 1.1 §5.5.13)
  EXPECT_EQ(result.credential.dc_rv_info, credential.dc_rv_info);
  const Guid new_guid = result.credential.dc_guid;

  // The owner keeps the replacement voucher, extended once to its own key, and the old one until the device
  // shows up under its new GUID.
  const std::optional<storage::VoucherRecord> fresh = server.voucher(new_guid);
  ASSERT_TRUE(fresh);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(fresh->voucher);
  EXPECT_EQ(ov.header().ov_guid, new_guid);
  ASSERT_EQ(ov.entries().size(), 1U);
  EXPECT_TRUE(ov.owner_key().key().same_key(tv->owner->public_key()));
  EXPECT_EQ(fresh->serial, "sn-1");
  EXPECT_TRUE(server.voucher(kGuid));
  ASSERT_TRUE(server.status(kGuid));
  EXPECT_EQ(server.status(kGuid)->state, "onboarded");
  EXPECT_EQ(server.status(kGuid)->new_guid, new_guid.hex());
  EXPECT_EQ(server.status(kGuid)->onboard_count, 1);

  // The new credential onboards again (once reactivated); then the replaced voucher is gone.
  DeviceCredential again = DeviceCredential::decode(result.credential.encode().view());
  again.dc_active = true;
  const To2Result second = onboard(server, again);
  EXPECT_NE(second.credential.dc_guid, new_guid);
  EXPECT_FALSE(server.voucher(kGuid));
  EXPECT_EQ(server.status(new_guid)->state, "onboarded");
}

TEST(To2, CredentialReuseKeepsTheCredentialAndTheVoucher) {
  const auto tv = make_test_voucher("p384", "p384", 1, kGuid);
  OwnerServer server(*tv);
  server.policy.plan_for = [](const Guid&, std::string_view) { return DevicePlan{.reuse = true, .rendezvous_info = std::nullopt, .service_info = {}}; };
  const DeviceCredential credential = credential_for(*tv);
  const To2Result result = onboard(server, credential);
  EXPECT_TRUE(result.reused);
  EXPECT_EQ(result.credential.dc_guid, kGuid);
  EXPECT_TRUE(result.credential.dc_active);
  EXPECT_EQ(result.suites.kex, crypto::KexSuite::Ecdh384);
  EXPECT_EQ(server.voucher(kGuid)->voucher, tv->bytes);
  EXPECT_EQ(server.status(kGuid)->state, "onboarded");
  EXPECT_EQ(server.status(kGuid)->onboard_count, 1);
}

TEST(To2, ADeviceThatRefusesReuseAnswers102AndTheOwnerRecordsTheFailure) {
  const auto tv = make_test_voucher("p256", "p256", 1, kGuid);
  OwnerServer server(*tv);
  server.policy.plan_for = [](const Guid&, std::string_view) { return DevicePlan{.reuse = true, .rendezvous_info = std::nullopt, .service_info = {}}; };
  const DeviceCredential credential = credential_for(*tv);
  To2DeviceOptions options;
  options.allow_reuse = false;
  fdo::test::expect_error([&] { onboard(server, credential, std::move(options)); }, ErrorCode::CredReuseError);
  const std::optional<storage::OwnerDeviceRecord> status = server.status(kGuid);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, "failed");
  EXPECT_NE(status->error.find("(102)"), std::string::npos) << status->error;
}

TEST(To2, TheOwnersSuitePolicyRefusesWhatItDoesNotAllowWith101) {
  const auto tv = make_test_voucher("p256", "p256", 1, kGuid);
  OwnerServer server(*tv);
  server.policy.kex_suites = {crypto::KexSuite::Ecdh384};
  server.policy.cipher_suites = {crypto::CipherSuite::A256GCM};
  To2DeviceOptions refused;
  refused.kex = crypto::KexSuite::Ecdh256;
  refused.cipher = crypto::CipherSuite::A256GCM;
  fdo::test::expect_error([&] { onboard(server, credential_for(*tv), std::move(refused)); },
                          ErrorCode::InvalidMessageError);
  To2DeviceOptions allowed;
  allowed.kex = crypto::KexSuite::Ecdh384;
  allowed.cipher = crypto::CipherSuite::A256GCM;
  EXPECT_FALSE(onboard(server, credential_for(*tv), std::move(allowed)).reused);
}

// A device whose manufacturer key hash does not match the voucher, or that is shown a voucher extended to another
// owner than the one that signs, stops with 101 and has nothing to store (its credential is the caller's, unchanged).
TEST(To2, ADeviceStopsOnAForeignManufacturerKeyOrAWrongOwnerSignature) {
  const auto tv = make_test_voucher("p256", "p256", 2, kGuid);
  {
    OwnerServer server(*tv);
    DeviceCredential credential = credential_for(*tv);
    credential.dc_pub_key_hash = Hash(HashType::Sha256, Bytes(32, 0x42));
    fdo::test::expect_error([&] { onboard(server, credential); }, ErrorCode::InvalidMessageError);
    EXPECT_EQ(server.status(kGuid)->state, "failed");
    EXPECT_NE(server.status(kGuid)->error.find("from the device"), std::string::npos) << server.status(kGuid)->error;
  }
  {
    // The owner holds the key of entry 1's signer, not the voucher's last key: its ProveOVHdr signature does not
    // match the chain, so the device refuses after the last entry.
    OwnerServer server(*tv);
    const crypto::PrivateKey* previous = &tv->fx.owner_after(1);
    server.policy.owner_key_for = [previous](const PublicKey&) { return previous; };
    fdo::test::expect_error([&] { onboard(server, credential_for(*tv)); }, ErrorCode::InvalidMessageError);
    EXPECT_EQ(server.status(kGuid)->state, "failed");
  }
}

// The full device × kex × cipher matrix is in to2_matrix_test.cpp.

// ---- owner conformance, message by message ------------------------------------------------------------------------

Bytes hello_body(const Guid& guid, std::string kex = "ECDH256", std::int64_t cipher = 1,
                 crypto::SigAlg alg = crypto::SigAlg::ES256) {
  return to2::HelloDevice{.max_device_message_size = 0,
                          .guid = guid,
                          .nonce_to2_prove_ov = Nonce::random(),
                          .kex_suite_name = std::move(kex),
                          .cipher_suite_name = cipher,
                          .ea_sig_info = SigInfo::for_alg(alg)}
      .encode();
}

TEST(To2Owner, TO2_23_UnknownGuidIs6) {
  const auto tv = make_test_voucher("p256", "p256", 1, kGuid);
  OwnerServer server(*tv);
  EXPECT_EQ(code_of(server.post(60, hello_body(Guid::random())), 60), 6);
}

TEST(To2Owner, TO2_01_FuzzedHelloDeviceIs100) {
  const auto tv = make_test_voucher("p256", "p256", 1, kGuid);
  OwnerServer server(*tv);
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(code_of(server.post(60, testing::fuzzed(hello_body(kGuid), seed)), 60), 100) << seed;
  }
}

TEST(To2Owner, TO2_24_UnknownSuitesAndAMismatchedSgTypeAre101) {
  const auto tv = make_test_voucher("p256", "p256", 1, kGuid);
  OwnerServer server(*tv);
  EXPECT_EQ(code_of(server.post(60, hello_body(kGuid, "ECDH999")), 60), 101);
  EXPECT_EQ(code_of(server.post(60, hello_body(kGuid, "ECDH256", 99)), 60), 101);
  EXPECT_EQ(code_of(server.post(60, hello_body(kGuid, "ECDH256", 1, crypto::SigAlg::ES384)), 60), 101);
  // ASYMKEX needs an RSA owner key of its size.
  EXPECT_EQ(code_of(server.post(60, hello_body(kGuid, "ASYMKEX2048")), 60), 101);
  // Nothing of a refused run is stored as onboarding.
  EXPECT_EQ(server.status(kGuid)->state, "failed");
}

TEST(To2Owner, TO2_26_TO2_25_EntryIndexAndOrder) {
  const auto tv = make_test_voucher("p256", "p256", 3, kGuid);
  OwnerServer server(*tv);
  const transport::Response prove = server.post(60, hello_body(kGuid));
  ASSERT_EQ(prove.msg_type, 61);
  const to2::ProveOVHdr hdr = to2::ProveOVHdr::decode(prove.body);
  EXPECT_EQ(hdr.payload.num_ov_entries, 3);
  // TO2-34: helloDeviceHash in the HMAC's family; CUPHOwnerPubKey is the last entry's key byte for byte.
  EXPECT_EQ(hdr.payload.hello_device_hash.type(), HashType::Sha256);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(tv->bytes);
  EXPECT_EQ(hdr.cuph_owner_pub_key, ov.owner_key());
  EXPECT_TRUE(hdr.sign1.verify(tv->owner->public_key()));

  // Entry 0 then ProveDevice: 101 (TO2-25).
  const transport::Response e0 = server.post(62, to2::GetOVNextEntry{.ov_entry_num = 0}.encode(), prove.token);
  ASSERT_EQ(e0.msg_type, 63);
  EXPECT_EQ(to2::OVNextEntry::decode(e0.body).ov_entry, ov.entries()[0].bytes);
  EXPECT_EQ(code_of(server.post(64, from_hex("d28443a10126a0f640"), prove.token), 64), 101);

  // Index exactly NumOVEntries: 101 (TO2-26).
  const transport::Response again = server.post(60, hello_body(kGuid));
  EXPECT_EQ(code_of(server.post(62, to2::GetOVNextEntry{.ov_entry_num = 3}.encode(), again.token), 62), 101);
  // The token is gone after the error (→ 1).
  EXPECT_EQ(code_of(server.post(62, to2::GetOVNextEntry{.ov_entry_num = 0}.encode(), again.token), 62), 1);
}

TEST(To2Owner, TO2_32_PlainCborAfterTheTunnelOpensIs100) {
  const auto tv = make_test_voucher("p256", "p256", 1, kGuid);
  OwnerServer server(*tv);
  // Run the device to ProveDevice by hand is long; a plain 66 right after 61 is out of order (101) and a 62 with
  // a wrong body is 100 (TO2-03).
  const transport::Response prove = server.post(60, hello_body(kGuid));
  EXPECT_EQ(code_of(server.post(62, from_hex("0000"), prove.token), 62), 100);
  const transport::Response next = server.post(60, hello_body(kGuid));
  EXPECT_EQ(code_of(server.post(66, from_hex("82f6f6"), next.token), 66), 101);
}

}  // namespace
}  // namespace fdo::protocol
