// TO2 conformance (docs/conformance.md): the owner's checks TO2-02..TO2-22, TO2-27..TO2-34 and the transport lines
// that need TO2 (TR-08, TR-09, TR-12, TR-13, TR-14), driven message by message as a device would (DeviceSteps), and
// the device's checks DEV-05..DEV-29 and DEV-35..DEV-46, run_to2 against a real owner behind a man in the middle that
// rewrites answers (To2Mitm). FDO 1.1 §5.5.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/messages/to2.h"
#include "libfdo/types/rvto2addr.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/messages/to0.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to2_test_support.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/voucher/entry.h"
#include "libfdo/voucher/header.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

using testing::code_of;
using testing::Corrupt;
using testing::corrupt_wrapper;
using testing::corruptions_for;
using testing::credential_for;
using testing::DeviceSteps;
using testing::fuzzed;
using testing::make_test_voucher;
using testing::onboard;
using testing::OwnerServer;
using testing::require;
using testing::Sign1Fields;
using testing::TestVoucher;
using testing::To2Mitm;
using testing::Wire;
using testing::current_wire;

const Guid kGuid = Guid::from(from_hex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"));

Bytes bytes_of(ByteView v) { return Bytes(v.begin(), v.end()); }

// The devmod KVs our device sends, in one list.
serviceinfo::ServiceInfo devmod_kvs() {
  serviceinfo::DeviceEngine engine({}, testing::test_devmod());
  return engine.next_message(65535).kvs;
}

// ==== Owner side ====================================================================================================

class To2OwnerConformance : public ::testing::TestWithParam<Wire> {
 protected:
  void SetUp() override { current_wire() = GetParam(); }
  void TearDown() override { current_wire() = Wire::Loopback; }
  To2OwnerConformance()
      : m_tv(make_test_voucher("p256", "p256", 2, kGuid)), m_server(std::make_unique<OwnerServer>(*m_tv)) {}

  std::unique_ptr<DeviceSteps> device(crypto::CipherSuite cipher = crypto::CipherSuite::A128GCM) {
    return std::make_unique<DeviceSteps>(*m_server, *m_tv, crypto::KexSuite::Ecdh256, cipher);
  }
  // After an error answer: the token is dead (→ 1), the voucher is the one imported and no replacement voucher was
  // stored, and the owner's device status says "failed".
  void expect_failed_run(const DeviceSteps& d) {
    if (!d.token.empty()) {
      EXPECT_EQ(code_of(m_server->post(62, from_hex("8100"), d.token), 62), 1);
    }
    auto tx = m_server->store->begin();
    const std::vector<storage::VoucherRecord> all = tx->list_vouchers();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].voucher, m_tv->bytes);
    const std::optional<storage::OwnerDeviceRecord> status = tx->get_owner_device(kGuid);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->state, "failed");
    EXPECT_EQ(status->onboard_count, 0);
  }

  // A second device of the same owner under another GUID (its voucher imported too).
  std::unique_ptr<DeviceSteps> other_device(const Guid& guid) {
    const Guid kept = m_tv->fx.input.guid;
    m_tv->fx.input.guid = guid;
    m_server->add_voucher(guid, m_tv->fx.extended(2).encode(), m_tv->fx.input.device_info);
    auto d = device();
    m_tv->fx.input.guid = kept;
    return d;
  }

  std::unique_ptr<TestVoucher> m_tv;
  std::unique_ptr<OwnerServer> m_server;
};

TEST_P(To2OwnerConformance, TO2_02_HelloDeviceGetsAProveOVHdrTheDeviceAccepts) {
  auto d = device();
  const transport::Response r = d->hello();
  ASSERT_EQ(r.msg_type, 61);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.token.has_value());
  const to2::ProveOVHdr& h = *d->prove;
  EXPECT_TRUE(h.cuph_owner_pub_key.suits(h.sign1.alg()));
  EXPECT_TRUE(h.sign1.verify(h.cuph_owner_pub_key.key()));
  EXPECT_EQ(h.payload.eb_sig_info, SigInfo::for_alg(crypto::SigAlg::ES256));
  EXPECT_EQ(h.payload.nonce_to2_prove_ov, d->nonce_prove_ov);
  EXPECT_EQ(bytes_of(h.payload.hmac.value()),
            d->hmac.hmac(hash_alg_of(h.payload.hmac.type()), h.payload.ov_header));
  EXPECT_TRUE(h.payload.hello_device_hash.matches(d->hello_bytes));
  EXPECT_EQ(m_server->status(kGuid)->state, "onboarding");
}

TEST_P(To2OwnerConformance, TO2_03_FuzzedGetOVNextEntryIs100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    require(d->hello(), 61);
    const Bytes body = fuzzed(to2::GetOVNextEntry{.ov_entry_num = 0}.encode(), seed);
    EXPECT_EQ(body, from_hex("0000"));
    EXPECT_EQ(code_of(d->entry(0, body), 62), 100);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_04_EntryIndexFromNumOVEntriesTo255Is101) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> index(2, 255);  // the voucher has 2 entries
  for (int i = 0; i < 4; ++i) {
    const auto n = static_cast<std::uint8_t>(i == 0 ? 255 : index(rng));
    SCOPED_TRACE("index " + std::to_string(n));
    auto d = device();
    require(d->hello(), 61);
    EXPECT_EQ(code_of(d->entry(n), 62), 101);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_05_EntriesInOrderEchoTheirNumberAndChainToTheOwnerKey) {
  auto d = device();
  require(d->hello(), 61);
  const to2::ProveOVHdrPayload& p = d->prove->payload;
  ASSERT_EQ(p.num_ov_entries, 2);
  const voucher::OVHeader header = voucher::OVHeader::decode(p.ov_header);
  PublicKey prev_key = header.ov_pub_key;
  Bytes prev = p.ov_header;
  append(prev, p.hmac.encode());
  const std::vector<Bytes> bodies = d->entries();
  for (std::uint8_t i = 0; i < bodies.size(); ++i) {
    const to2::OVNextEntry e = to2::OVNextEntry::decode(bodies[i]);
    EXPECT_EQ(e.ov_entry_num, i);
    const voucher::OVEntry entry = voucher::OVEntry::decode(e.ov_entry, i);
    EXPECT_TRUE(entry.sign1.verify(prev_key.key())) << int{i};
    EXPECT_TRUE(entry.payload.ove_hash_prev_entry.matches(prev)) << int{i};
    prev_key = entry.payload.ove_pub_key;
    prev = e.ov_entry;
  }
  EXPECT_EQ(bytes_of(prev_key.raw()), bytes_of(d->prove->cuph_owner_pub_key.raw()));
}

TEST_P(To2OwnerConformance, TO2_06_FuzzedProveDeviceIs100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    d->to_prove_device();
    EXPECT_EQ(code_of(d->prove_device(fuzzed(d->prove_device_body(), seed)), 64), 100);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_07_FuzzedEatPayloadValidlySignedIs100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    d->to_prove_device();
    Sign1Fields f = Sign1Fields::of(d->prove_device_body());
    f.payload = fuzzed(f.payload, seed);
    f.resign(m_tv->fx.device, crypto::SigAlg::ES256);
    EXPECT_EQ(code_of(d->prove_device(f.encode()), 64), 100);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_08_FuzzedEatSignatureIs101) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    d->to_prove_device();
    Sign1Fields f = Sign1Fields::of(d->prove_device_body());
    f.signature = fuzzed(f.signature, seed);
    EXPECT_EQ(code_of(d->prove_device(f.encode()), 64), 101);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_09_EatWithAFreshNonceIs101) {
  auto d = device();
  d->to_prove_device();
  EXPECT_EQ(code_of(d->prove_device(d->prove_device_body(Nonce::random())), 64), 101);
  expect_failed_run(*d);
}

