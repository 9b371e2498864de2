#include "libfdo/protocol/to0_rendezvous.h"

#include <algorithm>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/log.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

bool contains_key(const std::vector<crypto::PublicKey>& keys, const crypto::PublicKey& key) {
  return std::any_of(keys.begin(), keys.end(), [&](const crypto::PublicKey& k) { return k.same_key(key); });
}

// Check 3 (the numbers are those of docs/protocols/to0.md): to0d.NonceTO0Sign equals the session nonce → 101.
void check_nonce(const to0::OwnerSign& request, const To0Session& session) {
  if (request.to0d.nonce_to0_sign != session.nonce_to0_sign) {
    throw_invalid("TO0.OwnerSign: to0d.NonceTO0Sign is not the nonce sent in TO0.HelloAck");
  }
}

// Check 4: the OVHeader GUID is 16 bytes → 5 INVALID_GUID. Read before the voucher is verified, so that a voucher
// whose only fault is its GUID gets the specific code; a voucher too broken to reach the GUID is left to check 5.
void check_guid(ByteView voucher_bytes) {
  std::optional<std::size_t> guid_size;  // nullopt: OVGuid is not a byte string
  try {
    const voucher::RawVoucher raw = voucher::RawVoucher::split(voucher_bytes);
    cbor::Reader r(raw.header_bytes, "OVHeader");
    if (r.read_array("") < 2) {
      return;
    }
    r.skip("[0] OVHProtVer");
    if (r.peek_type() == cbor::MajorType::Bytes) {
      guid_size = r.read_bstr_view("[1] OVGuid").size();
    }
  } catch (const Error&) {
    return;  // too broken to reach the GUID: check 5 names the structural fault (error 2)
  }
  if (guid_size != Guid::kSize) {
    throw Error(ErrorCode::InvalidGuid,
                "TO0.OwnerSign: OVHeader[1] OVGuid: expected a 16-byte bstr, got " +
                    (guid_size ? std::to_string(*guid_size) + " bytes" : std::string("another type")));
  }
}

// Check 5 (docs/protocols/to0.md): the voucher passes full verification (FDO 1.1 §3.4.2) → 2. The failing check
// goes to the server log only (FDO 1.1 §5.1.1.1: details of error 2 are for the server log).
voucher::OwnershipVoucher verify_voucher(ByteView voucher_bytes, const RendezvousPolicy& policy, Context& ctx) {
  voucher::VerifyOptions options;
  options.leniency = policy.leniency;
  options.check_dev_cert_chain_signatures = policy.check_device_chain;
  const voucher::VerifyReport report = voucher::verify(voucher_bytes, options);
  if (!report.valid) {
    const voucher::Check* failed = report.first_failure();
    std::string where = failed != nullptr ? failed->name : std::string("voucher");
    if (failed != nullptr && failed->entry) {
      where = "entry " + std::to_string(*failed->entry) + " " + where;
    }
    log::warn("TO0.OwnerSign from " + ctx.peer + ": voucher refused at check '" + where +
                  "': " + (failed != nullptr ? failed->detail : std::string()),
              ctx.guid_hex);
    throw Error(ErrorCode::InvalidOwnershipVoucher, "TO0.OwnerSign: the ownership voucher does not verify");
  }
  try {
    return voucher::OwnershipVoucher::decode(voucher_bytes, policy.leniency);
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidOwnershipVoucher, std::string("TO0.OwnerSign: ") + e.what());
  }
}

// Check 6: policy; the manufacturer key (OVPubKey) is trusted, and other acceptance rules → 2.
void check_trust(const voucher::OwnershipVoucher& ov, const RendezvousPolicy& policy) {
  if (policy.trusted_manufacturer_keys &&
      !contains_key(*policy.trusted_manufacturer_keys, ov.header().ov_pub_key.key())) {
    throw Error(ErrorCode::InvalidOwnershipVoucher,
                "TO0.OwnerSign: the voucher's manufacturer key is not on this server's trust list");
  }
  if (policy.trusted_owner_keys && !contains_key(*policy.trusted_owner_keys, ov.owner_key().key())) {
    throw Error(ErrorCode::InvalidOwnershipVoucher,
                "TO0.OwnerSign: the voucher's owner key is not on this server's trust list");
  }
}

