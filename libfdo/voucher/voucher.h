#pragma once
// The Ownership Voucher, FDO 1.1 §3.4.2: header bytes as received, HMAC, device certificate
// chain and signed entries, each kept in its wire bytes next to its decoded form (docs/style.md §5,
// docs/interop.md "signed-bytes-as-received").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/entry.h"
#include "libfdo/voucher/header.h"

namespace fdo::voucher {

/// The most entries a voucher may hold: TO2's NumOVEntries is a uint8 (FDO 1.1 §3.4.2).
inline constexpr std::size_t kMaxEntries = 255;

/// The protocol version a voucher claims, read without decoding the rest: OVProtVer of a 5-element
/// FDO 1.1 voucher, or OVHProtVer of a 4-element FDO 1.0 voucher (whose header is a bare array).
/// nullopt if the input is neither shape. Never throws.
std::optional<std::uint64_t> peek_protocol_version(ByteView in);
/// Why `in` is not an FDO 1.1 voucher by its protocol version (FDO 1.1 §3.4.2; docs/voucher.md check `protocol
/// version`), e.g. "protocol version 100: an FDO 1.0 voucher …"; nullopt when it claims 101. Never throws.
std::optional<std::string> protocol_version_problem(ByteView in);

/// The five top-level items of an FDO 1.1 voucher, split but not interpreted (FDO 1.1 §3.4.2).
/// Views point into the input, which must outlive this value.
struct RawVoucher {
  std::uint64_t ov_prot_ver = 0;
  /// OVHeaderTag content: the OVHeader bytes the HMAC and entry 0's hash cover.
  ByteView header_bytes;
  /// The complete encoding of OVHeaderHMac, as entry 0's hash covers it.
  ByteView header_hmac;
  /// The complete encoding of OVDevCertChain.
  ByteView dev_cert_chain;
  /// The complete encoding of each OVEntry.
  std::vector<ByteView> entries;
  /// Framing kept so that encoding reproduces the input exactly: the outer array head, the four items
  /// before OVEntryArray, and the OVEntryArray head.
  ByteView outer_head;
  ByteView leading_items;
  ByteView entries_head;

  /// Splits `in`: exactly one 5-element array of uint, bstr, HMac array, certificate chain (array, bstr or
  /// null) and an array of entries, with nothing after it. Error(MessageBodyError) otherwise. The
  /// protocol version is not checked here.
  static RawVoucher split(ByteView in);
};

/// Decodes OVDevCertChain: X5CHAIN (an array of DER certificates, leaf first; a single bstr is accepted
/// as RFC 9360 allows, FDO 1.1 §3.4.2) or null (nullopt). Certificates are not parsed here.
std::optional<std::vector<Bytes>> decode_dev_cert_chain(ByteView in);

/// An Ownership Voucher, FDO 1.1 §3.4.2:
///   OwnershipVoucher = [
///       OVProtVer:      protver,           ;; protocol version
///       OVHeaderTag:    bstr .cbor OVHeader,
///       OVHeaderHMac:   HMac,              ;; hmac[DCHmacSecret, OVHeader]
///       OVDevCertChain: OVDevCertChainOrNull,
///       OVEntryArray:   OVEntries
///   ]
/// Immutable: extending makes a new voucher (with_entry, extend.h).
class OwnershipVoucher {
 public:
  /// Strict structural decode (docs/voucher.md checks `protocol version` to `header HMAC format`, and the decoding
  /// parts of the chain and entry checks): OVProtVer 101
  /// (an FDO 1.0 voucher is refused naming "protocol version 100"), the header, the HMac (type 5 or 6 with
  /// its length), the certificate chain shape and every entry. Signatures and hashes are not checked:
  /// that is verify() (verify.h). Error(MessageBodyError) naming the field otherwise.
  static OwnershipVoucher decode(ByteView in, const Leniency& leniency = {});
  /// A new voucher without entries, [101, bstr(header_bytes), hmac, chain, []] (made at DI, FDO 1.1 §5.2.3).
  /// The header bytes are kept exactly as given. Error(MessageBodyError) if a part does not decode.
  static OwnershipVoucher from_parts(ByteView header_bytes, const HMac& header_hmac,
                                     const std::vector<Bytes>& dev_cert_chain);

  /// The voucher's bytes: exactly the decoded input, plus any entries appended since.
  [[nodiscard]] Bytes encode() const;

  [[nodiscard]] std::uint16_t ov_prot_ver() const { return kOVProtVer; }
  /// OVHeaderTag content, as received.
  [[nodiscard]] ByteView header_bytes() const { return m_header_bytes; }
  [[nodiscard]] const OVHeader& header() const { return m_header; }
  [[nodiscard]] const HMac& header_hmac() const { return m_header_hmac; }
  /// The complete CBOR encoding of OVHeaderHMac, as received.
  [[nodiscard]] ByteView header_hmac_bytes() const { return m_header_hmac_bytes; }
  /// The device certificates (DER, leaf first), each as received; nullopt for a null chain.
  [[nodiscard]] const std::optional<std::vector<Bytes>>& dev_cert_chain() const { return m_dev_cert_chain; }
  [[nodiscard]] const std::vector<OVEntry>& entries() const { return m_entries; }

  /// The current owner key (FDO 1.1 §3.4.2; docs/voucher.md): the last entry's OVEPubKey, or OVPubKey when
  /// there are no entries.
  [[nodiscard]] const PublicKey& owner_key() const;
  /// The voucher hash family H, read off OVHeaderHMac (5 → SHA-256, 6 → SHA-384; docs/voucher.md
  /// "Which hash algorithm").
  [[nodiscard]] crypto::HashAlg hash_family() const;
  /// The hashtype entry hashes use: entry 0's OVEHashPrevEntry type, or H when there are no entries
  /// (docs/voucher.md "Which hash algorithm").
  [[nodiscard]] HashType entry_hash_type() const;
  /// H_type(GUID ‖ DeviceInfo): the OVEHashHdrInfo every entry carries (FDO 1.1 §3.4.2).
  [[nodiscard]] Hash hdr_info_hash(HashType type) const;
  /// The OVEHashPrevEntry entry `index` must carry (FDO 1.1 §3.4.2): H_type(header bytes ‖ CBOR(OVHeaderHMac))
  /// for entry 0, otherwise H_type(complete bytes of entry index-1). `index` may equal entries().size().
  [[nodiscard]] Hash prev_entry_hash(std::size_t index, HashType type) const;

  /// A copy with `entry_bytes` (one complete OVEntry) appended; nothing else changes (FDO 1.1 §3.4.2).
  /// The entry is decoded strictly; its signature and hashes are not checked here.
  [[nodiscard]] OwnershipVoucher with_entry(ByteView entry_bytes, const Leniency& leniency = {}) const;

 private:
  OwnershipVoucher(const RawVoucher& raw, const Leniency& leniency);

  Bytes m_outer_head;
  Bytes m_leading_items;
  std::optional<Bytes> m_entries_head;  // as received; rebuilt once entries are appended
  Bytes m_header_bytes;
  OVHeader m_header;
  HMac m_header_hmac;
  Bytes m_header_hmac_bytes;
  std::optional<std::vector<Bytes>> m_dev_cert_chain;
  std::vector<OVEntry> m_entries;
};

}  // namespace fdo::voucher