TEST_P(To2OwnerConformance, TO2_10_SetupDeviceDecryptsVerifiesWithOwner2KeyAndEchoesTheNonce) {
  auto d = device();
  d->to_prove_device();
  const transport::Response r = d->prove_device();
  ASSERT_EQ(r.msg_type, 65);
  EXPECT_EQ(r.body.at(0), 0xD0);  // COSE_Encrypt0, tag 16 (FDO 1.1 §4.4)
  const to2::SetupDevice& s = *d->setup;
  EXPECT_TRUE(s.payload.owner2_key.suits(s.sign1.alg()));
  EXPECT_TRUE(s.sign1.verify(s.payload.owner2_key.key()));
  EXPECT_EQ(s.payload.nonce_to2_setup_dv, d->nonce_setup);
  EXPECT_FALSE(s.payload.rendezvous_info.directives().empty());
  EXPECT_NE(s.payload.guid, kGuid);  // no reuse offered: a new GUID
}

TEST_P(To2OwnerConformance, TO2_11_FuzzedDeviceServiceInfoReadyPlaintextIs100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    d->to_ready();
    EXPECT_EQ(code_of(d->ready(fuzzed(d->ready_plain(), seed)), 66), 100);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_12_CorruptedWrapperOf66Is101Or100) {
  for (const crypto::CipherSuite suite : {crypto::CipherSuite::A128GCM, crypto::CipherSuite::Aes128CtrHmacSha256,
                                          crypto::CipherSuite::Aes128CbcHmacSha256}) {
    for (const Corrupt where : corruptions_for(suite)) {
      for (std::uint32_t seed = 1; seed <= 2; ++seed) {
        SCOPED_TRACE(std::string(crypto::cipher_suite_name(suite)) + " corruption " +
                     std::to_string(static_cast<int>(where)) + " seed " + std::to_string(seed));
        auto d = device(suite);
        d->to_ready();
        const int code = code_of(d->post(66, corrupt_wrapper(d->cipher->encrypt(d->ready_plain()), where, seed)), 66);
        if (where == Corrupt::Whole) {
          EXPECT_TRUE(code == 100 || code == 101) << code;
        } else {
          EXPECT_EQ(code, 101);
        }
        expect_failed_run(*d);
      }
    }
  }
}

TEST_P(To2OwnerConformance, TO2_13_OwnerServiceInfoReadyDecryptsToUint16OrNull) {
  auto d = device();
  d->to_ready();
  const transport::Response r = d->ready();
  ASSERT_EQ(r.msg_type, 67);
  const Bytes plain = d->open(r);
  cbor::Reader reader(plain, "TO2.OwnerServiceInfoReady");
  reader.read_array_of("", 1);
  if (!reader.try_read_null()) {
    EXPECT_GE(reader.read_uint_max("maxDeviceServiceInfoSz", 0xFFFF), 1300U);
  }
  reader.expect_end();
}

TEST_P(To2OwnerConformance, TO2_14_FuzzedDeviceServiceInfoPlaintextIs100) {
  const Bytes good = to2::DeviceServiceInfo{.is_more_service_info = false, .service_info = devmod_kvs()}.encode();
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    d->to_service_info();
    EXPECT_EQ(code_of(d->send(68, fuzzed(good, seed)), 68), 100);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_15_CorruptedWrapperOf68Is101Or100) {
  const Bytes good = to2::DeviceServiceInfo{.is_more_service_info = false, .service_info = devmod_kvs()}.encode();
  for (const crypto::CipherSuite suite : {crypto::CipherSuite::A128GCM, crypto::CipherSuite::Aes128CbcHmacSha256}) {
    for (const Corrupt where : corruptions_for(suite)) {
      SCOPED_TRACE(std::string(crypto::cipher_suite_name(suite)) + " corruption " +
                   std::to_string(static_cast<int>(where)));
      auto d = device(suite);
      d->to_service_info();
      const int code = code_of(d->post(68, corrupt_wrapper(d->cipher->encrypt(good), where, 3)), 68);
      if (where == Corrupt::Whole) {
        EXPECT_TRUE(code == 100 || code == 101) << code;
      } else {
        EXPECT_EQ(code, 101);
      }
      expect_failed_run(*d);
    }
  }
}

TEST_P(To2OwnerConformance, TO2_16_MoreServiceInfoAfterTheDeviceEndedIs101) {
  auto d = device();
  d->to_service_info();
  const serviceinfo::ServiceInfo kvs = devmod_kvs();
  const auto first = to2::OwnerServiceInfo::decode(
      d->open(require(d->service_info({.is_more_service_info = true, .service_info = kvs}), 69)));
  EXPECT_FALSE(first.is_done);
  const auto second =
      to2::OwnerServiceInfo::decode(d->open(require(d->service_info({.is_more_service_info = false, .service_info = {}}), 69)));
  EXPECT_TRUE(second.is_done);
  EXPECT_EQ(code_of(d->service_info({.is_more_service_info = true, .service_info = {kvs.at(0)}}), 68), 101);
  expect_failed_run(*d);
}

TEST_P(To2OwnerConformance, TO2_17_OneDevmodEntryPer68ThenEmptyPollsUntilIsDone) {
  auto d = device();
  d->to_service_info();
  int replies = 0;
  for (const serviceinfo::ServiceInfoKv& kv : devmod_kvs()) {
    const auto reply = to2::OwnerServiceInfo::decode(
        d->open(require(d->service_info({.is_more_service_info = true, .service_info = {kv}}), 69)));
    ++replies;
    // While the device holds the floor the owner answers [false, false, []].
    EXPECT_FALSE(reply.is_more_service_info);
    EXPECT_FALSE(reply.is_done);
    EXPECT_TRUE(reply.service_info.empty());
  }
  bool done = false;
  while (!done && replies < 255) {
    const auto reply =
        to2::OwnerServiceInfo::decode(d->open(require(d->service_info({.is_more_service_info = false, .service_info = {}}), 69)));
    ++replies;
    done = reply.is_done;
  }
  EXPECT_TRUE(done);
  EXPECT_LT(replies, 255);
  EXPECT_EQ(require(d->done(), 71).msg_type, 71);
}

