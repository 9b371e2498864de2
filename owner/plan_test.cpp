#include "owner/plan.h"

#include <gtest/gtest.h>

#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"

namespace fdo::owner_tool {
namespace {

const Guid kOne = Guid::from(from_hex("5a5a5a5a000011112222333344445555"));

TEST(OwnerPlans, GuidOverridesWinOverModelOverridesOverDefaultsOverFlags) {
  const serviceinfo::OwnerRegistry registry;
  const OwnerPlans plans = OwnerPlans::parse(R"(
reuse = false
[override.lab]
model = "model-t"
reuse = true
[override.one]
guid = "5a5a5a5a000011112222333344445555"
rendezvous = ["http://127.0.0.1:9041"]
)",
                                             "plan.toml", registry);
  const PlanEntry flags{.reuse = true, .rendezvous = RendezvousInfo::from_urls("http://127.0.0.1:1"), .modules = {}};
  // The GUID override sets only rendezvous; reuse comes from the model override.
  const protocol::DevicePlan one = plans.resolve(kOne, "model-t", flags);
  EXPECT_TRUE(one.reuse);
  EXPECT_EQ(one.rendezvous_info, RendezvousInfo::from_urls("http://127.0.0.1:9041"));
  // Another model: the file's default (false) beats the flag (true); rendezvous falls back to the flag.
  const protocol::DevicePlan other = plans.resolve(Guid::random(), "model-x", flags);
  EXPECT_FALSE(other.reuse);
  EXPECT_EQ(other.rendezvous_info, RendezvousInfo::from_urls("http://127.0.0.1:1"));
  EXPECT_TRUE(other.service_info.steps.empty());
}

TEST(OwnerPlans, MistakesNameTheFileAndTheKey) {
  const serviceinfo::OwnerRegistry registry;
  const std::string unknown = fdo::test::expect_error(
      [&] { OwnerPlans::parse("reus = true\n", "plan.toml", registry); }, ErrorCode::MessageBodyError);
  EXPECT_NE(unknown.find("plan.toml: reus: unknown key"), std::string::npos) << unknown;
  const std::string module = fdo::test::expect_error(
      [&] { OwnerPlans::parse("modules = [\"fdo.command\"]\n", "plan.toml", registry); }, ErrorCode::MessageBodyError);
  EXPECT_NE(module.find("no ServiceInfo module \"fdo.command\""), std::string::npos) << module;
  fdo::test::expect_error([&] { OwnerPlans::parse("[override.x]\nreuse = true\n", "p", registry); },
                          ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { OwnerPlans::parse("[override.x]\nguid = \"12\"\n", "p", registry); },
                          ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { OwnerPlans::parse("reuse = maybe\n", "p", registry); }, ErrorCode::MessageBodyError);
  fdo::test::expect_error([&] { OwnerPlans::parse("rendezvous = [\"ftp://x\"]\n", "p", registry); },
                          ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo::owner_tool
