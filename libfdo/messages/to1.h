#pragma once
// TO1, the device finds its owner through the rendezvous server: messages 30-33 (FDO 1.1 §5.4).
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/messages/to0.h"
#include "libfdo/types/message_type.h"
#include "libfdo/types/sig_info.h"

namespace fdo::to1 {

/// TO1.HelloRV, type 30: the device names its GUID and signature type. FDO 1.1 §5.4.1
///   TO1.HelloRV = [Guid, eASigInfo]
struct HelloRV {
  static constexpr MessageType kType = MessageType::To1HelloRV;
  static constexpr std::string_view kName = "TO1.HelloRV";
  Guid guid;
  SigInfo ea_sig_info;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 2-element array of a 16-byte bstr and a SigInfo (Error 100). An integer sgType FDO does not
  /// define is Error(InvalidMessageError), as SigInfo decodes it.
  static HelloRV decode(ByteView in);
};

/// TO1.HelloRVAck, type 31: the RV's nonce for the device's proof, and the signature info it expects.
/// FDO 1.1 §5.4.2
///   TO1.HelloRVAck = [NonceTO1Proof, eBSigInfo]
struct HelloRVAck {
  static constexpr MessageType kType = MessageType::To1HelloRVAck;
  static constexpr std::string_view kName = "TO1.HelloRVAck";
  Nonce nonce_to1_proof;
  SigInfo eb_sig_info;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 2-element array of a 16-byte bstr and a SigInfo.
  static HelloRVAck decode(ByteView in);
};

/// TO1.ProveToRV, type 32: the device's EAT over NonceTO1Proof and its GUID. FDO 1.1 §5.4.3
///   TO1.ProveToRV = EAToken   ;; payload {10: NonceTO1Proof, 256: h'01' || Guid}
/// Only the COSE layer is decoded here; the claims are read and checked by protocol/eat.h.
struct ProveToRV {
  static constexpr MessageType kType = MessageType::To1ProveToRV;
  static constexpr std::string_view kName = "TO1.ProveToRV";
  /// The EAT, its protected header and payload bytes as received.
  cose::Sign1 eat;
  /// The EAT's tagged encoding.
  [[nodiscard]] Bytes encode() const { return eat.encode(); }
  /// Strict: exactly one tagged COSE_Sign1 with protected `{1: alg}` (untagged only under
  /// Quirk::UntaggedCose).
  static ProveToRV decode(ByteView in, const Leniency& leniency = {});
};

/// TO1.RVRedirect, type 33: the to1d the owner registered in TO0, byte for byte. FDO 1.1 §5.4.4
///   TO1.RVRedirect = to1d   ;; CoseSignature over to1dBlobPayload = [RVTO2Addr, Hash]
/// The device cannot verify the signature yet (it does not know the owner key); it keeps the bytes for TO2.
struct RVRedirect {
  static constexpr MessageType kType = MessageType::To1RVRedirect;
  static constexpr std::string_view kName = "TO1.RVRedirect";
  /// The complete to1d encoding, as stored by the RV (server side) or as received (device side).
  Bytes to1d_bytes;
  /// to1d decoded from to1d_bytes.
  cose::Sign1 to1d;
  /// The to1d payload decoded.
  to0::To1dBlobPayload to1d_payload;
  /// The stored to1d bytes, verbatim.
  [[nodiscard]] Bytes encode() const { return to1d_bytes; }
  /// Device-side checks of FDO 1.1 §5.4.4, each Error(MessageBodyError): a tagged COSE_Sign1 with an empty
  /// unprotected map (C SDK), whose payload is a to1dBlobPayload with at least one RVTO2Addr entry and a
  /// well-formed Hash.
  static RVRedirect decode(ByteView in);
  /// The rendezvous server's answer from the to1d it stored at TO0.OwnerSign (checked there; the device-only
  /// rules above are not applied), the bytes kept verbatim. `leniency` as at TO0 (an untagged to1d).
  static RVRedirect from_stored(ByteView to1d, const Leniency& leniency = {});
};

}  // namespace fdo::to1