// Check 7: to1d verifies with the public key of the *last* OVEntry → 3; an alg that cannot suit that key is a
// well-formed message failing a check, 101 (TO0-07).
void check_to1d_signature(const to0::OwnerSign& request, const PublicKey& owner) {
  const crypto::SigAlg alg = request.to1d.alg();
  if (!owner.suits(alg)) {
    throw_invalid("TO0.OwnerSign: to1d is signed with " + std::string(crypto::sig_alg_name(alg)) +
                  ", which does not suit the owner key " + owner.describe());
  }
  if (!request.to1d.verify(owner.key())) {
    throw Error(ErrorCode::InvalidOwnerSignBody,
                "TO0.OwnerSign: to1d does not verify with the owner key of the voucher's last entry");
  }
}

// Check 8: to1dTo0dHash equals the Hash, of the hashtype it names, over the to0d bstr content bytes → 101
// (FDO 1.1 §5.3.3). Any SHA-2 hashtype the spec defines (SHA256, SHA384) is accepted and checked with the type it
// names: owners of other stacks pick their own (go-fdo takes entry 0's, Java PRI the HMAC's family).
void check_to0d_hash(const to0::OwnerSign& request) {
  const Hash& hash = request.to1d_payload.to1d_to0d_hash;
  if (!hash.matches(request.to0d_bytes)) {
    throw_invalid("TO0.OwnerSign: to1dTo0dHash (" + std::string(hash_type_name(hash.type())) +
                  ") is not the hash of the to0d bytes");
  }
}

// Check 9: "Every RVTO2AddrEntry has a non-null RVIP or RVDNS; RVIP is 4 or 16 bytes; RVPort is a uint16;
// RVProtocol is 1..6" → 4 for a bad IP, else 100 (FDO 1.1 §5.3.3, §3.3.14). Found while decoding, raised here.
void check_to1d_rv(const to0::OwnerSign& request) {
  if (request.to1d_rv_fault) {
    throw *request.to1d_rv_fault;
  }
}

// WaitSeconds 0 registers nothing: refused as a failed check (101), as go-fdo's server does, so that the owner
// never takes TO0.AcceptOwner [0] for a registration (FDO 1.1 §5.3.3-§5.3.4).
void check_wait_seconds(std::uint32_t granted, std::uint32_t requested) {
  if (granted == 0) {
    throw_invalid(requested == 0 ? std::string("TO0.OwnerSign: to0d.WaitSeconds is 0, nothing to register")
                                 : std::string("TO0.OwnerSign: this server grants no registration time"));
  }
}

// Check 10 (docs/interop.md "rv-resale"): if a registration for this GUID already exists under another owner
// key, accept only if the new voucher's chain contains the old owner key (a resale), else 3.
void check_reregistration(storage::Transaction& tx, const voucher::OwnershipVoucher& ov, Context& ctx) {
  const std::optional<storage::RvRegistration> existing = tx.get_rv_registration(ov.header().ov_guid, ctx.now);
  if (!existing) {
    return;
  }
  const PublicKey old_owner = PublicKey::decode(existing->owner_key);
  if (old_owner.same_key(ov.owner_key())) {
    return;  // the same owner refreshes its registration
  }
  bool in_chain = ov.header().ov_pub_key.same_key(old_owner);
  for (const voucher::OVEntry& entry : ov.entries()) {
    in_chain = in_chain || entry.payload.ove_pub_key.same_key(old_owner);
  }
  if (!in_chain) {
    throw Error(ErrorCode::InvalidOwnerSignBody,
                "TO0.OwnerSign: the GUID is registered by another owner whose key is not in this voucher's chain");
  }
  log::info("TO0: registration passes from a previous owner to a later owner in the voucher chain", ctx.guid_hex);
}

}  // namespace

