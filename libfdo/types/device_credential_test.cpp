#include "libfdo/types/device_credential.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"
#include "libfdo/types/public_key.h"

namespace fdo {
namespace {

using test::expect_error;

const char* kGuidHex = "ac00da6107e8405eacc494aef3f68966";

DeviceCredential file_credential() {
  const crypto::PrivateKey device_key = test::test_key("p256_rfc6979.pem");
  const PublicKey mfg = PublicKey::from_key(test::test_key("p384_rfc6979.pem").public_key());
  DeviceCredential dc;
  dc.dc_active = true;
  dc.dc_prot_ver = 101;
  dc.dc_hmac_secret = SecretBytes(Bytes(32, 0x5A));
  dc.dc_device_info = "DemoDevice";
  dc.dc_guid = Guid::from(from_hex(kGuidHex));
  dc.dc_rv_info = RendezvousInfo::from_urls("http://rv.example.com:8040");
  dc.dc_pub_key_hash = Hash::compute(HashType::Sha256, mfg.raw());
  dc.key_type = crypto::KeyType::P256;
  dc.storage = CredentialStorage::File;
  dc.device_key_pkcs8 = device_key.to_pkcs8_der();
  return dc;
}

DeviceCredential tpm_credential() {
  DeviceCredential dc = file_credential();
  dc.dc_hmac_secret = SecretBytes();
  dc.device_key_pkcs8 = SecretBytes();
  dc.storage = CredentialStorage::Tpm;
  dc.tpm = {.device_key_handle = 0x81020002, .hmac_key_handle = 0x81020003};
  return dc;
}

TEST(DeviceCredential, FileLayoutRoundTrips) {
  const DeviceCredential dc = file_credential();
  const SecretBytes wire = dc.encode();
  const DeviceCredential back = DeviceCredential::decode(wire.view());
  EXPECT_TRUE(back.dc_active);
  EXPECT_EQ(back.dc_prot_ver, 101);
  EXPECT_TRUE(back.dc_hmac_secret.equals(Bytes(32, 0x5A)));
  EXPECT_EQ(back.dc_device_info, "DemoDevice");
  EXPECT_EQ(back.dc_guid.hex(), kGuidHex);
  EXPECT_EQ(back.dc_rv_info, dc.dc_rv_info);
  EXPECT_EQ(back.dc_pub_key_hash, dc.dc_pub_key_hash);
  EXPECT_EQ(back.key_type, crypto::KeyType::P256);
  EXPECT_EQ(back.storage, CredentialStorage::File);
  EXPECT_TRUE(back.private_key().public_key().same_key(test::test_key("p256_rfc6979.pem").public_key()));
  EXPECT_TRUE(back.encode().equals(wire.view()));
}

TEST(DeviceCredential, FileHoldsTheSpecArrayInSpecOrder) {
  // [1, [DCActive, DCProtVer, DCHmacSecret, DCDeviceInfo, DCGuid, DCRVInfo, DCPubKeyHash], "p256", [1, pkcs8]]
  const DeviceCredential dc = file_credential();
  const SecretBytes wire = dc.encode();
  EXPECT_EQ(to_hex(wire.view().first(7)), "840187f5186558");
  cbor::Reader r(wire.view(), "file");
  r.read_array_of("", 4);
  EXPECT_EQ(r.read_uint("version"), 1u);
  r.read_array_of("spec", 7);
  EXPECT_TRUE(r.read_bool("DCActive"));
  EXPECT_EQ(r.read_uint("DCProtVer"), 101u);
  EXPECT_EQ(r.read_bstr("DCHmacSecret"), Bytes(32, 0x5A));
  EXPECT_EQ(r.read_tstr("DCDeviceInfo"), "DemoDevice");
  EXPECT_EQ(to_hex(r.read_bstr("DCGuid")), kGuidHex);
  EXPECT_EQ(RendezvousInfo::decode(r.read_raw("DCRVInfo")), dc.dc_rv_info);
  EXPECT_EQ(Hash::decode(r.read_raw("DCPubKeyHash")), dc.dc_pub_key_hash);
  EXPECT_EQ(r.read_tstr("KeyType"), "p256");
  r.read_array_of("DeviceKey", 2);
  EXPECT_EQ(r.read_uint("kind"), 1u);
  EXPECT_EQ(r.read_bstr("pkcs8"), Bytes(dc.device_key_pkcs8.view().begin(), dc.device_key_pkcs8.view().end()));
  r.expect_end();
}

TEST(DeviceCredential, TpmLayoutRoundTripsWithoutSecrets) {
  const DeviceCredential dc = tpm_credential();
  const SecretBytes wire = dc.encode();
  const DeviceCredential back = DeviceCredential::decode(wire.view());
  EXPECT_EQ(back.storage, CredentialStorage::Tpm);
  EXPECT_TRUE(back.dc_hmac_secret.empty());
  EXPECT_TRUE(back.device_key_pkcs8.empty());
  EXPECT_EQ(back.tpm, dc.tpm);
  EXPECT_TRUE(back.encode().equals(wire.view()));
  expect_error([&] { (void)back.private_key(); }, ErrorCode::InternalServerError);
}

TEST(DeviceCredential, RejectsInconsistentFiles) {
  const auto rewrite = [](auto&& edit) {
    // Rebuilds the file layout with one field edited.
    const DeviceCredential dc = file_credential();
    cbor::Writer w;
    edit(w, dc);
    return std::move(w).take();
  };
  const auto spec = [](cbor::Writer& w, const DeviceCredential& dc, ByteView secret) {
    w.array(7).boolean(true).uint(101).bstr(secret).tstr(dc.dc_device_info).bstr(dc.dc_guid.view());
    dc.dc_rv_info.encode(w);
    dc.dc_pub_key_hash.encode(w);
  };
  const Bytes version2 = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(2);
    spec(w, dc, dc.dc_hmac_secret.view());
    w.tstr("p256").array(2).uint(1).bstr(dc.device_key_pkcs8.view());
  });
  const Bytes no_secret = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(1);
    spec(w, dc, {});
    w.tstr("p256").array(2).uint(1).bstr(dc.device_key_pkcs8.view());
  });
  const Bytes wrong_type = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(1);
    spec(w, dc, dc.dc_hmac_secret.view());
    w.tstr("p384").array(2).uint(1).bstr(dc.device_key_pkcs8.view());
  });
  const Bytes unknown_type = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(1);
    spec(w, dc, dc.dc_hmac_secret.view());
    w.tstr("ed25519").array(2).uint(1).bstr(dc.device_key_pkcs8.view());
  });
  const Bytes tpm_with_secret = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(1);
    spec(w, dc, dc.dc_hmac_secret.view());
    w.tstr("p256").array(3).uint(2).uint(1).uint(2);
  });
  const Bytes unknown_kind = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(1);
    spec(w, dc, dc.dc_hmac_secret.view());
    w.tstr("p256").array(2).uint(3).bstr(dc.device_key_pkcs8.view());
  });
  const Bytes bad_key = rewrite([&](cbor::Writer& w, const DeviceCredential& dc) {
    w.array(4).uint(1);
    spec(w, dc, dc.dc_hmac_secret.view());
    w.tstr("p256").array(2).uint(1).bstr(Bytes{0x30, 0x00});
  });
  for (const Bytes* wire :
       {&version2, &no_secret, &wrong_type, &unknown_type, &tpm_with_secret, &unknown_kind, &bad_key}) {
    expect_error([&] { (void)DeviceCredential::decode(*wire); }, ErrorCode::MessageBodyError);
  }
  SecretBytes good = file_credential().encode();
  Bytes trailing(good.view().begin(), good.view().end());
  trailing.push_back(0);
  expect_error([&] { (void)DeviceCredential::decode(trailing); }, ErrorCode::MessageBodyError);
}

