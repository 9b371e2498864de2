#pragma once
// The rendezvous server's side of TO0 (FDO 1.1 §5.3): an owner proves it holds a device's
// voucher and registers where the device will find it for TO2. Also the rendezvous policy and abuse limits
// shared with TO1 (to1_rendezvous.h).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/voucher/voucher.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/messages/to0.h"
#include "libfdo/protocol/endpoint.h"
#include "libfdo/storage/store.h"

namespace fdo::protocol {

/// What a rendezvous server accepts (FDO 1.1 §5.3.3, §5.3.4; checks 6 and 10 in docs/protocols/to0.md). Open by
/// default: without allow-lists any owner may register any voucher that verifies (conformance mode, TO0-12).
struct RendezvousPolicy {
  /// The largest WaitSeconds granted: AcceptOwner.WaitSeconds = min(requested, this) (FDO 1.1 §5.3.4).
  std::uint32_t max_wait_seconds = 86400;
  /// When set, only these owner keys (the voucher's last entry key) may register (error 2 otherwise).
  std::optional<std::vector<crypto::PublicKey>> trusted_owner_keys;
  /// When set, only vouchers whose OVPubKey is one of these manufacturer keys may register (error 2 otherwise).
  std::optional<std::vector<crypto::PublicKey>> trusted_manufacturer_keys;
  /// docs/voucher.md `device cert chain signatures`: also verify the device certificate chain link by link up to a
  /// self-signed root.
  bool check_device_chain = false;
  /// Runs (TO0 and TO1 together) in progress at once; 0 means unlimited.
  std::size_t max_live_sessions = 10000;
  /// New runs per second per peer address (token bucket, burst twice the rate); 0 means unlimited.
  double rate_limit = 0;
  /// Known peer deviations to accept (untagged-cose, bare-to0d, eat-ueid-claim-11); strict by default.
  Leniency leniency;
};

/// The per-address rate limit of a rendezvous server, installed as the dispatcher's admission check, so a
/// refused run never creates a session. Its token buckets are in the store (Transaction::take_rate_token), so the
/// limit holds across every instance on one database (docs/scaling.md "Limits across instances"). (The cap on runs
/// in progress, max_live_sessions, is the dispatcher's: DispatcherOptions::max_live_sessions.)
class RendezvousLimits {
 public:
  /// `store` must outlive the limits.
  RendezvousLimits(const RendezvousPolicy& policy, storage::Store& store);
  /// DispatcherOptions::admit: for a first message (20, 30), refuses with Error(InternalServerError) when the
  /// peer (Context::peer, the client address) is over its rate; later messages always pass. One short store
  /// transaction per first message while a rate is set.
  [[nodiscard]] std::optional<Error> admit(const Context& ctx, MessageType type);
  /// Forgets the buckets that are full again at `now` (the server's periodic sweep); how many.
  std::size_t purge(std::int64_t now);

 private:
  storage::Store& m_store;
  std::optional<storage::RateLimit> m_rate;
};

/// The lines a rendezvous server logs at start about its policy; an open policy is logged as a warning.
struct PolicySummary {
  std::vector<std::string> info;
  std::vector<std::string> warnings;
};
/// Describes `policy` for the start-up log (docs/rendezvous.md "Trust policy").
PolicySummary summarize(const RendezvousPolicy& policy);

/// The typed TO0 session (FDO 1.1 §4.3; TO0 holds NonceTO0Sign), stored by the dispatcher between 21 and 22.
struct To0Session {
  /// The request the session expects next: TO0.OwnerSign.
  MessageType next = MessageType::To0OwnerSign;
  /// The nonce sent in TO0.HelloAck.
  Nonce nonce_to0_sign;
  /// [next: uint, NonceTO0Sign: bstr]
  [[nodiscard]] Bytes encode() const;
  /// Error(InternalServerError) if the stored state does not decode (our own bytes).
  static To0Session decode(ByteView state);
};

/// What a TO0.OwnerSign that passed checks 3-9 would register.
struct Registration {
  /// The verified voucher (check 10 compares its owner keys with the stored registration's).
  voucher::OwnershipVoucher voucher;
  /// The lifetime granted, at most the server's maximum, and the one requested.
  std::uint32_t granted = 0;
  std::uint32_t requested = 0;
  storage::RvRegistration record;
};

/// The rendezvous server's TO0 endpoint, FDO 1.1 §5.3: TO0.Hello (20) → TO0.HelloAck (21), TO0.OwnerSign (22) →
/// TO0.AcceptOwner (23), storing GUID → to1d for TO1.
class To0Rendezvous final : public Endpoint {
 public:
  /// `policy` must outlive the endpoint.
  explicit To0Rendezvous(const RendezvousPolicy& policy);
  [[nodiscard]] Protocol protocol() const override { return Protocol::To0; }
  Answer handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) override;

  /// TO0.Hello (20) → TO0.HelloAck (21): a fresh NonceTO0Sign in a new session. FDO 1.1 §5.3.1-§5.3.2
  to0::HelloAck hello(const to0::Hello& request, To0Session& session, Context& ctx);
  /// TO0.OwnerSign (22) → TO0.AcceptOwner (23): checks 3-9 of FDO 1.1 §5.3.3 in the order of docs/protocols/to0.md,
  /// outside any transaction, and the registration they allow. Check 10 (who holds the GUID) runs with the write.
  /// FDO 1.1 §5.3.3-§5.3.4
  Registration owner_sign(const to0::OwnerSign& request, const To0Session& session, Context& ctx);

 private:
  const RendezvousPolicy& m_policy;
};

/// Removes the registrations that expired by `now` (FDO 1.1 §5.3.4: the RV forgets the mapping when the
/// granted time runs out"); returns how many. The server calls it periodically.
std::size_t purge_expired_registrations(storage::Store& store, std::int64_t now);

}  // namespace fdo::protocol
