#include "libfdo/fsim/download.h"

#include <gtest/gtest.h>

#include "libfdo/core/file.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/transfer_test_support.h"

namespace fdo::fsim {
namespace {

using serviceinfo::ModuleState;
using Kvs = std::vector<std::pair<std::string, Bytes>>;

// A plan directory with firmware.bin and a device root, owner and device halves ready.
struct DownloadRig : testing::TransferRig<DownloadDevice> {
  explicit DownloadRig(std::size_t size) : TransferRig("dl", testing::test_bytes(size)) {
    write_file_atomic(plan_dir.path() / "firmware.bin", content);
  }
  [[nodiscard]] static serviceinfo::Plan plan(const serviceinfo::ModuleParams::Values& extra = {}) {
    return plan_of(kDownload, {{"file", {"firmware.bin"}}, {"name", {"fw/firmware.bin"}}}, extra);
  }
};

TEST(Download, OneMebibyteCrossesMtus1300And8192WithMatchingChecksums) {
  for (const auto& [device_mtu, owner_mtu] :
       std::vector<std::pair<std::size_t, std::size_t>>{{1300, 1300}, {8192, 8192}, {1300, 8192}, {8192, 1300}}) {
    SCOPED_TRACE(std::to_string(device_mtu) + "/" + std::to_string(owner_mtu));
    const DownloadRig rig(std::size_t{1} << 20);
    const testing::Exchange e = rig.run(rig.device(), rig.plan(), device_mtu, owner_mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kDownload);
    EXPECT_EQ(o.state, ModuleState::Done) << o.error;
    EXPECT_EQ(o.summary.rfind("wrote 1048576 bytes to fw/firmware.bin, sha-384 ", 0), 0U) << o.summary;
    const Bytes written = read_file(rig.root.path() / "fw" / "firmware.bin");
    EXPECT_EQ(crypto::hash(crypto::HashAlg::Sha384, written), crypto::hash(crypto::HashAlg::Sha384, rig.content));
    EXPECT_EQ(rig.root.files(), std::vector<std::string>{"fw/firmware.bin"});
    // Blocks fill the 69s: about 1 MiB / MTU rounds, not more.
    EXPECT_LT(e.rounds, static_cast<int>((std::size_t{1} << 20) / (owner_mtu - 40) + 10));
  }
}

TEST(Download, AZeroLengthFileTravelsAsOneEmptyData) {
  const DownloadRig rig(0);
  const testing::Exchange e = rig.run(rig.device(), rig.plan());
  EXPECT_EQ(testing::outcome_of(e, kDownload).state, ModuleState::Done);
  EXPECT_TRUE(read_file(rig.root.path() / "fw" / "firmware.bin").empty());
}

TEST(Download, TheDeviceAnswersEveryBadInputWithDoneMinusOneAndWritesNothing) {
  const testing::TempDir root("dl-bad");
  const DeviceContext context = testing::root_context(root.path());
  const Bytes data = testing::test_bytes(100);
  const Bytes sha = crypto::hash(crypto::HashAlg::Sha384, data);
  const Bytes minus_one = serviceinfo::int_value(-1);
  const Kvs failed{{"done", minus_one}};
  const std::vector<std::pair<std::string, Kvs>> cases{
      {"wrong CBOR type", {{"name", serviceinfo::uint_value(7)}}},
      {"unknown message", {{"name", serviceinfo::tstr_value("a")}, {"bogus", serviceinfo::bool_value(true)}}},
      {"data before name", {{"data", serviceinfo::bstr_value(data)}}},
      {"absolute path", {{"name", serviceinfo::tstr_value("/tmp/x")}}},
      {"path escaping the root", {{"name", serviceinfo::tstr_value("../x")}}},
      {"sha-384 of the wrong size",
       {{"name", serviceinfo::tstr_value("a")}, {"sha-384", serviceinfo::bstr_value(data)}}},
      {"more data than length",
       {{"name", serviceinfo::tstr_value("a")},
        {"length", serviceinfo::uint_value(99)},
        {"data", serviceinfo::bstr_value(data)}}},
      {"checksum mismatch",
       {{"name", serviceinfo::tstr_value("a")},
        {"length", serviceinfo::uint_value(100)},
        {"sha-384", serviceinfo::bstr_value(crypto::hash(crypto::HashAlg::Sha384, testing::test_bytes(100, 2)))},
        {"data", serviceinfo::bstr_value(data)}}},
      {"length after data",
       {{"name", serviceinfo::tstr_value("a")},
        {"data", serviceinfo::bstr_value(data)},
        {"length", serviceinfo::uint_value(100)}}},
  };
  for (const auto& [what, in] : cases) {
    SCOPED_TRACE(what);
    DownloadDevice device(context);
    EXPECT_EQ(testing::drive(device, in), failed);
    EXPECT_FALSE(device.last_error().empty());
    device.on_end(false);
    EXPECT_TRUE(root.files().empty());
  }
  // After a failure the rest of that file is dropped silently; a new name starts over.
  DownloadDevice device(context);
  const Kvs out = testing::drive(device, {{"data", serviceinfo::bstr_value(data)},
                                          {"data", serviceinfo::bstr_value(data)},
                                          {"name", serviceinfo::tstr_value("b")},
                                          {"length", serviceinfo::uint_value(100)},
                                          {"sha-384", serviceinfo::bstr_value(sha)},
                                          {"data", serviceinfo::bstr_value(data)}});
  EXPECT_EQ(out, (Kvs{{"done", minus_one}, {"done", serviceinfo::int_value(100)}}));
  EXPECT_EQ(read_file(root.path() / "b"), data);
}

TEST(Download, StreamingModeEndsAtAnEmptyData) {
  const testing::TempDir root("dl-stream");
  const DeviceContext context = testing::root_context(root.path());
  DownloadDevice device(context);
  const Bytes data = testing::test_bytes(10);
  const Kvs out = testing::drive(device, {{"name", serviceinfo::tstr_value("s")},
                                          {"data", serviceinfo::bstr_value(data)},
                                          {"data", serviceinfo::bstr_value({})}});
  EXPECT_EQ(out, (Kvs{{"done", serviceinfo::int_value(10)}}));
  EXPECT_EQ(read_file(root.path() / "s"), data);
}

TEST(Download, ACorruptedBlockFailsTheChecksumAndTheOwnerRecordsIt) {
  const DownloadRig rig(5000);
  int blocks = 0;
  auto device = std::make_unique<testing::TamperingDevice>(rig.device(), [&](std::string_view message, Bytes& v) {
    if (message == "data" && ++blocks == 2) {
      v.back() ^= 0x01;
    }
  });
  const testing::Exchange e = rig.run(std::move(device), rig.plan({{"required", {"false"}}}));
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kDownload);
  EXPECT_EQ(o.state, ModuleState::Done);
  EXPECT_NE(o.summary.find("failed: the device answered done = -1"), std::string::npos) << o.summary;
  EXPECT_TRUE(rig.root.files().empty());
}

TEST(Download, ARequiredDownloadThatFailsEndsTo2) {
  const DownloadRig rig(5000);
  fdo::test::expect_error(
      [&] {
        (void)rig.run(rig.device(), rig.plan({{"name", {"../outside.bin"}}}));
      },
      ErrorCode::InternalServerError);
  EXPECT_TRUE(rig.root.files().empty());
  EXPECT_FALSE(std::filesystem::exists(rig.root.path().parent_path() / "outside.bin"));
}

TEST(Download, ThePathEscapeIsReportedToTheOwner) {
  const DownloadRig rig(5000);
  const testing::Exchange e = rig.run(rig.device(), rig.plan({{"name", {"../outside.bin"}}, {"required", {"false"}}}));
  EXPECT_NE(testing::outcome_of(e, kDownload).summary.find("failed: the device answered done = -1"), std::string::npos);
  EXPECT_TRUE(rig.root.files().empty());
}

TEST(Download, TheOwnerRecordsBadDeviceAnswers) {
  const DownloadRig rig(3000);
  const std::vector<std::tuple<std::string, Kvs, std::string>> cases{
      {"wrong CBOR type", {{"done", serviceinfo::tstr_value("ok")}}, "expected"},
      {"unknown message", {{"bogus", serviceinfo::int_value(1)}}, "unknown device message bogus"},
      {"length mismatch", {{"done", serviceinfo::int_value(5)}}, "done = 5 after"},
  };
  for (const auto& [what, answers, expected] : cases) {
    SCOPED_TRACE(what);
    const testing::Exchange e = rig.run(std::make_unique<testing::ScriptedDevice>(std::string(kDownload), answers),
                                        rig.plan({{"required", {"false"}}}));
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kDownload);
    EXPECT_EQ(o.state, ModuleState::Done);
    EXPECT_NE(o.summary.find("failed: "), std::string::npos) << o.summary;
    EXPECT_NE(o.summary.find(expected), std::string::npos) << o.summary;
  }
  // A required module keeps the device's code: a malformed value is 100.
  fdo::test::expect_error(
      [&] {
        (void)rig.run(std::make_unique<testing::ScriptedDevice>(std::string(kDownload),
                                                                Kvs{{"done", serviceinfo::tstr_value("ok")}}),
                      rig.plan());
      },
      ErrorCode::MessageBodyError);
}