TEST(DeviceCredential, EncodeRefusesInconsistentStorage) {
  DeviceCredential file = file_credential();
  file.dc_hmac_secret = SecretBytes();
  expect_error([&] { (void)file.encode(); }, ErrorCode::InternalServerError);
  DeviceCredential tpm = tpm_credential();
  tpm.dc_hmac_secret = SecretBytes(Bytes(32, 1));
  expect_error([&] { (void)tpm.encode(); }, ErrorCode::InternalServerError);
}

TEST(DeviceCredential, ShowJsonHasTheCliFieldsAndRevealsOnlyOnRequest) {
  const DeviceCredential dc = file_credential();
  JsonWriter plain;
  dc.to_json(plain);
  const std::string expected_start = std::string(R"({"guid":")") + kGuidHex +
                                     R"(","active":true,"protocol_version":101,"device_info":"DemoDevice",)"
                                     R"("rendezvous_info":[[{"variable":"RVDevPort","value":8040},)";
  EXPECT_EQ(plain.str().substr(0, expected_start.size()), expected_start);
  const std::string expected_end = std::string(R"("manufacturer_key_hash":{"alg":"SHA256","hex":")") +
                                   dc.dc_pub_key_hash.hex() + R"("},"key_type":"p256","storage":"file"})";
  EXPECT_EQ(plain.str().substr(plain.str().size() - expected_end.size()), expected_end);
  EXPECT_EQ(plain.str().find("hmac_secret"), std::string::npos);
  EXPECT_EQ(plain.str().find(to_hex(Bytes(32, 0x5A))), std::string::npos);

  JsonWriter revealed;
  dc.to_json(revealed, true);
  EXPECT_NE(revealed.str().find(std::string(R"("hmac_secret":")") + to_hex(Bytes(32, 0x5A)) + "\""), std::string::npos);

  JsonWriter tpm;
  tpm_credential().to_json(tpm, true);
  EXPECT_NE(tpm.str().find(R"("storage":"tpm","tpm_device_key_handle":"0x81020002",)"
                           R"("tpm_hmac_key_handle":"0x81020003"})"),
            std::string::npos)
      << tpm.str();
  EXPECT_EQ(tpm.str().find("hmac_secret"), std::string::npos);
}

