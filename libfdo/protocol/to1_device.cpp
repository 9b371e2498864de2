#include "libfdo/protocol/to1_device.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <thread>
#include <utility>

#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/protocol/client_run.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/sig_info.h"

namespace fdo::protocol {
namespace {

// docs/interop.md "siginfo-answer": the device rejects a different sgType or a non-empty Info (101) (DEV-33).
void check_eb_sig_info(const SigInfo& eb_sig_info, const SigInfo& own) {
  if (eb_sig_info.sg_type != own.sg_type) {
    throw_invalid("TO1.HelloRVAck: eBSigInfo names " + std::string(sg_type_name(eb_sig_info.sg_type)) +
                  ", this device signs with " + std::string(sg_type_name(own.sg_type)));
  }
  if (!eb_sig_info.info.empty()) {
    throw_invalid("TO1.HelloRVAck: eBSigInfo Info must be empty, got " + std::to_string(eb_sig_info.info.size()) +
                  " bytes");
  }
}

/// `seconds` varied at random by up to ±`jitter` (FDO 1.1 §3.7).
std::chrono::milliseconds jittered(std::uint32_t seconds, double jitter) {
  std::array<std::uint8_t, 4> raw{};
  fill_random(raw);
  const std::uint32_t r = (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) | (std::uint32_t{raw[2]} << 8) |
                          std::uint32_t{raw[3]};
  const double unit = static_cast<double>(r) / 4294967295.0;  // [0, 1]
  const double factor = 1.0 + jitter * (2.0 * unit - 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0 * factor)));
}

void wait(const FindOwnerOptions& options, std::uint32_t seconds) {
  log::debug("waiting about " + std::to_string(seconds) + " s before the next rendezvous directive");
  wait_jittered(seconds, options.jitter, options.sleep);
}

// docs/security.md "TLS": a pin of the directive (RVSvCertHash, RVClCertHash) is how an https target is trusted.
std::optional<transport::CertPin> pin_of(const std::optional<Hash>& hash, std::string_view variable) {
  if (!hash) {
    return std::nullopt;
  }
  if (hash->type() != HashType::Sha256 && hash->type() != HashType::Sha384) {
    throw_invalid(std::string(variable) + " is a " + std::string(hash_type_name(hash->type())) +
                  ": a certificate pin is SHA-256 or SHA-384");
  }
  return transport::CertPin{
      .alg = hash->type() == HashType::Sha384 ? transport::CertPin::Alg::Sha384 : transport::CertPin::Alg::Sha256,
      .digest = Bytes(hash->value().begin(), hash->value().end())};
}

std::unique_ptr<transport::MessageTransport> transport_for(const FindOwnerOptions& options, const RvTarget& target) {
  const std::string url = target.url();
  if (options.make_transport) {
    return options.make_transport(url);
  }
  transport::HttpClientOptions http = options.http;
  if (target.scheme == "https") {
    http.server_cert_pin = pin_of(target.sv_cert_hash, "RVSvCertHash");
    http.ca_cert_pin = pin_of(target.cl_cert_hash, "RVClCertHash");
  }
  std::unique_ptr<transport::MessageTransport> t = std::make_unique<transport::HttpTransport>(url, http);
  return options.wrap ? options.wrap(std::move(t)) : std::move(t);
}

}  // namespace

void wait_jittered(std::uint32_t seconds, double jitter, const std::function<void(std::chrono::milliseconds)>& sleep) {
  const std::chrono::milliseconds delay = jittered(seconds, jitter);
  if (sleep) {
    sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

To1Result run_to1(transport::MessageTransport& transport, const DeviceCredential& credential,
                  const DeviceSigner& signer) {
  const SigInfo own = SigInfo::for_alg(signer.sig_alg());
  ClientRun run(transport);
  return run.run([&] {
    // TO1.HelloRV (30) → TO1.HelloRVAck (31)
    const auto ack = run.exchange<to1::HelloRVAck>(to1::HelloRV{.guid = credential.dc_guid, .ea_sig_info = own});
    check_eb_sig_info(ack.eb_sig_info, own);
    // TO1.ProveToRV (32) → TO1.RVRedirect (33): the EAT over NonceTO1Proof and the current GUID (FDO 1.1 §5.4.3).
    const to1::ProveToRV prove{make_eat(signer, ack.nonce_to1_proof, credential.dc_guid)};
    to1::RVRedirect redirect = run.exchange<to1::RVRedirect>(prove);
    std::vector<std::string> urls = redirect.to1d_payload.to1d_rv.to_urls();
    return To1Result{.redirect = std::move(redirect), .to2_urls = std::move(urls)};
  });
}

FindOwnerResult find_owner(const DeviceCredential& credential, const DeviceSigner& signer,
                           const FindOwnerOptions& options) {
  FindOwnerResult result;
  const std::vector<RvPlan> plans = device_rv_plan(credential.dc_rv_info, options.walk);
  const std::string guid = credential.dc_guid.hex();
  for (std::size_t round = 0; options.max_rounds == 0 || round < options.max_rounds; ++round) {
    if (round > 0) {
      // docs/interop.md "rv-device-walk": after the whole list, sleep 120 s × (1 ± 0.25 random), then start again.
      wait(options, options.retry_delay_sec);
    }
    for (const RvPlan& plan : plans) {
      if (!plan.skipped.empty()) {
        log::debug("rendezvous directive " + std::to_string(plan.directive) + " skipped: " + plan.skipped, guid);
      }
      if (!plan.targets.empty() && plan.targets.front().bypass) {
        // FDO 1.1 §3.7.1: RVBypass names the owner; TO2 goes to every target of the directive, in the walk's
        // order (DNS, then each IP; https then http for RVProtRest), without TO1.
        result.found = true;
        result.bypass = true;
        for (const RvTarget& target : plan.targets) {
          result.to2_urls.push_back(target.url());
        }
        return result;
      }
      for (const RvTarget& target : plan.targets) {
        const std::string url = target.url();
        try {
          const std::unique_ptr<transport::MessageTransport> transport = transport_for(options, target);
          To1Result to1 = run_to1(*transport, credential, signer);
          result.found = true;
          result.rendezvous = url;
          result.to2_urls = to1.to2_urls;
          result.to1 = std::move(to1);
          result.attempts.push_back(RvAttempt{url, std::nullopt, {}, ErrorSource::Local});
          log::info("TO1 at " + url + ": owner at " + std::to_string(result.to2_urls.size()) + " address(es)", guid);
          return result;
        } catch (const Error& e) {
          log::warn("TO1 at " + url + " failed: " + e.what(), guid);
          result.attempts.push_back(RvAttempt{url, e.code(), e.what(), e.source()});
        }
      }
      // docs/interop.md "rv-device-walk": a directive's delay applies after trying it, also when it had no URLs.
      if (plan.delay_sec > 0) {
        wait(options, options.max_delay_sec > 0 ? std::min(plan.delay_sec, options.max_delay_sec) : plan.delay_sec);
      }
    }
  }
  return result;
}

}  // namespace fdo::protocol
