#include "libfdo/cose/mac0.h"

#include <gtest/gtest.h>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo::cose {
namespace {

using test::expect_error;

TEST(Mac0, MacStructureStartsAsTheSpecShows) {
  // RFC 9052 §6.3 MAC_structure with protected {1: 5}: the encoding starts 84 64 4D 41 43 30 43 A1 01 05 40 ...
  const Bytes m = mac_structure(from_hex("a10105"), from_hex("8300"));
  EXPECT_EQ(to_hex(m),
            "84644d41433043a101054042"
            "8300");
}

TEST(Mac0, TagIsHmacOverTheMacStructure) {
  const SecretBytes key(Bytes(32, 0x0B));
  const Bytes payload = to_bytes("inner block");
  const Mac0 m = Mac0::create(MacAlg::HmacSha256, key, payload);
  Bytes by_hand = from_hex("84644d41433043a1010540");
  append(by_hand, cbor::encode_bstr(payload));
  EXPECT_EQ(Bytes(m.tag().begin(), m.tag().end()), crypto::hmac(crypto::HashAlg::Sha256, key.view(), by_hand));
  EXPECT_EQ(m.mac_structure(), by_hand);
}

TEST(Mac0, CreatesVerifiesAndRoundTripsBothAlgs) {
  for (const MacAlg alg : {MacAlg::HmacSha256, MacAlg::HmacSha384}) {
    const SecretBytes key(Bytes(alg == MacAlg::HmacSha256 ? 32 : 64, 0x42));
    const Mac0 m = Mac0::create(alg, key, to_bytes("payload"));
    EXPECT_EQ(m.tag().size(), mac_alg_size(alg));
    const Bytes wire = m.encode();
    EXPECT_EQ(wire[0], 0xD1);
    const Mac0 back = Mac0::decode(wire);
    EXPECT_EQ(back.encode(), wire);
    EXPECT_EQ(back.alg(), static_cast<std::int64_t>(alg));
    EXPECT_TRUE(back.verify(key));
    EXPECT_FALSE(back.verify(SecretBytes(Bytes(32, 0x43))));
    Bytes tampered = wire;
    tampered[tampered.size() - mac_alg_size(alg) - 3] ^= 0x01;  // last payload byte
    EXPECT_FALSE(Mac0::decode(tampered).verify(key));
  }
}

TEST(Mac0, JavaPriSha384AlgDecodesButNeverVerifies) {
  // Java PRI writes {1: -43} for the 256-bit suites (docs/interop.md "etm-mac-input"); we decode it, and verify says
  // no.
  cbor::Writer w;
  w.tag(17).array(4).bstr(from_hex("a101382a")).map(0).bstr(to_bytes("p")).bstr(Bytes(48, 0));
  const Mac0 m = Mac0::decode(std::move(w).take());
  EXPECT_EQ(m.alg(), -43);
  EXPECT_FALSE(m.verify(SecretBytes(Bytes(64, 1))));
  EXPECT_FALSE(mac_alg_from_id(-43).has_value());
}

TEST(Mac0, RequiresTag17UnlessUntaggedIsAllowed) {
  const Bytes tagged = Mac0::create(MacAlg::HmacSha256, SecretBytes(Bytes(32, 1)), to_bytes("p")).encode();
  const Bytes untagged(tagged.begin() + 1, tagged.end());
  expect_error([&] { (void)Mac0::decode(untagged); }, ErrorCode::MessageBodyError);
  EXPECT_EQ(Mac0::decode(untagged, "ETMOuterBlock", Leniency({Quirk::UntaggedCose})).encode(), tagged);
  Bytes tag18 = tagged;
  tag18[0] = 0xD2;
  expect_error([&] { (void)Mac0::decode(tag18); }, ErrorCode::MessageBodyError);
  Bytes trailing = tagged;
  trailing.push_back(0);
  expect_error([&] { (void)Mac0::decode(trailing); }, ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo::cose
