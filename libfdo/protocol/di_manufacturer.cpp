#include "libfdo/protocol/di_manufacturer.h"

#include <set>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

// The message a DI session accepts in each state.
MessageType next_message(DiState state) {
  switch (state) {
    case DiState::AwaitSetHmac:
      return MessageType::DiSetHMAC;
  }
  throw_internal("DI session: unknown state");
}

bool is_printable_ascii(char c) { return c >= 0x20 && c <= 0x7E; }

}  // namespace

// ---- DeviceInfoPolicy ----

DeviceInfoPolicy::DeviceInfoPolicy(std::string_view characters, std::size_t max_length)
    : m_characters(characters), m_max_length(max_length) {
  if (characters.empty()) {
    throw_body_error("device-info characters: the class is empty");
  }
  if (max_length == 0) {
    throw_body_error("device-info max length: must be at least 1");
  }
  for (std::size_t i = 0; i < characters.size(); ++i) {
    const char first = characters[i];
    if (!is_printable_ascii(first)) {
      throw_body_error("device-info characters: only printable ASCII may be allowed");
    }
    // "a-z" is a range; a '-' first or last is the character itself.
    if (i + 2 < characters.size() && characters[i + 1] == '-') {
      const char last = characters[i + 2];
      if (!is_printable_ascii(last) || last < first) {
        throw_body_error(std::string("device-info characters: bad range '") + first + "-" + last + "'");
      }
      for (int c = first; c <= last; ++c) {
        m_allowed.set(static_cast<std::size_t>(c));
      }
      i += 2;
    } else {
      m_allowed.set(static_cast<std::size_t>(first));
    }
  }
}

std::optional<std::string> DeviceInfoPolicy::problem(std::string_view field, std::string_view value) const {
  if (value.empty()) {
    return std::string(field) + " is empty";
  }
  if (value.size() > m_max_length) {
    return std::string(field) + " is longer than " + std::to_string(m_max_length) + " bytes";
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= m_allowed.size() || !m_allowed.test(u)) {
      return std::string(field) + " holds a character outside [" + m_characters + "]";
    }
  }
  return std::nullopt;
}

// ---- DiSession ----

Bytes DiSession::encode() const {
  cbor::Writer w;
  w.array(8).uint(static_cast<std::uint64_t>(state)).bstr(guid.view()).tstr(serial).tstr(device_info).bstr(header);
  w.array(dev_cert_chain.size());
  for (const Bytes& cert : dev_cert_chain) {
    w.bstr(cert);
  }
  w.int_(static_cast<std::int64_t>(hmac_type)).tstr(crypto::key_type_name(manufacturer_key));
  return std::move(w).take();
}

DiSession DiSession::decode(ByteView in) {
  try {
    cbor::Reader r(in, "DiSession");
    r.read_array_of("", 8);
    DiSession s;
    const std::uint64_t state = r.read_uint("[0] state");
    if (state != static_cast<std::uint64_t>(DiState::AwaitSetHmac)) {
      r.fail("[0] state", "unknown state " + std::to_string(state));
    }
    s.state = static_cast<DiState>(state);
    s.guid = Guid::from(r.read_bstr_view("[1] guid"));
    s.serial = r.read_tstr("[2] serial");
    s.device_info = r.read_tstr("[3] device_info");
    s.header = r.read_bstr("[4] header");
    const std::size_t n = r.read_array("[5] dev_cert_chain");
    for (std::size_t i = 0; i < n; ++i) {
      s.dev_cert_chain.push_back(r.read_bstr("[5] dev_cert_chain"));
    }
    const std::optional<HashType> hmac_type = hash_type_from_id(r.read_int("[6] hmac_type"));
    if (!hmac_type || !is_hmac(*hmac_type)) {
      r.fail("[6] hmac_type", "not an HMAC type");
    }
    s.hmac_type = *hmac_type;
    const std::optional<crypto::KeyType> key = crypto::parse_key_type(r.read_tstr("[7] manufacturer_key"));
    if (!key) {
      r.fail("[7] manufacturer_key", "unknown key type");
    }
    s.manufacturer_key = *key;
    r.expect_end();
    return s;
  } catch (const Error& e) {
    // The state is ours: a record we cannot read is our failure, not the device's.
    throw_internal(std::string("stored DI session is unreadable: ") + e.what());
  }
}

// ---- DiManufacturer ----

