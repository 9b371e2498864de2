#include "libfdo/messages/to0.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/keys.h"

namespace fdo::to0 {
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

Nonce nonce_of(std::uint8_t b) {
  return Nonce::from(Bytes(16, b));
}

RVTO2Addr owner_addr() {
  RVTO2Addr addr;
  addr.entries.push_back(RVTO2AddrEntry{
      .rv_ip = std::nullopt, .rv_dns = "owner.example.com", .rv_port = 8443, .rv_protocol = TransportProtocol::Https});
  return addr;
}

// A stand-in voucher item: To0d does not interpret it.
const Bytes kVoucherItem = from_hex("8318650102");

To0d sample_to0d() {
  return To0d{.ownership_voucher = kVoucherItem, .wait_seconds = 300, .nonce_to0_sign = nonce_of(7)};
}

OwnerSign sample_owner_sign(const crypto::PrivateKey& key) {
  const To0d to0d = sample_to0d();
  const To1dBlobPayload payload{.to1d_rv = owner_addr(),
                                .to1d_to0d_hash = Hash::compute(HashType::Sha256, to0d.encode())};
  return OwnerSign::make(to0d, cose::Sign1::sign(key, crypto::SigAlg::ES256, payload.encode()));
}

TEST(To0Hello, IsTheEmptyArray) {
  EXPECT_EQ(to_hex(Hello{}.encode()), "80");
  EXPECT_NO_THROW(Hello::decode(from_hex("80")));
  expect_error([] { Hello::decode(from_hex("00")); }, ErrorCode::MessageBodyError, "TO0.Hello");
  expect_error([] { Hello::decode(from_hex("8100")); }, ErrorCode::MessageBodyError, "TO0.Hello");
  expect_error([] { Hello::decode(from_hex("8000")); }, ErrorCode::MessageBodyError, "trailing");
}

TEST(To0HelloAck, RoundTripsAndNamesTheNonceField) {
  const HelloAck ack{nonce_of(0xAB)};
  EXPECT_EQ(to_hex(ack.encode()), "8150" + to_hex(Bytes(16, 0xAB)));
  EXPECT_EQ(HelloAck::decode(ack.encode()).nonce_to0_sign, ack.nonce_to0_sign);
  expect_error([] { HelloAck::decode(from_hex("814f" + std::string(30, '0'))); }, ErrorCode::MessageBodyError,
               "TO0.HelloAck[0] NonceTO0Sign");
}

TEST(To0To0d, RoundTripsKeepingTheVoucherBytes) {
  const To0d to0d = sample_to0d();
  // [h'…voucher…', 300, h'07…']
  EXPECT_EQ(to_hex(to0d.encode()), "83" + to_hex(kVoucherItem) + "19012c50" + to_hex(Bytes(16, 7)));
  const To0d back = To0d::decode(to0d.encode());
  EXPECT_EQ(back.ownership_voucher, kVoucherItem);
  EXPECT_EQ(back.wait_seconds, 300u);
  EXPECT_EQ(back.nonce_to0_sign, to0d.nonce_to0_sign);
  EXPECT_EQ(back.encode(), to0d.encode());
}

TEST(To0To0d, RejectsAVoucherThatIsNotAnArrayAndAnOversizeWaitSeconds) {
  cbor::Writer not_array;
  not_array.array(3).bstr(Bytes{1}).uint(1).bstr(Bytes(16, 0));
  expect_error([&] { To0d::decode(not_array.bytes()); }, ErrorCode::MessageBodyError, "[0] OwnershipVoucher");
  cbor::Writer big_wait;
  big_wait.array(3).raw(kVoucherItem).uint(std::uint64_t{1} << 32).bstr(Bytes(16, 0));
  expect_error([&] { To0d::decode(big_wait.bytes()); }, ErrorCode::MessageBodyError, "[1] WaitSeconds");
}

TEST(To0To1dBlobPayload, EncodesTheSpecExampleEntry) {
  const To1dBlobPayload payload{.to1d_rv = owner_addr(), .to1d_to0d_hash = Hash(HashType::Sha256, Bytes(32, 1))};
  // RVTO2AddrEntry (FDO 1.1 §3.3.14): [null, "owner.example.com", 8443, 5] is 84 F6 71
  // 6F776E65722E6578616D706C652E636F6D 19 20FB 05.
  EXPECT_EQ(to_hex(payload.encode()),
            "8281"
            "84f6716f776e65722e6578616d706c652e636f6d1920fb05"
            "822f5820" +
                to_hex(Bytes(32, 1)));
  const To1dBlobPayload back = To1dBlobPayload::decode(payload.encode());
  EXPECT_EQ(back.to1d_rv, payload.to1d_rv);
  EXPECT_EQ(back.to1d_to0d_hash, payload.to1d_to0d_hash);
}

TEST(To0To1dBlobPayload, AppliesTheRvto2addrRules) {
  const Bytes hash = Hash(HashType::Sha256, Bytes(32, 1)).encode();
  cbor::Writer empty;
  empty.array(2).array(0).raw(hash);
  expect_error([&] { To1dBlobPayload::decode(empty.bytes()); }, ErrorCode::MessageBodyError, "at least one");
  cbor::Writer bad_ip;
  bad_ip.array(2).array(1).array(4).bstr(Bytes(5, 1)).null().uint(80).uint(3).raw(hash);
  expect_error([&] { To1dBlobPayload::decode(bad_ip.bytes()); }, ErrorCode::InvalidIpAddress, "RVIP");
  cbor::Writer no_address;
  no_address.array(2).array(1).array(4).null().null().uint(80).uint(3).raw(hash);
  expect_error([&] { To1dBlobPayload::decode(no_address.bytes()); }, ErrorCode::MessageBodyError, "both null");
  cbor::Writer hmac;
  hmac.array(2).raw(owner_addr().encode()).raw(Hash(HashType::HmacSha256, Bytes(32, 1)).encode());
  expect_error([&] { To1dBlobPayload::decode(hmac.bytes()); }, ErrorCode::MessageBodyError, "to1dTo0dHash");
}

TEST(To0OwnerSign, RoundTripsByteForByte) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const OwnerSign sign = sample_owner_sign(key);
  const Bytes body = sign.encode();
  const OwnerSign back = OwnerSign::decode(body);
  EXPECT_EQ(back.encode(), body);
  EXPECT_EQ(back.to0d_bytes, sample_to0d().encode());
  EXPECT_EQ(back.to1d_bytes, sign.to1d_bytes);
  EXPECT_EQ(back.to0d.wait_seconds, 300u);
  EXPECT_EQ(back.to1d_payload.to1d_rv, owner_addr());
  EXPECT_TRUE(back.to1d.verify(key.public_key()));
  // [bstr(to0d), to1d]: the first byte of element 0 is a bstr head.
  EXPECT_EQ(body[0], 0x82);
  EXPECT_EQ(body[1] >> 5, 2);
}

