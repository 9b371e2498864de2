#pragma once
// The device's whole onboarding, unattended (FDO 1.1 §3.7, §5.4, §5.5): find the owner through TO1, run TO2 at its
// addresses, and when that fails start again from TO1 after a delay, until onboarded or out of rounds. A device in
// the field runs this with no operator; `fdo-device onboard` is its command line (docs/cli.md).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/to1_device.h"
#include "libfdo/protocol/to2_device.h"
#include "libfdo/types/device_credential.h"

namespace fdo::protocol {

struct OnboardOptions {
  /// TO1: how to reach the rendezvous servers. Each round walks the RendezvousInfo once (its max_rounds and
  /// retry_delay_sec are not used: the rounds and retry_delay_sec below are).
  FindOwnerOptions find;
  /// Skip TO1 and run TO2 at these addresses (`--owner-url`, or an RVBypass the caller resolved).
  std::vector<std::string> owner_urls;
  /// Rounds of TO1 then TO2 before giving up; 0 goes on until the device is onboarded (a device's default).
  std::size_t max_rounds = 1;
  /// Seconds to wait after a failed round, ±find.jitter (docs/interop.md "rv-device-walk": 120 s).
  std::uint32_t retry_delay_sec = kRvRetryDelaySec;
  /// Makes the TO2 transport for an owner URL; when empty, an HttpTransport with `find.http`.
  TransportFactory make_to2_transport;
  /// The TO2 options of one attempt (called for each: its modules are used up by a run).
  std::function<To2DeviceOptions()> to2_options;
  /// One line per step, for the CLI.
  std::function<void(std::string_view)> progress;
};

/// One failed attempt, in order.
struct OnboardFailure {
  std::size_t round = 0;
  /// The owner URL of a failed TO2; empty for TO1.
  std::string url;
  std::string error;
  /// Where the error arose (only ErrorSource::Peer carries the owner's or rendezvous' code).
  ErrorSource source = ErrorSource::Local;
  std::optional<ErrorCode> code;

  /// "TO1" or "TO2 at URL".
  [[nodiscard]] std::string step() const { return url.empty() ? "TO1" : "TO2 at " + url; }
};

struct OnboardResult {
  /// Set when TO2 completed: what the caller stores (FDO 1.1 §5.5.13).
  std::optional<To2Result> to2;
  /// The owner URL that onboarded the device, and the rendezvous server that named it (empty for --owner-url or
  /// bypass).
  std::string owner_url;
  std::string rendezvous;
  /// The last round's TO2 addresses.
  std::vector<std::string> to2_urls;
  /// Rounds run, the successful one included.
  std::size_t rounds = 0;
  std::vector<OnboardFailure> failures;
};

/// Runs rounds of TO1 (unless options.owner_urls) then TO2 at each address in turn: an unreachable owner moves on to
/// the next address; any other TO2 failure ends the round (the device has sent its 255). After a failed round it
/// waits retry_delay_sec (±jitter) and starts again from TO1, for at most max_rounds rounds. Nothing of `credential`
/// changes; failures are recorded, never thrown.
OnboardResult onboard_device(const DeviceCredential& credential, const DeviceSigner& signer, const DeviceHmac& hmac,
                             const OnboardOptions& options);

}  // namespace fdo::protocol
