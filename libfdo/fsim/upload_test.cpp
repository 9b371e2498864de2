#include "libfdo/fsim/upload.h"

#include <gtest/gtest.h>

#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/transfer_test_support.h"

namespace fdo::fsim {
namespace {

using serviceinfo::ModuleState;
using Kvs = std::vector<std::pair<std::string, Bytes>>;

// A device root holding logs/big.bin and a plan directory, owner and device halves ready.
struct UploadRig : testing::TransferRig<UploadDevice> {
  explicit UploadRig(std::size_t size) : TransferRig("ul", testing::test_bytes(size, 7)) {
    std::filesystem::create_directories(root.path() / "logs");
    write_file_atomic(root.path() / "logs" / "big.bin", content);
  }
  [[nodiscard]] static serviceinfo::Plan plan(const serviceinfo::ModuleParams::Values& extra = {}) {
    return plan_of(kUpload, {{"name", {"logs/big.bin"}}}, extra);
  }
  /// The summary the owner records for a device that answers `answers` (the module not required).
  [[nodiscard]] std::string failure(const Kvs& answers) const {
    const testing::Exchange e =
        run(std::make_unique<testing::ScriptedDevice>(std::string(kUpload), answers), plan({{"required", {"false"}}}));
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kUpload);
    EXPECT_EQ(o.state, ModuleState::Done);
    return o.summary;
  }
};

TEST(Upload, OneMebibyteCrossesMtus1300And8192WithMatchingChecksums) {
  for (const auto& [device_mtu, owner_mtu] :
       std::vector<std::pair<std::size_t, std::size_t>>{{1300, 1300}, {8192, 8192}, {8192, 1300}}) {
    SCOPED_TRACE(std::to_string(device_mtu) + "/" + std::to_string(owner_mtu));
    const UploadRig rig(std::size_t{1} << 20);
    const testing::Exchange e = rig.run(rig.device(), rig.plan({{"to", {"uploads"}}}), device_mtu, owner_mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kUpload);
    EXPECT_EQ(o.state, ModuleState::Done) << o.error;
    const std::string sha = to_hex(crypto::hash(crypto::HashAlg::Sha384, rig.content));
    EXPECT_NE(o.summary.find("1048576 bytes, sha-384 " + sha + " (matches the device's), stored in"), std::string::npos)
        << o.summary;
    EXPECT_EQ(read_file(rig.plan_dir.path() / "uploads" / "big.bin"), rig.content);
    // One block fills each 68: 1 MiB takes about 1 MiB / block rounds, plus a few (1300-byte blocks packed six to a
    // 8192-byte 68 would take 138).
    EXPECT_LE(e.rounds, static_cast<int>((std::size_t{1} << 20) / (device_mtu - 30) + 8));
  }
}

TEST(Upload, TheDeviceCutsBlocksThatFillA68AtTheNegotiatedMtu) {
  const testing::TempDir root("ul-mtu");
  write_file_atomic(root.path() / "f", testing::test_bytes(20000));
  const DeviceContext context = testing::root_context(root.path());
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    SCOPED_TRACE(mtu);
    UploadDevice device(context);
    const Kvs out = testing::drive(device, {{"name", serviceinfo::tstr_value("f")}}, mtu);
    const std::size_t limit = serviceinfo::max_single_kv(mtu, serviceinfo::kDeviceFlags);
    std::size_t blocks = 0;
    std::size_t bytes = 0;
    for (const auto& [message, value] : out) {
      if (message != "data") {
        continue;
      }
      const serviceinfo::ServiceInfoKv kv = serviceinfo::make_kv(kUpload, "data", value);
      EXPECT_LE(serviceinfo::encoded_size(kv), limit);
      const std::size_t n = serviceinfo::read_bstr_value(value, "data").size();
      // Every block but the last fills its 68.
      if (bytes + n < 20000) {
        EXPECT_EQ(n, serviceinfo::max_bstr_chunk(limit, "fdo.upload:data"));
      }
      bytes += n;
      ++blocks;
    }
    EXPECT_EQ(bytes, 20000U);
    EXPECT_EQ(blocks, mtu == 1300 ? 16U : 3U);  // 1274 and 8166 bytes a block
  }
}

TEST(Upload, WithoutToTheBytesStayInMemoryAndTheSummaryGivesLengthAndChecksum) {
  const UploadRig rig(5000);
  const testing::Exchange e = rig.run(rig.device(), rig.plan({{"need_sha", {"false"}}}));
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kUpload);
  EXPECT_EQ(o.state, ModuleState::Done);
  EXPECT_EQ(o.summary, "received logs/big.bin: 5000 bytes, sha-384 " +
                           to_hex(crypto::hash(crypto::HashAlg::Sha384, rig.content)) + ", kept in memory");
  EXPECT_TRUE(rig.plan_dir.files().empty());
}

TEST(Upload, TheDeviceSendsAnEmptyFileForEveryBadInput) {
  const testing::TempDir root("ul-bad");
  const DeviceContext context = testing::root_context(root.path());
  write_file_atomic(root.path() / "present", testing::test_bytes(10));
  const Kvs empty{{"length", serviceinfo::uint_value(0)}, {"data", serviceinfo::bstr_value({})}};
  const std::vector<std::pair<std::string, Kvs>> cases{
      {"wrong CBOR type", {{"name", serviceinfo::uint_value(1)}}},
      {"wrong CBOR type of need-sha", {{"need-sha", serviceinfo::tstr_value("yes")}}},
      {"unknown message", {{"bogus", serviceinfo::bool_value(true)}}},
      {"path escaping the root", {{"name", serviceinfo::tstr_value("../present")}}},
      {"absolute path", {{"name", serviceinfo::tstr_value((root.path() / "present").string())}}},
      {"missing file", {{"name", serviceinfo::tstr_value("absent")}}},
  };
  for (const auto& [what, in] : cases) {
    SCOPED_TRACE(what);
    UploadDevice device(context);
    EXPECT_EQ(testing::drive(device, in), empty);
    EXPECT_FALSE(device.last_error().empty());
  }
  // With need-sha the empty answer carries the SHA-384 of nothing, so its shape stays the usual one.
  UploadDevice device(context);
  const Kvs out = testing::drive(
      device, {{"need-sha", serviceinfo::bool_value(true)}, {"name", serviceinfo::tstr_value("absent")}});
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[2], (std::pair<std::string, Bytes>{
                        "sha-384", serviceinfo::bstr_value(crypto::hash(crypto::HashAlg::Sha384, Bytes()))}));
}

