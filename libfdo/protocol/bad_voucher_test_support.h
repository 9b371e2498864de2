#pragma once
// The conformance tools' bad vouchers (docs/conformance.md §5, OV-01..OV-15), built as the tools build them: each is
// consistent (header HMAC, entry hash links, signatures) except for the one mutation named, so that a verifier can
// refuse it only for that mutation. Shared by the rendezvous' TO0.OwnerSign tests (to0_test.cpp, → 2) and the owner's
// import tests (owner/voucher_import_test.cpp, refused and nothing stored). Not part of the library.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/random.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/voucher/voucher_test_fixture.h"

namespace fdo::protocol::testing {

/// The items of an OVHeader as written, to replace one of them.
struct HeaderItems {
  Bytes version = cbor::encode_uint(101);
  Bytes guid;
  Bytes rv;
  Bytes device_info;
  Bytes pub_key;
  Bytes chain_hash;

  [[nodiscard]] Bytes encode() const {
    cbor::Writer w;
    w.array(6).raw(version).raw(guid).raw(rv).raw(device_info).raw(pub_key).raw(chain_hash);
    return std::move(w).take();
  }
};

/// The parts of a voucher before its entries, as written.
struct VoucherParts {
  std::uint64_t prot_ver = 101;
  /// OVHeader bytes (the bstr content).
  Bytes header;
  /// OVHeaderHMac item.
  Bytes hmac;
  /// OVDevCertChain item.
  Bytes chain;
  /// What OVEHashHdrInfo hashes: OVGuid ‖ OVDeviceInfo.
  Bytes hdr_info;
  /// The OVHeaderHMac item entry 0 links to, when it is not `hmac` (OV-07: the HMAC replaced afterwards).
  std::optional<Bytes> linked_hmac;
};

/// One entry of a hand-built chain: OVEPubKey as written, the key signing the entry, and faults to build in.
struct HandEntry {
  Bytes next_key;
  const crypto::PrivateKey* signer = nullptr;
  /// OVEHashPrevEntry item instead of the hash of the previous bytes.
  std::optional<Bytes> hash_prev;
  /// OVEHashHdrInfo item instead of the hash of VoucherParts::hdr_info.
  std::optional<Bytes> hash_hdr_info;
  /// Fuzz the signature bytes after signing, with this seed.
  std::optional<std::uint32_t> fuzz_signature_seed;
};

inline HandEntry hand_entry(Bytes next_key, const crypto::PrivateKey& signer) {
  HandEntry e;
  e.next_key = std::move(next_key);
  e.signer = &signer;
  return e;
}

/// A SHA-256 chain (the P-256 test voucher's family): every entry links to the bytes written before it, so a fault
/// in one entry is not also a broken link in the next (as a forger would have to build it).
inline Bytes hand_voucher(const VoucherParts& p, const std::vector<HandEntry>& entries) {
  std::vector<Bytes> written;
  Bytes prev = concat(p.header, p.linked_hmac.value_or(p.hmac));
  for (const HandEntry& e : entries) {
    cbor::Writer payload;
    payload.array(4)
        .raw(e.hash_prev.value_or(Hash::compute(HashType::Sha256, prev).encode()))
        .raw(e.hash_hdr_info.value_or(Hash::compute(HashType::Sha256, p.hdr_info).encode()))
        .null()
        .raw(e.next_key);
    Bytes entry = voucher::testing::signed_entry(*e.signer, crypto::default_sig_alg(e.signer->type()), payload.bytes());
    if (e.fuzz_signature_seed) {
      Sign1Parts parts = Sign1Parts::of(cose::Sign1::decode(entry));
      parts.signature = fuzzed(parts.signature, *e.fuzz_signature_seed);
      entry = parts.encode();
    }
    prev = entry;
    written.push_back(std::move(entry));
  }
  return voucher::testing::raw_voucher(p.prot_ver, p.header, p.hmac, p.chain, written);
}

/// A PublicKey item from its three parts, to write encodings PublicKey refuses to make.
inline Bytes public_key_item(std::uint64_t pk_type, std::uint64_t pk_enc, ByteView body) {
  cbor::Writer w;
  w.array(3).uint(pk_type).uint(pk_enc).bstr(body);
  return std::move(w).take();
}

/// One bad voucher: what was mutated, the voucher, and the voucher's last owner key (the to1d signer at TO0, the key
/// an importing owner holds), so that nothing but the mutation is wrong.
struct BadVoucher {
  std::string what;
  Bytes voucher;
  const crypto::PrivateKey* owner = nullptr;
};

/// Builds the bad vouchers of one checklist line for the P-256 test voucher `fx` (manufacturer → owner1 → owner2).
class BadVouchers {
 public:
  explicit BadVouchers(const voucher::testing::Fixture& fixture) : m_fx(fixture) {}