DiManufacturer::DiManufacturer(ManufacturerKeys keys, DiManufacturerOptions options)
    : m_keys(std::move(keys)), m_options(std::move(options)) {
  std::set<crypto::KeyType> types;
  for (const ManufacturerKey& k : m_keys.signing_keys) {
    if (!types.insert(k.private_key.type()).second) {
      throw_internal("DI manufacturer: two manufacturer keys of type " +
                     std::string(crypto::key_type_name(k.private_key.type())));
    }
  }
  static_cast<void>(key_of(m_keys.default_key_type));
  if (m_options.first_owner) {
    static_cast<void>(key_of(m_options.first_owner->type()));
  }
  if (m_keys.device_ca_chain.empty()) {
    throw_internal("DI manufacturer: the device CA certificate is missing");
  }
  if (m_options.rv_info.directives().empty()) {
    throw_internal("DI manufacturer: no rendezvous information configured");
  }
}

Answer DiManufacturer::handle(MessageType type, ByteView body, Bytes& state, storage::Store& /*store*/,
                              Context& ctx) {
  if (type == MessageType::DiAppStart) {
    // The dispatcher opened a new session for this first message; its state starts empty.
    const di::AppStart request = di::AppStart::decode(body);
    DiSession session;
    const di::SetCredentials response = handle(request, session, ctx);
    state = session.encode();
    return answer<di::AppStart>(response);
  }
  DiSession session = DiSession::decode(state);
  ctx.guid_hex = session.guid.hex();
  expect_next(next_message(session.state), type);
  const di::SetHMAC request = di::SetHMAC::decode(body);
  storage::VoucherRecord record;
  const di::Done response = handle(request, session, record, ctx);
  state = session.encode();
  // Stored in the transaction that also ends the session: a crash leaves either both or neither.
  return answer<di::SetHMAC>(response, [record = std::move(record)](storage::Transaction& tx) { tx.put_voucher(record); });
}

const ManufacturerKey& DiManufacturer::key_of(crypto::KeyType type) const {
  for (const ManufacturerKey& k : m_keys.signing_keys) {
    if (k.private_key.type() == type) {
      return k;
    }
  }
  throw_internal("DI manufacturer: no manufacturer key of type " + std::string(crypto::key_type_name(type)));
}

// FDO 1.1 §5.2.1: the serial number and device info pass policy; the CSR signature is valid and its
// key is of keyType (101; DI-06, DI-07). Returns the device attestation key.
crypto::PublicKey DiManufacturer::check_device(const di::MfgInfo& info) const {
  for (const auto& [field, value] : {std::pair<std::string_view, std::string_view>{"serialNo", info.serial_no},
                                     {"deviceInfo", info.device_info}}) {
    if (const auto problem = m_options.policy.problem(field, value)) {
      throw_invalid("DI.AppStart DeviceMfgInfo: " + *problem);
    }
  }
  crypto::CertificateRequest csr = crypto::parse_csr(info.cert_info);
  if (!csr.signature_valid) {
    throw_invalid("DI.AppStart DeviceMfgInfo[4] certInfo: the CSR signature does not verify");
  }
  if (!pk_type_fits(info.key_type, csr.public_key.type())) {
    throw_invalid("DI.AppStart DeviceMfgInfo[4] certInfo: the CSR holds a " +
                  std::string(crypto::key_type_name(csr.public_key.type())) + " key, keyType says " +
                  std::string(pk_type_name(info.key_type)));
  }
  return std::move(csr.public_key);
}

// FDO 1.1 §5.2.1: the manufacturer key matching keyType, encoded as keyEnc. With a first owner, its
// key type decides (one key type per voucher, FDO 1.1 §3.4.2); otherwise the key of the device's type,
// else the default key.
crypto::KeyType DiManufacturer::manufacturer_key_type(crypto::KeyType device_key_type) const {
  if (m_options.first_owner) {
    return m_options.first_owner->type();
  }
  for (const ManufacturerKey& k : m_keys.signing_keys) {
    if (k.private_key.type() == device_key_type) {
      return device_key_type;
    }
  }
  return m_keys.default_key_type;
}

PublicKey DiManufacturer::ov_pub_key(crypto::KeyType type, PkType key_type, PkEnc key_enc) const {
  const ManufacturerKey& mfg = key_of(type);
  const crypto::PublicKey key = mfg.private_key.public_key();
  const PkType pk_type = pk_type_fits(key_type, type) ? key_type : default_pk_type(key);
  switch (key_enc) {
    case PkEnc::X509:
      return PublicKey::from_key(key, PkEnc::X509, pk_type);
    case PkEnc::CoseKey:
      if (!crypto::is_ec(type)) {
        throw_invalid("DI.AppStart DeviceMfgInfo[1] keyEnc: COSEKEY needs an EC manufacturer key, this one is " +
                      std::string(crypto::key_type_name(type)));
      }
      return PublicKey::from_key(key, PkEnc::CoseKey, pk_type);
    case PkEnc::X5Chain:
      if (mfg.chain.empty()) {
        throw_invalid("DI.AppStart DeviceMfgInfo[1] keyEnc: X5CHAIN is not available for this manufacturer key");
      }
      return PublicKey::from_chain(mfg.chain, pk_type);
    case PkEnc::Crypto:
      break;
  }
  throw_invalid("DI.AppStart DeviceMfgInfo[1] keyEnc: Crypto (EPID) is not supported");
}

