#include "libfdo/protocol/to0_owner.h"

#include <utility>

#include "libfdo/core/log.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/messages/to0.h"
#include "libfdo/protocol/client_run.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rv_walk.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

/// The voucher as TO0 needs it: decoded, with at least one entry, owned by `owner_key`.
voucher::OwnershipVoucher voucher_for_to0(ByteView voucher_bytes, const crypto::PrivateKey& owner_key) {
  voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(voucher_bytes);
  // The voucher needs 1 <= N <= 255 entries for TO0 and TO2 (docs/voucher.md, check `entries count`).
  if (ov.entries().empty()) {
    throw_invalid("TO0: the voucher has no entries; extend it to this owner's key first");
  }
  // Whoever runs TO0 or TO2 with this voucher must hold the owner key's private key (docs/voucher.md, owner key).
  if (!ov.owner_key().key().same_key(owner_key.public_key())) {
    throw_invalid("TO0: the owner key does not match the voucher's last entry (" + ov.owner_key().describe() +
                  "); is the voucher extended to this owner?");
  }
  return ov;
}

/// TO0.OwnerSign's body as the owner builds it (FDO 1.1 §5.3.3): to0d encoded once, to1dTo0dHash over those
/// bytes with the voucher hash family, to1d signed by the owner key.
to0::OwnerSign make_owner_sign(const voucher::OwnershipVoucher& ov, const crypto::PrivateKey& owner_key,
                               const RVTO2Addr& to2_addr, std::uint32_t wait_seconds, const Nonce& nonce) {
  const to0::To0d to0d{.ownership_voucher = ov.encode(), .wait_seconds = wait_seconds, .nonce_to0_sign = nonce};
  const Bytes to0d_bytes = to0d.encode();
  const to0::To1dBlobPayload payload{.to1d_rv = to2_addr,
                                     .to1d_to0d_hash = Hash::compute(hash_type_for(ov.hash_family()), to0d_bytes)};
  const cose::Sign1 to1d = cose::Sign1::sign(owner_key, ov.owner_key().sig_alg(), payload.encode());
  return to0::OwnerSign::make(to0d, to1d);
}

}  // namespace

To0Result run_to0(transport::MessageTransport& transport, ByteView voucher, const crypto::PrivateKey& owner_key,
                  const RVTO2Addr& to2_addr, std::uint32_t wait_seconds) {
  const voucher::OwnershipVoucher ov = voucher_for_to0(voucher, owner_key);
  const Guid guid = ov.header().ov_guid;
  ClientRun run(transport);
  To0Result result = run.run([&] {
    // TO0.Hello (20) → TO0.HelloAck (21)
    const auto ack = run.exchange<to0::HelloAck>(to0::Hello{});
    // TO0.OwnerSign (22) → TO0.AcceptOwner (23)
    const to0::OwnerSign owner_sign = make_owner_sign(ov, owner_key, to2_addr, wait_seconds, ack.nonce_to0_sign);
    const auto accept = run.exchange<to0::AcceptOwner>(owner_sign);
    if (accept.wait_seconds > wait_seconds) {
      log::warn("TO0: the rendezvous server granted " + std::to_string(accept.wait_seconds) + " s, more than the " +
                    std::to_string(wait_seconds) + " s requested",
                guid.hex());
    }
    return To0Result{.guid = guid, .requested_wait_seconds = wait_seconds, .wait_seconds = accept.wait_seconds};
  });
  // FDO 1.1 §5.3.4: a grant of 0 s keeps nothing registered; other stacks refuse it with 101. The run itself has
  // ended (23 is its last message), so no 255 is sent: the owner reports a refusal.
  if (result.wait_seconds == 0) {
    throw_invalid("TO0: the rendezvous server granted 0 s (TO0.AcceptOwner [0]): nothing is registered");
  }
  return result;
}

std::vector<std::string> owner_rendezvous_urls(ByteView voucher) {
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(voucher);
  std::vector<std::string> urls;
  for (const RvTarget& target : flatten(owner_rv_plan(ov.header().ov_rv_info))) {
    urls.push_back(target.url());
  }
  return urls;
}

std::vector<RvRegistrationOutcome> register_with_all(ByteView voucher, const crypto::PrivateKey& owner_key,
                                                     const RVTO2Addr& to2_addr, std::uint32_t wait_seconds,
                                                     const TransportFactory& make_transport) {
  const voucher::OwnershipVoucher ov = voucher_for_to0(voucher, owner_key);
  const std::vector<std::string> urls = owner_rendezvous_urls(voucher);
  if (urls.empty()) {
    throw_invalid(
        "TO0: the voucher's RendezvousInfo names no rendezvous server for the owner (every directive is "
        "device-only, bypass, or unusable over HTTP)");
  }
  std::vector<RvRegistrationOutcome> outcomes;
  for (const std::string& url : urls) {
    RvRegistrationOutcome outcome{.rv_url = url,
                                  .wait_seconds = std::nullopt,
                                  .error_code = std::nullopt,
                                  .error = {},
                                  .error_source = ErrorSource::Local};
    try {
      const std::unique_ptr<transport::MessageTransport> transport =
          make_transport ? make_transport(url) : std::make_unique<transport::HttpTransport>(url);
      outcome.wait_seconds = run_to0(*transport, voucher, owner_key, to2_addr, wait_seconds).wait_seconds;
      log::info("TO0 at " + url + ": registered for " + std::to_string(*outcome.wait_seconds) + " s",
                ov.header().ov_guid.hex());
    } catch (const Error& e) {
      outcome.error_code = e.code();
      outcome.error = e.what();
      outcome.error_source = e.source();
      log::warn("TO0 at " + url + " failed: " + outcome.error, ov.header().ov_guid.hex());
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

}  // namespace fdo::protocol
