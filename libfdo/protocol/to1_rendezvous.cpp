#include "libfdo/protocol/to1_rendezvous.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

// FDO 1.1 §5.4.1 (check 2 in docs/protocols/to1.md): a live TO0 registration exists for the GUID, else 6
// RESOURCE_NOT_FOUND.
storage::RvRegistration find_registration(storage::Store& store, const Guid& guid, std::int64_t now) {
  std::optional<storage::RvRegistration> registration =
      storage::read_only(store, [&](storage::Transaction& tx) { return tx.get_rv_registration(guid, now); });
  if (!registration) {
    throw Error(ErrorCode::ResourceNotFound, "TO1: no live TO0 registration for this GUID");
  }
  return std::move(*registration);
}

/// The device attestation key (FDO 1.1 §5.4.3; check 5 in docs/protocols/to1.md): TO0 stores the
/// SubjectPublicKeyInfo DER of the OVDevCertChain leaf (a DER SEQUENCE, 0x30); registrations stored by earlier
/// versions hold the CBOR chain itself (an array), whose leaf is parsed.
crypto::PublicKey device_key_of(const storage::RvRegistration& registration) {
  constexpr std::uint8_t kDerSequence = 0x30;
  try {
    if (!registration.device_key.empty() && registration.device_key.front() == kDerSequence) {
      return crypto::PublicKey::from_spki_der(registration.device_key);
    }
    const std::optional<std::vector<Bytes>> chain = voucher::decode_dev_cert_chain(registration.device_key);
    if (!chain || chain->empty()) {
      throw_internal("no device certificate");
    }
    return crypto::Certificate::from_der(chain->front()).public_key();
  } catch (const Error& e) {
    throw_internal(std::string("TO1: the stored device key does not decode: ") + e.what());
  }
}

}  // namespace

Bytes To1Session::encode() const {
  cbor::Writer w;
  w.array(4).uint(static_cast<std::uint8_t>(next)).bstr(guid.view());
  ea_sig_info.encode(w);
  w.bstr(nonce_to1_proof.view());
  return std::move(w).take();
}

To1Session To1Session::decode(ByteView state) {
  try {
    cbor::Reader r(state, "To1Session");
    r.read_array_of("", 4);
    To1Session s;
    s.next = static_cast<MessageType>(r.read_uint_max("[0] next", 0xFF));
    s.guid = Guid::from(r.read_bstr_size("[1] Guid", Guid::kSize));
    s.ea_sig_info = SigInfo::decode(r, "[2] eASigInfo");
    s.nonce_to1_proof = Nonce::from(r.read_bstr_size("[3] NonceTO1Proof", Nonce::kSize));
    r.expect_end();
    return s;
  } catch (const Error& e) {
    throw_internal(std::string("stored TO1 session does not decode: ") + e.what());
  }
}

To1Rendezvous::To1Rendezvous(const RendezvousPolicy& policy) : m_policy(policy) {}

Answer To1Rendezvous::handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) {
  if (type == MessageType::To1HelloRV) {
    To1Session session;
    const to1::HelloRVAck ack = hello_rv(to1::HelloRV::decode(body), session, store, ctx);
    state = session.encode();
    return answer<to1::HelloRV>(ack);
  }
  const To1Session session = To1Session::decode(state);
  ctx.guid_hex = session.guid.hex();
  expect_next(session.next, type);
  const to1::RVRedirect redirect =
      prove_to_rv(to1::ProveToRV::decode(body, m_policy.leniency), session, store, ctx);
  return answer<to1::ProveToRV>(redirect);
}

to1::HelloRVAck To1Rendezvous::hello_rv(const to1::HelloRV& request, To1Session& session, storage::Store& store,
                                        Context& ctx) {
  ctx.guid_hex = request.guid.hex();
  const storage::RvRegistration registration = find_registration(store, request.guid, ctx.now);
  check_ea_sig_info(request.ea_sig_info, device_key_of(registration), to1::HelloRV::kName);

  session.next = MessageType::To1ProveToRV;
  session.guid = request.guid;
  session.ea_sig_info = request.ea_sig_info;
  session.nonce_to1_proof = Nonce::random();
  // docs/interop.md "siginfo-answer": servers answer [<same sgType>, h''].
  return to1::HelloRVAck{.nonce_to1_proof = session.nonce_to1_proof,
                         .eb_sig_info = SigInfo{.sg_type = request.ea_sig_info.sg_type, .info = {}}};
}

to1::RVRedirect To1Rendezvous::prove_to_rv(const to1::ProveToRV& request, const To1Session& session,
                                           storage::Store& store, Context& ctx) {
  // The registration may have lapsed since TO1.HelloRV: the device then has nothing to be redirected to.
  const storage::RvRegistration registration = find_registration(store, session.guid, ctx.now);
  // Checks 3-5: nonce, UEID and signature with the device key of OVDevCertChain[0].
  verify_eat(request.eat, device_key_of(registration),
             EatExpectation{.nonce = session.nonce_to1_proof, .guid = session.guid, .alg = std::nullopt},
             m_policy.leniency);
  // FDO 1.1 §5.4.4: TO1.RVRedirect is the to1d received in TO0.OwnerSign, byte for byte.
  return to1::RVRedirect::from_stored(registration.to1d, m_policy.leniency);
}

}  // namespace fdo::protocol