TEST_P(To2OwnerConformance, TO2_18_FuzzedDonePlaintextIs100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto d = device();
    d->to_done();
    EXPECT_EQ(code_of(d->done(fuzzed(to2::Done{.nonce_to2_prove_dv = d->prove->cuph_nonce}.encode(), seed)), 70),
              100);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_19_CorruptedWrapperOfDoneIs101Or100) {
  for (const crypto::CipherSuite suite : {crypto::CipherSuite::A128GCM, crypto::CipherSuite::Aes128CtrHmacSha256}) {
    for (const Corrupt where : corruptions_for(suite)) {
      SCOPED_TRACE(std::string(crypto::cipher_suite_name(suite)) + " corruption " +
                   std::to_string(static_cast<int>(where)));
      auto d = device(suite);
      d->to_done();
      const Bytes plain = to2::Done{.nonce_to2_prove_dv = d->prove->cuph_nonce}.encode();
      const int code = code_of(d->post(70, corrupt_wrapper(d->cipher->encrypt(plain), where, 5)), 70);
      if (where == Corrupt::Whole) {
        EXPECT_TRUE(code == 100 || code == 101) << code;
      } else {
        EXPECT_EQ(code, 101);
      }
      expect_failed_run(*d);
    }
  }
}

TEST_P(To2OwnerConformance, TO2_20_DoneWithARandomNonceIs101AndTheVoucherIsNotReplaced) {
  auto d = device();
  d->to_done();
  EXPECT_EQ(code_of(d->done(to2::Done{.nonce_to2_prove_dv = Nonce::random()}.encode()), 70), 101);
  expect_failed_run(*d);
  EXPECT_FALSE(m_server->voucher(d->setup->payload.guid));
}

TEST_P(To2OwnerConformance, TO2_21_Done2DecryptsAndCarriesNonceTO2SetupDv) {
  auto d = device();
  d->to_done();
  const transport::Response r = d->done();
  ASSERT_EQ(r.msg_type, 71);
  EXPECT_EQ(to2::Done2::decode(d->open(r)).nonce_to2_setup_dv, d->nonce_setup);
  // The run is over: the token is gone.
  EXPECT_EQ(code_of(d->post(70, Bytes{0x80}), 70), 1);
}

TEST(To2OwnerWorkload, TO2_22_ManyVouchersAndSequentialRunsWithEcdh256A128GcmForP384AndRsaOwners) {
  for (const std::string owner_type : {"p384", "rsa2048"}) {
    SCOPED_TRACE(owner_type);
    auto tv = make_test_voucher("p256", owner_type, 1, kGuid);
    OwnerServer server(*tv);
    // The batch: 100 good vouchers, and 5 extended past this owner's key (their HelloDevice is 6).
    std::vector<Guid> good;
    for (int i = 0; i < 100; ++i) {
      tv->fx.input.guid = Guid::random();
      server.add_voucher(tv->fx.input.guid, tv->fx.extended(1).encode(), tv->fx.input.device_info);
      good.push_back(tv->fx.input.guid);
    }
    std::vector<Guid> bad;
    for (int i = 0; i < 5; ++i) {
      tv->fx.input.guid = Guid::random();
      server.add_voucher(tv->fx.input.guid, tv->fx.extended(2).encode(), tv->fx.input.device_info);
      bad.push_back(tv->fx.input.guid);
    }
    for (const Guid& g : bad) {
      const Bytes hello = to2::HelloDevice{.max_device_message_size = 0,
                                           .guid = g,
                                           .nonce_to2_prove_ov = Nonce::random(),
                                           .kex_suite_name = "ECDH256",
                                           .cipher_suite_name = 1,
                                           .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)}
                              .encode();
      EXPECT_EQ(code_of(server.post(60, hello), 60), 6);
    }
    for (std::size_t i = 0; i < 10; ++i) {
      tv->fx.input.guid = good[i * 7];
      To2DeviceOptions options;
      options.kex = crypto::KexSuite::Ecdh256;
      options.cipher = crypto::CipherSuite::A128GCM;
      const To2Result result = onboard(server, credential_for(*tv), std::move(options));
      EXPECT_EQ(result.suites.kex, crypto::KexSuite::Ecdh256);
      EXPECT_TRUE(server.voucher(result.credential.dc_guid));
      EXPECT_EQ(server.status(good[i * 7])->state, "onboarded");
    }
  }
}

TEST_P(To2OwnerConformance, TO2_27_ForeignUeidForeignKeyAndAnInvalidXbAre101) {
  {
    auto d = device();
    d->to_prove_device();
    EXPECT_EQ(code_of(d->prove_device(d->prove_device_body(std::nullopt, Guid::random())), 64), 101);
    expect_failed_run(*d);
  }
  {
    auto d = device();
    d->to_prove_device();
    const SoftwareSigner other(crypto::PrivateKey::generate(crypto::KeyType::P256));
    EXPECT_EQ(code_of(d->prove_device(d->prove_device_body(std::nullopt, std::nullopt, &other)), 64), 101);
    expect_failed_run(*d);
  }
  {
    auto d = device();
    d->to_prove_device();
    Bytes xb = d->device_kex().xb;
    xb.at(2 + 10) ^= 0x01;  // a byte of X (after its 2-byte length): the point leaves the curve
    EXPECT_EQ(code_of(d->prove_device(d->prove_device_body(std::nullopt, std::nullopt, nullptr, xb)), 64), 101);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_28_NullReplacementHmacWithoutReuseIs101) {
  auto d = device();
  d->to_ready();
  ASSERT_FALSE(d->reuse_offered());
  const Bytes plain =
      to2::DeviceServiceInfoReady{.replacement_hmac = std::nullopt, .max_owner_service_info_sz = 1300}.encode();
  EXPECT_EQ(code_of(d->ready(plain), 66), 101);
  expect_failed_run(*d);
}

TEST_P(To2OwnerConformance, TO2_29_Sha256HashAsReplacementHmacIs100) {
  auto d = device();
  d->to_ready();
  cbor::Writer w;
  w.array(2).array(2).int_(static_cast<std::int64_t>(HashType::Sha256)).bstr(Bytes(32, 0x11)).uint(1300);
  EXPECT_EQ(code_of(d->ready(w.bytes()), 66), 100);
  expect_failed_run(*d);
}

TEST_P(To2OwnerConformance, TO2_30_DeviceServiceInfoAboveTheDeclaredSizeIs101) {
  auto d = device();
  d->to_ready();
  const auto declared = to2::OwnerServiceInfoReady::decode(d->open(require(d->ready(), 67)));
  ASSERT_TRUE(declared.max_device_service_info_sz);
  serviceinfo::ServiceInfo big = devmod_kvs();
  big.push_back(serviceinfo::make_kv("test", "blob",
                                     serviceinfo::bstr_value(Bytes(*declared.max_device_service_info_sz, 0x42))));
  EXPECT_EQ(code_of(d->service_info({.is_more_service_info = false, .service_info = big}), 68), 101);
  expect_failed_run(*d);
}

TEST_P(To2OwnerConformance, TO2_31_DoneBeforeIsDoneIs101) {
  {
    auto d = device();
    d->to_service_info();
    EXPECT_EQ(code_of(d->done(), 70), 101);
    expect_failed_run(*d);
  }
  {
    // After a 69 that did not say IsDone.
    auto d = device();
    d->to_service_info();
    const auto reply = to2::OwnerServiceInfo::decode(
        d->open(require(d->service_info({.is_more_service_info = true, .service_info = devmod_kvs()}), 69)));
    ASSERT_FALSE(reply.is_done);
    EXPECT_EQ(code_of(d->done(), 70), 101);
    expect_failed_run(*d);
  }
}

TEST_P(To2OwnerConformance, TO2_32_PlainOrForeignKeyedDeviceServiceInfoIs100Or101) {
  const Bytes plain = to2::DeviceServiceInfo{.is_more_service_info = false, .service_info = devmod_kvs()}.encode();
  {
    auto d = device();
    d->to_service_info();
    EXPECT_EQ(code_of(d->post(68, plain), 68), 100);
    expect_failed_run(*d);
  }
  {
    auto a = device();
    auto b = device();
    a->to_service_info();
    b->to_service_info();
    EXPECT_EQ(code_of(a->post(68, b->cipher->encrypt(plain)), 68), 101);
    EXPECT_EQ(code_of(a->post(62, from_hex("8100")), 62), 1);
    // The other run is untouched.
    b->service_info_loop();
    EXPECT_EQ(require(b->done(), 71).msg_type, 71);
  }
}

// ---- The transport checks that need TO2 (docs/conformance.md §7) ----

TEST_P(To2OwnerConformance, TR_08_AnotherDevicesProveDeviceOnThisRunsTokenIs101AndEndsThisRun) {
  auto a = device();
  auto b = other_device(Guid::random());
  a->to_prove_device();
  b->to_prove_device();
  // B's valid EAT (its GUID, its nonce, its key) posted with A's token.
  EXPECT_EQ(code_of(a->post(64, b->prove_device_body()), 64), 101);
  EXPECT_EQ(code_of(a->post(62, from_hex("8100")), 62), 1);
  EXPECT_FALSE(m_server->session(a->token));
  // B's own run is untouched and completes.
  require(b->prove_device(), 65);
  require(b->ready(), 67);
  b->service_info_loop();
  require(b->done(), 71);
}

TEST_P(To2OwnerConformance, TR_09_AnotherSessionsEncryptedDoneIs101AndEndsTheRunItWasPostedOn) {
  auto a = device();
  auto b = other_device(Guid::random());
  a->to_done();
  b->to_done();
  // A's Done, encrypted with A's session keys, posted on B's run.
  const Bytes captured = a->cipher->encrypt(to2::Done{.nonce_to2_prove_dv = a->prove->cuph_nonce}.encode());
  EXPECT_EQ(code_of(b->post(70, captured), 70), 101);
  EXPECT_FALSE(m_server->session(b->token));
  EXPECT_EQ(code_of(b->post(70, captured), 70), 1);
  require(a->done(), 71);
}

TEST_P(To2OwnerConformance, TR_12_AnErrorAfterTheKeyExchangeIsPlainCbor) {
  auto d = device();
  d->to_done();
  const transport::Response r = d->done(to2::Done{.nonce_to2_prove_dv = Nonce::random()}.encode());  // TO2-20
  ASSERT_EQ(r.msg_type, 255);
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body[0], 0x85);  // ErrorMessage = [5 elements] (FDO 1.1 §3.8), not a COSE_Encrypt0 (tag 16)
  const ErrorMessage em = ErrorMessage::decode(r.body);
  EXPECT_EQ(em.em_error_code, 101);
  EXPECT_EQ(em.em_prev_msg_id, 70);
  EXPECT_THROW((void)d->open(r), Error);
}

