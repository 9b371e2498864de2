#pragma once
// The device's side of TO1 (FDO 1.1 §5.4) and the device's walk over its RendezvousInfo to find
// its owner (FDO 1.1 §3.7, §3.7.1).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/messages/to1.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/to0_owner.h"
#include "libfdo/transport/http_client.h"
#include "libfdo/transport/transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/rv_walk.h"

namespace fdo::protocol {

/// What a successful TO1 gives the device.
struct To1Result {
  /// TO1.RVRedirect: the owner's signed to1d, kept byte for byte so that TO2 can verify it with the owner key once
  /// the voucher is known (FDO 1.1 §5.4.4; the check comes with TO2, §5.5.3).
  to1::RVRedirect redirect;
  /// The HTTP(S) URLs of the owner's RVTO2Addr, entries in order, DNS before IP (FDO 1.1 §3.3.14).
  std::vector<std::string> to2_urls;
};

/// Runs TO1 once against one rendezvous server, FDO 1.1 §5.4:
///   TO1.HelloRV (30) → TO1.HelloRVAck (31), TO1.ProveToRV (32) → TO1.RVRedirect (33).
/// Checks on the answers: HelloRVAck decodes (100) and its eBSigInfo is `[own sgType, h'']` (101, DEV-33);
/// RVRedirect is a tagged COSE_Sign1 with an empty unprotected map whose payload has at least one RVTO2Addr entry
/// (100, DEV-34). A failed check sends our 255 to the server and throws; a server 255 throws with its code.
To1Result run_to1(transport::MessageTransport& transport, const DeviceCredential& credential,
                  const DeviceSigner& signer);

/// How find_owner() walks and waits.
struct FindOwnerOptions {
  /// How many times the whole directive list is walked; 0 walks until an owner is found (a device's default).
  std::size_t max_rounds = 1;
  /// Seconds to wait after an unsuccessful walk of the whole list (docs/interop.md "rv-device-walk": 120 s).
  std::uint32_t retry_delay_sec = kRvRetryDelaySec;
  /// Relative jitter of every delay (FDO 1.1 §3.7 allows a delay to vary at random by up to ±25 %).
  double jitter = kRvDelayJitter;
  /// Optional safety bound on one RVDelaysec, in seconds; 0 (the default) follows the spec, which sets no cap
  /// (FDO 1.1 §3.7). The C SDK replaces delays above 3600 s with its default; `fdo-device --max-rv-delay` sets this.
  std::uint32_t max_delay_sec = 0;
  /// Device-side platform choices (RVUserInput).
  RvWalkOptions walk;
  /// Makes the transport for one rendezvous URL (tests); when empty, an HttpTransport with `http` and the
  /// target's RVSvCertHash / RVClCertHash pins (FDO 1.1 §3.7), passed through `wrap` when set (a trace).
  TransportFactory make_transport;
  transport::HttpClientOptions http;
  std::function<std::unique_ptr<transport::MessageTransport>(std::unique_ptr<transport::MessageTransport>)> wrap;
  /// Waits; tests replace it so that no test sleeps for real.
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// One target tried by find_owner().
struct RvAttempt {
  /// The target's URL.
  std::string url;
  /// The error code (the server's, or 500 when unreachable), or nullopt for the success.
  std::optional<ErrorCode> error_code;
  std::string error;
  /// Where the failure arose: only for ErrorSource::Peer is `error_code` a code the server sent.
  ErrorSource error_source = ErrorSource::Local;
};

/// The outcome of find_owner().
struct FindOwnerResult {
  /// Whether an owner address was found.
  bool found = false;
  /// The directive was RVBypass: `to2_urls` is the directive's own address, and there is no to1d.
  bool bypass = false;
  /// The rendezvous server that answered TO1 (empty for bypass or when nothing was found).
  std::string rendezvous;
  /// Where to run TO2.
  std::vector<std::string> to2_urls;
  /// The TO1 result (not for bypass).
  std::optional<To1Result> to1;
  /// Every target tried, in order.
  std::vector<RvAttempt> attempts;
};

/// Waits `seconds` varied at random by up to ±`jitter` (FDO 1.1 §3.7), with `sleep` when set (tests), else for real.
void wait_jittered(std::uint32_t seconds, double jitter, const std::function<void(std::chrono::milliseconds)>& sleep);

/// The device's walk over DCRVInfo (FDO 1.1 §3.7; docs/interop.md "rv-device-walk"): directives in order, RVOwnerOnly
/// skipped, DNS then each IP; a bypass directive yields every one of its targets, without TO1 (FDO 1.1 §3.7.1);
/// otherwise TO1 at each target until one succeeds. After each directive with RVDelaysec it waits that long (bounded
/// only by max_delay_sec), and after a whole unsuccessful walk `retry_delay_sec`, each ±jitter, for at most
/// `max_rounds` walks. Failures are recorded, never thrown.
FindOwnerResult find_owner(const DeviceCredential& credential, const DeviceSigner& signer,
                           const FindOwnerOptions& options);

}  // namespace fdo::protocol