RendezvousLimits::RendezvousLimits(const RendezvousPolicy& policy, storage::Store& store) : m_store(store) {
  if (policy.rate_limit < 0) {
    throw_internal("RendezvousLimits: the rate limit must be >= 0");
  }
  if (policy.rate_limit > 0) {
    m_rate = storage::RateLimit{.rate = policy.rate_limit, .burst = std::max(1.0, 2 * policy.rate_limit)};
  }
}

std::optional<Error> RendezvousLimits::admit(const Context& ctx, MessageType type) {
  if (type != MessageType::To0Hello && type != MessageType::To1HelloRV) {
    return std::nullopt;
  }
  if (!m_rate) {
    return std::nullopt;
  }
  const auto tx = m_store.begin();
  const bool allowed = tx->take_rate_token(ctx.peer, *m_rate, ctx.now);
  tx->commit();
  if (!allowed) {
    return Error(ErrorCode::InternalServerError, "rate limit: too many new runs from this address, retry later");
  }
  return std::nullopt;
}

std::size_t RendezvousLimits::purge(std::int64_t now) {
  if (!m_rate) {
    return 0;
  }
  const auto tx = m_store.begin();
  const std::size_t n = tx->purge_rate_buckets(storage::full_before(*m_rate, now));
  tx->commit();
  return n;
}

PolicySummary summarize(const RendezvousPolicy& policy) {
  PolicySummary out;
  out.info.push_back("TO0 grants at most " + std::to_string(policy.max_wait_seconds) + " s per registration");
  if (policy.trusted_manufacturer_keys) {
    out.info.push_back("vouchers must come from one of " + std::to_string(policy.trusted_manufacturer_keys->size()) +
                       " trusted manufacturer keys");
  } else {
    out.warnings.push_back(
        "OPEN RENDEZVOUS: no manufacturer allow-list; vouchers from any manufacturer key are "
        "accepted (set --trust-manufacturer-keys)");
  }
  if (policy.trusted_owner_keys) {
    out.info.push_back("registrations must be signed by one of " + std::to_string(policy.trusted_owner_keys->size()) +
                       " trusted owner keys");
  } else {
    out.warnings.push_back(
        "OPEN RENDEZVOUS: no owner allow-list; any owner holding a valid voucher may register "
        "(set --trust-owner-keys)");
  }
  out.info.push_back(policy.check_device_chain ? "device certificate chains are verified up to their root"
                                               : "device certificate chains are not verified beyond their hash");
  out.info.push_back(policy.max_live_sessions == 0
                         ? std::string("no cap on runs in progress")
                         : "at most " + std::to_string(policy.max_live_sessions) + " runs in progress");
  out.info.push_back(policy.rate_limit > 0
                         ? "at most " + std::to_string(policy.rate_limit) + " new runs per second per address"
                         : std::string("no per-address rate limit"));
  for (const Quirk q : policy.leniency.allowed()) {
    out.warnings.push_back("accepting peer deviation " + std::string(quirk_info(q).name) + " (docs/interop.md \"" +
                           std::string(quirk_info(q).doc_entry) + "\")");
  }
  return out;
}

Bytes To0Session::encode() const {
  cbor::Writer w;
  w.array(2).uint(static_cast<std::uint8_t>(next)).bstr(nonce_to0_sign.view());
  return std::move(w).take();
}

To0Session To0Session::decode(ByteView state) {
  try {
    cbor::Reader r(state, "To0Session");
    r.read_array_of("", 2);
    To0Session s;
    s.next = static_cast<MessageType>(r.read_uint_max("[0] next", 0xFF));
    s.nonce_to0_sign = Nonce::from(r.read_bstr_size("[1] NonceTO0Sign", Nonce::kSize));
    r.expect_end();
    return s;
  } catch (const Error& e) {
    throw_internal(std::string("stored TO0 session does not decode: ") + e.what());
  }
}

