#include "libfdo/voucher/summary.h"

#include <utility>

#include "libfdo/cbor/diag.h"
#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/header.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::voucher {
namespace {

std::string one_line_diag(ByteView item) {
  return cbor::to_diag(item, cbor::DiagOptions{.pretty = false, .expand_embedded = true, .max_bstr = 0});
}

KeySummary summarize_key(ByteView raw, HashType hash_type, const Leniency& leniency, std::string_view what,
                         std::vector<std::string>& notes) {
  KeySummary out;
  out.hash = Hash::compute(hash_type, raw);
  try {
    const PublicKey key = PublicKey::decode(raw, leniency, what);
    out.pk_type = pk_type_name(key.pk_type());
    out.pk_enc = pk_enc_name(key.pk_enc());
    out.key_type = crypto::key_type_name(key.key().type());
    return out;
  } catch (const Error& e) {
    notes.push_back(std::string(what) + ": " + e.what());
  }
  // Tolerant reading: [pkType, pkEnc, pkBody] with values FDO 1.1 may not define (FDO 1.0 vouchers).
  try {
    cbor::Reader r(raw, what);
    r.read_array_of("", 3);
    out.pk_type = "pkType " + std::to_string(r.read_int("[0] pkType"));
    const std::int64_t enc = r.read_int("[1] pkEnc");
    out.pk_enc = enc == static_cast<std::int64_t>(PkEnc::X509) ? std::string("X509") : "pkEnc " + std::to_string(enc);
    if (enc == static_cast<std::int64_t>(PkEnc::X509) && r.peek_type() == cbor::MajorType::Bytes) {
      out.key_type = crypto::key_type_name(crypto::PublicKey::from_spki_der(r.read_bstr_view("[2] pkBody")).type());
    }
  } catch (const Error&) {
    if (out.pk_type.empty()) {
      out.pk_type = "unreadable";
    }
  }
  return out;
}

/// FDO 1.0 RendezvousInfo carries bare RVValues, its own form (docs/interop.md "bare-rv-values"): wrap each in a bstr,
/// as FDO 1.1 writes it, so that it reads with the 1.1 decoder without logging a deviation.
Bytes wrap_fdo10_rv_values(ByteView rv) {
  cbor::Reader r(rv, "OVHeader[2] OVRVInfo");
  cbor::Writer w;
  const std::size_t directives = r.read_array("");
  w.array(directives);
  for (std::size_t d = 0; d < directives; ++d) {
    const std::size_t instructions = r.read_array("[" + std::to_string(d) + "]");
    w.array(instructions);
    for (std::size_t i = 0; i < instructions; ++i) {
      const std::size_t count = r.read_array("[" + std::to_string(d) + "][" + std::to_string(i) + "]");
      w.array(count);
      for (std::size_t k = 0; k < count; ++k) {
        const ByteView item = r.read_raw("RendezvousInstr item");
        if (k == 1) {
          w.bstr(item);
        } else {
          w.raw(item);
        }
      }
    }
  }
  r.expect_end();
  return std::move(w).take();
}

std::string describe_extra(cbor::Reader& r) {
  if (r.peek_null()) {
    r.read_null("OVEExtra");
    return "null";
  }
  return one_line_diag(r.read_raw("OVEExtra"));
}

EntrySummary summarize_entry(std::size_t index, ByteView raw, HashType hash_type, const Leniency& leniency,
                             std::vector<std::string>& notes) {
  EntrySummary out;
  out.index = index;
  const std::string context = "OVEntry[" + std::to_string(index) + "]";
  try {
    const cose::Sign1 sign1 = cose::Sign1::decode(raw, context, leniency);
    out.signature_alg = crypto::sig_alg_name(sign1.alg());
    cbor::Reader r(sign1.payload(), context + " payload");
    const std::size_t count = r.read_array("");
    if (count != 3 && count != 4) {
      r.fail("", "expected an array of 4 (FDO 1.1) or 3 (FDO 1.0) items, got " + std::to_string(count));
    }
    r.skip("[0] OVEHashPrevEntry");
    r.skip("[1] OVEHashHdrInfo");
    out.extra = count == 4 ? describe_extra(r) : std::string("(none: FDO 1.0 entry)");
    out.next_owner_key = summarize_key(r.read_raw("OVEPubKey"), hash_type, leniency, context + " OVEPubKey", notes);
  } catch (const Error& e) {
    notes.push_back(e.what());
  }
  return out;
}

void summarize_header(ByteView header, VoucherSummary& out, HashType hash_type, const Leniency& leniency,
                      bool fdo10) {
  try {
    cbor::Reader r(header, "OVHeader");
    r.read_array("");
    out.protocol_version = r.read_uint("[0] OVHProtVer");
    out.guid = to_hex(r.read_bstr_view("[1] OVGuid"));
    const ByteView rv = r.read_raw("[2] OVRVInfo");
    try {
      out.rv_info = fdo10 ? RendezvousInfo::decode(wrap_fdo10_rv_values(rv), leniency, "OVHeader[2] OVRVInfo")
                          : RendezvousInfo::decode(rv, leniency, "OVHeader[2] OVRVInfo");
    } catch (const Error& e) {
      out.notes.push_back(e.what());
      out.rv_info_diag = one_line_diag(rv);
    }
    out.device_info = r.read_tstr("[3] OVDeviceInfo");
    out.manufacturer_key = summarize_key(r.read_raw("[4] OVPubKey"), hash_type, leniency, "OVHeader[4] OVPubKey",
                                         out.notes);
    if (!r.try_read_null()) {
      out.dev_cert_chain_hash = Hash::decode(r, "[5] OVDevCertChainHash", HashKind::Digest);
    }
  } catch (const Error& e) {
    out.notes.push_back(e.what());
  }
}

void summarize_chain(ByteView chain, VoucherSummary& out) {
  try {
    const std::optional<std::vector<Bytes>> certs = decode_dev_cert_chain(chain);
    if (!certs) {
      out.notes.emplace_back("OVDevCertChain is null (EPID)");
      return;
    }
    for (std::size_t i = 0; i < certs->size(); ++i) {
      try {
        const crypto::Certificate cert = crypto::Certificate::from_der((*certs)[i]);
        const std::string subject = cert.subject();
        out.certificates.push_back(CertificateSummary{.subject = subject.empty() ? "(empty subject)" : subject,
                                                      .issuer = cert.issuer(),
                                                      .key_type = std::string(crypto::key_type_name(cert.public_key().type()))});
      } catch (const Error& e) {
        out.certificates.push_back(CertificateSummary{.subject = "(unreadable)", .issuer = "", .key_type = ""});
        out.notes.push_back("device certificate " + std::to_string(i) + ": " + e.what());
      }
    }
  } catch (const Error& e) {
    out.notes.push_back(e.what());
  }
}

void key_json(JsonWriter& j, const std::optional<KeySummary>& key) {
  if (!key) {
    j.null();
    return;
  }
  j.begin_object().key("pk_type").string(key->pk_type).key("pk_enc").string(key->pk_enc).key("key_type");
  if (key->key_type.empty()) {
    j.null();
  } else {
    j.string(key->key_type);
  }
  j.key("hash");
  if (key->hash) {
    j.begin_object().key("alg").string(hash_type_name(key->hash->type())).key("hex").string(key->hash->hex()).end_object();
  } else {
    j.null();
  }
  j.end_object();
}

void optional_string(JsonWriter& j, const std::optional<std::string>& s) {
  if (s) {
    j.string(*s);
  } else {
    j.null();
  }
}

std::string key_line(const KeySummary& key) {
  std::string line = key.describe();
  if (key.hash) {
    line += ", hash " + std::string(hash_type_name(key.hash->type())) + " " + key.hash->hex();
  }
  return line;
}

void field(std::string& out, std::string_view name, std::string_view value) {
  std::string padded(name);
  padded.resize(20, ' ');
  out += padded + std::string(value) + "\n";
}

}  // namespace