TEST_P(To2OwnerConformance, TR_13_HelloDeviceWithAStaleTokenStartsAFreshRun) {
  auto first = device();
  require(first->hello(), 61);
  const std::string stale = first->token;
  // The stale token of an earlier run, sent on a new HelloDevice: ignored, a fresh run with a new token.
  const transport::Response r = m_server->post(60, first->hello_body(), stale);
  ASSERT_EQ(r.msg_type, 61);
  ASSERT_TRUE(r.token);
  EXPECT_NE(*r.token, stale);
  EXPECT_TRUE(m_server->session(*r.token));
}

TEST_P(To2OwnerConformance, TR_14_FiftyParallelRunsForFiftyGuidsAllCompleteEachWithItsOwnToken) {
  constexpr int kRuns = 50;
  std::vector<std::unique_ptr<DeviceSteps>> devices;
  for (int i = 0; i < kRuns; ++i) {
    devices.push_back(other_device(Guid::random()));
  }
  std::vector<std::string> failures(kRuns);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&devices, &failures, i] {
      try {
        devices[i]->to_done();
        require(devices[i]->done(), 71);
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::set<std::string> tokens;
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(failures[i], "") << "run " << i;
    tokens.insert(devices[i]->token);
    EXPECT_EQ(m_server->status(devices[i]->credential.dc_guid)->state, "onboarded") << i;
  }
  EXPECT_EQ(tokens.size(), static_cast<std::size_t>(kRuns));
}

Bytes hello_for(const Guid& guid) {
  return to2::HelloDevice{.max_device_message_size = 0,
                          .guid = guid,
                          .nonce_to2_prove_ov = Nonce::random(),
                          .kex_suite_name = "ECDH256",
                          .cipher_suite_name = 1,
                          .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)}
      .encode();
}

// Deliberate deviation (docs/conformance.md TO2-33): the old voucher keeps serving its GUID until the device has
// proven itself under the new one, so a device whose Done2 got lost (DEV-46) can onboard again; then the old GUID is 6.
TEST_P(To2OwnerConformance, TO2_33_AfterDone2TheNewGuidIsServedAndListedAndTheOldOneRetires) {
  const To2Result first = onboard(*m_server, credential_for(*m_tv));
  const Guid new_guid = first.credential.dc_guid;
  ASSERT_NE(new_guid, kGuid);
  // `fdo-owner devices show` reads these records.
  ASSERT_TRUE(m_server->status(new_guid));
  EXPECT_EQ(m_server->status(new_guid)->state, "imported");
  EXPECT_EQ(m_server->status(kGuid)->state, "onboarded");
  EXPECT_EQ(m_server->status(kGuid)->new_guid, new_guid.hex());
  EXPECT_EQ(m_server->post(60, hello_for(new_guid)).msg_type, 61);

  // The device onboards under its new GUID (reactivated); from then on the old GUID is unknown.
  DeviceCredential next = DeviceCredential::decode(first.credential.encode().view());
  next.dc_active = true;
  (void)onboard(*m_server, next);
  EXPECT_EQ(code_of(m_server->post(60, hello_for(kGuid)), 60), 6);
  EXPECT_EQ(m_server->status(new_guid)->state, "onboarded");
}

TEST_P(To2OwnerConformance, TO2_34_ProveOVHdrUnprotectedHeaderAndHashFamily) {
  for (const std::string type : {"p256", "p384"}) {
    SCOPED_TRACE(type);
    auto tv = make_test_voucher(type, type, 3, kGuid);
    OwnerServer server(*tv);
    DeviceSteps d(server, *tv, type == "p256" ? crypto::KexSuite::Ecdh256 : crypto::KexSuite::Ecdh384);
    require(d.hello(), 61);
    std::set<std::int64_t> labels;
    for (const auto& [label, value] : d.prove->sign1.unprotected()) {
      labels.insert(label);
    }
    EXPECT_EQ(labels, (std::set<std::int64_t>{256, 257}));
    const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(tv->bytes);
    EXPECT_EQ(bytes_of(*d.prove->sign1.unprotected_value(257)), bytes_of(ov.entries().back().payload.ove_pub_key.raw()));
    const HashType hmac_type = d.prove->payload.hmac.type();
    EXPECT_EQ(d.prove->payload.hello_device_hash.type(),
              hmac_type == HashType::HmacSha384 ? HashType::Sha384 : HashType::Sha256);
  }
}