TEST(Upload, TheOwnerRecordsAFileTheDeviceCouldNotSend) {
  const UploadRig rig(10);
  const testing::Exchange e = rig.run(rig.device(), rig.plan({{"name", {"../etc/passwd"}}, {"required", {"false"}}}));
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kUpload);
  EXPECT_NE(o.summary.find("failed: the device sent an empty ../etc/passwd"), std::string::npos) << o.summary;
  // allow_empty accepts a genuinely empty file.
  write_file_atomic(rig.root.path() / "empty", Bytes());
  const testing::Exchange ok = rig.run(rig.device(), rig.plan({{"name", {"empty"}}, {"allow_empty", {"true"}}}));
  EXPECT_EQ(testing::outcome_of(ok, kUpload).state, ModuleState::Done);
}

TEST(Upload, TheOwnerRecordsBadDeviceAnswers) {
  const UploadRig rig(10);
  const Bytes abc{'a', 'b', 'c'};
  const Bytes good_sha = serviceinfo::bstr_value(crypto::hash(crypto::HashAlg::Sha384, abc));
  const Bytes bad_sha = serviceinfo::bstr_value(crypto::hash(crypto::HashAlg::Sha384, Bytes{'x'}));
  EXPECT_NE(rig.failure({{"length", serviceinfo::tstr_value("3")}}).find("expected uint"), std::string::npos);
  EXPECT_NE(rig.failure({{"bogus", serviceinfo::uint_value(3)}}).find("unknown device message bogus"),
            std::string::npos);
  EXPECT_NE(rig.failure({{"data", serviceinfo::bstr_value(abc)}}).find("data before length"), std::string::npos);
  EXPECT_NE(rig.failure({{"length", serviceinfo::uint_value(2)}, {"data", serviceinfo::bstr_value(abc)}})
                .find("more than its length 2"),
            std::string::npos);
  EXPECT_NE(
      rig.failure(
             {{"length", serviceinfo::uint_value(5)}, {"data", serviceinfo::bstr_value(abc)}, {"sha-384", good_sha}})
          .find("sent 3 bytes of the 5"),
      std::string::npos);
  EXPECT_NE(
      rig.failure(
             {{"length", serviceinfo::uint_value(3)}, {"data", serviceinfo::bstr_value(abc)}, {"sha-384", bad_sha}})
          .find("sha-384 of logs/big.bin does not match"),
      std::string::npos);
  EXPECT_NE(rig.failure({{"length", serviceinfo::uint_value(3)},
                         {"data", serviceinfo::bstr_value(abc)},
                         {"sha-384", serviceinfo::bstr_value(abc)}})
                .find("sha-384 of 3 bytes"),
            std::string::npos);
  // The good answer passes.
  EXPECT_NE(
      rig.failure(
             {{"length", serviceinfo::uint_value(3)}, {"data", serviceinfo::bstr_value(abc)}, {"sha-384", good_sha}})
          .find("received logs/big.bin: 3 bytes"),
      std::string::npos);
  // Nothing is stored for a failed upload.
  const testing::Exchange e = rig.run(
      std::make_unique<testing::ScriptedDevice>(
          std::string(kUpload),
          Kvs{{"length", serviceinfo::uint_value(3)}, {"data", serviceinfo::bstr_value(abc)}, {"sha-384", bad_sha}}),
      rig.plan({{"required", {"false"}}, {"to", {"up"}}}));
  EXPECT_TRUE(rig.plan_dir.files().empty());
}

TEST(Upload, ARequiredUploadThatFailsEndsTo2) {
  const UploadRig rig(10);
  fdo::test::expect_error(
      [&] {
        (void)rig.run(rig.device(), rig.plan({{"name", {"absent"}}}));
      },
      ErrorCode::InternalServerError);
}

TEST(Upload, TheOwnerStopsWaitingAtItsDeadline) {
  const UploadRig rig(10);
  const testing::Exchange e = rig.run(std::make_unique<testing::ScriptedDevice>(std::string(kUpload), Kvs{}),
                                      rig.plan({{"required", {"false"}}, {"timeout", {"0"}}}));
  EXPECT_NE(testing::outcome_of(e, kUpload).summary.find("no complete file from the device within 0 s"),
            std::string::npos);
}

TEST(Upload, PlanParametersAreChecked) {
  const UploadRig rig(10);
  const auto make = [&](serviceinfo::ModuleParams::Values v) {
    UploadOwner owner(serviceinfo::ModuleParams(std::string(kUpload), std::move(v)).encode(), rig.owner_context);
  };
  fdo::test::expect_error([&] { make({}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"name", {"a"}}, {"dir", {"x"}}}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"name", {"a"}}, {"max_length", {"-1"}}}); }, ErrorCode::MessageBodyError);
  make({{"name", {"a"}}, {"to", {"uploads"}}});
}

}  // namespace
}  // namespace fdo::fsim