// FDO 1.1 §5.2.1: the device certificate from the CSR's key, signed by the device CA, then the CA chain.
std::vector<Bytes> DiManufacturer::issue_device_chain(const crypto::PublicKey& device_key,
                                                      const std::string& serial) const {
  const crypto::Certificate leaf = crypto::issue_certificate(
      m_keys.device_ca_key, m_keys.device_ca_chain.front(), device_key,
      crypto::CertificateProfile{.common_name = serial,
                                 .organization = m_options.organization,
                                 .validity_days = m_options.certificate_validity_days,
                                 .is_ca = false});
  std::vector<Bytes> chain = {leaf.der()};
  for (const crypto::Certificate& ca : m_keys.device_ca_chain) {
    chain.push_back(ca.der());
  }
  return chain;
}

// DI.AppStart (10) → DI.SetCredentials (11), FDO 1.1 §5.2.1-§5.2.2.
di::SetCredentials DiManufacturer::handle(const di::AppStart& request, DiSession& session, Context& ctx) const {
  // Check 2: the bstr content is the MfgInfo array (100; 101 for keyType / keyEnc, DI-03..DI-05).
  const di::MfgInfo info = di::MfgInfo::decode(request.device_mfg_info);
  const crypto::PublicKey device_key = check_device(info);

  const crypto::KeyType mfg_type = manufacturer_key_type(device_key.type());
  const PublicKey mfg_key = ov_pub_key(mfg_type, info.key_type, info.key_enc);
  std::vector<Bytes> chain = issue_device_chain(device_key, info.serial_no);

  // Steps 3-5: a random GUID, OVRVInfo, OVDeviceInfo and OVDevCertChainHash; the header is serialised once.
  const Guid guid = Guid::random();
  voucher::CreatedHeader header = voucher::make_header(voucher::HeaderInput{.guid = guid,
                                                                            .rv_info = m_options.rv_info,
                                                                            .device_info = info.device_info,
                                                                            .manufacturer_key = mfg_key,
                                                                            .dev_cert_chain = chain});
  ctx.guid_hex = guid.hex();
  log::debug("DI.AppStart: serial " + info.serial_no + ", device key " +
                 std::string(crypto::key_type_name(device_key.type())) + ", manufacturer key " + mfg_key.describe(),
             ctx.guid_hex);

  session = DiSession{.state = DiState::AwaitSetHmac,
                      .guid = guid,
                      .serial = info.serial_no,
                      .device_info = info.device_info,
                      .header = header.header_bytes,
                      .dev_cert_chain = std::move(chain),
                      .hmac_type = hmac_type_for(header.hash_family),
                      .manufacturer_key = mfg_type};
  return di::SetCredentials{std::move(header.header_bytes)};
}

// DI.SetHMAC (12) → DI.Done (13), FDO 1.1 §5.2.3-§5.2.4.
di::Done DiManufacturer::handle(const di::SetHMAC& request, DiSession& session, storage::VoucherRecord& record,
                                Context& ctx) const {
  // FDO 1.1 §5.2.3 asks only for HMAC-SHA256 or HMAC-SHA384 with the matching length (checked by the decoder).
  // Our devices use the family of their key (session.hmac_type); a device of another stack may pick the other
  // family, and the voucher simply records the HMAC it sent.
  if (request.hmac.type() != session.hmac_type) {
    log::info("DI.SetHMAC: the device chose " + std::string(hash_type_name(request.hmac.type())) + " (its key suggests " +
                  std::string(hash_type_name(session.hmac_type)) + ")",
              ctx.guid_hex);
  }
  // "Then the manufacturer builds the voucher [101, bstr(<session header bytes>), HMac, <device chain>, []]".
  voucher::OwnershipVoucher ov = voucher::assemble_voucher(session.header, request.hmac, session.dev_cert_chain);
  if (m_options.first_owner) {
    const PublicKey next = voucher::next_owner_key(ov, *m_options.first_owner);
    ov = voucher::extend(ov, key_of(session.manufacturer_key).private_key, next);
  }
  const std::string owner_key_id = to_hex(crypto::hash(crypto::HashAlg::Sha256, ov.owner_key().raw()));
  record = storage::VoucherRecord{.guid = session.guid,
                                 .serial = session.serial,
                                 .device_info = session.device_info,
                                 .voucher = ov.encode(),
                                 .created_at = ctx.now,
                                 .owner_key_id = owner_key_id};
  log::debug("DI.SetHMAC: voucher made for serial " + session.serial + " (entries: " +
                 std::to_string(ov.entries().size()) + ")",
             ctx.guid_hex);
  return di::Done{};
}

}  // namespace fdo::protocol
