#pragma once
// TO0, the owner registers with the rendezvous server: messages 20-23 (FDO 1.1 §5.3).
#include <cstdint>
#include <optional>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/message_type.h"
#include "libfdo/types/rvto2addr.h"

namespace fdo::to0 {

/// TO0.Hello, type 20: the owner opens TO0. FDO 1.1 §5.3.1
///   TO0.Hello = []
struct Hello {
  static constexpr MessageType kType = MessageType::To0Hello;
  static constexpr std::string_view kName = "TO0.Hello";
  /// `80`.
  [[nodiscard]] Bytes encode() const;
  /// Strict: exactly the empty array, else Error(MessageBodyError).
  static Hello decode(ByteView in);
};

/// TO0.HelloAck, type 21: the RV answers with the nonce the owner must sign into to0d. FDO 1.1 §5.3.2
///   TO0.HelloAck = [NonceTO0Sign]
struct HelloAck {
  static constexpr MessageType kType = MessageType::To0HelloAck;
  static constexpr std::string_view kName = "TO0.HelloAck";
  Nonce nonce_to0_sign;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 1-element array holding a 16-byte bstr.
  static HelloAck decode(ByteView in);
};

/// The content of TO0.OwnerSign's to0d bstr. FDO 1.1 §5.3.3
///   to0d = [OwnershipVoucher, WaitSeconds: uint32, NonceTO0Sign: Nonce]
/// The voucher is kept as its complete CBOR encoding, as received: the RV checks its GUID (error 5) and
/// verifies it (error 2) as separate steps after the nonce (FDO 1.1 §5.3.3;
/// checks 3-6 in docs/protocols/to0.md).
struct To0d {
  /// The complete encoding of the OwnershipVoucher item (a CBOR array).
  Bytes ownership_voucher;
  /// The lifetime the owner requests for the registration, in seconds.
  std::uint32_t wait_seconds = 0;
  Nonce nonce_to0_sign;
  /// Deterministic encoding; the voucher bytes are written verbatim.
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 3-element array of an array (the voucher, not interpreted here), a uint32 and a 16-byte bstr,
  /// with nothing after it. Error(MessageBodyError) naming the field otherwise.
  static To0d decode(ByteView in);
};

/// The payload of to1d, signed by the owner key. FDO 1.1 §5.3.3
///   to1dBlobPayload = [to1dRV: RVTO2Addr, to1dTo0dHash: Hash]
struct To1dBlobPayload {
  /// Where the owner waits for TO2.
  RVTO2Addr to1d_rv;
  /// The hash of the to0d bstr content of the same TO0.OwnerSign.
  Hash to1d_to0d_hash;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 2-element array of a non-empty RVTO2Addr and a SHA Hash. RVTO2Addr's own rules apply
  /// (FDO 1.1 §5.3.3; check 9 in docs/protocols/to0.md): an RVIP that is not 4 or 16 bytes is Error(InvalidIpAddress),
  /// other faults Error(MessageBodyError).
  static To1dBlobPayload decode(ByteView in, std::string_view context = "to1dBlobPayload");
  /// As decode(), except that a fault inside to1dRV is not thrown but returned in `to1d_rv_fault` (to1d_rv is
  /// then empty): the rendezvous server reports it only after the nonce, voucher and signature checks
  /// (FDO 1.1 §5.3.3, check order). The outer array and the Hash are still checked strictly.
  static To1dBlobPayload decode_deferring_rv(ByteView in, std::optional<Error>& to1d_rv_fault,
                                             std::string_view context = "to1dBlobPayload");
};

/// TO0.OwnerSign, type 22: the voucher, the requested lifetime and the signed owner address. FDO 1.1 §5.3.3
///   TO0.OwnerSign = [to0d: bstr .cbor to0d, to1d: CoseSignature]   ;; to1d payload: to1dBlobPayload
/// Everything that is hashed, signed or returned later keeps its received bytes: the to0d bstr content
/// (to1dTo0dHash covers it) and the complete to1d (TO1.RVRedirect returns it byte for byte).
struct OwnerSign {
  static constexpr MessageType kType = MessageType::To0OwnerSign;
  static constexpr std::string_view kName = "TO0.OwnerSign";
  /// The to0d bstr content, as received.
  Bytes to0d_bytes;
  /// to0d decoded from to0d_bytes.
  To0d to0d;
  /// The complete to1d COSE_Sign1 encoding, tag included, as received.
  Bytes to1d_bytes;
  /// to1d decoded from to1d_bytes (protected header and payload bytes kept as received).
  cose::Sign1 to1d;
  /// The to1d payload decoded.
  To1dBlobPayload to1d_payload;
  /// A fault found in to1dRV while decoding (an RVIP of the wrong size: 4, other RVTO2Addr rules: 100). The
  /// rendezvous server raises it as check 9, after checks 3-8 (FDO 1.1 §5.3.3); to1d_payload.to1d_rv is empty then.
  std::optional<Error> to1d_rv_fault;
  /// Builds the message from a to0d and its signed to1d, keeping both encodings.
  static OwnerSign make(const To0d& to0d, const cose::Sign1& to1d);
  /// `[bstr(to0d_bytes), to1d_bytes]`.
  [[nodiscard]] Bytes encode() const;
  /// Strict (FDO 1.1 §5.3.3; check 2 in docs/protocols/to0.md): a 2-element array; element 0 a bstr whose content is
  /// a to0d; element 1 a tagged COSE_Sign1 with an empty unprotected header (devices refuse any other to1d in
  /// TO1.RVRedirect) whose payload is a to1dBlobPayload; each fault is Error(MessageBodyError). Faults of to1dRV's
  /// own rules are kept in `to1d_rv_fault`, not thrown. The bare-array to0d of old Java PRI (docs/interop.md
  /// "bare-to0d") is accepted only under Quirk::BareTo0d, an untagged to1d only under Quirk::UntaggedCose.
  static OwnerSign decode(ByteView in, const Leniency& leniency = {});
};

/// TO0.AcceptOwner, type 23: the lifetime the RV grants, at most the requested one. FDO 1.1 §5.3.4
///   TO0.AcceptOwner = [WaitSeconds: uint32]
struct AcceptOwner {
  static constexpr MessageType kType = MessageType::To0AcceptOwner;
  static constexpr std::string_view kName = "TO0.AcceptOwner";
  std::uint32_t wait_seconds = 0;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 1-element array holding a uint32.
  static AcceptOwner decode(ByteView in);
};

}  // namespace fdo::to0
