#include "libfdo/messages/to2.h"

#include <limits>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::to2 {
namespace {

constexpr std::uint64_t kUint16Max = std::numeric_limits<std::uint16_t>::max();
constexpr std::uint64_t kUint8Max = std::numeric_limits<std::uint8_t>::max();

Bytes nonce_item(const Nonce& nonce) {
  cbor::Writer w;
  w.bstr(nonce.view());
  return std::move(w).take();
}

// A header value that must be a 16-byte bstr (CUPHNonce, EUPHNonce).
Nonce read_nonce_header(const cose::Sign1& sign1, std::int64_t label, std::string_view context) {
  const std::optional<ByteView> value = sign1.unprotected_value(label);
  const std::string field = std::string(context) + " unprotected " + std::to_string(label);
  if (!value) {
    throw_body_error(field + ": missing");
  }
  cbor::Reader r(*value, field);
  Nonce nonce = Nonce::from(r.read_bstr_size("nonce", Nonce::kSize));
  r.expect_end();
  return nonce;
}

// [Nonce], the body of TO2.Done and TO2.Done2.
Bytes encode_nonce_array(const Nonce& nonce) {
  cbor::Writer w;
  w.array(1).bstr(nonce.view());
  return std::move(w).take();
}

Nonce decode_nonce_array(ByteView in, std::string_view name, std::string_view field) {
  cbor::Reader r(in, name);
  r.read_array_of("", 1);
  Nonce nonce = Nonce::from(r.read_bstr_size(field, Nonce::kSize));
  r.expect_end();
  return nonce;
}

void write_optional_uint16(cbor::Writer& w, const std::optional<std::uint16_t>& value) {
  if (value) {
    w.uint(*value);
  } else {
    w.null();
  }
}

std::optional<std::uint16_t> read_optional_uint16(cbor::Reader& r, std::string_view field) {
  if (r.try_read_null()) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(r.read_uint_max(field, kUint16Max));
}

}  // namespace

Bytes HelloDevice::encode() const {
  cbor::Writer w;
  w.array(6).uint(max_device_message_size).bstr(guid.view()).bstr(nonce_to2_prove_ov.view());
  w.tstr(kex_suite_name).int_(cipher_suite_name);
  ea_sig_info.encode(w);
  return std::move(w).take();
}

HelloDevice HelloDevice::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 6);
  HelloDevice m;
  m.max_device_message_size = static_cast<std::uint16_t>(r.read_uint_max("[0] maxDeviceMessageSize", kUint16Max));
  m.guid = Guid::from(r.read_bstr_size("[1] Guid", Guid::kSize));
  m.nonce_to2_prove_ov = Nonce::from(r.read_bstr_size("[2] NonceTO2ProveOV", Nonce::kSize));
  m.kex_suite_name = r.read_tstr("[3] kexSuiteName");
  m.cipher_suite_name = r.read_int("[4] cipherSuiteName");
  m.ea_sig_info = SigInfo::decode(r, "[5] eASigInfo");
  r.expect_end();
  return m;
}

Bytes ProveOVHdrPayload::encode() const {
  cbor::Writer w;
  w.array(8).bstr(ov_header).uint(num_ov_entries);
  hmac.encode(w);
  w.bstr(nonce_to2_prove_ov.view());
  eb_sig_info.encode(w);
  w.bstr(xa_key_exchange);
  hello_device_hash.encode(w);
  w.uint(max_owner_message_size);
  return std::move(w).take();
}

ProveOVHdrPayload ProveOVHdrPayload::decode(ByteView in) {
  cbor::Reader r(in, "TO2ProveOVHdrPayload");
  r.read_array_of("", 8);
  ProveOVHdrPayload p;
  p.ov_header = r.read_bstr("[0] OVHeader");
  p.num_ov_entries = static_cast<std::uint8_t>(r.read_uint_max("[1] NumOVEntries", kUint8Max));
  p.hmac = Hash::decode(r, "[2] HMac", HashKind::Hmac);
  p.nonce_to2_prove_ov = Nonce::from(r.read_bstr_size("[3] NonceTO2ProveOV", Nonce::kSize));
  p.eb_sig_info = SigInfo::decode(r, "[4] eBSigInfo");
  p.xa_key_exchange = r.read_bstr("[5] xAKeyExchange");
  p.hello_device_hash = Hash::decode(r, "[6] helloDeviceHash", HashKind::Digest);
  p.max_owner_message_size = static_cast<std::uint16_t>(r.read_uint_max("[7] maxOwnerMessageSize", kUint16Max));
  r.expect_end();
  return p;
}

