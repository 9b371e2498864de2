#include "libfdo/fsim/fdo_sys.h"

#include <gtest/gtest.h>

#include <thread>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/fsim/sys_command_test_support.h"

namespace fdo::fsim {
namespace {

namespace si = serviceinfo;

class FdoSys : public testing::TempDirs {
 protected:
  void SetUp() override {
    TempDirs::SetUp();
    register_owner_modules(m_registry, m_owner);
  }
  void plan_file(const std::string& name, ByteView data) { write_file_atomic(plan_dir() / name, data, 0600); }
  std::vector<std::unique_ptr<si::DeviceModule>> device() {
    std::vector<std::unique_ptr<si::DeviceModule>> modules;
    modules.push_back(std::make_unique<FdoSysDevice>(m_device));
    return modules;
  }
  testing::Run run(si::ModuleParams::Values params, std::size_t mtu = si::kDefaultMtu) {
    const si::Plan plan{{testing::step(std::string(kFdoSys), std::move(params))}};
    return testing::run(device(), m_registry, plan, mtu, mtu);
  }
  si::OwnerRegistry m_registry;
};

Bytes payload(std::size_t size) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) {
    b[i] = static_cast<std::uint8_t>((i * 131 + i / 251) & 0xff);
  }
  return b;
}

// Whitepaper Table 3: filedesc, write, exec; a 100 KiB file crosses many 69s at either MTU.
class FdoSysMtu : public FdoSys, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(FdoSysMtu, WritesTheFilesRunsTheScriptUnderTheRootAndReportsExit0) {
  const Bytes data = payload(100 * 1024);
  plan_file("payload.bin", data);
  plan_file("setup.sh", to_bytes("test \"$(wc -c < payload.bin)\" -eq 102400 || exit 9\npwd > ran.txt\n"));
  const testing::Run r = run({{"files", {"payload.bin", "setup.sh"}}, {"exec", {"sh", "setup.sh"}}}, GetParam());
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  const si::ModuleOutcome o = testing::outcome_of(testing::Exchange{r.owner, r.device, 0}, kFdoSys);
  EXPECT_EQ(o.state, si::ModuleState::Done);
  EXPECT_EQ(o.summary, "payload.bin 102400 bytes; setup.sh 65 bytes; exit 0");
  EXPECT_GT(r.rounds, static_cast<int>(data.size() / GetParam()));  // several 69s carried the file
  EXPECT_EQ(read_file(root() / "payload.bin"), data);
  EXPECT_EQ(to_string(read_file(root() / "ran.txt")),
            std::filesystem::weakly_canonical(root()).string() + "\n");  // it ran in the root
}

TEST_P(FdoSysMtu, ExecCbIsPolledWithStatusCbUntilTheScriptEnds) {
  plan_file("slow.sh", to_bytes("sleep 0.3\necho done > out.txt\n"));
  const testing::Run r = run({{"files", {"slow.sh"}},
                              {"exec", {"sh", "slow.sh"}},
                              {"exec_cb", {"true"}},
                              {"wait_sec", {"1"}},
                              {"fetch", {"out.txt"}}},
                             GetParam());
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Done);
  EXPECT_EQ(r.owner[0].summary, "slow.sh 30 bytes; exit 0; fetched out.txt 5 bytes");
}

INSTANTIATE_TEST_SUITE_P(Mtu, FdoSysMtu, ::testing::Values(std::size_t{1300}, std::size_t{8192}));

TEST_F(FdoSys, AFetchOfManyBlocksCrossesSeveralMessages) {
  write_file_atomic(root() / "big.log", payload(20000), 0600);
  const testing::Run r = run({{"fetch", {"big.log"}}});
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  EXPECT_EQ(r.owner[0].summary, "fetched big.log 20000 bytes");
  // At an MTU of 8192 the data blocks fill the larger 68s: 20000 bytes take 3 of them, not 16 (Outbox::kv_budget()).
  const testing::Run wide = run({{"fetch", {"big.log"}}}, 8192);
  ASSERT_FALSE(wide.owner_error || wide.device_error) << wide.error;
  EXPECT_EQ(wide.owner[0].summary, "fetched big.log 20000 bytes");
  EXPECT_LT(wide.rounds + 8, r.rounds) << wide.rounds << " rounds at 8192, " << r.rounds << " at 1300";
}

