#include "libfdo/voucher/voucher.h"

#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::voucher {
namespace {

Bytes copy(ByteView v) { return Bytes(v.begin(), v.end()); }

}  // namespace

std::optional<std::uint64_t> peek_protocol_version(ByteView in) {
  try {
    cbor::Reader r(in, "OwnershipVoucher");
    if (r.peek_type() != cbor::MajorType::Array) {
      return std::nullopt;
    }
    const std::size_t count = r.read_array("");
    if (count == 5 && r.peek_type() == cbor::MajorType::Unsigned) {
      return r.read_uint("[0] OVProtVer");
    }
    // FDO 1.0: OwnershipVoucher = [OVHeader, OVHeaderHMac, OVDevCertChain, OVEntryArray], the header a bare
    // array starting with OVHProtVer.
    if (count == 4 && r.peek_type() == cbor::MajorType::Array) {
      r.read_array("[0] OVHeader");
      if (r.peek_type() == cbor::MajorType::Unsigned) {
        return r.read_uint("[0][0] OVHProtVer");
      }
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> protocol_version_problem(ByteView in) {
  const std::optional<std::uint64_t> version = peek_protocol_version(in);
  if (!version) {
    return "cannot read the protocol version: not a CBOR array of 5 items starting with OVProtVer";
  }
  if (*version == kOVProtVer) {
    return std::nullopt;
  }
  if (*version == kOVProtVer10) {
    return "protocol version 100: an FDO 1.0 voucher (its OVHeader is not wrapped in a bstr); only FDO 1.1 "
           "vouchers (protocol version 101) are supported";
  }
  return "protocol version " + std::to_string(*version) + ": only FDO 1.1 vouchers (protocol version 101) are "
         "supported";
}

RawVoucher RawVoucher::split(ByteView in) {
  cbor::Reader r(in, "OwnershipVoucher");
  RawVoucher raw;
  r.read_array_of("", 5);
  raw.outer_head = in.first(r.position());
  const std::size_t leading_start = r.position();
  raw.ov_prot_ver = r.read_uint("[0] OVProtVer");
  raw.header_bytes = r.read_bstr_view("[1] OVHeaderTag");
  if (r.peek_type() != cbor::MajorType::Array) {
    r.fail("[2] OVHeaderHMac", "expected an HMac array");
  }
  raw.header_hmac = r.read_raw("[2] OVHeaderHMac");
  const cbor::MajorType chain_type = r.peek_type();
  if (chain_type != cbor::MajorType::Array && chain_type != cbor::MajorType::Bytes && !r.peek_null()) {
    r.fail("[3] OVDevCertChain", "expected an array of certificates or null");
  }
  raw.dev_cert_chain = r.read_raw("[3] OVDevCertChain");
  raw.leading_items = in.subspan(leading_start, r.position() - leading_start);
  const std::size_t entries_start = r.position();
  const std::size_t count = r.read_array("[4] OVEntryArray");
  raw.entries_head = in.subspan(entries_start, r.position() - entries_start);
  raw.entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    raw.entries.push_back(r.read_raw("[4] OVEntryArray[" + std::to_string(i) + "]"));
  }
  r.expect_end();
  return raw;
}

std::optional<std::vector<Bytes>> decode_dev_cert_chain(ByteView in) {
  cbor::Reader r(in, "OwnershipVoucher[3] OVDevCertChain");
  if (r.try_read_null()) {
    r.expect_end();
    return std::nullopt;
  }
  std::vector<Bytes> certs;
  if (r.peek_type() == cbor::MajorType::Bytes) {
    certs.push_back(r.read_bstr(""));
  } else {
    const std::size_t count = r.read_array("");
    certs.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      certs.push_back(r.read_bstr("[" + std::to_string(i) + "]"));
    }
  }
  r.expect_end();
  return certs;
}

OwnershipVoucher::OwnershipVoucher(const RawVoucher& raw, const Leniency& leniency)
    : m_outer_head(copy(raw.outer_head)),
      m_leading_items(copy(raw.leading_items)),
      m_entries_head(copy(raw.entries_head)),
      m_header_bytes(copy(raw.header_bytes)),
      m_header(OVHeader::decode(raw.header_bytes, leniency)),
      m_header_hmac(Hash::decode(raw.header_hmac, "OwnershipVoucher[2] OVHeaderHMac", HashKind::Hmac)),
      m_header_hmac_bytes(copy(raw.header_hmac)),
      m_dev_cert_chain(decode_dev_cert_chain(raw.dev_cert_chain)) {
  m_entries.reserve(raw.entries.size());
  for (std::size_t i = 0; i < raw.entries.size(); ++i) {
    m_entries.push_back(OVEntry::decode(raw.entries[i], i, leniency));
  }
}

OwnershipVoucher OwnershipVoucher::decode(ByteView in, const Leniency& leniency) {
  // FDO 1.1 §3.4.2: OVProtVer and OVHProtVer are 101; anything else is refused.
  if (const std::optional<std::string> problem = protocol_version_problem(in)) {
    throw_body_error("OwnershipVoucher[0] OVProtVer: " + *problem);
  }
  return OwnershipVoucher(RawVoucher::split(in), leniency);
}

OwnershipVoucher OwnershipVoucher::from_parts(ByteView header_bytes, const HMac& header_hmac,
                                              const std::vector<Bytes>& dev_cert_chain) {
  cbor::Writer w;
  w.array(5).uint(kOVProtVer).bstr(header_bytes);
  header_hmac.encode(w);
  w.array(dev_cert_chain.size());
  for (const Bytes& cert : dev_cert_chain) {
    w.bstr(cert);
  }
  w.array(0);
  return decode(w.bytes());
}

Bytes OwnershipVoucher::encode() const {
  Bytes out = m_outer_head;
  append(out, m_leading_items);
  if (m_entries_head) {
    append(out, *m_entries_head);
  } else {
    cbor::Writer head;
    head.array(m_entries.size());
    append(out, head.bytes());
  }
  for (const OVEntry& entry : m_entries) {
    append(out, entry.bytes);
  }
  return out;
}

const PublicKey& OwnershipVoucher::owner_key() const {
  return m_entries.empty() ? m_header.ov_pub_key : m_entries.back().payload.ove_pub_key;
}

crypto::HashAlg OwnershipVoucher::hash_family() const { return hash_alg_of(m_header_hmac.type()); }

HashType OwnershipVoucher::entry_hash_type() const {
  return m_entries.empty() ? hash_type_for(hash_family()) : m_entries.front().payload.ove_hash_prev_entry.type();
}

Hash OwnershipVoucher::hdr_info_hash(HashType type) const {
  // FDO 1.1 §3.4.2: the 16 raw bytes of OVGuid, followed by the UTF-8 bytes of OVDeviceInfo.
  return Hash::compute(type, concat(m_header.ov_guid.view(), to_bytes(m_header.ov_device_info)));
}

Hash OwnershipVoucher::prev_entry_hash(std::size_t index, HashType type) const {
  if (index > m_entries.size()) {
    throw_internal("OwnershipVoucher::prev_entry_hash: entry " + std::to_string(index) + " of " +
                   std::to_string(m_entries.size()));
  }
  // FDO 1.1 §3.4.2: entry 0 hashes the OVHeaderTag content bytes followed by the full CBOR encoding of
  // OVHeaderHMac; entry i >= 1 hashes the complete CBOR encoding of entry i-1, tag included.
  if (index == 0) {
    return Hash::compute(type, concat(m_header_bytes, m_header_hmac_bytes));
  }
  return Hash::compute(type, m_entries[index - 1].bytes);
}

OwnershipVoucher OwnershipVoucher::with_entry(ByteView entry_bytes, const Leniency& leniency) const {
  OwnershipVoucher out = *this;
  out.m_entries.push_back(OVEntry::decode(entry_bytes, m_entries.size(), leniency));
  out.m_entries_head.reset();
  return out;
}

}  // namespace fdo::voucher
