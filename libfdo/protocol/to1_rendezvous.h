#pragma once
// The rendezvous server's side of TO1 (FDO 1.1 §5.4): a device proves it is the device of a
// registered voucher and receives the owner's signed address (to1d).
#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/messages/to1.h"
#include "libfdo/protocol/endpoint.h"
#include "libfdo/protocol/to0_rendezvous.h"
#include "libfdo/storage/store.h"
#include "libfdo/types/sig_info.h"

namespace fdo::protocol {

/// The typed TO1 session (FDO 1.1 §4.3; TO1 holds the GUID, eASigInfo and NonceTO1Proof), stored between 31
/// and 32.
struct To1Session {
  /// The request the session expects next: TO1.ProveToRV.
  MessageType next = MessageType::To1ProveToRV;
  /// The GUID named in TO1.HelloRV.
  Guid guid;
  /// The device's eASigInfo from TO1.HelloRV.
  SigInfo ea_sig_info;
  /// The nonce sent in TO1.HelloRVAck.
  Nonce nonce_to1_proof;
  /// [next: uint, Guid: bstr, eASigInfo: SigInfo, NonceTO1Proof: bstr]
  [[nodiscard]] Bytes encode() const;
  /// Error(InternalServerError) if the stored state does not decode (our own bytes).
  static To1Session decode(ByteView state);
};

/// The rendezvous server's TO1 endpoint, FDO 1.1 §5.4: TO1.HelloRV (30) → TO1.HelloRVAck (31), TO1.ProveToRV (32) →
/// TO1.RVRedirect (33), answering with the to1d stored by TO0 byte for byte.
class To1Rendezvous final : public Endpoint {
 public:
  /// `policy` must outlive the endpoint.
  explicit To1Rendezvous(const RendezvousPolicy& policy);
  [[nodiscard]] Protocol protocol() const override { return Protocol::To1; }
  Answer handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) override;

  /// TO1.HelloRV (30) → TO1.HelloRVAck (31): FDO 1.1 §5.4.1 (checks 2-3 in docs/protocols/to1.md), then a fresh
  /// NonceTO1Proof and eBSigInfo = [same sgType, h'']. FDO 1.1 §5.4.1-§5.4.2
  to1::HelloRVAck hello_rv(const to1::HelloRV& request, To1Session& session, storage::Store& store, Context& ctx);
  /// TO1.ProveToRV (32) → TO1.RVRedirect (33): FDO 1.1 §5.4.3 (checks 2-5 in docs/protocols/to1.md) on the EAT, then
  /// the stored to1d. FDO 1.1 §5.4.3-§5.4.4
  to1::RVRedirect prove_to_rv(const to1::ProveToRV& request, const To1Session& session, storage::Store& store,
                              Context& ctx);

 private:
  const RendezvousPolicy& m_policy;
};

}  // namespace fdo::protocol