std::string KeySummary::describe() const {
  std::string out = pk_type + " " + pk_enc;
  if (!key_type.empty()) {
    out += " (" + key_type + ")";
  }
  return out;
}

VoucherSummary summarize(ByteView voucher, const Leniency& leniency) {
  VoucherSummary out;
  const std::optional<std::uint64_t> version = peek_protocol_version(voucher);
  const bool fdo10 = version && *version == kOVProtVer10;
  if (fdo10) {
    out.notes.emplace_back("FDO 1.0 voucher (protocol version 100): shown for information only; it cannot be "
                           "verified or used for onboarding");
  }
  try {
    cbor::Reader r(voucher, "OwnershipVoucher");
    const std::size_t count = r.read_array("");
    ByteView header;
    if (count == 5) {
      out.protocol_version = r.read_uint("[0] OVProtVer");
      header = r.read_bstr_view("[1] OVHeaderTag");
    } else if (count == 4) {
      header = r.read_raw("[0] OVHeader");
    } else {
      r.fail("", "expected an array of 5 items (FDO 1.1) or 4 (FDO 1.0), got " + std::to_string(count));
    }
    const ByteView hmac_raw = r.read_raw("OVHeaderHMac");
    HashType hash_type = HashType::Sha256;
    try {
      const HMac hmac = Hash::decode(hmac_raw, "OVHeaderHMac", HashKind::Hmac);
      out.header_hmac_alg = std::string(hash_type_name(hmac.type()));
      hash_type = hash_type_for(hash_alg_of(hmac.type()));
    } catch (const Error& e) {
      out.notes.push_back(e.what());
    }
    const std::optional<std::uint64_t> outer_version = out.protocol_version;
    summarize_header(header, out, hash_type, leniency, fdo10);
    if (outer_version && out.protocol_version && *outer_version != *out.protocol_version) {
      out.notes.push_back("OVProtVer " + std::to_string(*outer_version) + " differs from OVHProtVer " +
                          std::to_string(*out.protocol_version));
      out.protocol_version = outer_version;
    }
    summarize_chain(r.read_raw("OVDevCertChain"), out);
    const std::size_t entries = r.read_array("OVEntryArray");
    out.entry_count = entries;
    for (std::size_t i = 0; i < entries; ++i) {
      out.entries.push_back(summarize_entry(i, r.read_raw("OVEntryArray[" + std::to_string(i) + "]"), hash_type,
                                            leniency, out.notes));
    }
    r.expect_end();
  } catch (const Error& e) {
    out.notes.push_back(e.what());
  }
  if (version && *version == kOVProtVer) {
    try {
      static_cast<void>(OwnershipVoucher::decode(voucher, leniency));
    } catch (const Error& e) {
      out.notes.push_back(std::string("strict decoding fails: ") + e.what());
    }
  }
  return out;
}