// ==== Device side ===================================================================================================

class To2DeviceConformance : public ::testing::TestWithParam<Wire> {
 protected:
  void SetUp() override { current_wire() = GetParam(); }
  void TearDown() override { current_wire() = Wire::Loopback; }
  To2DeviceConformance()
      : m_tv(make_test_voucher("p256", "p256", 2, kGuid)),
        m_server(std::make_unique<OwnerServer>(*m_tv)),
        m_mitm(std::make_unique<To2Mitm>(*m_server)),
        m_credential(credential_for(*m_tv)) {}

  // Runs the device through the man in the middle: 0 when it onboarded, else the code it stopped with.
  int run(To2DeviceOptions options = {}) {
    m_result.reset();
    try {
      m_result = onboard(*m_mitm, m_credential, std::move(options));
      return 0;
    } catch (const Error& e) {
      return static_cast<int>(e.code());
    }
  }
  // The device aborted at the rewritten answer (type `prev`): its only message after it is a 255 carrying `code`,
  // it produced no new credential, and a clean run afterwards onboards with the credential it kept.
  void expect_abort(int code, std::uint8_t prev) {
    EXPECT_EQ(run(), code);
    EXPECT_FALSE(m_result);
    ASSERT_TRUE(m_mitm->mutated_at);
    ASSERT_EQ(m_mitm->received.size(), *m_mitm->mutated_at + 2);
    EXPECT_EQ(m_mitm->received.back().first, 255);
    const ErrorMessage em = ErrorMessage::decode(m_mitm->received.back().second);
    EXPECT_EQ(em.em_error_code, code);
    EXPECT_EQ(em.em_prev_msg_id, prev);
    EXPECT_EQ(m_credential.dc_guid, kGuid);
    m_mitm = std::make_unique<To2Mitm>(*m_server);
    const To2Result clean = onboard(*m_server, m_credential);
    EXPECT_NE(clean.credential.dc_guid, kGuid);
  }
  // The device went on past the rewritten answer and stopped at a later one (type `prev`) with `code`: its last
  // message is that 255, it never sent TO2.ProveDevice, and a clean run afterwards onboards with the credential it
  // kept.
  void expect_late_abort(int code, std::uint8_t prev, To2DeviceOptions options = {}) {
    EXPECT_EQ(run(std::move(options)), code);
    EXPECT_FALSE(m_result);
    ASSERT_FALSE(m_mitm->received.empty());
    EXPECT_EQ(m_mitm->received.back().first, 255);
    const ErrorMessage em = ErrorMessage::decode(m_mitm->received.back().second);
    EXPECT_EQ(em.em_error_code, code);
    EXPECT_EQ(em.em_prev_msg_id, prev);
    std::size_t entries_asked = 0;
    for (const auto& [type, body] : m_mitm->received) {
      EXPECT_NE(type, 64) << "TO2.ProveDevice was sent";
      entries_asked += type == 62 ? 1 : 0;
    }
    EXPECT_EQ(entries_asked, 2U) << "the device stopped before the last entry";
    EXPECT_EQ(m_credential.dc_guid, kGuid);
    m_mitm = std::make_unique<To2Mitm>(*m_server);
    EXPECT_NE(onboard(*m_server, m_credential).credential.dc_guid, kGuid);
  }
  // A TO2.OVNextEntry for entry `index` whose payload `change` rewrote, signed by `signer` (the entry's signer, or
  // another key) with `alg`.
  static Bytes entry_answer(std::uint8_t index, const voucher::OVEntryPayload& payload,
                            const crypto::PrivateKey& signer, crypto::SigAlg alg) {
    return to2::OVNextEntry{.ov_entry_num = index, .ov_entry = cose::Sign1::sign(signer, alg, payload.encode()).encode()}
        .encode();
  }
  // For a rewritten TO2.ProveOVHdr: re-signs its payload with the owner key.
  Bytes resign_61(const to2::ProveOVHdr& h) const {
    return to2::ProveOVHdr::sign(*m_tv->owner, crypto::SigAlg::ES256, h.payload, h.cuph_nonce, h.cuph_owner_pub_key)
        .encode();
  }
  // Rewrites the payload of TO2.ProveOVHdr and signs it again.
  void rewrite_61(std::function<void(to2::ProveOVHdrPayload&)> change) {
    m_mitm->plain[61] = [this, change](Bytes& body) {
      to2::ProveOVHdr h = to2::ProveOVHdr::decode(body);
      change(h.payload);
      body = resign_61(h);
    };
  }
  // Rewrites the payload of TO2.SetupDevice (inside the tunnel) and signs it again with the owner key.
  void rewrite_65(std::function<void(Bytes& payload)> change) {
    m_mitm->plain[65] = [this, change](Bytes& body) {
      Sign1Fields f = Sign1Fields::of(body);
      change(f.payload);
      f.resign(*m_tv->owner, crypto::SigAlg::ES256);
      body = f.encode();
    };
  }

  std::unique_ptr<TestVoucher> m_tv;
  std::unique_ptr<OwnerServer> m_server;
  std::unique_ptr<To2Mitm> m_mitm;
  DeviceCredential m_credential;
  std::optional<To2Result> m_result;
};

TEST_P(To2DeviceConformance, DEV_05_FuzzedOVHeaderInASigned61Aborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    rewrite_61([seed](to2::ProveOVHdrPayload& p) { p.ov_header = fuzzed(p.ov_header, seed); });
    expect_abort(100, 61);
  }
}

TEST_P(To2DeviceConformance, DEV_06_RandomNonceTO2ProveOVAborts101) {
  rewrite_61([](to2::ProveOVHdrPayload& p) { p.nonce_to2_prove_ov = Nonce::random(); });
  expect_abort(101, 61);
}

TEST_P(To2DeviceConformance, DEV_07_OtherSgTypeInEBSigInfoAborts101) {
  for (const crypto::SigAlg alg : {crypto::SigAlg::ES384, crypto::SigAlg::RS256}) {
    rewrite_61([alg](to2::ProveOVHdrPayload& p) { p.eb_sig_info = SigInfo::for_alg(alg); });
    expect_abort(101, 61);
  }
}

