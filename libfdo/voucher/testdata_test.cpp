// The vouchers in libfdo/testdata/voucher/ (made by our own code, see its README) still decode, re-encode
// byte for byte and verify, including the header HMAC with the fixture's secret. With FDO_REGENERATE_TESTDATA=1
// the test writes them anew (and the voucher_parse fuzz seeds made from them) before checking.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "libfdo/core/file.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher_test_fixture.h"

namespace fdo::voucher {
namespace {

struct StoredVoucher {
  const char* name;
  testing::Profile profile;
  std::size_t entries;
  bool extra;
};

std::vector<StoredVoucher> stored() {
  return {
      {"p256-0-entries", testing::profile("p256"), 0, false},
      {"p256-3-entries", testing::profile("p256"), 3, false},
      {"p256-extra-1-entry", testing::profile("p256"), 1, true},
      {"p256-cosekey-1-entry", testing::profile("p256", "p256", std::nullopt, PkEnc::CoseKey), 1, false},
      {"p384-2-entries", testing::profile("p384", "p384"), 2, false},
      {"rsa2048-pss-2-entries", testing::profile("rsa2048", "p256", PkType::RsaPss), 2, false},
      {"rsa3072-1-entry", testing::profile("rsa3072", "p384"), 1, false},
  };
}

const std::string kDir = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/voucher/";
const std::string kCorpus = std::string(FDO_SOURCE_DIR) + "/libfdo/fuzz/corpus/voucher_parse/";

OwnershipVoucher make(const StoredVoucher& s) {
  const testing::Fixture f(s.profile);
  if (!s.extra) {
    return f.extended(s.entries);
  }
  ExtendOptions options;
  options.extra = OVEExtraInfo{{-65537, to_bytes("reseller note")}};
  return extend(f.fresh(), f.owners[0], f.wire_key(1), options);
}

void regenerate() {
  for (const StoredVoucher& s : stored()) {
    const OwnershipVoucher ov = make(s);
    const std::string pem = to_pem(ov.encode());
    write_file_atomic(kDir + s.name + ".voucher.pem", to_bytes(pem), 0644);
    write_file_atomic(kCorpus + "ours-" + s.name + ".cbor", ov.encode(), 0644);
  }
  // The conformance tools' bundle: the voucher, then the owner's private key ("voucher-key-bundle").
  const testing::Fixture f;
  const std::string bundle = to_pem(f.extended(1).encode()) + to_string(f.owners[1].to_pem().view());
  write_file_atomic(kCorpus + "ours-p256-bundle-with-key.pem", to_bytes(bundle), 0644);
}

TEST(VoucherTestdata, StoredVouchersVerifyAndRoundTrip) {
  if (const char* env = std::getenv("FDO_REGENERATE_TESTDATA"); env != nullptr && std::string(env) == "1") {
    regenerate();
  }
  for (const StoredVoucher& s : stored()) {
    const std::vector<VoucherInput> inputs = read_vouchers(read_file(kDir + s.name + ".voucher.pem"));
    ASSERT_EQ(inputs.size(), 1u) << s.name;
    const Bytes& cbor = inputs[0].cbor;
    const OwnershipVoucher ov = OwnershipVoucher::decode(cbor);
    EXPECT_EQ(ov.encode(), cbor) << s.name;
    EXPECT_EQ(ov.entries().size(), s.entries) << s.name;
    VerifyOptions options;
    options.hmac_secret = testing::Fixture(s.profile).secret();
    options.allow_zero_entries = s.entries == 0;
    const VerifyReport report = verify(cbor, options);
    EXPECT_TRUE(report.valid) << s.name << "\n" << report.to_text();
    EXPECT_NE(report.find(check::kHeaderHmac), nullptr);
  }
}

}  // namespace
}  // namespace fdo::voucher
