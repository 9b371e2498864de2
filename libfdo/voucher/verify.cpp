#include "libfdo/voucher/verify.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/entry.h"
#include "libfdo/voucher/header.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::voucher {
namespace {

std::string hash_name(HashType type) { return std::string(hash_type_name(type)); }

/// Collects checks in the order they run.
class Collector {
 public:
  bool add(std::string_view name, std::optional<std::size_t> entry, bool ok, std::string detail) {
    m_report.checks.push_back(Check{.name = std::string(name), .entry = entry, .ok = ok, .detail = std::move(detail)});
    return ok;
  }
  VerifyReport finish() && {
    m_report.valid = !m_report.checks.empty();
    for (const Check& c : m_report.checks) {
      m_report.valid = m_report.valid && c.ok;
    }
    return std::move(m_report);
  }

 private:
  VerifyReport m_report;
};

/// The certificates of OVDevCertChain, or nullopt with the failed check added.
std::optional<std::vector<crypto::Certificate>> check_chain(const RawVoucher& raw, Collector& out) {
  std::optional<std::vector<Bytes>> chain;
  try {
    chain = decode_dev_cert_chain(raw.dev_cert_chain);
  } catch (const Error& e) {
    out.add(check::kDevCertChain, std::nullopt, false, e.what());
    return std::nullopt;
  }
  // docs/interop.md "epid-unsupported": both must be present.
  if (!chain) {
    out.add(check::kDevCertChain, std::nullopt, false, "OVDevCertChain is null (EPID devices are not supported)");
    return std::nullopt;
  }
  if (chain->empty()) {
    out.add(check::kDevCertChain, std::nullopt, false, "OVDevCertChain holds no certificate");
    return std::nullopt;
  }
  std::vector<crypto::Certificate> certs;
  for (std::size_t i = 0; i < chain->size(); ++i) {
    try {
      certs.push_back(crypto::Certificate::from_der((*chain)[i]));
    } catch (const Error& e) {
      out.add(check::kDevCertChain, std::nullopt, false,
              "certificate " + std::to_string(i) + " does not parse: " + e.what());
      return std::nullopt;
    }
  }
  out.add(check::kDevCertChain, std::nullopt, true,
          std::to_string(certs.size()) + " certificate(s), device certificate " + certs.front().subject());
  return certs;
}

void check_chain_hash(const RawVoucher& raw, const OVHeader& header,
                      const std::optional<std::vector<crypto::Certificate>>& certs, const Leniency& leniency,
                      Collector& out) {
  if (!header.ov_dev_cert_chain_hash) {
    out.add(check::kDevCertChainHash, std::nullopt, false, "OVDevCertChainHash is null (EPID devices are not supported)");
    return;
  }
  if (!certs) {
    out.add(check::kDevCertChainHash, std::nullopt, false, "no certificate chain to hash");
    return;
  }
  const Hash& expected = *header.ov_dev_cert_chain_hash;
  const std::string alg = hash_name(expected.type());
  // FDO 1.1 §3.4.2: the DER bytes of every certificate in OVDevCertChain, concatenated in array order, with no
  // CBOR framing.
  Bytes concatenated;
  for (const crypto::Certificate& cert : *certs) {
    append(concatenated, cert.der());
  }
  if (expected.matches(concatenated)) {
    out.add(check::kDevCertChainHash, std::nullopt, true,
            alg + " of the " + std::to_string(certs->size()) + " concatenated DER certificates matches");
    return;
  }
  // docs/interop.md "legacy-cert-chain-hash": older fido-device-onboard-rs hashed the CBOR array of certificates
  // instead.
  if (expected.matches(raw.dev_cert_chain)) {
    if (leniency.accept(Quirk::LegacyCertChainHash, "OVDevCertChainHash")) {
      out.add(check::kDevCertChainHash, std::nullopt, true,
              alg + " matches only the legacy form, the hash of the CBOR certificate array, accepted by "
                    "legacy-cert-chain-hash");
      return;
    }
    out.add(check::kDevCertChainHash, std::nullopt, false,
            alg + " of the concatenated DER certificates does not match; OVDevCertChainHash is the hash of the CBOR "
                  "certificate array, the legacy fido-device-onboard-rs form; legacy-cert-chain-hash accepts it");
    return;
  }
  out.add(check::kDevCertChainHash, std::nullopt, false,
          alg + " of the " + std::to_string(certs->size()) + " concatenated DER certificates does not match "
                "OVDevCertChainHash");
}

std::string signer_name(std::size_t index) {
  return index == 0 ? std::string("OVPubKey") : "the OVEPubKey of entry " + std::to_string(index - 1);
}

/// The entry checks for entry `index`; returns the entry's OVEPubKey, or nullopt when the entry does not decode.
std::optional<PublicKey> check_entry(std::size_t index, ByteView entry_bytes, const PublicKey& prev_key,
                                     ByteView prev_input, ByteView hdr_input, std::optional<HashType>& alg,
                                     const OVHeader& header, const Leniency& leniency, Collector& out) {
  std::optional<OVEntry> entry;
  try {
    entry = OVEntry::decode(entry_bytes, index, leniency);
  } catch (const Error& e) {
    out.add(check::kEntryStructure, index, false, e.what());
    return std::nullopt;
  }
  const crypto::SigAlg sig_alg = entry->sign1.alg();
  const std::string sig_name(crypto::sig_alg_name(sig_alg));
  out.add(check::kEntryStructure, index, true, "COSE_Sign1 " + sig_name + " over an OVEntryPayload");

  // "alg_i must suit prevKey … The COSE signature verifies with prevKey over the received protected and
  // payload bytes."
  if (!prev_key.suits(sig_alg)) {
    out.add(check::kEntrySignature, index, false,
            sig_name + " does not suit the signing key " + signer_name(index) + " (" + prev_key.describe() + ")");
  } else if (!entry->sign1.verify(prev_key.key())) {
    out.add(check::kEntrySignature, index, false,
            sig_name + " signature does not verify with " + signer_name(index) + " (" + prev_key.describe() + ")");
  } else {
    out.add(check::kEntrySignature, index, true, sig_name + " signature verifies with " + signer_name(index));
  }

  // alg = entry 0's OVEHashPrevEntry hashtype; every entry uses it for both hashes (docs/voucher.md
  // "Which hash algorithm").
  const OVEntryPayload& payload = entry->payload;
  if (!alg) {
    alg = payload.ove_hash_prev_entry.type();
  }
  const std::string alg_name = hash_name(*alg);
  const std::string prev_what = index == 0 ? "the header bytes and OVHeaderHMac" : "entry " + std::to_string(index - 1);
  if (payload.ove_hash_prev_entry.type() != *alg) {
    out.add(check::kEntryHashLink, index, false,
            "OVEHashPrevEntry is " + hash_name(payload.ove_hash_prev_entry.type()) + ", entry 0 uses " + alg_name);
  } else if (!payload.ove_hash_prev_entry.matches(prev_input)) {
    out.add(check::kEntryHashLink, index, false, "OVEHashPrevEntry is not the " + alg_name + " of " + prev_what);
  } else {
    out.add(check::kEntryHashLink, index, true, "OVEHashPrevEntry is the " + alg_name + " of " + prev_what);
  }

  if (payload.ove_hash_hdr_info.type() != *alg) {
    out.add(check::kEntryHdrInfoHash, index, false,
            "OVEHashHdrInfo is " + hash_name(payload.ove_hash_hdr_info.type()) + ", entry 0 uses " + alg_name);
  } else if (!payload.ove_hash_hdr_info.matches(hdr_input)) {
    out.add(check::kEntryHdrInfoHash, index, false, "OVEHashHdrInfo is not the " + alg_name + " of GUID ‖ DeviceInfo");
  } else {
    out.add(check::kEntryHdrInfoHash, index, true, "OVEHashHdrInfo is the " + alg_name + " of GUID ‖ DeviceInfo");
  }

  // FDO 1.1 §3.4.2: every key copies OVPubKey's pkType and curve or RSA size.
  if (payload.ove_pub_key.same_type_as(header.ov_pub_key)) {
    out.add(check::kEntryKeyType, index, true, "next owner key " + payload.ove_pub_key.describe());
  } else {
    out.add(check::kEntryKeyType, index, false,
            "next owner key " + payload.ove_pub_key.describe() + " is not of the voucher's key type " +
                header.ov_pub_key.describe());
  }
  return payload.ove_pub_key;
}

}  // namespace