ProveOVHdr ProveOVHdr::sign(const crypto::PrivateKey& owner_key, crypto::SigAlg alg, const ProveOVHdrPayload& payload,
                            const Nonce& nonce_to2_prove_dv, const PublicKey& owner_pub_key) {
  cose::HeaderMap unprotected;
  unprotected[kCuphNonce] = nonce_item(nonce_to2_prove_dv);
  unprotected[kCuphOwnerPubKey] = owner_pub_key.encode();
  cose::Sign1 sign1 = cose::Sign1::sign(owner_key, alg, payload.encode(), std::move(unprotected));
  return ProveOVHdr{
      .sign1 = std::move(sign1), .payload = payload, .cuph_nonce = nonce_to2_prove_dv, .cuph_owner_pub_key = owner_pub_key};
}

ProveOVHdr ProveOVHdr::decode(ByteView in, const Leniency& leniency) {
  // FDO 1.1 §5.5.2, device check 1: everything that does not decode is 100, whatever its own decoder says.
  try {
    cose::Sign1 sign1 = cose::Sign1::decode(in, kName, leniency);
    ProveOVHdrPayload payload = ProveOVHdrPayload::decode(sign1.payload());
    Nonce nonce = read_nonce_header(sign1, kCuphNonce, kName);
    const std::optional<ByteView> key = sign1.unprotected_value(kCuphOwnerPubKey);
    if (!key) {
      throw_body_error("TO2.ProveOVHdr unprotected 257 CUPHOwnerPubKey: missing");
    }
    PublicKey owner = PublicKey::decode(*key, leniency, "TO2.ProveOVHdr CUPHOwnerPubKey");
    return ProveOVHdr{.sign1 = std::move(sign1),
                      .payload = std::move(payload),
                      .cuph_nonce = nonce,
                      .cuph_owner_pub_key = std::move(owner)};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::MessageBodyError) {
      throw;
    }
    throw_body_error(e.what());
  }
}

Bytes GetOVNextEntry::encode() const {
  cbor::Writer w;
  w.array(1).uint(ov_entry_num);
  return std::move(w).take();
}

GetOVNextEntry GetOVNextEntry::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 1);
  GetOVNextEntry m;
  m.ov_entry_num = static_cast<std::uint8_t>(r.read_uint_max("[0] OVEntryNum", kUint8Max));
  r.expect_end();
  return m;
}

Bytes OVNextEntry::encode() const {
  cbor::Writer w;
  w.array(2).uint(ov_entry_num).raw(ov_entry);
  return std::move(w).take();
}

OVNextEntry OVNextEntry::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 2);
  OVNextEntry m;
  m.ov_entry_num = static_cast<std::uint8_t>(r.read_uint_max("[0] OVEntryNum", kUint8Max));
  const ByteView entry = r.read_raw("[1] OVEntry");
  m.ov_entry.assign(entry.begin(), entry.end());
  r.expect_end();
  return m;
}

ProveDevice ProveDevice::decode(ByteView in, const Leniency& leniency) {
  try {
    cose::Sign1 eat = cose::Sign1::decode(in, kName, leniency);
    const Nonce nonce = read_nonce_header(eat, kEuphNonce, kName);
    return ProveDevice{.eat = std::move(eat), .euph_nonce = nonce};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::MessageBodyError) {
      throw;
    }
    throw_body_error(e.what());
  }
}

Bytes encode_eat_fdo_claim(ByteView xb_key_exchange) {
  cbor::Writer w;
  w.array(1).bstr(xb_key_exchange);
  return std::move(w).take();
}

Bytes decode_eat_fdo_claim(ByteView claim) {
  cbor::Reader r(claim, "TO2.ProveDevice EAT-FDO claim");
  r.read_array_of("", 1);
  Bytes xb = r.read_bstr("[0] xBKeyExchange");
  r.expect_end();
  return xb;
}

Bytes SetupDevicePayload::encode() const {
  cbor::Writer w;
  w.array(4).raw(rendezvous_info_bytes).bstr(guid.view()).bstr(nonce_to2_setup_dv.view());
  owner2_key.encode(w);
  return std::move(w).take();
}

SetupDevicePayload SetupDevicePayload::decode(ByteView in, const Leniency& leniency) {
  cbor::Reader r(in, "TO2SetupDevicePayload");
  r.read_array_of("", 4);
  const ByteView rv_bytes = r.read_raw("[0] RendezvousInfo");
  RendezvousInfo rv = RendezvousInfo::decode(rv_bytes, leniency, "TO2SetupDevicePayload [0] RendezvousInfo");
  const Guid guid = Guid::from(r.read_bstr_size("[1] Guid", Guid::kSize));
  const Nonce nonce = Nonce::from(r.read_bstr_size("[2] NonceTO2SetupDv", Nonce::kSize));
  const ByteView key_bytes = r.read_raw("[3] Owner2Key");
  PublicKey key = PublicKey::decode(key_bytes, leniency, "TO2SetupDevicePayload [3] Owner2Key");
  r.expect_end();
  return SetupDevicePayload{.rendezvous_info = std::move(rv),
                            .rendezvous_info_bytes = Bytes(rv_bytes.begin(), rv_bytes.end()),
                            .guid = guid,
                            .nonce_to2_setup_dv = nonce,
                            .owner2_key = std::move(key)};
}

