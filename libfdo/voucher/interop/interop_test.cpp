// OV-22: the vouchers in libfdo/testdata/interop/, made by other FDO implementations, read as they are and never
// edited (libfdo/testdata/interop/README.md gives each file's source and the expected results).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/core/file.h"
#include "libfdo/core/quirks.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/summary.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::voucher {
namespace {

const std::string kInteropDir = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/interop/";

Bytes read_single(const std::string& name) {
  std::vector<VoucherInput> vouchers = read_vouchers(read_file(kInteropDir + name));
  EXPECT_EQ(vouchers.size(), 1u);
  return std::move(vouchers.front().cbor);
}

std::vector<std::string> failed_checks(const VerifyReport& report) {
  std::vector<std::string> out;
  for (const Check& c : report.checks) {
    if (!c.ok) {
      out.push_back(c.name);
    }
  }
  return out;
}

TEST(InteropVoucher, FdoRsVoucher2VerifiesCompletely) {
  const Bytes cbor = read_single("fdo-rs-v101-voucher2.pem");
  const OwnershipVoucher ov = OwnershipVoucher::decode(cbor);
  EXPECT_EQ(ov.header().ov_guid.hex(), "ac00da6107e8405eacc494aef3f68966");
  EXPECT_EQ(ov.header().ov_device_info, "DemoDevice");
  EXPECT_EQ(ov.header_hmac().type(), HashType::HmacSha256);
  EXPECT_EQ(ov.entry_hash_type(), HashType::Sha256);
  ASSERT_EQ(ov.entries().size(), 2u);
  EXPECT_EQ(ov.header().ov_pub_key.pk_type(), PkType::Secp256r1);
  EXPECT_EQ(ov.encode(), cbor);

  const VerifyReport report = verify(cbor);
  EXPECT_TRUE(report.valid) << report.to_text();
  EXPECT_TRUE(failed_checks(report).empty()) << report.to_text();
  for (std::size_t i = 0; i < 2; ++i) {
    for (const std::string_view name :
         {check::kEntrySignature, check::kEntryHashLink, check::kEntryHdrInfoHash, check::kEntryKeyType}) {
      const Check* c = report.find(name, i);
      ASSERT_NE(c, nullptr) << name << " entry " << i;
      EXPECT_TRUE(c->ok) << c->detail;
    }
  }
  ASSERT_NE(report.find(check::kDevCertChainHash), nullptr);
  EXPECT_TRUE(report.find(check::kDevCertChainHash)->ok);
  EXPECT_EQ(report.find(check::kEntrySignature, 0)->detail, "ES256 signature verifies with OVPubKey");
}

TEST(InteropVoucher, FdoRsVoucher1FailsOnlyTheCertChainHash) {
  const Bytes cbor = read_single("fdo-rs-v101-voucher1.pem");
  const OwnershipVoucher ov = OwnershipVoucher::decode(cbor);
  EXPECT_EQ(ov.header().ov_guid.hex(), "18907279a41d049aae3c4da4ce61c14b");
  EXPECT_EQ(ov.header().ov_device_info, "testdevice");
  EXPECT_EQ(ov.entry_hash_type(), HashType::Sha384);
  EXPECT_EQ(ov.header().ov_pub_key.pk_type(), PkType::Secp256r1);
  ASSERT_EQ(ov.entries().size(), 1u);
  EXPECT_EQ(ov.encode(), cbor);

  const VerifyReport report = verify(cbor);
  EXPECT_FALSE(report.valid);
  EXPECT_EQ(failed_checks(report), std::vector<std::string>{std::string(check::kDevCertChainHash)})
      << report.to_text();
  EXPECT_NE(report.find(check::kDevCertChainHash)->detail.find("legacy"), std::string::npos);
  // The entry itself verifies.
  EXPECT_TRUE(report.find(check::kEntrySignature, 0)->ok);
  EXPECT_TRUE(report.find(check::kEntryHashLink, 0)->ok);
  EXPECT_TRUE(report.find(check::kEntryHdrInfoHash, 0)->ok);
}

TEST(InteropVoucher, FdoRsVoucher1IsValidWithLegacyCertChainHashAndWarns) {
  const Bytes cbor = read_single("fdo-rs-v101-voucher1.pem");
  VerifyOptions options;
  options.leniency = Leniency({Quirk::LegacyCertChainHash});
  testing::internal::CaptureStderr();
  const VerifyReport report = verify(cbor, options);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(report.valid) << report.to_text();
  EXPECT_NE(log.find("legacy-cert-chain-hash"), std::string::npos) << log;
  EXPECT_NE(log.find("WARN"), std::string::npos) << log;
}

TEST(InteropVoucher, PriV100ParsesShowsAndReportsProtocolVersion100) {
  const std::vector<VoucherInput> inputs = read_vouchers(read_file(kInteropDir + "pri-v100-voucher1.pem"));
  ASSERT_EQ(inputs.size(), 1u);
  // The file bundles the owner's private key after the voucher (P23).
  EXPECT_TRUE(inputs.front().private_key_pem.has_value());
  const Bytes& cbor = inputs.front().cbor;
  EXPECT_EQ(peek_protocol_version(cbor), 100u);

  const VoucherSummary summary = summarize(cbor);
  EXPECT_EQ(summary.protocol_version, 100u);
  EXPECT_EQ(summary.guid, "56d82437f0184621868561c4a48324c2");
  EXPECT_EQ(summary.device_info, "Java Device");
  EXPECT_TRUE(summary.rv_info.has_value()) << summary.to_text();
  ASSERT_TRUE(summary.manufacturer_key.has_value());
  EXPECT_EQ(summary.manufacturer_key->key_type, "p256");
  EXPECT_EQ(summary.certificates.size(), 2u);
  ASSERT_EQ(summary.entries.size(), 1u);
  EXPECT_EQ(summary.entries[0].signature_alg, "ES256");
  ASSERT_TRUE(summary.entries[0].next_owner_key.has_value());
  EXPECT_EQ(summary.entries[0].next_owner_key->key_type, "p256");

  const VerifyReport report = verify(cbor);
  EXPECT_FALSE(report.valid);
  ASSERT_EQ(report.checks.size(), 1u);
  EXPECT_EQ(report.checks[0].name, check::kProtocolVersion);
  EXPECT_NE(report.checks[0].detail.find("protocol version 100"), std::string::npos);

  try {
    static_cast<void>(OwnershipVoucher::decode(cbor));
    ADD_FAILURE() << "a 1.0 voucher decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("protocol version 100"), std::string::npos) << e.what();
  }
}

TEST(InteropVoucher, EveryInteropVoucherCanBeShown) {
  for (const char* name : {"fdo-rs-v101-voucher1.pem", "fdo-rs-v101-voucher2.pem", "pri-v100-voucher1.pem"}) {
    const Bytes cbor = read_single(name);
    const VoucherSummary summary = summarize(cbor);
    EXPECT_TRUE(summary.guid.has_value()) << name;
    EXPECT_TRUE(summary.manufacturer_key.has_value()) << name;
    EXPECT_FALSE(summary.entries.empty()) << name;
    EXPECT_FALSE(summary.to_text().empty());
  }
}

}  // namespace
}  // namespace fdo::voucher
