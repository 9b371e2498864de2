#include "libfdo/fsim/wget.h"

#include <gtest/gtest.h>

#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/transfer_test_support.h"
#include "libfdo/transport/http_server.h"

namespace fdo::fsim {
namespace {

using serviceinfo::ModuleState;
using Kvs = std::vector<std::pair<std::string, Bytes>>;

// The HTTP server only serves files here; FDO messages are not part of these tests.
class NoMessages final : public transport::Responder {
 public:
  transport::Response handle(const transport::Request& request) override {
    (void)request;
    return transport::Response{.msg_type = 255, .body = {}, .token = std::nullopt, .http_status = 404};
  }
  transport::Response reject(std::uint8_t, std::optional<std::string>, ErrorCode, std::string_view) override {
    return transport::Response{.msg_type = 255, .body = {}, .token = std::nullopt, .http_status = 404};
  }
};

// A loopback HTTP server with GET /files/<name>, a device root and the owner registry.
struct WgetRig {
  NoMessages responder;
  transport::HttpServer server{responder};
  std::map<std::string, Bytes> files;
  testing::TempDir root{"wget-root"};
  DeviceContext device_context;
  OwnerContext owner_context;
  serviceinfo::OwnerRegistry registry;

  WgetRig() {
    files["firmware.bin"] = testing::test_bytes(std::size_t{1} << 20, 3);
    files["small.txt"] = Bytes{'h', 'i', '\n'};
    server.add_admin_get("/files", [this](const transport::AdminRequest& r) {
      const auto it = files.find(r.path.substr(std::string("/files/").size()));
      if (r.path.rfind("/files/", 0) != 0 || it == files.end()) {
        return transport::AdminResponse{.status = 404, .content_type = "text/plain", .body = "not found"};
      }
      return transport::AdminResponse{.status = 200,
                                      .content_type = "application/octet-stream",
                                      .body = std::string(it->second.begin(), it->second.end())};
    });
    server.start();
    device_context.root = root.path();
    device_context.command_timeout = std::chrono::seconds(10);
    register_owner_modules(registry, owner_context);
  }
  [[nodiscard]] std::string url(std::string_view name) const { return server.url() + "/files/" + std::string(name); }
  [[nodiscard]] std::string sha(std::string_view name) const {
    return to_hex(crypto::hash(crypto::HashAlg::Sha384, files.at(std::string(name))));
  }
  [[nodiscard]] testing::Exchange run(std::unique_ptr<serviceinfo::DeviceModule> device,
                                      serviceinfo::ModuleParams::Values params, std::size_t mtu = 1300) const {
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::move(device));
    const serviceinfo::Plan plan{{testing::step(std::string(kWget), std::move(params))}};
    return testing::exchange(std::move(modules), registry, plan, mtu, mtu);
  }
  [[nodiscard]] std::unique_ptr<serviceinfo::DeviceModule> device() const {
    return std::make_unique<WgetDevice>(device_context);
  }
};

TEST(Wget, TheDeviceFetchesFromALoopbackServerAndTheChecksumMatches) {
  for (const std::size_t mtu : {std::size_t{1300}, std::size_t{8192}}) {
    SCOPED_TRACE(mtu);
    WgetRig rig;
    const testing::Exchange e = rig.run(
        rig.device(),
        {{"url", {rig.url("firmware.bin")}}, {"name", {"dl/fw.bin"}}, {"sha384", {rig.sha("firmware.bin")}}}, mtu);
    const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kWget);
    EXPECT_EQ(o.state, ModuleState::Done) << o.error;
    EXPECT_NE(o.summary.find("fetched 1048576 bytes"), std::string::npos) << o.summary;
    EXPECT_NE(o.summary.find("sha-384 " + rig.sha("firmware.bin") + " checked"), std::string::npos);
    EXPECT_EQ(read_file(rig.root.path() / "dl" / "fw.bin"), rig.files["firmware.bin"]);
  }
}

TEST(Wget, WithoutANameTheLastUrlSegmentIsUsed) {
  WgetRig rig;
  const testing::Exchange e = rig.run(rig.device(), {{"url", {rig.url("small.txt")}}});
  EXPECT_EQ(testing::outcome_of(e, kWget).state, ModuleState::Done);
  EXPECT_EQ(read_file(rig.root.path() / "small.txt"), rig.files["small.txt"]);
  EXPECT_EQ(wget_default_name("http://h:1/a/b.bin?x=1"), "b.bin");
  EXPECT_EQ(wget_default_name("http://h:1"), "");
  EXPECT_EQ(wget_default_name("http://h:1/dir/"), "");
}

