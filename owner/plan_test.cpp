#include "owner/plan.h"

#include <gtest/gtest.h>

#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/fsim/registry.h"

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
  const PlanEntry flags{
      .reuse = true, .rendezvous = RendezvousInfo::from_urls("http://127.0.0.1:1"), .modules = {}, .params = {}};
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

TEST(OwnerPlans, ModuleParametersComeFromTheMostSpecificTableAndAreCheckedAtLoad) {
  serviceinfo::OwnerRegistry registry;
  const fsim::OwnerContext context;
  fsim::register_owner_modules(registry, context);
  const OwnerPlans plans = OwnerPlans::parse(R"(
modules = ["fido_alliance"]
[params.fido_alliance]
token = "everyone"
[override.one]
guid = "5a5a5a5a000011112222333344445555"
[override.one.params.fido_alliance]
token = "just-one"
)",
                                             "plan.toml", registry);
  const PlanEntry none{};
  const protocol::DevicePlan one = plans.resolve(kOne, "m", none);
  ASSERT_EQ(one.service_info.steps.size(), 1U);
  EXPECT_EQ(serviceinfo::ModuleParams::decode("fido_alliance", one.service_info.steps[0].params).get("token", ""),
            "just-one");
  const protocol::DevicePlan other = plans.resolve(Guid::random(), "m", none);
  EXPECT_EQ(serviceinfo::ModuleParams::decode("fido_alliance", other.service_info.steps[0].params).get("token", ""),
            "everyone");
  // A parameter the module does not know stops the plan at load, naming the table.
  const std::string bad = fdo::test::expect_error(
      [&] {
        OwnerPlans::parse("modules = [\"fido_alliance\"]\n[params.fido_alliance]\ntokn = \"x\"\n", "plan.toml", registry);
      },
      ErrorCode::MessageBodyError);
  EXPECT_NE(bad.find("plan.toml: top level: fido_alliance: unknown parameter tokn"), std::string::npos) << bad;
}

TEST(OwnerPlans, ModuleNamesWithDotsAreQuotedTableNames) {
  serviceinfo::OwnerRegistry registry;
  const fsim::OwnerContext context;
  fsim::register_owner_modules(registry, context);
  const OwnerPlans plans = OwnerPlans::parse(R"(
modules = ["fdo.command"]
[params."fdo.command"]
command = "true"
[override.one]
guid = "5a5a5a5a000011112222333344445555"
[override.one.params."fdo.command"]
command = "false"
)",
                                             "plan.toml", registry);
  const PlanEntry none{};
  const auto command = [&](const Guid& g) {
    const protocol::DevicePlan p = plans.resolve(g, "m", none);
    return serviceinfo::ModuleParams::decode("fdo.command", p.service_info.steps.at(0).params).get("command", "");
  };
  EXPECT_EQ(command(kOne), "false");
  EXPECT_EQ(command(Guid::random()), "true");
}

}  // namespace
}  // namespace fdo::owner_tool
