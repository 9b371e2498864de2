// import_vouchers (owner/voucher_import.h): full verification, the owner-key check, PEM and CBOR sequences, and the
// status a (re-)import leaves behind.

#include "owner/voucher_import.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/hex.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/protocol/bad_voucher_test_support.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/voucher/pem.h"

namespace fdo::owner_tool {
namespace {

using protocol::testing::BadVoucher;
using protocol::testing::BadVouchers;
using protocol::testing::make_test_voucher;
using protocol::testing::TestVoucher;

constexpr std::int64_t kNow = 1'700'000'000;

class VoucherImport : public ::testing::Test {
 protected:
  VoucherImport() : m_tv(make_test_voucher("p256", "p256", 1, Guid::random())) {}

  [[nodiscard]] const TestVoucher& tv() const { return *m_tv; }
  [[nodiscard]] const crypto::PrivateKey& owner() const { return *m_tv->owner; }

  std::unique_ptr<storage::Store> m_store = storage::make_memory_store();

 private:
  std::unique_ptr<TestVoucher> m_tv;
};

TEST_F(VoucherImport, StoresAVoucherOwnedByThisKeyAsImported) {
  const std::vector<ImportOutcome> out =
      import_vouchers(*m_store, owner(), to_bytes(voucher::to_pem(tv().bytes)), kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok) << out[0].detail;
  EXPECT_TRUE(out[0].guid_known);
  EXPECT_EQ(out[0].guid, tv().guid());
  EXPECT_EQ(out[0].detail, "imported");
  const auto tx = m_store->begin();
  const std::optional<storage::VoucherRecord> v = tx->get_voucher(tv().guid());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->voucher, tv().bytes);
  EXPECT_EQ(v->serial, "");
  EXPECT_EQ(v->device_info, tv().fx.input.device_info);
  EXPECT_EQ(v->created_at, kNow);
  const PublicKey wire = PublicKey::from_key(owner().public_key());
  EXPECT_EQ(v->owner_key_id, to_hex(crypto::hash(crypto::HashAlg::Sha256, wire.raw())));
  EXPECT_EQ(owner_key_id(tv().bytes), v->owner_key_id);
  const std::optional<storage::OwnerDeviceRecord> d = tx->get_owner_device(tv().guid());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, "imported");
  EXPECT_EQ(d->onboard_count, 0);
  EXPECT_EQ(d->to0_expires_at, 0);
  EXPECT_EQ(d->updated_at, kNow);
}

TEST_F(VoucherImport, RefusesAVoucherNotExtendedToThisOwnersKey) {
  const crypto::PrivateKey& other = tv().fx.owners.at(2);
  const std::vector<ImportOutcome> out = import_vouchers(*m_store, other, tv().bytes, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].guid, tv().guid());
  EXPECT_EQ(out[0].detail.rfind("owner key: not extended to this owner's key", 0), 0u) << out[0].detail;
  const auto tx = m_store->begin();
  EXPECT_TRUE(tx->list_vouchers().empty());
  EXPECT_TRUE(tx->list_owner_devices().empty());
}

TEST_F(VoucherImport, RefusesABrokenEntrySignatureNamingTheEntry) {
  const std::unique_ptr<TestVoucher> two = make_test_voucher("p256", "p256", 2, Guid::random());
  Bytes broken = two->bytes;
  broken.back() ^= 0x01;  // the last bytes are entry 1's signature
  const std::vector<ImportOutcome> out = import_vouchers(*m_store, *two->owner, broken, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].detail.rfind("entry signature [entry 1]: ", 0), 0u) << out[0].detail;
  EXPECT_TRUE(m_store->begin()->list_vouchers().empty());
}

TEST_F(VoucherImport, RefusesAVoucherWithoutEntries) {
  const std::unique_ptr<TestVoucher> fresh = make_test_voucher("p256", "p256", 0, Guid::random());
  const std::vector<ImportOutcome> out = import_vouchers(*m_store, *fresh->owner, fresh->bytes, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].detail.rfind("entries count: ", 0), 0u) << out[0].detail;
}

