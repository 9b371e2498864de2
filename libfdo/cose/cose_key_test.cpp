#include "libfdo/cose/cose_key.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo::cose {
namespace {

using test::expect_error;

// libfdo/testdata/crypto/p256_leading_zero_x.txt: a P-256 key whose x starts with 0x00.
const char* kLeadingZeroSpki =
    "3059301306072a8648ce3d020106082a8648ce3d03010703420004004b29b756d8647b00c1ce1d6e0644298c6d4f21fc17c770bb5ec1"
    "d3f649be9a42c4b43385f01f32b139c8bae46c7b0cc95f84b392b3f48465fa080c5b958eb5";
const char* kX = "004b29b756d8647b00c1ce1d6e0644298c6d4f21fc17c770bb5ec1d3f649be9a";
const char* kY = "42c4b43385f01f32b139c8bae46c7b0cc95f84b392b3f48465fa080c5b958eb5";

// A COSE_Key map written by hand: optional kty, then crv, x, y.
Bytes cose_key(bool with_kty, std::int64_t crv, ByteView x, ByteView y) {
  cbor::Writer w;
  w.map(with_kty ? 4 : 3);
  if (with_kty) {
    w.int_(1).int_(2);
  }
  w.int_(-1).int_(crv).int_(-2).bstr(x).int_(-3).bstr(y);
  return std::move(w).take();
}

TEST(CoseKey, EmitsKtyCrvAndFixedLengthCoordinates) {
  const crypto::PublicKey key = crypto::PublicKey::from_spki_der(from_hex(kLeadingZeroSpki));
  // {1: 2, -1: 1, -2: x (32 bytes, leading zero kept), -3: y}: RFC 9053 §7.1.1, docs/interop.md "public-key-forms".
  EXPECT_EQ(to_hex(encode_cose_key(key)), std::string("a4010220012158") + "20" + kX + "225820" + kY);
}

TEST(CoseKey, RoundTripsP256AndP384) {
  for (const char* file : {"p256_rfc6979.pem", "p384_rfc6979.pem"}) {
    SCOPED_TRACE(file);
    const crypto::PublicKey key = test::test_key(file).public_key();
    const Bytes encoded = encode_cose_key(key);
    const crypto::PublicKey back = decode_cose_key(encoded);
    EXPECT_TRUE(back.same_key(key));
    EXPECT_EQ(encode_cose_key(back), encoded);
  }
  const crypto::PublicKey p384 = test::test_key("p384_rfc6979.pem").public_key();
  EXPECT_EQ(to_hex(ByteView(encode_cose_key(p384)).first(5)), "a401022002");
}

TEST(CoseKey, AcceptsTheCSdkFormWithoutKty) {
  const Bytes encoded = cose_key(false, 1, from_hex(kX), from_hex(kY));
  EXPECT_TRUE(decode_cose_key(encoded).same_key(crypto::PublicKey::from_spki_der(from_hex(kLeadingZeroSpki))));
}

TEST(CoseKey, ShortOrSignByteCoordinatesOnlyUnderTheQuirk) {
  const Bytes x = from_hex(kX);
  const Bytes short_x(x.begin() + 1, x.end());  // go-fdo drops the leading zero ("cose-key-coordinates")
  Bytes signed_y = from_hex(kY);
  signed_y.insert(signed_y.begin(), 0x00);  // Java PRI BigInteger.toByteArray() (same entry)
  const crypto::PublicKey expected = crypto::PublicKey::from_spki_der(from_hex(kLeadingZeroSpki));
  const Leniency lenient({Quirk::CoseKeyCoordinateLength});
  for (const Bytes& encoded : {cose_key(true, 1, short_x, from_hex(kY)), cose_key(true, 1, x, signed_y)}) {
    const std::string what = expect_error([&] { (void)decode_cose_key(encoded); }, ErrorCode::MessageBodyError);
    EXPECT_NE(what.find("32 bytes"), std::string::npos) << what;
    EXPECT_TRUE(decode_cose_key(encoded, lenient).same_key(expected));
  }
  // Even leniently: an empty coordinate, a 33-byte one whose first byte is not a sign byte, 34 bytes.
  Bytes bad_sign = from_hex(kY);
  bad_sign.insert(bad_sign.begin(), 0x01);
  for (const Bytes& encoded : {cose_key(true, 1, Bytes(), from_hex(kY)), cose_key(true, 1, x, bad_sign),
                               cose_key(true, 1, x, concat(Bytes{0, 0}, from_hex(kY)))}) {
    expect_error([&] { (void)decode_cose_key(encoded, lenient); }, ErrorCode::MessageBodyError);
  }
}

TEST(CoseKey, RejectsOtherShapes) {
  const Bytes x = from_hex(kX);
  const Bytes y = from_hex(kY);
  Bytes off_curve = y;
  off_curve.back() ^= 0x01;
  cbor::Writer extra;
  extra.map(5).int_(1).int_(2).int_(3).int_(-7).int_(-1).int_(1).int_(-2).bstr(x).int_(-3).bstr(y);
  cbor::Writer duplicate;
  duplicate.map(4).int_(-1).int_(1).int_(-2).bstr(x).int_(-2).bstr(x).int_(-3).bstr(y);
  cbor::Writer missing;
  missing.map(3).int_(1).int_(2).int_(-1).int_(1).int_(-2).bstr(x);
  cbor::Writer rsa_kty;
  rsa_kty.map(4).int_(1).int_(3).int_(-1).int_(1).int_(-2).bstr(x).int_(-3).bstr(y);
  const Bytes cases[] = {
      std::move(extra).take(),      // alg (3) is not one of kty, crv, x, y
      std::move(duplicate).take(),  // x twice
      std::move(missing).take(),    // no y
      std::move(rsa_kty).take(),    // kty 3 (RSA)
      cose_key(true, 3, x, y),      // crv 3 (P-521)
      cose_key(true, 2, x, y),      // a P-256 point read as P-384 (32-byte coordinates)
      cose_key(true, 1, x, off_curve),
      from_hex("820102"),  // an array
  };
  for (const Bytes& encoded : cases) {
    SCOPED_TRACE(to_hex(encoded));
    expect_error([&] { (void)decode_cose_key(encoded, Leniency({Quirk::CoseKeyCoordinateLength})); },
                 ErrorCode::MessageBodyError);
  }
}

TEST(CoseKey, RsaKeysHaveNoCoseKeyForm) {
  const crypto::PublicKey rsa = test::test_key("rsa2048.pem").public_key();
  expect_error([&] { (void)encode_cose_key(rsa); }, ErrorCode::InternalServerError);
  EXPECT_FALSE(cose_curve_for(crypto::KeyType::Rsa3072).has_value());
  EXPECT_EQ(cose_curve_for(crypto::KeyType::P384), CoseCurve::P384);
}

}  // namespace
}  // namespace fdo::cose