  /// Every variant of line `id` ("OV-01" .. "OV-15"); empty for another id.
  std::vector<BadVoucher> make(std::string_view id) {
    std::vector<BadVoucher> out;
    m_out = &out;
    if (id == "OV-01") {  // OV_01_HeaderProtocolVersionFrom105To10000Is2
      std::mt19937 rng(1);
      const std::uint64_t drawn = std::uniform_int_distribution<std::uint64_t>(105, 10000)(rng);
      for (const std::uint64_t version : {std::uint64_t{105}, drawn, std::uint64_t{10000}}) {
        HeaderItems h = header_items();
        h.version = cbor::encode_uint(version);
        add(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()),
            "OVHProtVer " + std::to_string(version));
      }
      return out;
    }
    if (id == "OV-02") {  // OV_02_EmptyRendezvousInfoIs2
      HeaderItems h = header_items();
      h.rv = Bytes{0x80};
      add(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()), "OVRVInfo []");
      return out;
    }
    if (id == "OV-03") {  // OV_03_EmptyDeviceInfoIs2
      HeaderItems h = header_items();
      h.device_info = cbor::encode_tstr("");
      add(hand_voucher(parts(h.encode(), hdr_info("")), two_entries()), "OVDeviceInfo \"\"");
      return out;
    }
    if (id == "OV-04") {  // OV_04_ManufacturerKeyWithRandomBodyOtherEncodingOrOtherTypeIs2
      const Bytes der = fx().owners[0].public_key().spki_der();
      for (const auto& [what, key] : {std::pair{std::string("random body"), public_key_item(10, 1, random_bytes(91))},
                                      std::pair{std::string("pkEnc X5CHAIN"), public_key_item(10, 2, der)},
                                      std::pair{std::string("pkEnc COSEKEY"), public_key_item(10, 3, der)},
                                      std::pair{std::string("pkType SECP384R1"), public_key_item(11, 1, der)}}) {
        HeaderItems h = header_items();
        h.pub_key = key;
        add(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()), "OVPubKey " + what);
      }
      return out;
    }
    if (id == "OV-05") {  // OV_05_CertChainHashOfRandomBytesOrAnotherHashTypeIs2
      for (const Hash& hash : {Hash(HashType::Sha256, random_bytes(32)), Hash(HashType::Sha384, random_bytes(48))}) {
        HeaderItems h = header_items();
        h.chain_hash = hash.encode();
        add(hand_voucher(parts(h.encode(), hdr_info(fx().input.device_info)), two_entries()),
            std::string("OVDevCertChainHash ") + std::string(hash_type_name(hash.type())));
      }
      return out;
    }
    if (id == "OV-06") {  // OV_06_FuzzedHeaderBytesAre2
      for (std::uint32_t seed = 1; seed <= 8; ++seed) {
        // HMAC and entry 0's link are computed over the fuzzed bytes: only the header itself is wrong.
        const Bytes header = fuzzed(header_items().encode(), seed);
        add(hand_voucher(parts(header, hdr_info(fx().input.device_info)), two_entries()),
            "seed " + std::to_string(seed));
      }
      return out;
    }
    if (id == "OV-07") {  // OV_07_RandomOrOtherTypeHeaderHmacIs2
      for (const Hash& hmac :
           {Hash(HashType::HmacSha256, random_bytes(32)), Hash(HashType::HmacSha384, random_bytes(48))}) {
        VoucherParts p = good_parts();
        p.linked_hmac = p.hmac;
        p.hmac = hmac.encode();
        add(hand_voucher(p, two_entries()), std::string("OVHeaderHMac ") + std::string(hash_type_name(hmac.type())));
        // The tool's variant also swaps the first two device certificates.
        p.chain = voucher::testing::chain_item({fx().chain[1], fx().chain[0]});
        add(hand_voucher(p, two_entries()), "and the device certificates swapped");
      }
      return out;
    }
    if (id == "OV-08") {  // OV_08_VoucherProtocolVersionFrom105To10000Is2
      for (const std::uint64_t version : {105u, 4242u, 10000u}) {
        VoucherParts p = good_parts();
        p.prot_ver = version;
        add(hand_voucher(p, two_entries()), "OVProtVer " + std::to_string(version));
      }
      return out;
    }
    if (id == "OV-09") {  // OV_09_FuzzedExtraCertificateInTheChainIs2
      for (std::uint32_t seed = 1; seed <= 4; ++seed) {
        VoucherParts p = good_parts();
        p.chain = voucher::testing::chain_item({fx().chain[0], fx().chain[1], fuzzed(fx().chain[1], seed)});
        add(hand_voucher(p, two_entries()), "seed " + std::to_string(seed));
      }
      return out;
    }
    if (id == "OV-10") {  // OV_10_VoucherWithoutEntriesIs2
      add(hand_voucher(good_parts(), {}), "no entries", &fx().owners[0]);
      return out;
    }
    if (id == "OV-11") {  // OV_11_WrongHdrInfoHashFromAnEntryOnIs2
      for (std::size_t from = 0; from < 2; ++from) {
        std::vector<HandEntry> entries = two_entries();
        for (std::size_t i = from; i < entries.size(); ++i) {
          entries[i].hash_hdr_info = Hash(HashType::Sha256, random_bytes(32)).encode();
        }
        add(hand_voucher(good_parts(), entries), "from entry " + std::to_string(from));
      }
      return out;
    }
    if (id == "OV-12") {  // OV_12_WrongPrevEntryHashIs2
      for (std::size_t i = 0; i < 2; ++i) {
        std::vector<HandEntry> entries = two_entries();
        entries[i].hash_prev = Hash(HashType::Sha256, random_bytes(32)).encode();
        add(hand_voucher(good_parts(), entries), "entry " + std::to_string(i));
      }
      return out;
    }
    if (id == "OV-13") {  // OV_13_P384OwnerKeysFromAnEntryOnInAP256ChainAre2
      const crypto::PrivateKey& p384_a = m_p384_a;
      const crypto::PrivateKey& p384_b = m_p384_b;
      const Bytes key_a = PublicKey::from_key(p384_a.public_key()).encode();
      const Bytes key_b = PublicKey::from_key(p384_b.public_key()).encode();
      // From entry 0: manufacturer → P-384 a → P-384 b, every signature valid for its key.
      add(hand_voucher(good_parts(), {hand_entry(key_a, fx().owners[0]), hand_entry(key_b, p384_a)}), "from entry 0",
          &p384_b);
      // From entry 1: manufacturer → owner1 → P-384 b.
      add(hand_voucher(good_parts(),
                       {hand_entry(fx().wire_key(1).encode(), fx().owners[0]), hand_entry(key_b, fx().owners[1])}),
          "from entry 1", &p384_b);
      return out;
    }
    if (id == "OV-14") {  // OV_14_FuzzedEntrySignatureIs2
      for (std::size_t i = 0; i < 2; ++i) {
        std::vector<HandEntry> entries = two_entries();
        entries[i].fuzz_signature_seed = static_cast<std::uint32_t>(i + 1);
        add(hand_voucher(good_parts(), entries), "entry " + std::to_string(i));
      }
      return out;
    }
    if (id == "OV-15") {  // OV_15_MutatedNextOwnerKeyIs2
      const Bytes der = fx().owners[1].public_key().spki_der();
      for (const auto& [what, key] : {std::pair{std::string("random body"), public_key_item(10, 1, random_bytes(91))},
                                      std::pair{std::string("pkEnc COSEKEY"), public_key_item(10, 3, der)},
                                      std::pair{std::string("pkType SECP384R1"), public_key_item(11, 1, der)}}) {
        std::vector<HandEntry> entries = two_entries();
        entries[0].next_key = key;
        add(hand_voucher(good_parts(), entries), "OVEPubKey " + what);
      }
      return out;
    }
    return out;
  }

  /// The same chain without a fault (the builder's control: it must be accepted).
  [[nodiscard]] BadVoucher good() const { return {"no fault", hand_voucher(good_parts(), two_entries()), &owner()}; }

 private:
  [[nodiscard]] const voucher::testing::Fixture& fx() const { return m_fx; }
  [[nodiscard]] HeaderItems header_items() const {
    HeaderItems h;
    h.guid = cbor::encode_bstr(fx().input.guid.view());
    h.rv = fx().input.rv_info.encode();
    h.device_info = cbor::encode_tstr(fx().input.device_info);
    h.pub_key = fx().input.manufacturer_key.encode();
    h.chain_hash = voucher::dev_cert_chain_hash(HashType::Sha256, fx().chain).encode();
    return h;
  }
  [[nodiscard]] Bytes hdr_info(std::string_view device_info) const {
    return concat(fx().input.guid.view(), to_bytes(device_info));
  }
  /// A consistent voucher start for `header`: its HMAC under the device's secret, the device chain.
  [[nodiscard]] VoucherParts parts(const Bytes& header, Bytes info) const {
    VoucherParts p;
    p.header = header;
    p.hmac = fx().hmac_over(header, crypto::HashAlg::Sha256).encode();
    p.chain = voucher::testing::chain_item(fx().chain);
    p.hdr_info = std::move(info);
    return p;
  }
  [[nodiscard]] VoucherParts good_parts() const {
    return parts(header_items().encode(), hdr_info(fx().input.device_info));
  }
  /// manufacturer → owner1 → owner2: two entries; owner2 is the current owner.
  [[nodiscard]] std::vector<HandEntry> two_entries() const {
    return {hand_entry(fx().wire_key(1).encode(), fx().owners[0]),
            hand_entry(fx().wire_key(2).encode(), fx().owners[1])};
  }
  [[nodiscard]] const crypto::PrivateKey& owner() const { return fx().owners[2]; }
  void add(Bytes voucher, std::string what, const crypto::PrivateKey* last_owner = nullptr) {
    m_out->push_back(BadVoucher{std::move(what), std::move(voucher), last_owner != nullptr ? last_owner : &owner()});
  }

  const voucher::testing::Fixture& m_fx;
  std::vector<BadVoucher>* m_out = nullptr;
  // OV-13's P-384 owner keys, kept here because the vouchers name them as their last owner.
  crypto::PrivateKey m_p384_a = voucher::testing::test_key("owner1-p384");
  crypto::PrivateKey m_p384_b = voucher::testing::test_key("owner2-p384");
};

}  // namespace fdo::protocol::testing
