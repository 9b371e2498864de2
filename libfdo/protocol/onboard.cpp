#include "libfdo/protocol/onboard.h"

#include <utility>

#include "libfdo/core/log.h"
#include "libfdo/transport/http_transport.h"

namespace fdo::protocol {
namespace {

void say(const OnboardOptions& options, std::string_view line) {
  if (options.progress) {
    options.progress(line);
  }
}

// What went wrong in TO2, said from the device's side.
std::string describe(const Error& e) {
  const std::string code =
      std::string(error_code_name(e.code())) + " (" + std::to_string(static_cast<int>(e.code())) + ")";
  switch (e.source()) {
    case ErrorSource::Peer:
      return "the owner ended the run with " + code + ": " + e.what();
    case ErrorSource::Transport:
      return e.what();
    case ErrorSource::Local:
      break;
  }
  return "the device refused the owner's answer, " + code + ": " + e.what();
}

OnboardFailure to2_failure(std::size_t round, const std::string& url, const Error& e) {
  return OnboardFailure{
      .round = round,
      .url = url,
      .error = describe(e),
      .source = e.source(),
      .code = e.source() != ErrorSource::Transport ? std::optional<ErrorCode>(e.code()) : std::nullopt};
}

}  // namespace

OnboardResult onboard_device(const DeviceCredential& credential, const DeviceSigner& signer, const DeviceHmac& hmac,
                             const OnboardOptions& options) {
  OnboardResult out;
  FindOwnerOptions find = options.find;
  find.max_rounds = 1;
  for (std::size_t round = 1; options.max_rounds == 0 || round <= options.max_rounds; ++round) {
    out.rounds = round;
    if (round > 1) {
      say(options, "starting again from " + std::string(options.owner_urls.empty() ? "TO1" : "TO2") + " in about " +
                       std::to_string(options.retry_delay_sec) + " s (round " + std::to_string(round) + ")");
      wait_jittered(options.retry_delay_sec, options.find.jitter, options.find.sleep);
    }
    // ---- TO1 (FDO 1.1 §5.4): where is my owner?
    std::optional<Bytes> to1d;
    out.rendezvous.clear();
    out.to2_urls = options.owner_urls;
    if (options.owner_urls.empty()) {
      const FindOwnerResult found = find_owner(credential, signer, find);
      if (!found.found) {
        std::string why;
        for (const RvAttempt& a : found.attempts) {
          why += (why.empty() ? "" : "; ") + a.url + ": " + a.error;
        }
        out.failures.push_back(OnboardFailure{.round = round,
                                              .url = {},
                                              .error = "no owner found" + (why.empty() ? "" : " (" + why + ")"),
                                              .source = ErrorSource::Transport,
                                              .code = std::nullopt});
        say(options, "TO1 found no owner" + (why.empty() ? std::string() : " (" + why + ")"));
        continue;
      }
      out.rendezvous = found.rendezvous;
      out.to2_urls = found.to2_urls;
      if (found.to1) {
        to1d = found.to1->redirect.to1d_bytes;
      }
      say(options, "TO1: " + (found.bypass ? std::string("bypass") : "rendezvous " + found.rendezvous) +
                       " names the owner at " + out.to2_urls.front());
    }
    // ---- TO2 (FDO 1.1 §5.5) at each address in turn; only an unreachable owner moves on (FDO 1.1 §3.3.14).
    for (const std::string& url : out.to2_urls) {
      To2DeviceOptions to2 = options.to2_options ? options.to2_options() : To2DeviceOptions{};
      to2.to1d = to1d;
      if (!to2.progress) {
        to2.progress = options.progress;
      }
      std::unique_ptr<transport::MessageTransport> transport =
          options.make_to2_transport ? options.make_to2_transport(url)
                                     : std::make_unique<transport::HttpTransport>(url, options.find.http);
      try {
        say(options, "TO2: onboarding to " + url);
        out.to2 = run_to2(*transport, credential, signer, hmac, std::move(to2));
        out.owner_url = url;
        return out;
      } catch (const Error& e) {
        out.failures.push_back(to2_failure(round, url, e));
        say(options, "TO2 at " + url + ": " + out.failures.back().error);
        log::info("TO2 at " + url + " failed (round " + std::to_string(round) + "): " + out.failures.back().error);
        if (e.source() != ErrorSource::Transport) {
          break;  // the device stopped the run itself or the owner refused it: a new round starts from TO1
        }
      }
    }
  }
  return out;
}

}  // namespace fdo::protocol