TEST(To0OwnerSign, BareTo0dAndUntaggedTo1dOnlyByName) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const OwnerSign sign = sample_owner_sign(key);
  cbor::Writer bare;  // docs/interop.md "bare-to0d": old Java PRI sent to0d as a bare array
  bare.array(2).raw(sign.to0d_bytes).raw(sign.to1d_bytes);
  expect_error([&] { OwnerSign::decode(bare.bytes()); }, ErrorCode::MessageBodyError, "TO0.OwnerSign[0] to0d");
  const OwnerSign lenient = OwnerSign::decode(bare.bytes(), Leniency({Quirk::BareTo0d}));
  EXPECT_EQ(lenient.to0d_bytes, sign.to0d_bytes);

  cbor::Writer untagged;  // docs/interop.md "untagged-cose": early fdo-rs sent to1d without tag 18
  untagged.array(2).bstr(sign.to0d_bytes).raw(ByteView(sign.to1d_bytes).subspan(1));
  expect_error([&] { OwnerSign::decode(untagged.bytes()); }, ErrorCode::MessageBodyError, "to1d");
  EXPECT_NO_THROW(OwnerSign::decode(untagged.bytes(), Leniency({Quirk::UntaggedCose})));
}

TEST(To0OwnerSign, RejectsTrailingBytesAndABadTo0d) {
  const crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  Bytes body = sample_owner_sign(key).encode();
  body.push_back(0x00);
  expect_error([&] { OwnerSign::decode(body); }, ErrorCode::MessageBodyError, "trailing");
  cbor::Writer w;
  w.array(2).bstr(Bytes{0x00}).raw(sample_owner_sign(key).to1d_bytes);
  expect_error([&] { OwnerSign::decode(w.bytes()); }, ErrorCode::MessageBodyError, "to0d");
}

TEST(To0AcceptOwner, IsAUint32) {
  EXPECT_EQ(to_hex(AcceptOwner{300}.encode()), "8119012c");
  EXPECT_EQ(AcceptOwner::decode(from_hex("811affffffff")).wait_seconds, 4294967295u);
  expect_error([] { AcceptOwner::decode(from_hex("811b0000000100000000")); }, ErrorCode::MessageBodyError,
               "TO0.AcceptOwner[0] WaitSeconds");
  expect_error([] { AcceptOwner::decode(from_hex("8120")); }, ErrorCode::MessageBodyError, "WaitSeconds");
}

}  // namespace
}  // namespace fdo::to0