TEST(Wget, TheDeviceAnswersEveryBadInputWithErrorAndWritesNothing) {
  WgetRig rig;
  const Bytes wrong_sha = crypto::hash(crypto::HashAlg::Sha384, Bytes{'x'});
  const std::string refused = "http://127.0.0.1:1/files/small.txt";
  const std::vector<std::tuple<std::string, Kvs, std::string>> cases{
      {"wrong CBOR type", {{"url", serviceinfo::uint_value(1)}}, "expected tstr"},
      {"unknown message", {{"bogus", serviceinfo::bool_value(true)}}, "unknown message bogus"},
      {"sha-384 of the wrong size", {{"sha-384", serviceinfo::bstr_value(Bytes{1, 2})}}, "expected 48"},
      {"path escaping the root",
       {{"name", serviceinfo::tstr_value("../escape")}, {"url", serviceinfo::tstr_value(rig.url("small.txt"))}},
       "leads outside the device root"},
      {"fetch answered 404", {{"url", serviceinfo::tstr_value(rig.url("absent"))}}, "HTTP status 404"},
      {"fetch refused", {{"url", serviceinfo::tstr_value(refused)}}, "request failed"},
      {"malformed url",
       {{"name", serviceinfo::tstr_value("n")}, {"url", serviceinfo::tstr_value("nonsense")}},
       "no scheme"},
      {"url without a file name", {{"url", serviceinfo::tstr_value("http://127.0.0.1:1")}}, "no last path segment"},
      {"checksum mismatch",
       {{"sha-384", serviceinfo::bstr_value(wrong_sha)}, {"url", serviceinfo::tstr_value(rig.url("small.txt"))}},
       "does not match"},
  };
  for (const auto& [what, in, expected] : cases) {
    SCOPED_TRACE(what);
    WgetDevice device(rig.device_context);
    const Kvs out = testing::drive(device, in);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].first, "error");
    const std::string text = serviceinfo::read_tstr_value(out[0].second, "error");
    EXPECT_NE(text.find(expected), std::string::npos) << text;
    EXPECT_TRUE(rig.root.files().empty());
  }
  // sha-384 and name apply to one url only: after a failure the next fetch starts clean.
  WgetDevice device(rig.device_context);
  const Kvs out = testing::drive(device, {{"sha-384", serviceinfo::bstr_value(wrong_sha)},
                                          {"url", serviceinfo::tstr_value(rig.url("small.txt"))},
                                          {"url", serviceinfo::tstr_value(rig.url("small.txt"))}});
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1], (std::pair<std::string, Bytes>{"done", serviceinfo::int_value(3)}));
}

TEST(Wget, TheOwnerRecordsTheDevicesError) {
  WgetRig rig;
  const testing::Exchange e = rig.run(rig.device(), {{"url", {rig.url("absent")}}, {"required", {"false"}}});
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kWget);
  EXPECT_EQ(o.state, ModuleState::Done);
  EXPECT_NE(o.summary.find("failed: the device could not fetch"), std::string::npos) << o.summary;
  EXPECT_NE(o.summary.find("HTTP status 404"), std::string::npos) << o.summary;
  fdo::test::expect_error(
      [&] {
        (void)rig.run(rig.device(), {{"url", {rig.url("absent")}}});
      },
      ErrorCode::InternalServerError);
  EXPECT_TRUE(rig.root.files().empty());
}

TEST(Wget, TheOwnerRecordsBadDeviceAnswers) {
  WgetRig rig;
  const std::vector<std::pair<Kvs, std::string>> cases{
      {{{"done", serviceinfo::tstr_value("3")}}, "expected int"},
      {{{"error", serviceinfo::uint_value(3)}}, "expected tstr"},
      {{{"bogus", serviceinfo::uint_value(3)}}, "unknown device message bogus"},
      {{{"done", serviceinfo::int_value(-1)}}, "done = -1"},
  };
  for (const auto& [answers, expected] : cases) {
    SCOPED_TRACE(expected);
    const testing::Exchange e = rig.run(std::make_unique<testing::ScriptedDevice>(std::string(kWget), answers),
                                        {{"url", {rig.url("small.txt")}}, {"required", {"false"}}});
    const std::string summary = testing::outcome_of(e, kWget).summary;
    EXPECT_NE(summary.find("failed: "), std::string::npos) << summary;
    EXPECT_NE(summary.find(expected), std::string::npos) << summary;
  }
}

TEST(Wget, TheOwnerStopsWaitingAtItsDeadline) {
  WgetRig rig;
  const testing::Exchange e = rig.run(std::make_unique<testing::ScriptedDevice>(std::string(kWget), Kvs{}),
                                      {{"url", {rig.url("small.txt")}}, {"required", {"false"}}, {"timeout", {"0"}}});
  EXPECT_NE(testing::outcome_of(e, kWget).summary.find("no done or error from the device within 0 s"),
            std::string::npos);
}

TEST(Wget, PlanParametersAreChecked) {
  const auto make = [](serviceinfo::ModuleParams::Values v) {
    WgetOwner owner(serviceinfo::ModuleParams(std::string(kWget), std::move(v)).encode());
  };
  fdo::test::expect_error([&] { make({}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"url", {"ftp://h/x"}}}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"url", {"http://h:1/"}}}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"url", {"http://h/x"}}, {"sha384", {"abcd"}}}); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { make({{"url", {"http://h/x"}}, {"md5", {"abcd"}}}); }, ErrorCode::MessageBodyError);
  make({{"url", {"http://h:1/"}}, {"name", {"x"}}});
}

}  // namespace
}  // namespace fdo::fsim