TEST_F(FdoSys, ANonZeroExitFailsTheModuleAndTheOwnerRecordsIt) {
  plan_file("bad.sh", to_bytes("exit 3\n"));
  const testing::Run r = run({{"files", {"bad.sh"}}, {"exec", {"sh", "bad.sh"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(*r.owner_error, ErrorCode::InternalServerError);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_EQ(r.owner[0].summary, "bad.sh 7 bytes; exit 3");
  EXPECT_NE(r.owner[0].error.find("exit 3"), std::string::npos) << r.owner[0].error;
}

TEST_F(FdoSys, ANonZeroExitOfExecCbFailsToo) {
  const testing::Run r = run({{"exec", {"sh", "-c", "exit 4"}}, {"exec_cb", {"true"}}, {"wait_sec", {"1"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_EQ(r.owner[0].summary, "exit 4");
}

TEST_F(FdoSys, ACommandThatTimesOutIsKilledAndReported) {
  m_device.command_timeout = std::chrono::seconds(1);
  const testing::Run r = run({{"exec", {"sh", "-c", "sleep 20"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_EQ(r.owner[0].summary, "exit 137");
}

TEST_F(FdoSys, APathEscapingTheRootIsRefusedAndNothingIsWritten) {
  write_file_atomic(m_dir / "evil.sh", to_bytes("echo gotcha\n"), 0600);
  const testing::Run r = run({{"files", {"../evil.sh"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_NE(r.owner[0].error.find("outside the device root"), std::string::npos) << r.owner[0].error;
  EXPECT_FALSE(std::filesystem::exists(m_dir / "dev" / "evil.sh"));
  EXPECT_TRUE(std::filesystem::is_empty(root()));
}

TEST_F(FdoSys, AFetchOfAMissingFileIsReported) {
  const testing::Run r = run({{"fetch", {"nothing.txt"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_NE(r.owner[0].error.find("nothing.txt"), std::string::npos) << r.owner[0].error;
}

// Device-side bad inputs: the module answers fdo_sys:error, then fails on its next turn with the code.
class FdoSysDeviceInput : public testing::TempDirs {
 protected:
  std::string expect_failure(const std::function<void(FdoSysDevice&, si::Outbox&)>& feed, ErrorCode code) {
    FdoSysDevice device(m_device);
    std::deque<si::OutboxEntry> queue;
    si::Outbox out(kFdoSys, queue);
    feed(device, out);
    EXPECT_FALSE(queue.empty());
    std::string text;
    if (!queue.empty()) {
      EXPECT_EQ(queue.back().kv.key, "fdo_sys:error");
      text = si::read_tstr_value(queue.back().kv.value, "error");
    }
    device.on_poll(out);  // the report goes out in this 68
    fdo::test::expect_error([&] { device.on_poll(out); }, code);
    device.on_end(false);
    EXPECT_TRUE(std::filesystem::is_empty(root()));
    return text;
  }
};

TEST_F(FdoSysDeviceInput, WriteBeforeFiledesc) {
  const std::string text = expect_failure(
      [](FdoSysDevice& d, si::Outbox& out) { d.on_message("write", si::bstr_value(to_bytes("x")), out); },
      ErrorCode::InvalidMessageError);
  EXPECT_NE(text.find("before fdo_sys:filedesc"), std::string::npos) << text;
}

TEST_F(FdoSysDeviceInput, WrongCborType) {
  expect_failure([](FdoSysDevice& d, si::Outbox& out) { d.on_message("filedesc", si::uint_value(7), out); },
                 ErrorCode::MessageBodyError);
  expect_failure([](FdoSysDevice& d, si::Outbox& out) { d.on_message("exec", si::tstr_value("sh x"), out); },
                 ErrorCode::MessageBodyError);
}

TEST_F(FdoSysDeviceInput, UnknownMessage) {
  const std::string text = expect_failure(
      [](FdoSysDevice& d, si::Outbox& out) { d.on_message("format-disk", si::bool_value(true), out); },
      ErrorCode::InvalidMessageError);
  EXPECT_NE(text.find("unknown message fdo_sys:format-disk"), std::string::npos) << text;
}

TEST_F(FdoSysDeviceInput, PathEscapingTheRoot) {
  expect_failure([](FdoSysDevice& d, si::Outbox& out) { d.on_message("filedesc", si::tstr_value("/etc/x"), out); },
                 ErrorCode::InvalidMessageError);
}

TEST_F(FdoSysDeviceInput, AFileIsWrittenOnlyWhenTheOwnerMovesOnAndNeverByAFailedRun) {
  {
    FdoSysDevice device(m_device);
    std::deque<si::OutboxEntry> queue;
    si::Outbox out(kFdoSys, queue);
    device.on_message("filedesc", si::tstr_value("half.txt"), out);
    device.on_message("write", si::bstr_value(to_bytes("first half")), out);
    EXPECT_FALSE(std::filesystem::exists(root() / "half.txt"));
    device.on_end(false);
    EXPECT_FALSE(std::filesystem::exists(root() / "half.txt"));
  }
  FdoSysDevice device(m_device);
  std::deque<si::OutboxEntry> queue;
  si::Outbox out(kFdoSys, queue);
  device.on_message("filedesc", si::tstr_value("a/whole.txt"), out);
  device.on_message("write", si::bstr_value(to_bytes("all ")), out);
  device.on_message("write", si::bstr_value(to_bytes("of it")), out);
  device.on_message("filedesc", si::tstr_value("empty.txt"), out);
  EXPECT_EQ(to_string(read_file(root() / "a" / "whole.txt")), "all of it");
  device.on_end(true);
  EXPECT_EQ(read_file(root() / "empty.txt"), Bytes{});
  EXPECT_TRUE(queue.empty());
}

TEST_F(FdoSysDeviceInput, StatusCbWithoutExecCb) {
  expect_failure(
      [](FdoSysDevice& d, si::Outbox& out) {
        cbor::Writer w;
        w.array(3).boolean(false).int_(0).uint(5);
        d.on_message("status_cb", std::move(w).take(), out);
      },
      ErrorCode::InvalidMessageError);
}

// Owner side: parameters are checked when the plan is loaded; waiting on the device has a deadline.
class FdoSysOwnerParams : public testing::TempDirs {
 protected:
  std::string refused(si::ModuleParams::Values values) {
    const si::ModuleParams p("fdo_sys", std::move(values));
    return fdo::test::expect_error([&] { FdoSysOwner owner(p.encode(), m_owner); }, ErrorCode::MessageBodyError);
  }
};

TEST_F(FdoSysOwnerParams, BadParametersAndMissingFilesAreRefusedAtLoad) {
  EXPECT_NE(refused({{"files", {"missing.sh"}}}).find("missing.sh"), std::string::npos);
  EXPECT_NE(refused({{"exec", {"sh"}}, {"exec-cb", {"true"}}}).find("unknown parameter exec-cb"), std::string::npos);
  EXPECT_NE(refused({{"exec_cb", {"true"}}}).find("needs exec"), std::string::npos);
  EXPECT_NE(refused({}).find("nothing to do"), std::string::npos);
  refused({{"exec", {"sh"}}, {"wait_sec", {"99"}}});
  refused({{"exec", {"sh"}}, {"exec_cb", {"maybe"}}});
}

TEST_F(FdoSysOwnerParams, TheOwnerStopsWaitingAtItsDeadline) {
  const si::ModuleParams p("fdo_sys", {{"exec", {"sh", "x"}}, {"timeout", {"1"}}});
  FdoSysOwner owner(p.encode(), m_owner);
  const si::Produced first = owner.produce(1000);
  ASSERT_EQ(first.kvs.size(), 1U);
  EXPECT_EQ(first.kvs[0].key, "fdo_sys:exec");
  EXPECT_FALSE(first.done);
  EXPECT_TRUE(owner.produce(1000).kvs.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const std::string what = fdo::test::expect_error([&] { (void)owner.produce(1000); }, ErrorCode::InternalServerError);
  EXPECT_NE(what.find("within 1 s"), std::string::npos) << what;
}

TEST_F(FdoSysOwnerParams, TheDevicesErrorIsRecorded) {
  const si::ModuleParams p("fdo_sys", {{"exec", {"sh", "x"}}});
  FdoSysOwner owner(p.encode(), m_owner);
  const std::string what = fdo::test::expect_error(
      [&] { owner.on_message("error", si::tstr_value("fdo_sys:write before fdo_sys:filedesc")); },
      ErrorCode::InternalServerError);
  EXPECT_NE(what.find("write before"), std::string::npos) << what;
}

}  // namespace
}  // namespace fdo::fsim
