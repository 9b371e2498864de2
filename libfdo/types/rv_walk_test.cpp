#include "libfdo/types/rv_walk.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/core/hex.h"

namespace fdo {
namespace {

std::vector<std::string> urls(const std::vector<RvTarget>& targets) {
  std::vector<std::string> out;
  for (const RvTarget& t : targets) {
    out.push_back(t.url());
  }
  return out;
}

using Urls = std::vector<std::string>;

TEST(RvWalk, DeviceTriesDnsThenEachIpWithTheDevicePort) {
  RendezvousDirective d;
  d.add_ip_address(*IpAddress::parse("10.0.0.1")).set_dns("rv.example.com").set_dev_port(8040).set_owner_port(8041);
  d.add_ip_address(*IpAddress::parse("fd00::1")).set_protocol(RVProtocolValue::Http).set_delay_sec(30);
  const std::vector<RvPlan> plans = device_rv_plan(RendezvousInfo({d}));
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].skipped.empty());
  EXPECT_EQ(plans[0].delay_sec, 30u);
  EXPECT_EQ(urls(plans[0].targets),
            (Urls{"http://rv.example.com:8040", "http://10.0.0.1:8040", "http://[fd00::1]:8040"}));
  EXPECT_EQ(plans[0].targets[2].host, "fd00::1");
  EXPECT_EQ(plans[0].targets[2].port, "8040");
  EXPECT_EQ(plans[0].targets[0].delay_sec, 30u);
  EXPECT_FALSE(plans[0].targets[0].bypass);
}

TEST(RvWalk, DefaultsHttpsAndSchemePorts) {
  // docs/interop.md "rv-device-walk": RVProtocol absent reads as https; port by scheme; Rest tries https then http.
  RendezvousDirective absent;
  absent.set_dns("a");
  RendezvousDirective http;
  http.set_dns("b").set_protocol(RVProtocolValue::Http);
  RendezvousDirective rest;
  rest.set_dns("c").set_protocol(RVProtocolValue::Rest).add_ip_address(*IpAddress::parse("10.0.0.3"));
  const std::vector<RvTarget> targets = flatten(device_rv_plan(RendezvousInfo({absent, http, rest})));
  EXPECT_EQ(urls(targets), (Urls{"https://a:443", "http://b:80", "https://c:443", "http://c:80", "https://10.0.0.3:443",
                                 "http://10.0.0.3:80"}));
  EXPECT_EQ(targets[3].directive, 2u);
}

TEST(RvWalk, DeviceSkipsOwnerOnlyAndUnusableDirectives) {
  const auto make = [](auto&& setup) {
    RendezvousDirective d;
    d.set_dns("rv").set_delay_sec(5);
    setup(d);
    return d;
  };
  const RendezvousInfo info({
      make([](RendezvousDirective& d) { d.set_flag(RVVariable::RVOwnerOnly); }),
      make([](RendezvousDirective& d) { d.set_protocol(RVProtocolValue::Tls); }),
      make([](RendezvousDirective& d) {
        d.set_ext_rv({"wol", {}});
      }),
      make([](RendezvousDirective& d) { d.set_user_input(true); }),
      [] {
        RendezvousDirective d;
        d.set_dev_port(80);
        return d;
      }(),
      make([](RendezvousDirective& d) { d.set_flag(RVVariable::RVDevOnly); }),
  });
  const std::vector<RvPlan> plans = device_rv_plan(info);
  ASSERT_EQ(plans.size(), 6u);
  EXPECT_EQ(plans[0].skipped, "RVOwnerOnly");
  EXPECT_EQ(plans[0].delay_sec, 0u);  // not the device's directive: no delay either
  EXPECT_EQ(plans[1].skipped, "RVProtocol tls is not HTTP");
  EXPECT_EQ(plans[1].delay_sec, 5u);  // "no attempt (the delay still applies)"
  EXPECT_NE(plans[2].skipped.find("RVExtRV"), std::string::npos);
  EXPECT_NE(plans[3].skipped.find("RVUserInput"), std::string::npos);
  EXPECT_EQ(plans[4].skipped, "no RVDns or RVIPAddress");
  EXPECT_TRUE(plans[5].skipped.empty());
  EXPECT_EQ(urls(flatten(plans)), (Urls{"https://rv:443"}));
  // A confirmed RVUserInput directive is usable.
  RvWalkOptions confirmed;
  confirmed.user_input_confirmed = true;
  EXPECT_TRUE(device_rv_plan(info, confirmed)[3].skipped.empty());
}

TEST(RvWalk, BypassTargetsAreMarkedAndOnlyHttpsTargetsCarryTheTlsPins) {
  // RVProtRest gives an https and an http target per host; the pins (FDO 1.1 §3.7, RVSvCertHash / RVClCertHash)
  // concern TLS, so the http target must not carry them. Enforcing them on a connection is the HTTPS client's
  // job (tested with HTTPS support).
  RendezvousDirective d;
  d.set_dns("owner.example.com")
      .set_dev_port(8043)
      .set_protocol(RVProtocolValue::Rest)
      .set_delay_sec(10)
      .set_flag(RVVariable::RVBypass)
      .set_sv_cert_hash(Hash(HashType::Sha256, Bytes(32, 1)))
      .set_cl_cert_hash(Hash(HashType::Sha384, Bytes(48, 2)));
  const std::vector<RvTarget> targets = flatten(device_rv_plan(RendezvousInfo({d})));
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(urls(targets), (Urls{"https://owner.example.com:8043", "http://owner.example.com:8043"}));
  for (const RvTarget& t : targets) {
    EXPECT_TRUE(t.bypass);
    EXPECT_EQ(t.delay_sec, 10u);
  }
  ASSERT_TRUE(targets[0].sv_cert_hash && targets[0].cl_cert_hash);
  EXPECT_EQ(targets[0].sv_cert_hash->type(), HashType::Sha256);
  EXPECT_EQ(targets[0].cl_cert_hash->type(), HashType::Sha384);
  EXPECT_FALSE(targets[1].sv_cert_hash);
  EXPECT_FALSE(targets[1].cl_cert_hash);
  // The owner's view has no pins at all: TO0 is not where the device's TLS pins apply.
  EXPECT_TRUE(flatten(owner_rv_plan(RendezvousInfo({d}))).empty());
}

TEST(RvWalk, OwnerSkipsDevOnlyAndBypassUsesOwnerPortAndListsEachServerOnce) {
  const std::vector<std::string> args = {"http://rv1:8040?dev-only", "https://owner:8043?bypass", "http://rv2:8041",
                                         "http://rv2:8041?delay=5", "https://10.0.0.9:8443?owner-only"};
  RendezvousInfo info = RendezvousInfo::from_urls(args);
  RendezvousDirective ports;
  ports.set_dns("rv3").set_dev_port(1).set_owner_port(2).set_protocol(RVProtocolValue::Http);
  info.add(ports);
  const std::vector<RvPlan> plans = owner_rv_plan(info);
  ASSERT_EQ(plans.size(), 6u);
  EXPECT_EQ(plans[0].skipped, "RVDevOnly");
  EXPECT_NE(plans[1].skipped.find("RVBypass"), std::string::npos);
  EXPECT_TRUE(plans[2].skipped.empty());
  EXPECT_NE(plans[3].skipped.find("same rendezvous server"), std::string::npos);
  EXPECT_EQ(urls(flatten(plans)), (Urls{"http://rv2:8041", "https://10.0.0.9:8443", "http://rv3:2"}));
  // The device walk of the same info.
  EXPECT_EQ(urls(flatten(device_rv_plan(info))),
            (Urls{"http://rv1:8040", "https://owner:8043", "http://rv2:8041", "http://rv2:8041", "http://rv3:1"}));
}

TEST(RvWalk, OwnerDefaultsPortByScheme) {
  RendezvousDirective d;
  d.set_dns("rv").set_dev_port(8040);
  EXPECT_EQ(urls(flatten(owner_rv_plan(RendezvousInfo({d})))), (Urls{"https://rv:443"}));
}

}  // namespace
}  // namespace fdo
