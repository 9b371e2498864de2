#pragma once
// The records the FDO servers keep between requests (docs/style.md §7): plain values, opaque CBOR as Bytes,
// times as Unix seconds. Protocol code encodes and decodes the CBOR; storage never looks inside.

#include <cstdint>
#include <string>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"

namespace fdo::storage {

/// The state of one protocol run, keyed by its authorization token. FDO 1.1 §4.3.
/// A session is live while `now < expires_at`.
struct Session {
  /// The opaque token the server issued on the run's first response.
  std::string token;
  /// The protocol the token is bound to: "di", "to0", "to1" or "to2".
  std::string protocol;
  /// The protocol's typed session state, CBOR-encoded by protocol code.
  Bytes state;
  /// Unix seconds after which the session is gone.
  std::int64_t expires_at{};
  /// How many times the session was updated; update_session() and end_session() act only on the version that
  /// was read, so two concurrent copies of one message cannot both move the run on (docs/adr/0005).
  std::uint64_t version = 0;
  /// The client address that opened the run (docs/security.md "Session-table limits"); "" when unknown.
  std::string source = {};

  bool operator==(const Session&) const = default;
};

/// An ownership voucher the manufacturer made in DI or the owner holds for TO0/TO2. FDO 1.1 §3.4.
struct VoucherRecord {
  /// OVHeader.OVGuid of the voucher (the device's current GUID).
  Guid guid;
  /// The device serial number from DI.AppStart's DeviceMfgInfo, or empty.
  std::string serial;
  /// OVHeader.OVDeviceInfo.
  std::string device_info;
  /// The CBOR OwnershipVoucher.
  Bytes voucher;
  /// Unix seconds when the record was made.
  std::int64_t created_at{};
  /// Hex hash of the current owner key (last entry's key), or empty.
  std::string owner_key_id;

  bool operator==(const VoucherRecord&) const = default;
};

/// What the rendezvous server keeps from a TO0.OwnerSign until it expires. FDO 1.1 §5.3.3.
/// A registration is live while `now < expires_at`.
struct RvRegistration {
  /// OVHeader.OVGuid of the registered voucher.
  Guid guid;
  /// The to1d COSE_Sign1, exactly the bytes the owner sent; returned in TO1.RVRedirect.
  Bytes to1d;
  /// The registered CBOR OwnershipVoucher.
  Bytes voucher;
  /// CBOR PublicKey of the voucher's last entry (the owner key that signed to1d).
  Bytes owner_key;
  /// What TO1.ProveToRV is verified with: the SubjectPublicKeyInfo DER of the device certificate (the leaf of
  /// OVDevCertChain). Registrations written before it was kept this way hold the CBOR chain; TO1 reads both.
  Bytes device_key;
  /// Unix seconds when the registration lapses (registered_at + granted WaitSeconds).
  std::int64_t expires_at{};
  /// Unix seconds of the TO0.OwnerSign that made this registration.
  std::int64_t registered_at{};

  bool operator==(const RvRegistration&) const = default;
};

/// What the owner knows about one device it holds a voucher for (docs/owner.md), keyed by the voucher's GUID.
struct OwnerDeviceRecord {
  Guid guid;
  /// "imported", "registered", "onboarding", "onboarded", "quarantined" (onboarded with the quarantine plan),
  /// "failed" or "exported".
  std::string state;
  /// The protocol step reached, or the step that failed ("TO0 http://127.0.0.1:8041", "TO2.ProveDevice").
  std::string step;
  /// The last failure ("INVALID_MESSAGE_ERROR (101): …"), empty when none.
  std::string error;
  /// After an onboarding with credential replacement: the device's new GUID, hex; empty otherwise.
  std::string new_guid;
  /// Unix seconds when the earliest current TO0 registration lapses; 0 when not registered.
  std::int64_t to0_expires_at = 0;
  /// One line per rendezvous server of the last TO0 attempt ("http://…: 3600 s" or "http://…: error …").
  std::string to0_detail;
  /// How many TO2 runs reached TO2.Done2 for this voucher.
  std::int64_t onboard_count = 0;
  std::int64_t updated_at = 0;
  /// For a replacement voucher made at TO2.Done: the GUID (hex) of the voucher it replaced, which is dropped once the
  /// device proves itself under the new GUID; empty otherwise.
  std::string replaces;
  /// The ServiceInfo modules of the last TO2 run that reached IsDone, one line each: "fdo_sys: done: exit 0".
  std::string modules;
  bool operator==(const OwnerDeviceRecord&) const = default;
};

/// A rate limit of new runs per client address (docs/security.md "Rate limit"): a token bucket that gains `rate`
/// tokens per second and holds at most `burst`; a new run takes one.
struct RateLimit {
  double rate = 1;
  double burst = 1;
};

/// One client address's token bucket as the store keeps it: thousandths of a token (integers, so every back-end
/// computes the same) and the Unix second of its last update.
struct RateBucket {
  std::int64_t millitokens = 0;
  std::int64_t updated = 0;
};

/// A bucket never seen before: full at `now`.
[[nodiscard]] RateBucket full_bucket(const RateLimit& limit, std::int64_t now);
/// Refills `bucket` from its last update to `now` (never beyond the burst; a clock that went back refills nothing)
/// and takes one token if a whole one is there; returns whether it did. Every Store implements
/// Transaction::take_rate_token with this.
[[nodiscard]] bool take_token(RateBucket& bucket, const RateLimit& limit, std::int64_t now);
/// Buckets last updated before this second are full again at `now`, whatever they held: they equal a bucket never
/// seen and can be forgotten (Transaction::purge_rate_buckets).
[[nodiscard]] std::int64_t full_before(const RateLimit& limit, std::int64_t now);

}  // namespace fdo::storage
