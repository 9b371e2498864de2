#include "libfdo/types/device_credential.h"

#include <cstdio>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

namespace fdo {
namespace {

constexpr std::uint64_t kKeyRefFile = 1;
constexpr std::uint64_t kKeyRefTpm = 2;

std::string handle_hex(std::uint32_t handle) {
  char buf[11] = {};
  std::snprintf(buf, sizeof buf, "0x%08x", handle);
  return buf;
}

void check_key(cbor::Reader& r, const SecretBytes& pkcs8, crypto::KeyType expected) {
  const crypto::PrivateKey key = crypto::PrivateKey::from_pkcs8_der(pkcs8.view());
  if (key.type() != expected) {
    r.fail("DeviceKey", "the key is " + std::string(crypto::key_type_name(key.type())) + ", KeyType says " +
                            std::string(crypto::key_type_name(expected)));
  }
}

}  // namespace

std::string_view storage_name(CredentialStorage storage) {
  return storage == CredentialStorage::Tpm ? "tpm" : "file";
}

SecretBytes DeviceCredential::encode() const {
  if (storage == CredentialStorage::File && (dc_hmac_secret.empty() || device_key_pkcs8.empty())) {
    throw_internal("DeviceCredential: a file credential needs DCHmacSecret and the device key");
  }
  if (storage == CredentialStorage::Tpm && !dc_hmac_secret.empty()) {
    throw_internal("DeviceCredential: a TPM credential keeps DCHmacSecret in the TPM");
  }
  cbor::Writer w;
  w.array(4).uint(kFormatVersion);
  w.array(7).boolean(dc_active).uint(dc_prot_ver).bstr(dc_hmac_secret.view()).tstr(dc_device_info);
  w.bstr(dc_guid.view());
  dc_rv_info.encode(w);
  dc_pub_key_hash.encode(w);
  w.tstr(crypto::key_type_name(key_type));
  if (storage == CredentialStorage::File) {
    w.array(2).uint(kKeyRefFile).bstr(device_key_pkcs8.view());
  } else {
    w.array(3).uint(kKeyRefTpm).uint(tpm.device_key_handle).uint(tpm.hmac_key_handle);
  }
  return SecretBytes(std::move(w).take());
}

DeviceCredential DeviceCredential::decode(ByteView in, const Leniency& leniency) {
  cbor::Reader r(in, "DeviceCredentialFile");
  DeviceCredential dc;
  r.read_array_of("", 4);
  const std::uint64_t version = r.read_uint("[0] FormatVersion");
  if (version != kFormatVersion) {
    r.fail("[0] FormatVersion", "unsupported credential format " + std::to_string(version) + " (this build reads " +
                                    std::to_string(kFormatVersion) + ")");
  }
  r.read_array_of("[1] DeviceCredential", 7);
  dc.dc_active = r.read_bool("[1][0] DCActive");
  dc.dc_prot_ver = static_cast<std::uint16_t>(r.read_uint_max("[1][1] DCProtVer", 0xFFFF));
  dc.dc_hmac_secret = SecretBytes(r.read_bstr("[1][2] DCHmacSecret"));
  dc.dc_device_info = r.read_tstr("[1][3] DCDeviceInfo");
  dc.dc_guid = Guid::from(r.read_bstr_size("[1][4] DCGuid", Guid::kSize));
  dc.dc_rv_info = RendezvousInfo::decode(r, leniency, "[1][5] DCRVInfo");
  dc.dc_pub_key_hash = Hash::decode(r, "[1][6] DCPubKeyHash", HashKind::Digest);
  const std::string type_name = r.read_tstr("[2] KeyType");
  const std::optional<crypto::KeyType> type = crypto::parse_key_type(type_name);
  if (!type) {
    r.fail("[2] KeyType", "expected p256, p384, rsa2048 or rsa3072, got '" + type_name + "'");
  }
  dc.key_type = *type;
  const std::size_t ref_len = r.read_array("[3] DeviceKey");
  const std::uint64_t kind = ref_len > 0 ? r.read_uint("[3][0] DeviceKey kind") : 0;
  if (kind == kKeyRefFile && ref_len == 2) {
    dc.storage = CredentialStorage::File;
    dc.device_key_pkcs8 = SecretBytes(r.read_bstr("[3][1] PKCS#8"));
    if (dc.dc_hmac_secret.empty()) {
      r.fail("[1][2] DCHmacSecret", "a file credential needs a non-empty HMAC secret");
    }
    check_key(r, dc.device_key_pkcs8, dc.key_type);
  } else if (kind == kKeyRefTpm && ref_len == 3) {
    dc.storage = CredentialStorage::Tpm;
    dc.tpm.device_key_handle = static_cast<std::uint32_t>(r.read_uint_max("[3][1] device key handle", 0xFFFFFFFF));
    dc.tpm.hmac_key_handle = static_cast<std::uint32_t>(r.read_uint_max("[3][2] HMAC key handle", 0xFFFFFFFF));
    if (!dc.dc_hmac_secret.empty()) {
      r.fail("[1][2] DCHmacSecret", "a TPM credential keeps the HMAC secret in the TPM (expected h'')");
    }
  } else {
    r.fail("[3] DeviceKey", "expected [1, bstr PKCS#8] or [2, uint32, uint32]");
  }
  r.expect_end();
  return dc;
}

DeviceCredential DeviceCredential::import_go_fdo_blob(ByteView in, const Leniency& leniency) {
  cbor::Reader r(in, "go-fdo blob.DeviceCredential");
  DeviceCredential dc;
  r.read_array_of("", 8);
  dc.dc_active = r.read_bool("[0] Active");
  dc.dc_prot_ver = static_cast<std::uint16_t>(r.read_uint_max("[1] Version", 0xFFFF));
  dc.dc_device_info = r.read_tstr("[2] DeviceInfo");
  dc.dc_guid = Guid::from(r.read_bstr_size("[3] GUID", Guid::kSize));
  dc.dc_rv_info = RendezvousInfo::decode(r, leniency, "[4] RvInfo");
  dc.dc_pub_key_hash = Hash::decode(r, "[5] PublicKeyHash", HashKind::Digest);
  dc.dc_hmac_secret = SecretBytes(r.read_bstr("[6] HmacSecret"));
  if (dc.dc_hmac_secret.empty()) {
    r.fail("[6] HmacSecret", "empty HMAC secret");
  }
  dc.device_key_pkcs8 = SecretBytes(r.read_bstr("[7] PrivateKey"));
  r.expect_end();
  dc.key_type = crypto::PrivateKey::from_pkcs8_der(dc.device_key_pkcs8.view()).type();
  dc.storage = CredentialStorage::File;
  return dc;
}

crypto::PrivateKey DeviceCredential::private_key() const {
  if (storage != CredentialStorage::File) {
    throw_internal("DeviceCredential: the device key of a TPM credential stays in the TPM");
  }
  return crypto::PrivateKey::from_pkcs8_der(device_key_pkcs8.view());
}

void DeviceCredential::to_json(JsonWriter& out, bool reveal) const {
  out.begin_object();
  to_json_fields(out, reveal);
  out.end_object();
}

void DeviceCredential::to_json_fields(JsonWriter& out, bool reveal) const {
  out.key("guid").string(dc_guid.hex());
  out.key("active").boolean(dc_active);
  out.key("protocol_version").uinteger(dc_prot_ver);
  out.key("device_info").string(dc_device_info);
  out.key("rendezvous_info");
  dc_rv_info.to_json(out, reveal);
  out.key("manufacturer_key_hash")
      .begin_object()
      .key("alg")
      .string(hash_type_name(dc_pub_key_hash.type()))
      .key("hex")
      .string(dc_pub_key_hash.hex())
      .end_object();
  out.key("key_type").string(crypto::key_type_name(key_type));
  out.key("storage").string(storage_name(storage));
  if (storage == CredentialStorage::Tpm) {
    out.key("tpm_device_key_handle").string(handle_hex(tpm.device_key_handle));
    out.key("tpm_hmac_key_handle").string(handle_hex(tpm.hmac_key_handle));
  }
  // docs/cli.md: "with --reveal, for a file-backed credential only, hmac_secret (hex)".
  if (reveal && storage == CredentialStorage::File) {
    out.key("hmac_secret").string(to_hex(dc_hmac_secret.view()));
  }
}

}  // namespace fdo