TEST_P(To2DeviceConformance, DEV_08_WrongHelloDeviceHashAborts) {
  // Random bytes of the right length: 101.
  rewrite_61([](to2::ProveOVHdrPayload& p) { p.hello_device_hash = Hash(HashType::Sha256, testing::random_bytes(32, 8)); });
  expect_abort(101, 61);
  // A correct hash of HelloDevice, but SHA-384 where the voucher's family is SHA-256: 101.
  m_mitm->plain[61] = [this](Bytes& body) {
    to2::ProveOVHdr h = to2::ProveOVHdr::decode(body);
    h.payload.hello_device_hash = Hash::compute(HashType::Sha384, m_mitm->received.back().second);
    body = resign_61(h);
  };
  expect_abort(101, 61);
  // Another hashtype with the old value (its length no longer fits the type): the Hash does not decode, 100.
  m_mitm->plain[61] = [this](Bytes& body) {
    to2::ProveOVHdr h = to2::ProveOVHdr::decode(body);
    cbor::Writer hash;
    hash.array(2).int_(static_cast<std::int64_t>(HashType::Sha384)).bstr(h.payload.hello_device_hash.value());
    to2::ProveOVHdrPayload& p = h.payload;
    cbor::Writer w;
    w.array(8).bstr(p.ov_header).uint(p.num_ov_entries).raw(p.hmac.encode()).bstr(p.nonce_to2_prove_ov.view());
    p.eb_sig_info.encode(w);
    w.bstr(p.xa_key_exchange).raw(hash.bytes()).uint(p.max_owner_message_size);
    cose::HeaderMap unprotected = h.sign1.unprotected();
    body = cose::Sign1::sign(*m_tv->owner, crypto::SigAlg::ES256, w.bytes(), std::move(unprotected)).encode();
  };
  expect_abort(100, 61);
}

TEST_P(To2DeviceConformance, DEV_09_MutatedProveOVHdrCoseAborts) {
  for (std::uint32_t seed = 1; seed <= 2; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // Random protected header: 100.
    m_mitm->plain[61] = [seed](Bytes& body) {
      Sign1Fields f = Sign1Fields::of(body);
      f.protected_bytes = testing::random_bytes(5 + seed * 17, seed);
      body = f.encode();
    };
    expect_abort(100, 61);
    // Empty unprotected map (the nonce and the owner key are gone): 100.
    m_mitm->plain[61] = [](Bytes& body) {
      Sign1Fields f = Sign1Fields::of(body);
      f.unprotected.clear();
      body = f.encode();
    };
    expect_abort(100, 61);
    // Payload fuzzed, not signed again: 100.
    m_mitm->plain[61] = [seed](Bytes& body) {
      Sign1Fields f = Sign1Fields::of(body);
      f.payload = fuzzed(f.payload, seed);
      body = f.encode();
    };
    expect_abort(100, 61);
    // Signature fuzzed: 101.
    m_mitm->plain[61] = [seed](Bytes& body) {
      Sign1Fields f = Sign1Fields::of(body);
      f.signature = fuzzed(f.signature, seed);
      body = f.encode();
    };
    expect_abort(101, 61);
  }
}

TEST_P(To2DeviceConformance, DEV_10_FuzzedProveOVHdrPayloadValidlySignedAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->plain[61] = [this, seed](Bytes& body) {
      Sign1Fields f = Sign1Fields::of(body);
      f.payload = fuzzed(f.payload, seed);
      f.resign(*m_tv->owner, crypto::SigAlg::ES256);
      body = f.encode();
    };
    expect_abort(100, 61);
  }
}

TEST_P(To2DeviceConformance, DEV_11_FuzzedProveOVHdrBodyAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->plain[61] = [seed](Bytes& body) { body = fuzzed(body, seed); };
    expect_abort(100, 61);
  }
}

TEST_P(To2DeviceConformance, DEV_12_ProveOVHdrWithoutAuthorizationAbortsBeforeAny62) {
  m_mitm->wire[61] = [](transport::Response& r) { r.token.reset(); };
  EXPECT_EQ(run(), 100);
  EXPECT_FALSE(m_result);
  EXPECT_EQ(m_mitm->received.back().first, 255);
  for (const auto& [type, body] : m_mitm->received) {
    EXPECT_NE(type, 62);
  }
}

TEST_P(To2DeviceConformance, DEV_13_MutatedOVEntryAborts101) {
  for (std::uint32_t seed = 1; seed <= 2; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<std::function<void(Sign1Fields&)>> mutations{
        [seed](Sign1Fields& f) { f.protected_bytes = testing::random_bytes(5 + seed * 13, seed); },
        [seed](Sign1Fields& f) { f.payload = fuzzed(f.payload, seed); },
        [seed](Sign1Fields& f) { f.signature = fuzzed(f.signature, seed); }};
    for (const auto& mutate : mutations) {
      m_mitm->plain[63] = [mutate](Bytes& body) {
        to2::OVNextEntry e = to2::OVNextEntry::decode(body);
        Sign1Fields f = Sign1Fields::of(e.ov_entry);
        mutate(f);
        e.ov_entry = f.encode();
        body = e.encode();
      };
      expect_abort(101, 63);
    }
  }
}

TEST_P(To2DeviceConformance, DEV_14_FuzzedOVNextEntryAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->plain[63] = [seed](Bytes& body) { body = fuzzed(body, seed); };
    expect_abort(100, 63);
  }
}

TEST_P(To2DeviceConformance, DEV_15_OVEntryNumAboveTheOneAskedForAborts101) {
  m_mitm->plain[63] = [](Bytes& body) {
    to2::OVNextEntry e = to2::OVNextEntry::decode(body);
    ++e.ov_entry_num;
    body = e.encode();
  };
  expect_abort(101, 63);
}

TEST_P(To2DeviceConformance, DEV_16_SetupDeviceWithARandomNonceAborts101) {
  rewrite_65([](Bytes& payload) {
    to2::SetupDevicePayload p = to2::SetupDevicePayload::decode(payload);
    p.nonce_to2_setup_dv = Nonce::random();
    payload = p.encode();
  });
  expect_abort(101, 65);
}

TEST_P(To2DeviceConformance, DEV_17_FuzzedSetupDevicePayloadValidlySignedAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    rewrite_65([seed](Bytes& payload) { payload = fuzzed(payload, seed); });
    expect_abort(100, 65);
  }
}

TEST_P(To2DeviceConformance, DEV_18_MutatedSetupDeviceCoseAborts) {
  const std::uint32_t seed = 3;
  m_mitm->plain[65] = [](Bytes& body) {
    Sign1Fields f = Sign1Fields::of(body);
    f.protected_bytes = testing::random_bytes(23, seed);
    body = f.encode();
  };
  expect_abort(100, 65);
  m_mitm->plain[65] = [](Bytes& body) {
    Sign1Fields f = Sign1Fields::of(body);
    f.unprotected[to2::kCuphNonce] = from_hex("5000000000000000000000000000000000");
    body = f.encode();
  };
  expect_abort(100, 65);
  m_mitm->plain[65] = [](Bytes& body) {
    Sign1Fields f = Sign1Fields::of(body);
    f.payload = fuzzed(f.payload, seed);
    body = f.encode();
  };
  expect_abort(100, 65);
  m_mitm->plain[65] = [](Bytes& body) {
    Sign1Fields f = Sign1Fields::of(body);
    f.signature = fuzzed(f.signature, seed);
    body = f.encode();
  };
  expect_abort(101, 65);
}

TEST_P(To2DeviceConformance, DEV_19_FuzzedSetupDevicePlaintextAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->plain[65] = [seed](Bytes& body) { body = fuzzed(body, seed); };
    expect_abort(100, 65);
  }
}

TEST_P(To2DeviceConformance, DEV_20_CorruptedSetupDeviceWrapperAborts101) {
  for (const Corrupt where : {Corrupt::Ciphertext, Corrupt::Iv}) {
    m_mitm->wire[65] = [where](transport::Response& r) { r.body = corrupt_wrapper(r.body, where, 2); };
    expect_abort(101, 65);
  }
}

