#pragma once
// Interpreting RendezvousInfo (FDO 1.1 §3.7, §3.7.1): the ordered targets a device
// tries for TO1 (or TO2 under RVBypass), and the rendezvous servers an owner registers with in TO0.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/types/hash.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo {

/// Seconds a device waits after the end of the directive list before walking it again
/// (docs/interop.md "rv-device-walk": 120 s, varied by ±25 %).
inline constexpr std::uint32_t kRvRetryDelaySec = 120;
/// Relative jitter the device applies to every delay (±25 %, as FDO 1.1 §3.7 allows).
inline constexpr double kRvDelayJitter = 0.25;

/// One place to connect to.
struct RvTarget {
  /// "http" or "https".
  std::string scheme;
  /// DNS name or IP address text (IPv6 without brackets).
  std::string host;
  /// Decimal port.
  std::string port;
  /// RVBypass: the address is the owner's; run TO2 here directly, without TO1 (FDO 1.1 §3.7.1).
  bool bypass = false;
  /// RVDelaysec of the directive: wait this long after trying the directive's targets.
  std::uint32_t delay_sec = 0;
  /// Index of the directive in the RendezvousInfo.
  std::size_t directive = 0;
  /// TLS pins for https targets (FDO 1.1 §3.7 RVSvCertHash, RVClCertHash): server leaf and CA certificate hashes.
  std::optional<Hash> sv_cert_hash;
  std::optional<Hash> cl_cert_hash;

  /// "scheme://host:port", IPv6 hosts in brackets.
  [[nodiscard]] std::string url() const;
  bool operator==(const RvTarget&) const = default;
};

/// One directive as seen by one side: its targets in order, or why it is skipped.
struct RvPlan {
  /// Index of the directive.
  std::size_t directive = 0;
  /// DNS first, then each IP address (docs/interop.md "rv-device-walk"); for RVProtRest https then http per host.
  std::vector<RvTarget> targets;
  /// RVDelaysec: applies after the directive is tried, also when it had nothing usable. Zero for a
  /// directive that belongs to the other side.
  std::uint32_t delay_sec = 0;
  /// Empty when usable; otherwise why no attempt is made ("RVOwnerOnly", "RVProtocol tls is not HTTP").
  std::string skipped;
};

/// Device-side choices the spec leaves to the platform (FDO 1.1 §3.7).
struct RvWalkOptions {
  /// The user has confirmed directives marked RVUserInput (default: such directives are unusable).
  bool user_input_confirmed = false;
};

/// The device's walk (docs/interop.md "rv-device-walk"): skips RVOwnerOnly directives; a directive with RVExtRV,
/// unconfirmed RVUserInput, an RVProtocol other than http / https / rest, or no address makes no attempt
/// (its delay still applies); scheme https when RVProtocol is absent; port RVDevPort, else 443 / 80.
std::vector<RvPlan> device_rv_plan(const RendezvousInfo& info, const RvWalkOptions& options = {});
/// The owner's view for TO0 (docs/interop.md "rv-owner-view"): skips RVDevOnly and RVBypass directives; port
/// RVOwnerPort, else 443 / 80; a target already listed by an earlier directive is not repeated, so each
/// distinct rendezvous server appears once.
std::vector<RvPlan> owner_rv_plan(const RendezvousInfo& info);
/// Every target of the plans, in order.
std::vector<RvTarget> flatten(const std::vector<RvPlan>& plans);

}  // namespace fdo
