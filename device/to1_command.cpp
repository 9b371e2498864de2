// `fdo-device to1`: find the owner through the rendezvous servers of the credential (FDO 1.1 §5.4; docs/cli.md). The
// protocol and the RendezvousInfo walk are libfdo/protocol/to1_device; this file loads the credential and prints.

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/to1_device.h"
#include "libfdo/protocol/trace_file.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/json.h"
#include "tools/common/cli.h"
#include "tools/common/tls_options.h"

namespace fdo::device_tool {
namespace {

struct To1Config {
  std::filesystem::path credential;
  std::string tpm;
  std::filesystem::path trace;
  bool json = false;
  std::size_t rounds = 1;
  std::uint32_t retry_delay = kRvRetryDelaySec;
  std::uint32_t max_rv_delay = 0;
  tool::ClientTls tls;
};

/// What a rendezvous server's error code means to the person running the device (FDO 1.1 §5.1.1.1).
std::string explain(ErrorCode code) {
  switch (code) {
    case ErrorCode::ResourceNotFound:
      return "the rendezvous server has no registration for this device (TO0 not done, expired or removed)";
    case ErrorCode::InvalidMessageError:
      return "the rendezvous server refused the device's proof (is the voucher registered for this device?)";
    case ErrorCode::MessageBodyError:
      return "the rendezvous server found a message malformed";
    case ErrorCode::InvalidJwtToken:
      return "the rendezvous server lost the session";
    case ErrorCode::InternalServerError:
      return "the rendezvous server failed";
    default:
      return "the rendezvous server ended the run";
  }
}

/// One line for a failed attempt: the server's code only when the server sent one (ErrorSource::Peer).
std::string describe_attempt(const protocol::RvAttempt& a) {
  switch (a.error_source) {
    case ErrorSource::Peer: {
      const ErrorCode code = a.error_code.value_or(ErrorCode::InternalServerError);
      return std::string(error_code_name(code)) + " (" + std::to_string(static_cast<int>(code)) +
             "): " + explain(code) + " [" + a.error + "]";
    }
    case ErrorSource::Transport:
      return a.error;
    case ErrorSource::Local:
      break;
  }
  return "the device refused the server's answer: " + a.error;
}

// {"format":1,"guid","found","rendezvous","bypass","to2_urls":[…],"attempts":[{"url","error","error_code",
//  "detail"}]}: every attempt carries the same keys, null for the one that succeeded.
void print_json(const protocol::FindOwnerResult& r, const DeviceCredential& credential) {
  JsonWriter j(true);
  j.begin_object().key("format").integer(tool::kJsonFormat);
  j.key("guid").string(credential.dc_guid.hex()).key("found").boolean(r.found);
  j.key("rendezvous");
  if (r.rendezvous.empty()) {
    j.null();
  } else {
    j.string(r.rendezvous);
  }
  j.key("bypass").boolean(r.bypass).key("to2_urls").begin_array();
  for (const std::string& url : r.to2_urls) {
    j.string(url);
  }
  j.end_array().key("attempts").begin_array();
  for (const protocol::RvAttempt& a : r.attempts) {
    j.begin_object().key("url").string(a.url);
    const bool failed = a.error_code.has_value();
    j.key("error");
    if (failed) {
      j.string(tool::error_kind(a.error_source));
    } else {
      j.null();
    }
    j.key("error_code");
    if (failed && a.error_source == ErrorSource::Peer) {
      j.uinteger(static_cast<std::uint16_t>(*a.error_code));
    } else {
      j.null();
    }
    j.key("detail");
    if (failed) {
      j.string(a.error);
    } else {
      j.null();
    }
    j.end_object();
  }
  j.end_array().end_object();
  std::cout << j.str() << "\n";
}

int run_to1_command(const To1Config& config) {
  const DeviceState device = open_device(config.credential, config.tpm);
  const DeviceCredential* credential = &device.credential;
  if (!credential->dc_active) {
    throw_invalid("the credential is not active (DCActive is false): this device has completed onboarding");
  }
  const std::unique_ptr<protocol::DeviceSigner>& signer = device.signer;
  protocol::FindOwnerOptions options;
  options.max_rounds = config.rounds;
  options.retry_delay_sec = config.retry_delay;
  options.max_delay_sec = config.max_rv_delay;
  options.http = tool::client_options(config.tls);
  std::optional<protocol::TraceDir> trace;
  if (!config.trace.empty()) {
    trace.emplace(config.trace);
    options.wrap = [&trace](std::unique_ptr<transport::MessageTransport> t) -> std::unique_ptr<transport::MessageTransport> {
      return std::make_unique<protocol::TracingTransport>(std::move(t), *trace);
    };
  }
  const protocol::FindOwnerResult result = protocol::find_owner(*credential, *signer, options);
  if (config.json) {
    print_json(result, *credential);
  } else if (result.found) {
    std::cout << (result.bypass ? "bypass: no rendezvous, owner named directly\n"
                                : "rendezvous: " + result.rendezvous + "\n");
    for (const std::string& url : result.to2_urls) {
      std::cout << "owner: " << url << "\n";
    }
  }
  if (result.found) {
    return 0;
  }
  if (result.attempts.empty()) {
    std::cerr << "fdo-device to1: the credential's RendezvousInfo names no rendezvous server the device can use\n";
    return kFailure;
  }
  for (const protocol::RvAttempt& a : result.attempts) {
    std::cerr << "fdo-device to1: " << a.url << ": " << describe_attempt(a) << "\n";
  }
  return kFailure;
}

}  // namespace

void register_to1(Commands& commands) {
  const auto config = std::make_shared<To1Config>();
  CLI::App& cmd = commands.add("to1", "Find the owner through the rendezvous server (TO1, FDO 1.1 §5.4)",
                               [config] { return run_to1_command(*config); });
  add_credential_options(cmd, config->credential, config->tpm, "The credential file");
  add_trace_option(cmd, config->trace);
  tool::add_client_tls_options(cmd, config->tls);
  cmd.add_flag("--json", config->json, "One JSON document on stdout (to2_urls, rendezvous, attempts)");
  cmd.add_option("--rounds", config->rounds, "Walks of the RendezvousInfo list before giving up (0: forever)")
      ->capture_default_str();
  cmd.add_option("--retry-delay", config->retry_delay, "Seconds between walks (±25 %)")->capture_default_str();
  cmd.add_option("--max-rv-delay", config->max_rv_delay,
                 "Upper bound in seconds on one directive's RVDelaysec (0: none, as FDO 1.1 §3.7 sets none)")
      ->capture_default_str();
  cmd.footer("Example: fdo-device to1 --credential cred.bin --json");
}

}  // namespace fdo::device_tool