TEST_P(To2DeviceConformance, DEV_21_FuzzedEncryptedSetupDeviceAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->wire[65] = [seed](transport::Response& r) { r.body = fuzzed(r.body, seed); };
    expect_abort(100, 65);
  }
}

TEST_P(To2DeviceConformance, DEV_22_FuzzedOwnerServiceInfoReadyPlaintextAborts100) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->plain[67] = [seed](Bytes& body) { body = fuzzed(body, seed); };
    expect_abort(100, 67);
  }
}

TEST_P(To2DeviceConformance, DEV_23_CorruptedOwnerServiceInfoReadyWrapperAborts101) {
  for (const Corrupt where : {Corrupt::Ciphertext, Corrupt::Iv}) {
    m_mitm->wire[67] = [where](transport::Response& r) { r.body = corrupt_wrapper(r.body, where, 1); };
    expect_abort(101, 67);
  }
}

TEST_P(To2DeviceConformance, DEV_24_Done2WithARandomNonceAborts101WithoutANewCredential) {
  m_mitm->plain[71] = [](Bytes& body) { body = to2::Done2{.nonce_to2_setup_dv = Nonce::random()}.encode(); };
  expect_abort(101, 71);
}

TEST_P(To2DeviceConformance, DEV_25_FuzzedDone2PlaintextAborts100WithoutANewCredential) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    m_mitm->plain[71] = [seed](Bytes& body) { body = fuzzed(body, seed); };
    expect_abort(100, 71);
  }
}

TEST_P(To2DeviceConformance, DEV_26_CorruptedDone2WrapperAborts101WithoutANewCredential) {
  for (const Corrupt where : {Corrupt::Ciphertext, Corrupt::Iv}) {
    m_mitm->wire[71] = [where](transport::Response& r) { r.body = corrupt_wrapper(r.body, where, 4); };
    expect_abort(101, 71);
  }
}

TEST(To2DeviceReuse, DEV_27_ReuseKeepsTheGuidAfterEveryEntryAndTheNineDevmodKeys) {
  auto tv = make_test_voucher("p256", "p256", 3, kGuid);
  OwnerServer server(*tv);
  server.policy.plan_for = [](const Guid&, std::string_view) {
    return DevicePlan{.reuse = true, .rendezvous_info = std::nullopt, .service_info = {}};
  };
  To2Mitm mitm(server);
  const To2Result result = onboard(mitm, credential_for(*tv));
  EXPECT_TRUE(result.reused);
  EXPECT_EQ(result.credential.dc_guid, kGuid);
  std::vector<int> asked;
  for (const auto& [type, body] : mitm.received) {
    if (type == 62) {
      asked.push_back(to2::GetOVNextEntry::decode(body).ov_entry_num);
    }
  }
  EXPECT_EQ(asked, (std::vector<int>{0, 1, 2}));
  std::set<std::string> keys;
  for (const auto& [type, plain] : mitm.opened) {
    if (type == 68) {
      for (const serviceinfo::ServiceInfoKv& kv : to2::DeviceServiceInfo::decode(plain).service_info) {
        keys.insert(kv.key);
      }
    }
  }
  for (const char* key : {"active", "os", "arch", "version", "device", "sep", "bin", "nummodules", "modules"}) {
    EXPECT_TRUE(keys.contains(std::string("devmod:") + key)) << key;
  }
  // The owner offered reuse and the device accepted it: ReplacementHMac null.
  ASSERT_FALSE(mitm.opened.empty());
  EXPECT_EQ(mitm.opened.front().first, 66);
  EXPECT_FALSE(to2::DeviceServiceInfoReady::decode(mitm.opened.front().second).replacement_hmac);
}

// ---- DEV-35 .. DEV-46: the device's checks of who it is talking to (FDO 1.1 §5.5.3-§5.5.10) ----

// A rogue owner that holds a key of its own: it signs TO2.ProveOVHdr with it and names it in CUPHOwnerPubKey, with
// the real header and HMAC. The signature verifies; the voucher's last OVEPubKey does not match.
void sign_61_as(To2Mitm& mitm, const crypto::PrivateKey& rogue) {
  mitm.plain[61] = [&rogue](Bytes& body) {
    const to2::ProveOVHdr h = to2::ProveOVHdr::decode(body);
    body = to2::ProveOVHdr::sign(rogue, crypto::SigAlg::ES256, h.payload, h.cuph_nonce,
                                 PublicKey::from_key(rogue.public_key()))
               .encode();
  };
}

TEST_P(To2DeviceConformance, DEV_35_RedirectSignedByAnotherKeyToARogueOwnerAbortsAfterTheEntries) {
  const crypto::PrivateKey rogue = crypto::PrivateKey::generate(crypto::KeyType::P256);
  // The to1d of TO1.RVRedirect: the rogue owner's address, validly signed, but not by the voucher's owner key.
  const Bytes to0d_hash_input = from_hex("00");
  const to0::To1dBlobPayload payload{.to1d_rv = RVTO2Addr::from_urls(std::vector<std::string>{"http://127.0.0.1:9"}),
                                     .to1d_to0d_hash = Hash::compute(HashType::Sha256, to0d_hash_input)};
  const Bytes to1d = cose::Sign1::sign(rogue, crypto::SigAlg::ES256, payload.encode()).encode();
  sign_61_as(*m_mitm, rogue);
  To2DeviceOptions options;
  options.to1d = to1d;
  expect_late_abort(101, 63, std::move(options));
  // The real owner with that to1d: the owner key of the voucher does not verify it (FDO 1.1 §5.5.3 check 11).
  To2DeviceOptions again;
  again.to1d = to1d;
  expect_late_abort(101, 63, std::move(again));
}

TEST_P(To2DeviceConformance, DEV_36_ProveOVHdrSignedByARogueKeyItAlsoNamesAbortsAfterTheLastEntry) {
  const crypto::PrivateKey rogue = crypto::PrivateKey::generate(crypto::KeyType::P256);
  sign_61_as(*m_mitm, rogue);
  expect_late_abort(101, 63);
}

TEST_P(To2DeviceConformance, DEV_37_EntryWhosePrevHashMissesTheEntryBeforeAborts101) {
  const crypto::PrivateKey& signer = m_tv->fx.owner_after(1);  // entry 1 is signed by owner 1
  m_mitm->plain[63] = [&signer](Bytes& body) {
    const to2::OVNextEntry e = to2::OVNextEntry::decode(body);
    if (e.ov_entry_num != 1) {
      return;
    }
    voucher::OVEntryPayload p = voucher::OVEntry::decode(e.ov_entry, 1).payload;
    p.ove_hash_prev_entry = Hash::compute(HashType::Sha256, from_hex("00"));  // not entry 0's hash
    body = entry_answer(1, p, signer, crypto::SigAlg::ES256);
  };
  expect_abort(101, 63);
}