TEST(DeviceCredential, ImportsGoFdoBlobCredential) {
  // go-fdo blob.DeviceCredential (FDO 1.1 §3.4.1):
  // [Active, Version, DeviceInfo, GUID, RvInfo, PublicKeyHash, HmacSecret, PrivateKey (PKCS#8)].
  const DeviceCredential ours = file_credential();
  const crypto::PrivateKey p384 = test::test_key("p384_rfc6979.pem");
  const SecretBytes pkcs8 = p384.to_pkcs8_der();
  cbor::Writer w;
  w.array(8).boolean(false).uint(101).tstr("go device").bstr(ours.dc_guid.view());
  ours.dc_rv_info.encode(w);
  ours.dc_pub_key_hash.encode(w);
  w.bstr(Bytes(32, 9)).bstr(pkcs8.view());
  const DeviceCredential dc = DeviceCredential::import_go_fdo_blob(w.bytes());
  EXPECT_FALSE(dc.dc_active);
  EXPECT_EQ(dc.dc_device_info, "go device");
  EXPECT_EQ(dc.key_type, crypto::KeyType::P384);
  EXPECT_EQ(dc.storage, CredentialStorage::File);
  EXPECT_TRUE(dc.dc_hmac_secret.equals(Bytes(32, 9)));
  EXPECT_TRUE(dc.private_key().public_key().same_key(p384.public_key()));
  // And it can be written in our layout.
  EXPECT_EQ(DeviceCredential::decode(dc.encode().view()).dc_device_info, "go device");
  expect_error([] { (void)DeviceCredential::import_go_fdo_blob(from_hex("80")); }, ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo
