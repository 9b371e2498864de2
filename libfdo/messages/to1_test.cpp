#include "libfdo/messages/to1.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/header.h"
#include "libfdo/crypto/keys.h"

namespace fdo::to1 {
namespace {

// Runs `f`, which must throw fdo::Error with `code` and a message containing `text`.
void expect_error(const std::function<void()>& f, ErrorCode code, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "no error, expected code " << static_cast<int>(code) << " with '" << text << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

const Guid kGuid = Guid::from(from_hex("00112233445566778899aabbccddeeff"));

Bytes to1d_over(const crypto::PrivateKey& key, ByteView payload, cose::HeaderMap unprotected = {}) {
  return cose::Sign1::sign(key, crypto::SigAlg::ES256, payload, std::move(unprotected)).encode();
}

Bytes good_payload() {
  to0::To1dBlobPayload p;
  p.to1d_rv.entries.push_back(RVTO2AddrEntry{.rv_ip = IpAddress::parse("127.0.0.1"),
                                             .rv_dns = std::nullopt,
                                             .rv_port = 8042,
                                             .rv_protocol = TransportProtocol::Http});
  p.to1d_to0d_hash = Hash(HashType::Sha256, Bytes(32, 2));
  return p.encode();
}

TEST(To1HelloRV, EncodesGuidAndSigInfo) {
  const HelloRV m{.guid = kGuid, .ea_sig_info = SigInfo::for_alg(crypto::SigAlg::ES256)};
  // [h'0011…', [-7, h'']]: the SigInfo [-7, h''] (FDO 1.1 §3.3) encodes as 82 26 40.
  EXPECT_EQ(to_hex(m.encode()), "825000112233445566778899aabbccddeeff822640");
  const HelloRV back = HelloRV::decode(m.encode());
  EXPECT_EQ(back.guid, kGuid);
  EXPECT_EQ(back.ea_sig_info, m.ea_sig_info);
}

TEST(To1HelloRV, RejectsAShortGuidAndAnUnknownSgType) {
  expect_error([] { HelloRV::decode(from_hex("824f00112233445566778899aabbccddee822640")); },
               ErrorCode::MessageBodyError, "TO1.HelloRV[0] Guid");
  // sgType 1000 is an integer FDO does not define: unsupported algorithm (TO1-03), 101.
  expect_error([] { HelloRV::decode(from_hex("825000112233445566778899aabbccddeeff821903e840")); },
               ErrorCode::InvalidMessageError, "sgType");
  expect_error([] { HelloRV::decode(from_hex("8250" + to_hex(kGuid.view()) + "822640" + "00")); },
               ErrorCode::MessageBodyError, "");
}

TEST(To1HelloRVAck, RoundTrips) {
  const HelloRVAck m{.nonce_to1_proof = Nonce::from(Bytes(16, 9)),
                     .eb_sig_info = SigInfo::for_alg(crypto::SigAlg::ES384)};
  EXPECT_EQ(to_hex(m.encode()), "8250" + to_hex(Bytes(16, 9)) + "82382240");
  const HelloRVAck back = HelloRVAck::decode(m.encode());
  EXPECT_EQ(back.nonce_to1_proof, m.nonce_to1_proof);
  EXPECT_EQ(back.eb_sig_info, m.eb_sig_info);
  expect_error([] { HelloRVAck::decode(from_hex("8150" + to_hex(Bytes(16, 9)))); }, ErrorCode::MessageBodyError,
               "TO1.HelloRVAck");
}

TEST(To1ProveToRV, RequiresTheCoseTag) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const Bytes eat = cose::Sign1::sign(key, crypto::SigAlg::ES256, from_hex("a0")).encode();
  EXPECT_EQ(ProveToRV::decode(eat).encode(), eat);
  const Bytes untagged(eat.begin() + 1, eat.end());
  expect_error([&] { ProveToRV::decode(untagged); }, ErrorCode::MessageBodyError, "TO1.ProveToRV");
  EXPECT_NO_THROW(ProveToRV::decode(untagged, Leniency({Quirk::UntaggedCose})));
}

TEST(To1RVRedirect, KeepsTheTo1dBytes) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const Bytes to1d = to1d_over(key, good_payload());
  const RVRedirect m = RVRedirect::decode(to1d);
  EXPECT_EQ(m.encode(), to1d);
  EXPECT_EQ(m.to1d_payload.to1d_rv.to_urls(), std::vector<std::string>{"http://127.0.0.1:8042"});
  EXPECT_TRUE(m.to1d.verify(key.public_key()));
  EXPECT_EQ(RVRedirect::from_stored(to1d).encode(), to1d);
}

TEST(To1RVRedirect, DeviceChecksAreAll100) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  // An unprotected header entry: the C SDK requires an empty map (FDO 1.1 §5.4.4).
  cose::HeaderMap unprotected;
  unprotected[256] = cbor::encode_bstr(Bytes(16, 1));
  const Bytes with_header = to1d_over(key, good_payload(), unprotected);
  expect_error([&] { RVRedirect::decode(with_header); }, ErrorCode::MessageBodyError, "unprotected");
  EXPECT_NO_THROW(RVRedirect::from_stored(with_header));
  // DEV-34: an empty RVTO2Addr.
  cbor::Writer empty;
  empty.array(2).array(0).raw(Hash(HashType::Sha256, Bytes(32, 2)).encode());
  expect_error([&] { RVRedirect::decode(to1d_over(key, empty.bytes())); }, ErrorCode::MessageBodyError, "at least one");
  // A bad RVIP is code 4 at the rendezvous server but a malformed to1d (100) for the device.
  cbor::Writer bad_ip;
  bad_ip.array(2)
      .array(1)
      .array(4)
      .bstr(Bytes(5, 1))
      .null()
      .uint(80)
      .uint(3)
      .raw(Hash(HashType::Sha256, Bytes(32, 2)).encode());
  expect_error([&] { RVRedirect::decode(to1d_over(key, bad_ip.bytes())); }, ErrorCode::MessageBodyError, "RVIP");
  // A protected header naming an alg FDO does not use (101 in COSE) is also 100 here.
  cbor::Writer odd_alg;
  odd_alg.tag(18).array(4).bstr(cose::encode_protected_alg(-8)).map(0).bstr(good_payload()).bstr(Bytes(64, 0));
  expect_error([&] { RVRedirect::decode(odd_alg.bytes()); }, ErrorCode::MessageBodyError, "alg");
  // Untagged.
  const Bytes good = to1d_over(key, good_payload());
  expect_error([&] { RVRedirect::decode(ByteView(good).subspan(1)); }, ErrorCode::MessageBodyError, "TO1.RVRedirect");
}

}  // namespace
}  // namespace fdo::to1