SetupDevice SetupDevice::sign(const crypto::PrivateKey& owner2_private, crypto::SigAlg alg,
                              const SetupDevicePayload& payload) {
  return SetupDevice{.sign1 = cose::Sign1::sign(owner2_private, alg, payload.encode()), .payload = payload};
}

SetupDevice SetupDevice::decode(ByteView in, const Leniency& leniency) {
  try {
    cose::Sign1 sign1 = cose::Sign1::decode(in, kName, leniency);
    if (!sign1.unprotected().empty()) {
      throw_body_error("TO2.SetupDevice: expected an empty unprotected header, got " +
                       std::to_string(sign1.unprotected().size()) + " entries");
    }
    SetupDevicePayload payload = SetupDevicePayload::decode(sign1.payload(), leniency);
    return SetupDevice{.sign1 = std::move(sign1), .payload = std::move(payload)};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::MessageBodyError) {
      throw;
    }
    throw_body_error(e.what());
  }
}

Bytes DeviceServiceInfoReady::encode() const {
  cbor::Writer w;
  w.array(2);
  if (replacement_hmac) {
    replacement_hmac->encode(w);
  } else {
    w.null();
  }
  write_optional_uint16(w, max_owner_service_info_sz);
  return std::move(w).take();
}

DeviceServiceInfoReady DeviceServiceInfoReady::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 2);
  DeviceServiceInfoReady m;
  if (!r.try_read_null()) {
    m.replacement_hmac = Hash::decode(r, "[0] ReplacementHMac", HashKind::Hmac);
  }
  m.max_owner_service_info_sz = read_optional_uint16(r, "[1] maxOwnerServiceInfoSz");
  r.expect_end();
  return m;
}

Bytes OwnerServiceInfoReady::encode() const {
  cbor::Writer w;
  w.array(1);
  write_optional_uint16(w, max_device_service_info_sz);
  return std::move(w).take();
}

OwnerServiceInfoReady OwnerServiceInfoReady::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 1);
  OwnerServiceInfoReady m;
  m.max_device_service_info_sz = read_optional_uint16(r, "[0] maxDeviceServiceInfoSz");
  r.expect_end();
  return m;
}

Bytes DeviceServiceInfo::encode() const {
  cbor::Writer w;
  w.array(2).boolean(is_more_service_info);
  serviceinfo::encode_service_info(w, service_info);
  return std::move(w).take();
}

DeviceServiceInfo DeviceServiceInfo::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 2);
  DeviceServiceInfo m;
  m.is_more_service_info = r.read_bool("[0] IsMoreServiceInfo");
  m.service_info = serviceinfo::decode_service_info(r);
  r.expect_end();
  return m;
}

Bytes OwnerServiceInfo::encode() const {
  cbor::Writer w;
  w.array(3).boolean(is_more_service_info).boolean(is_done);
  serviceinfo::encode_service_info(w, service_info);
  return std::move(w).take();
}

OwnerServiceInfo OwnerServiceInfo::decode(ByteView in) {
  cbor::Reader r(in, kName);
  r.read_array_of("", 3);
  OwnerServiceInfo m;
  m.is_more_service_info = r.read_bool("[0] IsMoreServiceInfo");
  m.is_done = r.read_bool("[1] IsDone");
  m.service_info = serviceinfo::decode_service_info(r);
  r.expect_end();
  return m;
}

Bytes Done::encode() const { return encode_nonce_array(nonce_to2_prove_dv); }

Done Done::decode(ByteView in) { return Done{decode_nonce_array(in, kName, "[0] NonceTO2ProveDv")}; }

Bytes Done2::encode() const { return encode_nonce_array(nonce_to2_setup_dv); }

Done2 Done2::decode(ByteView in) { return Done2{decode_nonce_array(in, kName, "[0] NonceTO2SetupDv")}; }

Bytes replacement_header(const voucher::OVHeader& old_header, const SetupDevicePayload& setup) {
  cbor::Writer w;
  w.array(6).uint(old_header.ovh_prot_ver).bstr(setup.guid.view()).raw(setup.rendezvous_info_bytes);
  w.tstr(old_header.ov_device_info);
  setup.owner2_key.encode(w);
  if (old_header.ov_dev_cert_chain_hash) {
    old_header.ov_dev_cert_chain_hash->encode(w);
  } else {
    w.null();
  }
  return std::move(w).take();
}

bool offers_reuse(const SetupDevicePayload& setup, const Guid& old_guid, const RendezvousInfo& old_rv_info,
                  const PublicKey& old_owner_key) {
  return setup.guid == old_guid && setup.rendezvous_info == old_rv_info &&
         (setup.owner2_key == old_owner_key || setup.owner2_key.same_key(old_owner_key));
}

}  // namespace fdo::to2
