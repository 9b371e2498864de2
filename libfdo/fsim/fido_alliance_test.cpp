#include "libfdo/fsim/fido_alliance.h"

#include <gtest/gtest.h>

#include "libfdo/core/internal/expect_error.h"
#include "libfdo/fsim/fsim_test_support.h"

namespace fdo::fsim {
namespace {

TEST(FidoAlliance, TheOwnerHandsTheTokenAndTheDeviceKeepsIt) {
  serviceinfo::OwnerRegistry registry;
  const OwnerContext context;
  register_owner_modules(registry, context);
  std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
  modules.push_back(std::make_unique<FidoAllianceDevice>());
  const serviceinfo::Plan plan{{testing::step(std::string(kFidoAlliance), {{"token", {"event-2026"}}})}};
  const testing::Exchange e = testing::exchange(std::move(modules), registry, plan);
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kFidoAlliance);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
  EXPECT_EQ(o.summary, "token sent");
  ASSERT_EQ(e.device.size(), 1U);
  EXPECT_TRUE(e.device[0].active);
  EXPECT_FALSE(e.device[0].failed);
}

TEST(FidoAlliance, UnknownParametersAreRefusedWhenThePlanIsLoaded) {
  const serviceinfo::ModuleParams p("fido_alliance", {{"tokn", {"x"}}});
  const std::string what =
      fdo::test::expect_error([&] { FidoAllianceOwner owner(p.encode()); }, ErrorCode::MessageBodyError);
  EXPECT_NE(what.find("unknown parameter tokn"), std::string::npos) << what;
}

TEST(FidoAlliance, TheDeviceReadsTheTokenAsText) {
  FidoAllianceDevice device;
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out("fido_alliance", queue);
  device.on_message("dev_conformance", serviceinfo::tstr_value("abc"), out);
  EXPECT_EQ(device.token(), "abc");
  fdo::test::expect_error([&] { device.on_message("dev_conformance", serviceinfo::uint_value(1), out); },
                          ErrorCode::MessageBodyError);
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace fdo::fsim