TEST_F(VoucherImport, ImportsEachVoucherOfAPemFileOrACborSequence) {
  const std::unique_ptr<TestVoucher> second = make_test_voucher("p256", "p256", 1, Guid::random());
  const std::unique_ptr<TestVoucher> foreign = make_test_voucher("p256", "p256", 2, Guid::random());
  const std::string pem =
      voucher::to_pem(tv().bytes) + voucher::to_pem(foreign->bytes) + voucher::to_pem(second->bytes);
  const std::vector<ImportOutcome> out = import_vouchers(*m_store, owner(), to_bytes(pem), kNow);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_FALSE(out[1].ok);  // extended once more, to another owner
  EXPECT_EQ(out[1].index, 2u);
  EXPECT_EQ(out[1].guid, foreign->guid());
  EXPECT_TRUE(out[2].ok);
  EXPECT_EQ(m_store->begin()->list_vouchers().size(), 2u);

  const std::unique_ptr<storage::Store> other = storage::make_memory_store();
  Bytes sequence = tv().bytes;
  sequence.insert(sequence.end(), second->bytes.begin(), second->bytes.end());
  const std::vector<ImportOutcome> seq = import_vouchers(*other, owner(), sequence, kNow);
  ASSERT_EQ(seq.size(), 2u);
  EXPECT_TRUE(seq[0].ok) << seq[0].detail;
  EXPECT_TRUE(seq[1].ok) << seq[1].detail;
  EXPECT_EQ(seq[1].guid, second->guid());
}