std::string VoucherSummary::to_text() const {
  std::string out;
  field(out, "protocol version", protocol_version ? std::to_string(*protocol_version) : "?");
  field(out, "GUID", guid.value_or("?"));
  field(out, "device info", device_info ? "\"" + *device_info + "\"" : "?");
  if (rv_info) {
    const std::vector<std::string> lines = rv_info->describe();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      field(out, i == 0 ? "rendezvous info" : "", "[" + std::to_string(i) + "] " + lines[i]);
    }
  } else {
    field(out, "rendezvous info", rv_info_diag.value_or("?"));
  }
  field(out, "manufacturer key", manufacturer_key ? key_line(*manufacturer_key) : "?");
  field(out, "header HMAC", header_hmac_alg ? *header_hmac_alg + " (checked only with the device's secret)" : "?");
  std::string chain = std::to_string(certificates.size()) + " certificate(s)";
  if (dev_cert_chain_hash) {
    chain += ", hash " + std::string(hash_type_name(dev_cert_chain_hash->type())) + " " + dev_cert_chain_hash->hex();
  }
  field(out, "device cert chain", chain);
  for (std::size_t i = 0; i < certificates.size(); ++i) {
    field(out, "", "[" + std::to_string(i) + "] " + certificates[i].subject + " (issuer " + certificates[i].issuer +
                       (certificates[i].key_type.empty() ? "" : ", " + certificates[i].key_type) + ")");
  }
  field(out, "entries", entry_count ? std::to_string(*entry_count) : "?");
  for (const EntrySummary& e : entries) {
    field(out, "", "[" + std::to_string(e.index) + "] " + (e.signature_alg.empty() ? "?" : e.signature_alg) +
                       " signed, next owner " + (e.next_owner_key ? key_line(*e.next_owner_key) : "?") +
                       (e.extra.empty() || e.extra == "null" ? "" : ", OVEExtra " + e.extra));
  }
  for (const std::string& note : notes) {
    field(out, "note", note);
  }
  return out;
}

void VoucherSummary::to_json(JsonWriter& j) const {
  j.begin_object().key("protocol_version");
  if (protocol_version) {
    j.uinteger(*protocol_version);
  } else {
    j.null();
  }
  j.key("guid");
  optional_string(j, guid);
  j.key("device_info");
  optional_string(j, device_info);
  j.key("rendezvous_info");
  if (rv_info) {
    rv_info->to_json(j);
  } else {
    optional_string(j, rv_info_diag);
  }
  j.key("manufacturer_key");
  key_json(j, manufacturer_key);
  j.key("header_hmac_alg");
  optional_string(j, header_hmac_alg);
  j.key("device_cert_chain_hash");
  if (dev_cert_chain_hash) {
    j.begin_object().key("alg").string(hash_type_name(dev_cert_chain_hash->type())).key("hex")
        .string(dev_cert_chain_hash->hex()).end_object();
  } else {
    j.null();
  }
  j.key("device_certificates").begin_array();
  for (const CertificateSummary& c : certificates) {
    j.begin_object().key("subject").string(c.subject).key("issuer").string(c.issuer).key("key_type")
        .string(c.key_type).end_object();
  }
  j.end_array().key("entry_count");
  if (entry_count) {
    j.uinteger(*entry_count);
  } else {
    j.null();
  }
  j.key("entries").begin_array();
  for (const EntrySummary& e : entries) {
    j.begin_object().key("index").uinteger(e.index).key("signature_alg");
    optional_string(j, e.signature_alg.empty() ? std::nullopt : std::optional<std::string>(e.signature_alg));
    j.key("next_owner_key");
    key_json(j, e.next_owner_key);
    j.key("extra");
    optional_string(j, e.extra.empty() || e.extra == "null" ? std::nullopt : std::optional<std::string>(e.extra));
    j.end_object();
  }
  j.end_array().key("notes").begin_array();
  for (const std::string& note : notes) {
    j.string(note);
  }
  j.end_array().end_object();
}

}  // namespace fdo::voucher
