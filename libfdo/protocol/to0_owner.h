#pragma once
// The owner's side of TO0 (FDO 1.1 §5.3): register a voucher's device with the rendezvous
// servers so the device can find this owner, and the walk over the voucher's RendezvousInfo (FDO 1.1 §3.7).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/transport/transport.h"
#include "libfdo/types/rvto2addr.h"

namespace fdo::protocol {

/// What one TO0 run achieved.
struct To0Result {
  /// The device's GUID (the voucher's OVGuid).
  Guid guid;
  /// The WaitSeconds the owner asked for.
  std::uint32_t requested_wait_seconds = 0;
  /// TO0.AcceptOwner.WaitSeconds: how long the rendezvous server keeps the registration.
  std::uint32_t wait_seconds = 0;
};

/// Runs TO0 once against one rendezvous server, FDO 1.1 §5.3:
///   TO0.Hello (20) → TO0.HelloAck (21), TO0.OwnerSign (22) → TO0.AcceptOwner (23).
/// Before sending anything it checks that the voucher decodes, has at least one entry, and that `owner_key` is the
/// key of its last entry (whoever runs TO0 must hold the owner key's private key, docs/voucher.md); a refusal
/// there is Error(InvalidMessageError). to0d carries the voucher bytes unchanged; to1dTo0dHash uses the voucher hash family
/// (docs/voucher.md "Which hash algorithm"); to1d is signed with the owner key's alg, protected `{1: alg}`,
/// unprotected `{}`.
/// A server error throws fdo::Error with the server's code; a bad answer sends our 255 and throws.
To0Result run_to0(transport::MessageTransport& transport, ByteView voucher, const crypto::PrivateKey& owner_key,
                  const RVTO2Addr& to2_addr, std::uint32_t wait_seconds);

/// The outcome of TO0 at one rendezvous server.
struct RvRegistrationOutcome {
  /// The rendezvous server's base URL, e.g. "http://127.0.0.1:8041".
  std::string rv_url;
  /// The WaitSeconds granted, when the registration succeeded.
  std::optional<std::uint32_t> wait_seconds;
  /// The error code when it failed (the server's, or 500 for an unreachable server).
  std::optional<ErrorCode> error_code;
  /// What went wrong, for the operator.
  std::string error;
  /// Where the failure arose: only for ErrorSource::Peer is `error_code` a code the server sent.
  ErrorSource error_source = ErrorSource::Local;
  [[nodiscard]] bool ok() const { return wait_seconds.has_value(); }
};

/// Makes the transport for one rendezvous server URL (loopback in tests); an empty factory means HTTP(S).
using TransportFactory = std::function<std::unique_ptr<transport::MessageTransport>(const std::string& url)>;

/// Registers the voucher's device with every distinct rendezvous server of the voucher's RendezvousInfo, owner
/// view (FDO 1.1 §3.7, docs/interop.md "rv-owner-view": directives with RVDevOnly or RVBypass are skipped,
/// RVOwnerPort is the port, the scheme comes from RVProtocol), recording each server's granted WaitSeconds or its
/// error. Unlike go-fdo-server, which stops at the first success, it tries them all, since a device may use any
/// directive. Throws Error(MessageBodyError) if the voucher does not decode, and Error(InvalidMessageError) if its
/// RendezvousInfo names no server the owner can reach or the owner key does not match.
std::vector<RvRegistrationOutcome> register_with_all(ByteView voucher, const crypto::PrivateKey& owner_key,
                                                     const RVTO2Addr& to2_addr, std::uint32_t wait_seconds,
                                                     const TransportFactory& make_transport);

/// The rendezvous server URLs of a voucher's RendezvousInfo, owner view, in order, each once (FDO 1.1 §3.7).
std::vector<std::string> owner_rendezvous_urls(ByteView voucher);

}  // namespace fdo::protocol
