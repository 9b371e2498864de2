#include "libfdo/voucher/header.h"

#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"

namespace fdo::voucher {

Bytes OVHeader::encode() const {
  cbor::Writer w;
  w.array(6).uint(ovh_prot_ver).bstr(ov_guid.view());
  ov_rv_info.encode(w);
  w.tstr(ov_device_info);
  ov_pub_key.encode(w);
  if (ov_dev_cert_chain_hash) {
    ov_dev_cert_chain_hash->encode(w);
  } else {
    w.null();
  }
  return std::move(w).take();
}

OVHeader OVHeader::decode(ByteView header_bytes, const Leniency& leniency) {
  cbor::Reader r(header_bytes, "OVHeader");
  r.read_array_of("", 6);
  const std::uint64_t version = r.read_uint("[0] OVHProtVer");
  // FDO 1.1 §3.4.2: OVProtVer and OVHProtVer are 101; anything else is refused.
  if (version != kOVProtVer) {
    r.fail("[0] OVHProtVer", "expected protocol version 101, got " + std::to_string(version));
  }
  const Guid guid = Guid::from(r.read_bstr_view("[1] OVGuid"), "OVHeader[1] OVGuid");
  RendezvousInfo rv_info = RendezvousInfo::decode(r, leniency, "[2] OVRVInfo");
  std::string device_info = r.read_tstr("[3] OVDeviceInfo");
  if (device_info.empty()) {
    // Conformance test FIDO_TEST_VOUCHER_HEADER_BAD_DEVICEINFO_EMPTY expects an empty one to be refused.
    r.fail("[3] OVDeviceInfo", "expected a device-type name, got an empty string");
  }
  PublicKey pub_key = PublicKey::decode(r, leniency, "[4] OVPubKey");
  std::optional<Hash> chain_hash;
  if (!r.try_read_null()) {
    chain_hash = Hash::decode(r, "[5] OVDevCertChainHash", HashKind::Digest);
  }
  r.expect_end();
  return OVHeader{.ovh_prot_ver = kOVProtVer,
                  .ov_guid = guid,
                  .ov_rv_info = std::move(rv_info),
                  .ov_device_info = std::move(device_info),
                  .ov_pub_key = std::move(pub_key),
                  .ov_dev_cert_chain_hash = std::move(chain_hash)};
}

}  // namespace fdo::voucher