TEST(Download, TheOwnerStopsWaitingAtItsDeadline) {
  const DownloadRig rig(3000);
  const testing::Exchange e = rig.run(std::make_unique<testing::ScriptedDevice>(std::string(kDownload), Kvs{}),
                                      rig.plan({{"required", {"false"}}, {"timeout", {"0"}}}));
  EXPECT_NE(testing::outcome_of(e, kDownload).summary.find("no done from the device within 0 s"), std::string::npos);
}

TEST(Download, PlanParametersAreCheckedAtLoad) {
  const DownloadRig rig(10);
  const auto make = [&](serviceinfo::ModuleParams::Values v) {
    DownloadOwner owner(serviceinfo::ModuleParams(std::string(kDownload), std::move(v)).encode(), rig.owner_context);
  };
  EXPECT_NE(fdo::test::expect_error(
                [&] {
                  make({{"file", {"missing.bin"}}});
                },
                ErrorCode::MessageBodyError)
                .find("missing.bin"),
            std::string::npos);
  fdo::test::expect_error([&] { make({}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"file", {"firmware.bin"}}, {"mode", {"x"}}}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error(
      [&] {
        make({{"file", {"firmware.bin"}}, {"required", {"maybe"}}});
      },
      ErrorCode::MessageBodyError);
  make({{"file", {"firmware.bin"}}});
}

}  // namespace
}  // namespace fdo::fsim