const Check* VerifyReport::first_failure() const {
  for (const Check& c : checks) {
    if (!c.ok) {
      return &c;
    }
  }
  return nullptr;
}

const Check* VerifyReport::find(std::string_view name, std::optional<std::size_t> entry) const {
  for (const Check& c : checks) {
    if (c.name == name && c.entry == entry) {
      return &c;
    }
  }
  return nullptr;
}

std::string VerifyReport::to_text() const {
  std::string out;
  for (const Check& c : checks) {
    out += c.ok ? "ok    " : "FAIL  ";
    out += c.name;
    if (c.entry) {
      out += " [entry " + std::to_string(*c.entry) + "]";
    }
    out += ": " + c.detail + "\n";
  }
  out += valid ? "voucher is valid\n" : "voucher is INVALID\n";
  return out;
}

void VerifyReport::to_json(JsonWriter& out) const {
  out.begin_object().key("valid").boolean(valid).key("checks").begin_array();
  for (const Check& c : checks) {
    out.begin_object().key("name").string(c.name).key("entry");
    if (c.entry) {
      out.uinteger(*c.entry);
    } else {
      out.null();
    }
    out.key("ok").boolean(c.ok).key("detail").string(c.detail).end_object();
  }
  out.end_array().end_object();
}

VerifyReport verify(ByteView voucher, const VerifyOptions& options) {
  Collector out;
  // The top level is a 5-element array with OVProtVer 101.
  if (const std::optional<std::string> problem = protocol_version_problem(voucher)) {
    out.add(check::kProtocolVersion, std::nullopt, false, *problem);
    return std::move(out).finish();
  }
  out.add(check::kProtocolVersion, std::nullopt, true, "101 (FDO 1.1)");
  RawVoucher raw;
  try {
    raw = RawVoucher::split(voucher);
  } catch (const Error& e) {
    out.add(check::kStructure, std::nullopt, false, e.what());
    return std::move(out).finish();
  }
  out.add(check::kStructure, std::nullopt, true,
          "5 items, " + std::to_string(raw.entries.size()) + " entr" + (raw.entries.size() == 1 ? "y" : "ies"));

  // OVHeader decodes from OVHeaderTag's content; the raw bytes are kept.
  std::optional<OVHeader> header;
  try {
    header = OVHeader::decode(raw.header_bytes, options.leniency);
  } catch (const Error& e) {
    out.add(check::kHeader, std::nullopt, false, e.what());
    return std::move(out).finish();
  }
  out.add(check::kHeader, std::nullopt, true,
          "GUID " + header->ov_guid.hex() + ", device info \"" + header->ov_device_info + "\", manufacturer key " +
              header->ov_pub_key.describe());

  // FDO 1.1 §3.4.2: an X5CHAIN OVPubKey carries the manufacturer's certificate chain; it must verify
  // link by link (the key used for entry 0 is its leaf's). Reported as its own check, only for X5CHAIN keys.
  if (header->ov_pub_key.pk_enc() == PkEnc::X5Chain) {
    const std::vector<crypto::Certificate>& chain = header->ov_pub_key.certificates();
    const crypto::ChainResult result = crypto::verify_chain(chain);
    out.add(check::kManufacturerKeyChain, std::nullopt, result.ok,
            result.ok ? std::to_string(chain.size()) +
                            " certificate(s), each signed by the next, the last self-signed"
                      : result.detail);
  }

  // OVHeaderHMac: hashtype 5 or 6 with the matching length (it cannot be verified without the device secret).
  std::optional<HMac> hmac;
  try {
    hmac = Hash::decode(raw.header_hmac, "OVHeaderHMac", HashKind::Hmac);
    out.add(check::kHeaderHmacFormat, std::nullopt, true, hash_name(hmac->type()));
  } catch (const Error& e) {
    out.add(check::kHeaderHmacFormat, std::nullopt, false, e.what());
  }
  if (options.hmac_secret) {
    if (!hmac) {
      out.add(check::kHeaderHmac, std::nullopt, false, "OVHeaderHMac does not decode");
    } else if (hmac->verify_hmac(*options.hmac_secret, raw.header_bytes)) {
      out.add(check::kHeaderHmac, std::nullopt, true, hash_name(hmac->type()) + " of the header bytes matches");
    } else {
      out.add(check::kHeaderHmac, std::nullopt, false,
              hash_name(hmac->type()) + " of the header bytes with the given secret does not match OVHeaderHMac");
    }
  }

  // The chain and its hash; its signatures only when asked for.
  const std::optional<std::vector<crypto::Certificate>> certs = check_chain(raw, out);
  check_chain_hash(raw, *header, certs, options.leniency, out);
  if (options.check_dev_cert_chain_signatures) {
    if (!certs) {
      out.add(check::kDevCertChainSignatures, std::nullopt, false, "no certificate chain to verify");
    } else {
      const crypto::ChainResult result = crypto::verify_chain(*certs);
      out.add(check::kDevCertChainSignatures, std::nullopt, result.ok,
              result.ok ? "each certificate is signed by the next, the last is self-signed" : result.detail);
    }
  }

  // FDO 1.1 §3.4.1, §5.5.3: the device compares the hash of the CBOR OVPubKey with DCPubKeyHash.
  if (options.manufacturer_key_hash) {
    const Hash& expected = *options.manufacturer_key_hash;
    const bool ok = expected.matches(header->ov_pub_key.raw());
    out.add(check::kManufacturerKeyHash, std::nullopt, ok,
            hash_name(expected.type()) + " of OVPubKey " + (ok ? "matches" : "does not match") + " DCPubKeyHash");
  }

  // 1 <= N <= 255 for TO0 and TO2; an import for re-manufacture may allow N = 0.
  const std::size_t count = raw.entries.size();
  const std::size_t min_count = options.allow_zero_entries ? 0 : 1;
  if (count < min_count) {
    out.add(check::kEntriesCount, std::nullopt, false,
            "no entries: the voucher must be extended to an owner before TO0 or TO2");
  } else if (count > kMaxEntries) {
    out.add(check::kEntriesCount, std::nullopt, false,
            std::to_string(count) + " entries, more than the 255 TO2 can carry");
  } else {
    out.add(check::kEntriesCount, std::nullopt, true, std::to_string(count));
  }

  // Steps 8-9: walk the entries with the running hash input and key.
  const Bytes hdr_input = concat(header->ov_guid.view(), to_bytes(header->ov_device_info));
  Bytes prev_input = concat(raw.header_bytes, raw.header_hmac);
  PublicKey prev_key = header->ov_pub_key;
  std::optional<HashType> alg;
  for (std::size_t i = 0; i < count; ++i) {
    std::optional<PublicKey> next = check_entry(i, raw.entries[i], prev_key, prev_input, hdr_input, alg, *header,
                                                options.leniency, out);
    if (!next) {
      break;
    }
    prev_key = std::move(*next);
    prev_input.assign(raw.entries[i].begin(), raw.entries[i].end());
  }
  return std::move(out).finish();
}

}  // namespace fdo::voucher