To0Rendezvous::To0Rendezvous(const RendezvousPolicy& policy) : m_policy(policy) {}

Answer To0Rendezvous::handle(MessageType type, ByteView body, Bytes& state, storage::Store& /*store*/,
                             Context& ctx) {
  if (type == MessageType::To0Hello) {
    To0Session session;
    const to0::HelloAck ack = hello(to0::Hello::decode(body), session, ctx);
    state = session.encode();
    return answer<to0::Hello>(ack);
  }
  const To0Session session = To0Session::decode(state);
  expect_next(session.next, type);
  Registration registration = owner_sign(to0::OwnerSign::decode(body, m_policy.leniency), session, ctx);
  const to0::AcceptOwner accept{registration.granted};
  // Check 10 and the write need the stored registration: they run in the dispatcher's short transaction.
  return answer<to0::OwnerSign>(accept, [registration = std::move(registration), ctx](storage::Transaction& tx) {
    Context apply_ctx = ctx;
    check_reregistration(tx, registration.voucher, apply_ctx);
    tx.put_rv_registration(registration.record);
    log::info("TO0: registered for " + std::to_string(registration.granted) + " s (requested " +
                  std::to_string(registration.requested) + " s), owner key " +
                  registration.voucher.owner_key().describe(),
              apply_ctx.guid_hex);
  });
}

to0::HelloAck To0Rendezvous::hello(const to0::Hello& /*request*/, To0Session& session, Context& /*ctx*/) {
  session.next = MessageType::To0OwnerSign;
  session.nonce_to0_sign = Nonce::random();
  return to0::HelloAck{session.nonce_to0_sign};
}

Registration To0Rendezvous::owner_sign(const to0::OwnerSign& request, const To0Session& session, Context& ctx) {
  // Checks 1 (token) and 2 (decoding) ran before this point; the rest run, and report, in the spec's order
  // (FDO 1.1 §5.3.3): the first failing check names the error code.
  check_nonce(request, session);
  check_guid(request.to0d.ownership_voucher);
  const voucher::OwnershipVoucher ov = verify_voucher(request.to0d.ownership_voucher, m_policy, ctx);
  ctx.guid_hex = ov.header().ov_guid.hex();
  check_trust(ov, m_policy);
  check_to1d_signature(request, ov.owner_key());
  check_to0d_hash(request);
  check_to1d_rv(request);
  // Check 10 (re-registration) reads the store: it runs with the write, in Registration's apply.

  // FDO 1.1 §5.3.4: the RV grants WaitSeconds = min(requested, server maximum).
  const std::uint32_t granted = std::min(request.to0d.wait_seconds, m_policy.max_wait_seconds);
  check_wait_seconds(granted, request.to0d.wait_seconds);
  // TO1 verifies the device's EAT with the leaf key of OVDevCertChain: keep that key (SubjectPublicKeyInfo DER)
  // rather than the chain, so TO1 never parses a certificate (the chain was parsed, and cached, by check 5).
  const std::optional<std::vector<Bytes>>& chain = ov.dev_cert_chain();
  if (!chain || chain->empty()) {
    throw_internal("TO0.OwnerSign: a verified voucher without a device certificate");
  }
  const Bytes device_key = crypto::Certificate::from_der(chain->front()).public_key().spki_der();
  Registration out{.voucher = ov, .granted = granted, .record = storage::RvRegistration{
      .guid = ov.header().ov_guid,
      .to1d = request.to1d_bytes,
      .voucher = request.to0d.ownership_voucher,
      .owner_key = ov.owner_key().encode(),
      .device_key = device_key,
      .expires_at = ctx.now + static_cast<std::int64_t>(granted),
      .registered_at = ctx.now,
  }};
  out.requested = request.to0d.wait_seconds;
  return out;
}

std::size_t purge_expired_registrations(storage::Store& store, std::int64_t now) {
  auto tx = store.begin();
  const std::size_t n = tx->purge_expired_rv_registrations(now);
  tx->commit();
  return n;
}

}  // namespace fdo::protocol