TEST_F(VoucherImport, AFileWithoutAVoucherIsOneRefusal) {
  const std::vector<ImportOutcome> out =
      import_vouchers(*m_store, owner(), to_bytes(owner().public_key().to_pem()), kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_FALSE(out[0].guid_known);
  EXPECT_EQ(out[0].detail.rfind("not an ownership voucher: ", 0), 0u) << out[0].detail;
  const std::vector<ImportOutcome> garbage = import_vouchers(*m_store, owner(), to_bytes("\x01\x02xyz"), kNow);
  ASSERT_EQ(garbage.size(), 1u);
  EXPECT_FALSE(garbage[0].ok);
}

TEST_F(VoucherImport, ReimportResetsTheStatusButKeepsTheOnboardCount) {
  ASSERT_TRUE(import_vouchers(*m_store, owner(), tv().bytes, kNow).at(0).ok);
  {
    const auto tx = m_store->begin();
    storage::OwnerDeviceRecord d = *tx->get_owner_device(tv().guid());
    d.state = "failed";
    d.step = "TO2.ProveDevice";
    d.error = "INVALID_MESSAGE_ERROR (101): bad signature";
    d.to0_expires_at = kNow + 3600;
    d.to0_detail = "http://127.0.0.1:8040: 3600 s";
    d.onboard_count = 2;
    tx->put_owner_device(d);
    tx->commit();
  }
  const std::vector<ImportOutcome> again = import_vouchers(*m_store, owner(), tv().bytes, kNow + 50);
  ASSERT_TRUE(again.at(0).ok);
  EXPECT_EQ(again[0].detail, "replaced the stored voucher");
  const storage::OwnerDeviceRecord d = *m_store->begin()->get_owner_device(tv().guid());
  EXPECT_EQ(d, (storage::OwnerDeviceRecord{.guid = tv().guid(),
                                           .state = "imported",
                                           .step = "",
                                           .error = "",
                                           .new_guid = "",
                                           .to0_expires_at = 0,
                                           .to0_detail = "",
                                           .onboard_count = 2,
                                           .updated_at = kNow + 50,
                                           .replaces = "",
                                           .modules = ""}));
  EXPECT_EQ(m_store->begin()->get_voucher(tv().guid())->created_at, kNow + 50);
}

// ---- OV-01..OV-15 at the owner (docs/conformance.md §5) ----
// `fdo-owner vouchers import` refuses each of the conformance tools' bad vouchers and stores nothing, so that
// TO2.HelloDevice for its GUID is 6. The owner holds the voucher's last key: only the mutation is wrong.
class ImportBadVoucher : public ::testing::Test {
 protected:
  void expect_refused(std::string_view id) {
    const std::vector<BadVoucher> bad = m_bad.make(id);
    ASSERT_FALSE(bad.empty()) << id;
    for (const BadVoucher& b : bad) {
      const std::unique_ptr<storage::Store> store = storage::make_memory_store();
      const std::vector<ImportOutcome> out = import_vouchers(*store, OwnerKeyRing(*b.owner), b.voucher, kNow);
      ASSERT_EQ(out.size(), 1u) << id << ": " << b.what;
      EXPECT_FALSE(out[0].ok) << id << ": " << b.what;
      EXPECT_FALSE(out[0].detail.empty()) << id << ": " << b.what;
      const auto tx = store->begin();
      EXPECT_TRUE(tx->list_vouchers().empty()) << id << ": " << b.what;
    }
  }

  std::unique_ptr<TestVoucher> m_tv = make_test_voucher("p256", "p256", 1, Guid::random());
  BadVouchers m_bad{m_tv->fx};
};

TEST_F(ImportBadVoucher, TheSameChainWithoutAFaultIsImported) {
  const BadVoucher good = m_bad.good();
  const std::unique_ptr<storage::Store> store = storage::make_memory_store();
  const std::vector<ImportOutcome> out = import_vouchers(*store, OwnerKeyRing(*good.owner), good.voucher, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok) << out[0].detail;
}

TEST_F(ImportBadVoucher, OV_01_HeaderProtocolVersionFrom105To10000IsRefused) { expect_refused("OV-01"); }
TEST_F(ImportBadVoucher, OV_02_EmptyRendezvousInfoIsRefused) { expect_refused("OV-02"); }
TEST_F(ImportBadVoucher, OV_03_EmptyDeviceInfoIsRefused) { expect_refused("OV-03"); }
TEST_F(ImportBadVoucher, OV_04_ManufacturerKeyWithRandomBodyOtherEncodingOrOtherTypeIsRefused) { expect_refused("OV-04"); }
TEST_F(ImportBadVoucher, OV_05_CertChainHashOfRandomBytesOrAnotherHashTypeIsRefused) { expect_refused("OV-05"); }
TEST_F(ImportBadVoucher, OV_06_FuzzedHeaderBytesAreRefused) { expect_refused("OV-06"); }
TEST_F(ImportBadVoucher, OV_07_RandomOrOtherTypeHeaderHmacIsRefused) { expect_refused("OV-07"); }
TEST_F(ImportBadVoucher, OV_08_VoucherProtocolVersionFrom105To10000IsRefused) { expect_refused("OV-08"); }
TEST_F(ImportBadVoucher, OV_09_FuzzedExtraCertificateInTheChainIsRefused) { expect_refused("OV-09"); }
TEST_F(ImportBadVoucher, OV_10_VoucherWithoutEntriesIsRefused) { expect_refused("OV-10"); }
TEST_F(ImportBadVoucher, OV_11_WrongHdrInfoHashFromAnEntryOnIsRefused) { expect_refused("OV-11"); }
TEST_F(ImportBadVoucher, OV_12_WrongPrevEntryHashIsRefused) { expect_refused("OV-12"); }
TEST_F(ImportBadVoucher, OV_13_P384OwnerKeysFromAnEntryOnInAP256ChainAreRefused) { expect_refused("OV-13"); }
TEST_F(ImportBadVoucher, OV_14_FuzzedEntrySignatureIsRefused) { expect_refused("OV-14"); }
TEST_F(ImportBadVoucher, OV_15_MutatedNextOwnerKeyIsRefused) { expect_refused("OV-15"); }

}  // namespace
}  // namespace fdo::owner_tool
