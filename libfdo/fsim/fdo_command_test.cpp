#include "libfdo/fsim/fdo_command.h"

#include <gtest/gtest.h>

#include <thread>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/fsim/fdo_sys.h"
#include "libfdo/fsim/sys_command_test_support.h"

namespace fdo::fsim {
namespace {

namespace si = serviceinfo;

const Leniency kBothForms({Quirk::BareCommandArgs});

class FdoCommand : public testing::TempDirs {
 protected:
  void SetUp() override {
    TempDirs::SetUp();
    register_owner_modules(m_registry, m_owner);
  }
  testing::Run run(si::ModuleParams::Values params, std::size_t mtu = si::kDefaultMtu,
                   const Leniency& leniency = kBothForms, bool with_fdo_sys = false) {
    std::vector<std::unique_ptr<si::DeviceModule>> modules;
    modules.push_back(std::make_unique<FdoCommandDevice>(m_device, leniency));
    if (with_fdo_sys) {
      modules.push_back(std::make_unique<FdoSysDevice>(m_device));
    }
    const si::Plan plan{{testing::step(std::string(kFdoCommand), std::move(params))}};
    return testing::run(std::move(modules), m_registry, plan, mtu, mtu);
  }
  si::OwnerRegistry m_registry;
};

class FdoCommandMtu : public FdoCommand, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(FdoCommandMtu, RunsInTheRootAndReturnsItsOutputInBlocksAndExit0) {
  const testing::Run r = run({{"command", {"sh"}},
                              {"args", {"-c", "pwd > where.txt; echo oops >&2; head -c 5000 /dev/zero | tr '\\0' x"}},
                              {"return_stdout", {"true"}},
                              {"return_stderr", {"true"}}},
                             GetParam());
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Done);
  EXPECT_EQ(r.owner[0].summary, "exit 0; stdout 5000 bytes; stderr 5 bytes");
  EXPECT_EQ(to_string(read_file(root() / "where.txt")), std::filesystem::weakly_canonical(root()).string() + "\n");
}

INSTANTIATE_TEST_SUITE_P(Mtu, FdoCommandMtu, ::testing::Values(std::size_t{1300}, std::size_t{8192}));

TEST_F(FdoCommand, ANonZeroExitWithoutMayFailFailsAndTheOwnerRecordsIt) {
  const testing::Run r = run({{"command", {"sh"}}, {"args", {"-c", "exit 3"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(*r.owner_error, ErrorCode::InternalServerError);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_EQ(r.owner[0].summary, "exit 3");
  EXPECT_NE(r.owner[0].error.find("exit 3"), std::string::npos) << r.owner[0].error;
}

TEST_F(FdoCommand, MayFailTakesANonZeroExitAsAnOutcome) {
  const testing::Run r = run({{"command", {"sh"}}, {"args", {"-c", "exit 3"}}, {"may_fail", {"true"}}});
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Done);
  EXPECT_EQ(r.owner[0].summary, "exit 3");
}

TEST_F(FdoCommand, ACommandThatTimesOutIsKilledAndReported) {
  m_device.command_timeout = std::chrono::seconds(1);
  const testing::Run r = run({{"command", {"sleep"}}, {"args", {"20"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_EQ(r.owner[0].summary, "exit 137");
}

TEST_F(FdoCommand, ACommandThatCannotStartIsReported) {
  const testing::Run r = run({{"command", {"no-such-program-fdo-test"}}});
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_EQ(r.owner[0].summary, "exit 127");
}

TEST_F(FdoCommand, ArgsAreABstrWrappedArrayByDefault) {
  // The FSIM's example: args "+%s" travel as h'4581632b2573' (docs/service-info.md "fdo.command").
  FdoCommandOwner owner(si::ModuleParams("fdo.command", {{"command", {"date"}}, {"args", {"+%s"}}}).encode());
  const si::Produced p = owner.produce(1000);
  ASSERT_EQ(p.kvs.size(), 6U);
  EXPECT_EQ(p.kvs[1].key, "fdo.command:args");
  EXPECT_EQ(to_hex(p.kvs[1].value), "4581632b2573");
  EXPECT_EQ(p.kvs[5].key, "fdo.command:execute");
  EXPECT_EQ(to_hex(p.kvs[5].value), "f6");
}

TEST_F(FdoCommand, APriOrCSdkDeviceGetsTheBareArray) {
  // The device lists fdo_sys, so the owner sends the bare form, which this device reads under the quirk.
  const testing::Run r =
      run({{"command", {"sh"}}, {"args", {"-c", "touch bare.txt"}}}, si::kDefaultMtu, kBothForms, true);
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  EXPECT_EQ(r.owner[0].summary, "exit 0");
  EXPECT_TRUE(std::filesystem::exists(root() / "bare.txt"));
}

TEST_F(FdoCommand, AStrictDeviceRefusesTheBareArrayAndTheOwnerRecordsIt) {
  const testing::Run r = run({{"command", {"sh"}}, {"args", {"-c", "touch bare.txt"}}, {"args_form", {"plain"}}},
                             si::kDefaultMtu, Leniency());
  ASSERT_TRUE(r.owner_error);
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Failed);
  EXPECT_NE(r.owner[0].error.find("bare-command-args"), std::string::npos) << r.owner[0].error;
  EXPECT_FALSE(std::filesystem::exists(root() / "bare.txt"));
}

// Device-side bad inputs: the module answers fdo.command:error, then fails on its next turn with the code.
class FdoCommandDeviceInput : public testing::TempDirs {
 protected:
  using Feed = std::vector<std::pair<std::string, Bytes>>;
  std::string expect_failure(const Feed& feed, ErrorCode code) {
    FdoCommandDevice device(m_device, kBothForms);
    std::deque<si::OutboxEntry> queue;
    si::Outbox out(kFdoCommand, queue);
    for (const auto& [message, value] : feed) {
      device.on_message(message, value, out);
    }
    EXPECT_FALSE(queue.empty());
    std::string text;
    if (!queue.empty()) {
      EXPECT_EQ(queue.back().kv.key, "fdo.command:error");
      text = si::read_tstr_value(queue.back().kv.value, "error");
    }
    device.on_poll(out);
    fdo::test::expect_error([&] { device.on_poll(out); }, code);
    EXPECT_TRUE(std::filesystem::is_empty(root()));  // nothing ran
    return text;
  }
  static Bytes null_value() {
    cbor::Writer w;
    w.null();
    return std::move(w).take();
  }
  static Bytes args(std::vector<std::string> a) {
    cbor::Writer w;
    w.array(a.size());
    for (const std::string& s : a) {
      w.tstr(s);
    }
    return si::bstr_value(std::move(w).take());
  }
};

TEST_F(FdoCommandDeviceInput, WrongCborType) {
  expect_failure({{"command", si::tstr_value("sh")}, {"may_fail", si::tstr_value("yes")}},
                 ErrorCode::MessageBodyError);
  expect_failure({{"command", si::uint_value(1)}}, ErrorCode::MessageBodyError);
  expect_failure({{"command", si::tstr_value("sh")}, {"args", si::bstr_value(si::tstr_value("-c"))}},
                 ErrorCode::MessageBodyError);
  expect_failure({{"command", si::tstr_value("sh")}, {"execute", si::bool_value(true)}},
                 ErrorCode::MessageBodyError);
}

TEST_F(FdoCommandDeviceInput, UnknownMessage) {
  const std::string text = expect_failure({{"reboot", si::bool_value(true)}}, ErrorCode::InvalidMessageError);
  EXPECT_NE(text.find("unknown message fdo.command:reboot"), std::string::npos) << text;
}

TEST_F(FdoCommandDeviceInput, ExecuteOrArgsWithoutACommand) {
  expect_failure({{"execute", null_value()}}, ErrorCode::InvalidMessageError);
  expect_failure({{"args", args({"-c", "touch x"})}}, ErrorCode::InvalidMessageError);
}

TEST_F(FdoCommandDeviceInput, ASecondExecute) {
  FdoCommandDevice device(m_device, kBothForms);
  std::deque<si::OutboxEntry> queue;
  si::Outbox out(kFdoCommand, queue);
  device.on_message("command", si::tstr_value("true"), out);
  device.on_message("execute", null_value(), out);
  device.on_message("execute", null_value(), out);
  ASSERT_EQ(queue.size(), 1U);
  EXPECT_EQ(queue.back().kv.key, "fdo.command:error");
}

TEST_F(FdoCommandDeviceInput, ArgsWithoutExecuteRunOnTheNextPoll) {
  FdoCommandDevice device(m_device, kBothForms);
  std::deque<si::OutboxEntry> queue;
  si::Outbox out(kFdoCommand, queue);
  device.on_message("command", si::tstr_value("sh"), out);
  device.on_message("args", args({"-c", "exit 0"}), out);
  for (int i = 0; i < 100 && queue.empty(); ++i) {
    device.on_poll(out);
  }
  ASSERT_EQ(queue.size(), 1U);
  EXPECT_EQ(queue.front().kv.key, "fdo.command:exitcode");
  EXPECT_EQ(si::read_int_value(queue.front().kv.value, "exitcode"), 0);
}

TEST_F(FdoCommand, BadParametersAreRefusedAtLoad) {
  const auto refused = [](si::ModuleParams::Values v) {
    return fdo::test::expect_error([&] { FdoCommandOwner o(si::ModuleParams("fdo.command", v).encode()); },
                                   ErrorCode::MessageBodyError);
  };
  refused({});
  EXPECT_NE(refused({{"command", {"sh"}}, {"arg", {"x"}}}).find("unknown parameter arg"), std::string::npos);
  refused({{"command", {"sh"}}, {"args_form", {"cbor"}}});
  refused({{"command", {"sh"}}, {"may_fail", {"perhaps"}}});
  refused({{"command", {"sh"}}, {"args", {std::string(2000, 'a')}}});
}

// fdo.command:sig reaches the running command: an owner with signal_at_timeout sends it at its deadline, the device
// signals the command's process group, and the exitcode that follows (128 + 15) ends the module.
TEST_F(FdoCommand, AtItsDeadlineTheOwnerSignalsTheCommandAndTakesTheExitThatFollows) {
  const testing::Run r = run({{"command", {"sleep"}},
                              {"args", {"20"}},
                              {"may_fail", {"true"}},
                              {"timeout", {"1"}},
                              {"signal_at_timeout", {"15"}}});
  ASSERT_FALSE(r.owner_error || r.device_error) << r.error;
  EXPECT_EQ(r.owner[0].state, si::ModuleState::Done);
  EXPECT_EQ(r.owner[0].summary, "exit 143 after signal 15 at the deadline");
  EXPECT_THROW(FdoCommandOwner(si::ModuleParams("fdo.command", {{"command", {"sh"}}, {"signal_at_timeout", {"65"}}})
                                   .encode()),
               Error);
}

TEST_F(FdoCommand, TheOwnerStopsWaitingAtItsDeadline) {
  FdoCommandOwner owner(si::ModuleParams("fdo.command", {{"command", {"sh"}}, {"timeout", {"1"}}}).encode());
  EXPECT_EQ(owner.produce(1000).kvs.size(), 6U);
  EXPECT_FALSE(owner.produce(1000).done);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const std::string what = fdo::test::expect_error([&] { (void)owner.produce(1000); }, ErrorCode::InternalServerError);
  EXPECT_NE(what.find("within 1 s"), std::string::npos) << what;
}

}  // namespace
}  // namespace fdo::fsim