TEST_P(To2DeviceConformance, DEV_38_HeaderWithAnotherManufacturerKeyAndARecomputedHmacAborts101) {
  const crypto::PrivateKey other = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const SoftwareHmac hmac(m_credential.dc_hmac_secret.clone());
  rewrite_61([&](to2::ProveOVHdrPayload& p) {
    voucher::OVHeader header = voucher::OVHeader::decode(p.ov_header);
    header.ov_pub_key = PublicKey::from_key(other.public_key());
    p.ov_header = header.encode();
    // The device's own secret (what `fdo-device show --reveal` prints) makes the HMAC right again.
    p.hmac = Hash(p.hmac.type(), hmac.hmac(hash_alg_of(p.hmac.type()), p.ov_header));
  });
  expect_abort(101, 61);
}

TEST_P(To2DeviceConformance, DEV_39_FlippedHmacOrAnotherGuidWithARecomputedHmacAborts101) {
  rewrite_61([](to2::ProveOVHdrPayload& p) {
    Bytes value(p.hmac.value().begin(), p.hmac.value().end());
    value[7] ^= 0x01;
    p.hmac = Hash(p.hmac.type(), value);
  });
  expect_abort(101, 61);
  const SoftwareHmac hmac(m_credential.dc_hmac_secret.clone());
  rewrite_61([&](to2::ProveOVHdrPayload& p) {
    voucher::OVHeader header = voucher::OVHeader::decode(p.ov_header);
    header.ov_guid = Guid::random();
    p.ov_header = header.encode();
    p.hmac = Hash(p.hmac.type(), hmac.hmac(hash_alg_of(p.hmac.type()), p.ov_header));
  });
  expect_abort(101, 61);
}

TEST_P(To2DeviceConformance, DEV_40_NoEntriesOrAChainThatChangesKeyTypeAborts101) {
  rewrite_61([](to2::ProveOVHdrPayload& p) { p.num_ov_entries = 0; });
  expect_abort(101, 61);
  // Entry 0 hands the device to a P-384 key, which validly signs entry 1 back to the owner's P-256 key.
  const crypto::PrivateKey p384 = crypto::PrivateKey::generate(crypto::KeyType::P384);
  const crypto::PrivateKey& manufacturer = m_tv->fx.owner_after(0);
  auto entry0 = std::make_shared<Bytes>();
  m_mitm->plain[63] = [&, entry0](Bytes& body) {
    const to2::OVNextEntry e = to2::OVNextEntry::decode(body);
    voucher::OVEntryPayload p = voucher::OVEntry::decode(e.ov_entry, e.ov_entry_num).payload;
    if (e.ov_entry_num == 0) {
      p.ove_pub_key = PublicKey::from_key(p384.public_key());
      body = entry_answer(0, p, manufacturer, crypto::SigAlg::ES256);
      *entry0 = to2::OVNextEntry::decode(body).ov_entry;
    } else {
      p.ove_hash_prev_entry = Hash::compute(HashType::Sha256, *entry0);
      body = entry_answer(1, p, p384, crypto::SigAlg::ES384);
    }
  };
  expect_abort(101, 63);
}

TEST_P(To2DeviceConformance, DEV_41_SetupDeviceSignedByTheOwnerKeyButNamingAnotherOwner2KeyAborts101) {
  const crypto::PrivateKey other = crypto::PrivateKey::generate(crypto::KeyType::P256);
  rewrite_65([&other](Bytes& payload) {
    to2::SetupDevicePayload p = to2::SetupDevicePayload::decode(payload);
    p.owner2_key = PublicKey::from_key(other.public_key());
    payload = p.encode();
  });
  expect_abort(101, 65);
}

TEST_P(To2DeviceConformance, DEV_42_SetupDeviceWithAnEmptyRendezvousInfoAborts100) {
  rewrite_65([](Bytes& payload) {
    cbor::Reader r(payload, "payload");
    r.read_array_of("payload", 4);
    (void)r.read_raw("RendezvousInfo");
    cbor::Writer w;
    w.array(4).array(0);
    for (int i = 0; i < 3; ++i) {
      w.raw(r.read_raw("field"));
    }
    payload = std::move(w).take();
  });
  expect_abort(100, 65);
}

TEST_P(To2DeviceConformance, DEV_43_ReuseOfferedToADeviceThatRefusesItIs102AndTheCredentialIsKept) {
  auto tv = make_test_voucher("p256", "p256", 2, kGuid);
  OwnerServer server(*tv);
  server.policy.plan_for = [](const Guid&, std::string_view) {
    return DevicePlan{.reuse = true, .rendezvous_info = std::nullopt, .service_info = {}};
  };
  To2Mitm mitm(server);
  To2DeviceOptions options;
  options.allow_reuse = false;
  const DeviceCredential before = credential_for(*tv);
  try {
    (void)onboard(mitm, before, std::move(options));
    ADD_FAILURE() << "the device accepted reuse";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), 102);
  }
  const std::optional<ErrorMessage> sent = mitm.device_error();
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->em_error_code, 102);
  EXPECT_EQ(sent->em_prev_msg_id, 65);
  EXPECT_EQ(before.dc_guid, kGuid);
}

TEST_P(To2DeviceConformance, DEV_46_ConnectionLostInsteadOfDone2KeepsTheOldCredentialThatOnboardsAgain) {
  m_mitm->wire[71] = [](transport::Response&) { throw_transport("connection closed by the test before TO2.Done2"); };
  EXPECT_NE(run(), 0);
  EXPECT_FALSE(m_result);
  EXPECT_EQ(m_credential.dc_guid, kGuid);
  // The owner committed its replacement at TO2.Done, yet still serves the old GUID (docs/conformance.md TO2-33).
  m_mitm = std::make_unique<To2Mitm>(*m_server);
  const To2Result again = onboard(*m_server, m_credential);
  EXPECT_NE(again.credential.dc_guid, kGuid);
}

TEST_P(To2DeviceConformance, DEV_29_FidoAllianceModuleFromTheOwnerIsHandledAndTo2Completes) {
  // The conformance tools' owner activates fido_alliance and sends its token, whatever devmod:modules says.
  bool first = true;
  m_mitm->plain[69] = [this, &first](Bytes& body) {
    // The first 69 after devmod is complete (a 68 without IsMoreServiceInfo).
    if (!first || to2::DeviceServiceInfo::decode(m_mitm->opened.back().second).is_more_service_info) {
      return;
    }
    first = false;
    body = to2::OwnerServiceInfo{
        .is_more_service_info = false,
        .is_done = false,
        .service_info = {serviceinfo::make_kv("fido_alliance", "active", serviceinfo::bool_value(true)),
                         serviceinfo::make_kv("fido_alliance", "dev_conformance",
                                              serviceinfo::tstr_value("conformance-token-0123456789"))}}
               .encode();
  };
  EXPECT_EQ(run(), 0);
  ASSERT_TRUE(m_result);
  EXPECT_FALSE(m_mitm->device_error()) << m_mitm->device_error()->em_error_str;
  EXPECT_NE(m_result->credential.dc_guid, kGuid);
}

// Every line twice: in process, and over HTTP on 127.0.0.1 through the real server and client bindings.
INSTANTIATE_TEST_SUITE_P(Wire, To2OwnerConformance, ::testing::Values(Wire::Loopback, Wire::Http), testing::wire_name);
INSTANTIATE_TEST_SUITE_P(Wire, To2DeviceConformance, ::testing::Values(Wire::Loopback, Wire::Http), testing::wire_name);

}  // namespace
}  // namespace fdo::protocol
