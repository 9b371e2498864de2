#include "libfdo/types/public_key.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/cose_key.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo {
namespace {

using test::expect_error;

crypto::PublicKey key_of(const char* file) {
  return test::test_key(file).public_key();
}

Bytes public_key_cbor(std::uint64_t type, std::uint64_t enc, ByteView body_item) {
  cbor::Writer w;
  w.array(3).uint(type).uint(enc).raw(body_item);
  return std::move(w).take();
}

// OVHeader[4] OVPubKey of an interop voucher, as it sits in the header.
Bytes interop_ov_pub_key(const std::string& file) {
  const Bytes voucher = test::interop_voucher(file);
  cbor::Reader r(voucher, file);
  r.read_array("voucher");
  r.skip("protver");
  const Bytes header = r.read_bstr("header");
  cbor::Reader h(header, "OVHeader");
  h.read_array("OVHeader");
  for (int i = 0; i < 4; ++i) {
    h.skip("field");
  }
  const ByteView raw = h.read_raw("OVPubKey");
  return Bytes(raw.begin(), raw.end());
}

TEST(PublicKey, X509EncodingAndRoundTrip) {
  const crypto::PublicKey p256 = key_of("p256_rfc6979.pem");
  const PublicKey pk = PublicKey::from_key(p256);
  // [10, 1, bstr(SPKI)] (FDO 1.1 §3.3): 83 0A 01 58 5B <91-byte SPKI>.
  EXPECT_EQ(to_hex(pk.encode()), "830a01585b" + to_hex(p256.spki_der()));
  EXPECT_EQ(pk.pk_type(), PkType::Secp256r1);
  EXPECT_EQ(pk.pk_enc(), PkEnc::X509);
  const PublicKey back = PublicKey::decode(pk.raw());
  EXPECT_EQ(back, pk);
  EXPECT_TRUE(back.key().same_key(p256));
  EXPECT_TRUE(back.certificates().empty());
  EXPECT_EQ(back.describe(), "SECP256R1 X509 (p256)");
}

TEST(PublicKey, DefaultPkTypeFollowsTheKey) {
  EXPECT_EQ(PublicKey::from_key(key_of("p384_rfc6979.pem")).pk_type(), PkType::Secp384r1);
  // docs/interop.md "public-key-forms": RSA2048RESTR for a 2048-bit key with exponent 65537, RSAPKCS otherwise.
  const crypto::PublicKey rsa2048 = key_of("rsa2048.pem");
  EXPECT_EQ(PublicKey::from_key(rsa2048).pk_type(), PkType::Rsa2048Restr);
  EXPECT_EQ(PublicKey::from_key(key_of("rsa3072.pem")).pk_type(), PkType::RsaPkcs);
  const crypto::PublicKey e3 = crypto::PublicKey::from_rsa(rsa2048.rsa_modulus(), Bytes{0x03});
  EXPECT_EQ(default_pk_type(e3), PkType::RsaPkcs);
  EXPECT_EQ(PublicKey::from_key(rsa2048, PkEnc::X509, PkType::RsaPss).pk_type(), PkType::RsaPss);
}

TEST(PublicKey, InteropVoucherKeysRoundTrip) {
  for (const char* file : {"fdo-rs-v101-voucher1.pem", "fdo-rs-v101-voucher2.pem"}) {
    SCOPED_TRACE(file);
    const Bytes raw = interop_ov_pub_key(file);
    const PublicKey pk = PublicKey::decode(raw);
    EXPECT_EQ(pk.encode(), raw);
    EXPECT_EQ(pk.pk_type(), PkType::Secp256r1);
    EXPECT_EQ(pk.pk_enc(), PkEnc::X509);
    EXPECT_EQ(pk.key().type(), crypto::KeyType::P256);
  }
}

TEST(PublicKey, CoseKeyEncoding) {
  const crypto::PublicKey p384 = key_of("p384_rfc6979.pem");
  const PublicKey pk = PublicKey::from_key(p384, PkEnc::CoseKey);
  EXPECT_EQ(to_hex(pk.encode()), "830b03" + to_hex(cose::encode_cose_key(p384)));
  const PublicKey back = PublicKey::decode(pk.raw());
  EXPECT_EQ(back.pk_enc(), PkEnc::CoseKey);
  EXPECT_TRUE(back.same_key(PublicKey::from_key(p384)));
  // Same key, other encoding: not byte-identical (what the C SDK compares, docs/interop.md "public-key-forms").
  EXPECT_FALSE(back == PublicKey::from_key(p384));
  // A short coordinate only under the quirk (docs/interop.md "cose-key-coordinates").
  Bytes x = p384.ec_x();
  Bytes y = p384.ec_y();
  y.insert(y.begin(), 0x00);
  cbor::Writer w;
  w.map(4).int_(1).int_(2).int_(-1).int_(2).int_(-2).bstr(x).int_(-3).bstr(y);
  const Bytes java = public_key_cbor(11, 3, w.bytes());
  expect_error([&] { (void)PublicKey::decode(java); }, ErrorCode::MessageBodyError);
  const PublicKey lenient = PublicKey::decode(java, Leniency({Quirk::CoseKeyCoordinateLength}));
  EXPECT_TRUE(lenient.same_key(pk));
  EXPECT_EQ(lenient.encode(), java);  // raw bytes kept as received
}

TEST(PublicKey, X5ChainEncoding) {
  const crypto::PrivateKey ca_key = test::test_key("p384_rfc6979.pem");
  const crypto::PrivateKey leaf_key = test::test_key("p256_rfc6979.pem");
  crypto::CertificateProfile ca_profile;
  ca_profile.common_name = "ca";
  ca_profile.is_ca = true;
  crypto::CertificateProfile leaf_profile;
  leaf_profile.common_name = "leaf";
  const crypto::Certificate ca = crypto::make_self_signed(ca_key, ca_profile);
  const crypto::Certificate leaf = crypto::issue_certificate(ca_key, ca, leaf_key.public_key(), leaf_profile);
  const PublicKey pk = PublicKey::from_chain({leaf, ca});
  EXPECT_EQ(pk.pk_type(), PkType::Secp256r1);
  EXPECT_EQ(pk.pk_enc(), PkEnc::X5Chain);
  EXPECT_EQ(to_hex(ByteView(pk.raw()).first(4)), "830a0282");
  const PublicKey back = PublicKey::decode(pk.raw());
  EXPECT_EQ(back, pk);
  ASSERT_EQ(back.certificates().size(), 2u);
  EXPECT_EQ(back.certificates()[1].der(), ca.der());
  EXPECT_TRUE(back.key().same_key(leaf_key.public_key()));
  expect_error([] { (void)PublicKey::from_chain({}); }, ErrorCode::InternalServerError);
}

TEST(PublicKey, RejectsUnsupportedOrInconsistentKeys) {
  const Bytes p256_spki = cbor::encode_bstr(key_of("p256_rfc6979.pem").spki_der());
  const Bytes rsa3072_spki = cbor::encode_bstr(key_of("rsa3072.pem").spki_der());
  const Bytes cose_p256 = cose::encode_cose_key(key_of("p256_rfc6979.pem"));
  struct Case {
    const char* name;
    Bytes wire;
  };
  const Case cases[] = {
      {"pkEnc Crypto (0)", public_key_cbor(10, 0, p256_spki)},
      {"pkEnc 4", public_key_cbor(10, 4, p256_spki)},
      {"pkType 2", public_key_cbor(2, 1, p256_spki)},
      {"pkType 11 with a P-256 key", public_key_cbor(11, 1, p256_spki)},
      {"RSA2048RESTR with a 3072-bit key", public_key_cbor(1, 1, rsa3072_spki)},
      {"SECP256R1 with an RSA key", public_key_cbor(10, 1, rsa3072_spki)},
      {"COSEKEY with an RSA pkType", public_key_cbor(5, 3, cose_p256)},
      {"COSEKEY with pkType 11 and a P-256 point", public_key_cbor(11, 3, cose_p256)},
      {"empty X5CHAIN", public_key_cbor(10, 2, from_hex("80"))},
      {"X5CHAIN element not a certificate", public_key_cbor(10, 2, from_hex("814101"))},
      {"X509 body not an SPKI", public_key_cbor(10, 1, from_hex("43010203"))},
      {"X509 body not a bstr", public_key_cbor(10, 1, from_hex("01"))},
      {"two elements", from_hex("820a01")},
      {"pkType 0", public_key_cbor(0, 1, p256_spki)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_error([&] { (void)PublicKey::decode(c.wire); }, ErrorCode::MessageBodyError);
  }
  // pkType -7 as the FDO 1.0 voucher writes it.
  Bytes v100 = public_key_cbor(10, 1, p256_spki);
  v100[1] = 0x26;
  expect_error([&] { (void)PublicKey::decode(v100); }, ErrorCode::MessageBodyError);
}

TEST(PublicKey, FromKeyRefusesCombinationsWeCannotWrite) {
  expect_error([] { (void)PublicKey::from_key(key_of("rsa2048.pem"), PkEnc::CoseKey); },
               ErrorCode::InternalServerError);
  expect_error([] { (void)PublicKey::from_key(key_of("p256_rfc6979.pem"), PkEnc::X5Chain); },
               ErrorCode::InternalServerError);
  expect_error([] { (void)PublicKey::from_key(key_of("p256_rfc6979.pem"), PkEnc::Crypto); },
               ErrorCode::InternalServerError);
  expect_error([] { (void)PublicKey::from_key(key_of("rsa3072.pem"), PkEnc::X509, PkType::Rsa2048Restr); },
               ErrorCode::InternalServerError);
}

TEST(PublicKey, SameTypeRuleOfTheVoucher) {
  // FDO 1.1 §3.4.2 (one key type per voucher): same pkType and same curve or RSA size.
  const PublicKey p256 = PublicKey::from_key(key_of("p256_rfc6979.pem"));
  const PublicKey p256_other =
      PublicKey::from_key(crypto::PrivateKey::generate(crypto::KeyType::P256).public_key(), PkEnc::CoseKey);
  const PublicKey p384 = PublicKey::from_key(key_of("p384_rfc6979.pem"));
  const PublicKey rsa2048_pkcs = PublicKey::from_key(key_of("rsa2048.pem"), PkEnc::X509, PkType::RsaPkcs);
  const PublicKey rsa2048_restr = PublicKey::from_key(key_of("rsa2048.pem"));
  const PublicKey rsa3072_pkcs = PublicKey::from_key(key_of("rsa3072.pem"));
  EXPECT_TRUE(p256.same_type_as(p256_other));
  EXPECT_FALSE(p256.same_type_as(p384));
  EXPECT_FALSE(rsa2048_pkcs.same_type_as(rsa3072_pkcs));
  EXPECT_FALSE(rsa2048_pkcs.same_type_as(rsa2048_restr));
  EXPECT_TRUE(rsa2048_restr.same_key(rsa2048_pkcs));
  EXPECT_FALSE(rsa2048_restr == rsa2048_pkcs);
}

TEST(PublicKey, AlgorithmsThatSuitEachPkType) {
  // docs/interop.md "signature-alg-from-header": the alg must suit the key, and RS*/PS* must match RSAPKCS/RSAPSS.
  const PublicKey p256 = PublicKey::from_key(key_of("p256_rfc6979.pem"));
  EXPECT_TRUE(p256.suits(crypto::SigAlg::ES256));
  EXPECT_FALSE(p256.suits(crypto::SigAlg::ES384));
  const PublicKey pkcs = PublicKey::from_key(key_of("rsa3072.pem"));
  EXPECT_TRUE(pkcs.suits(crypto::SigAlg::RS384));
  EXPECT_FALSE(pkcs.suits(crypto::SigAlg::RS256));
  EXPECT_FALSE(pkcs.suits(crypto::SigAlg::PS384));
  const PublicKey pss = PublicKey::from_key(key_of("rsa3072.pem"), PkEnc::X509, PkType::RsaPss);
  EXPECT_TRUE(pss.suits(crypto::SigAlg::PS384));
  EXPECT_FALSE(pss.suits(crypto::SigAlg::RS384));
  EXPECT_EQ(pss.sig_alg(), crypto::SigAlg::PS384);
  EXPECT_EQ(PublicKey::from_key(key_of("rsa2048.pem")).sig_alg(), crypto::SigAlg::RS256);
  EXPECT_EQ(PublicKey::from_key(key_of("p384_rfc6979.pem")).sig_alg(), crypto::SigAlg::ES384);
  EXPECT_EQ(pk_type_name(PkType::Rsa2048Restr), "RSA2048RESTR");
  EXPECT_EQ(pk_enc_name(PkEnc::X5Chain), "X5CHAIN");
}

}  // namespace
}  // namespace fdo
