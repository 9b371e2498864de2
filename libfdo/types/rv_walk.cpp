#include "libfdo/types/rv_walk.h"

#include <algorithm>
#include <set>

namespace fdo {
namespace {

enum class Side { Device, Owner };

std::uint16_t default_port(std::string_view scheme) {
  return scheme == "http" ? 80 : 443;
}

// docs/interop.md "rv-device-walk": scheme https for Https or absent, http for Http; Rest tries https, then http.
// Empty when the protocol cannot be used over HTTP; `why` then says so.
std::vector<std::string> schemes_for(std::optional<RVProtocolValue> protocol, std::string& why) {
  if (!protocol || *protocol == RVProtocolValue::Https) {
    return {"https"};
  }
  if (*protocol == RVProtocolValue::Http) {
    return {"http"};
  }
  if (*protocol == RVProtocolValue::Rest) {
    return {"https", "http"};
  }
  const std::string_view name = rv_protocol_name(*protocol);
  why = "RVProtocol " + (name.empty() ? std::to_string(static_cast<unsigned>(*protocol)) : std::string(name)) +
        " is not HTTP";
  return {};
}

RvPlan plan_directive(const RendezvousDirective& d, std::size_t index, Side side, const RvWalkOptions& options) {
  RvPlan plan;
  plan.directive = index;
  if (side == Side::Device && d.owner_only()) {
    plan.skipped = "RVOwnerOnly";
    return plan;
  }
  if (side == Side::Owner && d.dev_only()) {
    plan.skipped = "RVDevOnly";
    return plan;
  }
  // FDO 1.1 §3.7, §3.7.1: RVBypass is a device-only variable; for TO0 the owner skips directives containing
  // RVDevOnly or RVBypass (docs/interop.md "rv-owner-view").
  if (side == Side::Owner && d.bypass()) {
    plan.skipped = "RVBypass (the device goes to the owner directly)";
    return plan;
  }
  plan.delay_sec = d.delay_sec().value_or(0);
  if (const std::optional<RVExtRV> ext = d.ext_rv()) {
    plan.skipped = "RVExtRV mechanism '" + ext->mechanism + "' is not supported";
    return plan;
  }
  if (side == Side::Device && d.user_input().value_or(false) && !options.user_input_confirmed) {
    plan.skipped = "RVUserInput: needs confirmation by the user";
    return plan;
  }
  const std::vector<std::string> schemes = schemes_for(d.protocol(), plan.skipped);
  if (schemes.empty()) {
    return plan;
  }
  std::vector<std::string> hosts;
  if (const std::optional<std::string> dns = d.dns()) {
    hosts.push_back(*dns);
  }
  for (const IpAddress& ip : d.ip_addresses()) {
    hosts.push_back(ip.unmapped().to_string());
  }
  if (hosts.empty()) {
    plan.skipped = "no RVDns or RVIPAddress";
    return plan;
  }
  const std::optional<std::uint16_t> port = side == Side::Device ? d.dev_port() : d.owner_port();
  for (const std::string& host : hosts) {
    for (const std::string& scheme : schemes) {
      RvTarget t;
      t.scheme = scheme;
      t.host = host;
      t.port = std::to_string(port.value_or(default_port(scheme)));
      t.bypass = side == Side::Device && d.bypass();
      t.delay_sec = plan.delay_sec;
      t.directive = index;
      if (side == Side::Device && scheme == "https") {
        t.sv_cert_hash = d.sv_cert_hash();
        t.cl_cert_hash = d.cl_cert_hash();
      }
      plan.targets.push_back(std::move(t));
    }
  }
  return plan;
}

}  // namespace

std::string RvTarget::url() const {
  const bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + port;
}

std::vector<RvPlan> device_rv_plan(const RendezvousInfo& info, const RvWalkOptions& options) {
  std::vector<RvPlan> plans;
  for (std::size_t i = 0; i < info.directives().size(); ++i) {
    plans.push_back(plan_directive(info.directives()[i], i, Side::Device, options));
  }
  return plans;
}

std::vector<RvPlan> owner_rv_plan(const RendezvousInfo& info) {
  std::vector<RvPlan> plans;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < info.directives().size(); ++i) {
    RvPlan plan = plan_directive(info.directives()[i], i, Side::Owner, {});
    const bool had_targets = !plan.targets.empty();
    std::erase_if(plan.targets, [&](const RvTarget& t) { return !seen.insert(t.url()).second; });
    if (had_targets && plan.targets.empty()) {
      plan.skipped = "same rendezvous server as an earlier directive";
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

std::vector<RvTarget> flatten(const std::vector<RvPlan>& plans) {
  std::vector<RvTarget> out;
  for (const RvPlan& plan : plans) {
    out.insert(out.end(), plan.targets.begin(), plan.targets.end());
  }
  return out;
}

}  // namespace fdo
