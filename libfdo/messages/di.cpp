#include "libfdo/messages/di.h"

#include <array>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::di {
namespace {

// pkType values, FDO 1.1 §3.3.4.
constexpr std::array<std::uint64_t, 5> kPkTypes = {1, 5, 6, 10, 11};

bool is_pk_type(std::uint64_t value) {
  for (const std::uint64_t t : kPkTypes) {
    if (t == value) {
      return true;
    }
  }
  return false;
}

}  // namespace

Bytes MfgInfo::encode() const {
  const std::array<const std::optional<Bytes>*, 4> optional = {&mac_addresses, &on_die_cert_chain, &test_signature,
                                                               &maroe_prefix};
  std::size_t present = 0;
  for (std::size_t i = 0; i < optional.size(); ++i) {
    if (optional[i]->has_value()) {
      if (present != i) {
        throw_internal("MfgInfo: optional element " + std::to_string(kMinElements + i) +
                       " is set but an earlier one is not");
      }
      ++present;
    }
  }
  cbor::Writer w;
  w.array(kMinElements + present);
  w.uint(static_cast<std::uint64_t>(key_type)).uint(static_cast<std::uint64_t>(key_enc));
  w.tstr(serial_no).tstr(device_info).bstr(cert_info);
  for (std::size_t i = 0; i < present; ++i) {
    w.bstr(**optional[i]);
  }
  return std::move(w).take();
}

MfgInfo MfgInfo::decode(ByteView in) {
  cbor::Reader r(in, "DI.AppStart DeviceMfgInfo");
  if (!r.at_end() && r.peek_type() == cbor::MajorType::Text) {
    // docs/interop.md "devicemfginfo-formats": fdo-rs puts a bare tstr here; its DI is not supported (DI-03).
    r.fail("", "expected the MfgInfo array, got a tstr (the fdo-rs DeviceMfgInfo form, unsupported)");
  }
  const std::size_t count = r.read_array("");
  if (count < kMinElements || count > kMaxElements) {
    r.fail("", "expected an MfgInfo array of 5 to 9 elements, got " + std::to_string(count));
  }
  // Structure first, values after: a malformed body is 100 even when its keyType is also wrong.
  const std::uint64_t key_type = r.read_uint_max("[0] keyType", 0xFF);
  const std::uint64_t key_enc = r.read_uint_max("[1] keyEnc", 0xFF);
  MfgInfo m;
  m.serial_no = r.read_tstr("[2] serialNo");
  m.device_info = r.read_tstr("[3] deviceInfo");
  m.cert_info = r.read_bstr("[4] certInfo");
  const std::array<std::pair<std::optional<Bytes>*, std::string_view>, 4> optional = {{
      {&m.mac_addresses, "[5] macAddresses"},
      {&m.on_die_cert_chain, "[6] onDieCertChain"},
      {&m.test_signature, "[7] testSignature"},
      {&m.maroe_prefix, "[8] maroePrefix"},
  }};
  for (std::size_t i = kMinElements; i < count; ++i) {
    const auto& [slot, field] = optional[i - kMinElements];
    *slot = r.read_bstr(field);
  }
  r.expect_end();

  // DI-05: well-formed, but not a key type or encoding we can serve.
  if (!is_pk_type(key_type)) {
    throw_invalid("DI.AppStart DeviceMfgInfo[0] keyType: " + std::to_string(key_type) + " is not a pkType");
  }
  if (key_enc == static_cast<std::uint64_t>(PkEnc::Crypto)) {
    throw_invalid("DI.AppStart DeviceMfgInfo[1] keyEnc: 0 (Crypto, EPID) is not supported");
  }
  if (key_enc > static_cast<std::uint64_t>(PkEnc::CoseKey)) {
    throw_invalid("DI.AppStart DeviceMfgInfo[1] keyEnc: " + std::to_string(key_enc) + " is not a pkEnc");
  }
  m.key_type = static_cast<PkType>(key_type);
  m.key_enc = static_cast<PkEnc>(key_enc);
  return m;
}

Bytes AppStart::encode() const {
  cbor::Writer w;
  w.array(1).bstr(device_mfg_info);
  return std::move(w).take();
}

AppStart AppStart::decode(ByteView body) {
  cbor::Reader r(body, kName);
  r.read_array_of("", 1);
  if (r.peek_null()) {
    // docs/interop.md "devicemfginfo-formats": go-fdo sends [null] when its caller has no info; a manufacturer
    // cannot issue a certificate without the device key, so this is refused as a body error.
    r.fail("[0] DeviceMfgInfo", "expected bstr, got null (no manufacturing info)");
  }
  AppStart m;
  m.device_mfg_info = r.read_bstr("[0] DeviceMfgInfo");
  r.expect_end();
  return m;
}

Bytes SetCredentials::encode() const {
  cbor::Writer w;
  w.array(1).bstr(ov_header);
  return std::move(w).take();
}

SetCredentials SetCredentials::decode(ByteView body) {
  cbor::Reader r(body, kName);
  const std::size_t count = r.read_array("");
  if (count != 1) {
    // docs/interop.md "devicemfginfo-formats": fdo-rs sends the bare 6-element OVHeader array instead of [bstr].
    r.fail("", "expected [bstr .cbor OVHeader], got an array of " + std::to_string(count) +
                   (count == 6 ? " elements (a bare OVHeader, the fdo-rs form)" : " elements"));
  }
  SetCredentials m;
  m.ov_header = r.read_bstr("[0] OVHeader");
  if (m.ov_header.empty()) {
    r.fail("[0] OVHeader", "expected bstr .cbor OVHeader, got an empty bstr");
  }
  r.expect_end();
  return m;
}

voucher::OVHeader SetCredentials::header(const Leniency& leniency) const {
  // FDO 1.1 §5.2.2 device checks: 1. a 6-element OVHeader (100); 2. OVHProtVer = 101 (101, C SDK);
  // 3. the fields are well formed (100).
  cbor::Reader r(ov_header, "DI.SetCredentials OVHeader");
  r.read_array_of("", 6);
  const std::uint64_t version = r.read_uint("[0] OVHProtVer");
  if (version != voucher::kOVProtVer) {
    throw_invalid("DI.SetCredentials OVHeader[0] OVHProtVer: expected 101, got " + std::to_string(version));
  }
  return voucher::OVHeader::decode(ov_header, leniency);
}

Bytes SetHMAC::encode() const {
  cbor::Writer w;
  w.array(1);
  hmac.encode(w);
  return std::move(w).take();
}

SetHMAC SetHMAC::decode(ByteView body) {
  cbor::Reader r(body, kName);
  r.read_array_of("", 1);
  // FDO 1.1 §5.2.3, docs/interop.md "hashtype-strict": hashtype 5 or 6 with 32 or 48 bytes, else 100 (DI-08).
  SetHMAC m{Hash::decode(r, "[0] HMac", HashKind::Hmac)};
  r.expect_end();
  return m;
}

Bytes Done::encode() const {
  cbor::Writer w;
  w.array(0);
  return std::move(w).take();
}

Done Done::decode(ByteView body) {
  cbor::Reader r(body, kName);
  r.read_array_of("", 0);
  r.expect_end();
  return Done{};
}

}  // namespace fdo::di
