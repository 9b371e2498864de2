#include "libfdo/cose/session_cipher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/cose/encrypt0.h"
#include "libfdo/cose/internal/test_util.h"
#include "libfdo/cose/mac0.h"
#include "libfdo/crypto/aes.h"

namespace fdo::cose {
namespace {

using crypto::CipherSuite;
using test::expect_error;

constexpr CipherSuite kAllSuites[] = {CipherSuite::A128GCM,
                                      CipherSuite::A256GCM,
                                      CipherSuite::AesCcm16_128_128,
                                      CipherSuite::AesCcm16_128_256,
                                      CipherSuite::AesCcm64_128_128,
                                      CipherSuite::AesCcm64_128_256,
                                      CipherSuite::Aes128CbcHmacSha256,
                                      CipherSuite::Aes128CtrHmacSha256,
                                      CipherSuite::Aes256CbcHmacSha384,
                                      CipherSuite::Aes256CtrHmacSha384};
constexpr CipherSuite kAeadSuites[] = {CipherSuite::A128GCM,          CipherSuite::A256GCM,
                                       CipherSuite::AesCcm16_128_128, CipherSuite::AesCcm16_128_256,
                                       CipherSuite::AesCcm64_128_128, CipherSuite::AesCcm64_128_256};
constexpr CipherSuite kEtmSuites[] = {CipherSuite::Aes128CbcHmacSha256, CipherSuite::Aes128CtrHmacSha256,
                                      CipherSuite::Aes256CbcHmacSha384, CipherSuite::Aes256CtrHmacSha384};
constexpr CipherSuite kCtrSuites[] = {CipherSuite::Aes128CtrHmacSha256, CipherSuite::Aes256CtrHmacSha384};

std::string name(CipherSuite suite) {
  return std::string(crypto::cipher_suite_name(suite));
}

/// The session keys both sides derive from one ShSe (the KDF test vector's ShSe, FDO 1.1 §3.6.4).
crypto::SessionKeys keys_for(CipherSuite suite, std::uint8_t variant = 0) {
  Bytes shse = from_hex(
      "08c9dc0cc5e9dd2558a12ae60cd00670d01a09cca52bae8a671a21e1babdb25b"
      "c21963c48b4aa77bb8ed338f0c5a15efee069ce10a09be2aacf857b8dcd9df8e");
  shse[0] ^= variant;
  return crypto::derive_session_keys(suite, shse, {});
}

SessionCipher cipher_for(CipherSuite suite, std::uint8_t variant = 0) {
  return SessionCipher(suite, keys_for(suite, variant));
}

/// A message body as the protocol would encrypt it: one CBOR item of `size` bytes or so.
Bytes body(std::size_t size) {
  cbor::Writer w;
  w.array(2).uint(66).bstr(Bytes(size, 0xA5));
  return std::move(w).take();
}

/// The inner Encrypt0 of an ETM message (untagged, inside the Mac0 payload).
Encrypt0 inner_of(ByteView message) {
  const Mac0 outer = Mac0::decode(message);
  cbor::Reader r(outer.payload(), "ETMInnerBlock");
  return Encrypt0::decode_untagged(r);
}

/// The IV a message carries, whatever its kind.
Bytes iv_of(CipherSuite suite, ByteView message) {
  if (crypto::is_aead(suite)) {
    const Encrypt0 em = Encrypt0::decode(message);
    return Bytes(em.iv().begin(), em.iv().end());
  }
  const Encrypt0 inner = inner_of(message);
  return Bytes(inner.iv().begin(), inner.iv().end());
}

std::uint32_t ctr_counter_of(ByteView iv) {
  return (std::uint32_t{iv[12]} << 24) | (std::uint32_t{iv[13]} << 16) | (std::uint32_t{iv[14]} << 8) | iv[15];
}

Bytes flip(ByteView b, std::size_t index) {
  Bytes out(b.begin(), b.end());
  out[index] ^= 0x01;
  return out;
}

MacAlg mac_of(CipherSuite suite) {
  return *crypto::cipher_suite_info(suite).etm_mac == crypto::HashAlg::Sha384 ? MacAlg::HmacSha384 : MacAlg::HmacSha256;
}

/// An authentication failure's text must not say which step failed (FDO 1.1 §4.4).
void expect_no_step_named(const std::string& text) {
  EXPECT_FALSE(text.empty());
  for (const std::string_view word : {"MAC", "HMAC", "tag", "padding", "nonce", "IV", "length"}) {
    EXPECT_EQ(text.find(word), std::string::npos) << text;
  }
}

TEST(SessionCipher, EverySuiteRoundTripsBetweenTwoSides) {
  for (const CipherSuite suite : kAllSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher device = cipher_for(suite);
    SessionCipher owner = cipher_for(suite);
    EXPECT_EQ(device.suite(), suite);
    for (const std::size_t size : {0u, 1u, 15u, 16u, 17u, 1000u, 40000u}) {
      const Bytes plaintext = body(size);
      const Bytes to_owner = device.encrypt(plaintext);
      EXPECT_EQ(owner.decrypt(to_owner), plaintext);
      const Bytes to_device = owner.encrypt(plaintext);
      EXPECT_EQ(device.decrypt(to_device), plaintext);
      // A side can read its own messages too: one key for both directions.
      EXPECT_EQ(device.decrypt(to_owner), plaintext);
      // Tag 16 (COSE_Encrypt0_Tagged) or 17 (COSE_Mac0_Tagged), FDO 1.1 §4.4.
      EXPECT_EQ(to_owner[0], crypto::is_aead(suite) ? 0xD0 : 0xD1);
      EXPECT_EQ(iv_of(suite, to_owner).size(), crypto::cipher_suite_info(suite).iv_size);
    }
  }
}

TEST(SessionCipher, MessageShapesFollowTheSpec) {
  for (const CipherSuite suite : kAeadSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher c = cipher_for(suite);
    const Encrypt0 em = Encrypt0::decode(c.encrypt(body(10)));
    EXPECT_EQ(em.alg(), crypto::cipher_suite_id(suite));
    EXPECT_EQ(em.protected_bytes().size(), encode_protected_alg(crypto::cipher_suite_id(suite)).size());
    EXPECT_EQ(em.unprotected().size(), 1u);
    EXPECT_EQ(em.ciphertext().size(), body(10).size() + crypto::kAeadTagSize);
  }
  for (const CipherSuite suite : kEtmSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher c = cipher_for(suite);
    const Bytes message = c.encrypt(body(10));
    const Mac0 outer = Mac0::decode(message);
    EXPECT_EQ(outer.alg(), static_cast<std::int64_t>(mac_of(suite)));
    EXPECT_TRUE(outer.unprotected().empty());
    EXPECT_EQ(outer.tag().size(), crypto::cipher_suite_info(suite).tag_size);
    const Encrypt0 inner = inner_of(message);
    EXPECT_EQ(inner.alg(), crypto::cipher_suite_id(suite));
    EXPECT_NE(outer.payload()[0], 0xD0) << "the inner block is untagged";
  }
}

TEST(SessionCipher, CtrIvIsSessionNonceAndRunningBlockCounter) {
  for (const CipherSuite suite : kCtrSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher sender = cipher_for(suite);
    const SessionCipher receiver = cipher_for(suite);
    // Message sizes and the counter each must start at: 0, then + ceil(len / 16) blocks.
    std::vector<Bytes> ivs;
    std::uint32_t expected = 0;
    for (const std::size_t plain_size : {20u, 16u, 0u, 1u, 33u}) {
      const Bytes plaintext(plain_size, 0x42);
      const Bytes message = sender.encrypt(plaintext);
      const Bytes iv = iv_of(suite, message);
      ASSERT_EQ(iv.size(), 16u);
      EXPECT_EQ(ctr_counter_of(iv), expected) << "after " << ivs.size() << " messages";
      EXPECT_EQ(receiver.decrypt(message), plaintext);
      expected += static_cast<std::uint32_t>((plain_size + 15) / 16);
      ivs.push_back(iv);
    }
    // The 12-byte nonce is the same for the whole session.
    for (const Bytes& iv : ivs) {
      EXPECT_EQ(Bytes(iv.begin(), iv.begin() + 12), Bytes(ivs[0].begin(), ivs[0].begin() + 12));
    }
    // ... and continues across save / restore.
    SessionCipher restored = SessionCipher::restore(sender.save().view());
    const Bytes after_restore = restored.encrypt(Bytes(5, 1));
    const Bytes iv = iv_of(suite, after_restore);
    EXPECT_EQ(ctr_counter_of(iv), expected);
    EXPECT_EQ(Bytes(iv.begin(), iv.begin() + 12), Bytes(ivs[0].begin(), ivs[0].begin() + 12));
    EXPECT_EQ(ctr_counter_of(iv_of(suite, restored.encrypt(Bytes(1, 1)))), expected + 1);
    EXPECT_EQ(receiver.decrypt(after_restore), Bytes(5, 1));
    // Another session chooses another nonce.
    SessionCipher other = cipher_for(suite);
    const Bytes other_iv = iv_of(suite, other.encrypt(Bytes(1, 1)));
    EXPECT_NE(Bytes(other_iv.begin(), other_iv.begin() + 12), Bytes(ivs[0].begin(), ivs[0].begin() + 12));
    EXPECT_EQ(ctr_counter_of(other_iv), 0u);
  }
}

TEST(SessionCipher, ReceiverUsesTheReceivedCtrIv) {
  // go-fdo and the conformance tools send a fresh random IV per CTR message; that must decrypt.
  for (const CipherSuite suite : kCtrSuites) {
    SCOPED_TRACE(name(suite));
    const crypto::SessionKeys keys = keys_for(suite);
    const Bytes message = etm_encrypt(suite, keys, body(40), random_bytes(16)).encode();
    EXPECT_EQ(cipher_for(suite).decrypt(message), body(40));
  }
}

TEST(SessionCipher, FreshNonceOrIvPerMessageForGcmCcmCbc) {
  for (const CipherSuite suite : kAllSuites) {
    if (crypto::cipher_suite_info(suite).mode == crypto::AesMode::Ctr) {
      continue;
    }
    SCOPED_TRACE(name(suite));
    SessionCipher c = cipher_for(suite);
    EXPECT_NE(iv_of(suite, c.encrypt(body(1))), iv_of(suite, c.encrypt(body(1))));
  }
}

TEST(SessionCipher, SaveRestoreRoundTripsEverySuite) {
  for (const CipherSuite suite : kAllSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher original = cipher_for(suite);
    static_cast<void>(original.encrypt(body(3)));
    const SecretBytes saved = original.save();
    SessionCipher restored = SessionCipher::restore(saved.view());
    EXPECT_EQ(restored.suite(), suite);
    EXPECT_TRUE(restored.save().equals(saved.view()));
    EXPECT_EQ(restored.decrypt(original.encrypt(body(7))), body(7));
    EXPECT_EQ(original.decrypt(restored.encrypt(body(8))), body(8));
  }
}

TEST(SessionCipher, RestoreRejectsUndecodableState) {
  const SecretBytes saved = cipher_for(CipherSuite::Aes128CtrHmacSha256).save();
  const ByteView s = saved.view();
  const auto rejects = [](ByteView bad) {
    expect_error([&] { static_cast<void>(SessionCipher::restore(bad)); }, ErrorCode::InternalServerError);
  };
  rejects({});
  rejects(s.first(s.size() - 1));
  Bytes trailing(s.begin(), s.end());
  trailing.push_back(0);
  rejects(trailing);
  Bytes version(s.begin(), s.end());
  version[0] = 9;
  rejects(version);
  // Suite id 2 (go-fdo's A256GCM) is no suite; and the AES128/CTR state relabelled AES256/CTR has short keys.
  Bytes unknown(s.begin(), s.end());
  unknown[8] = 2;
  for (std::size_t i = 1; i < 8; ++i) {
    unknown[i] = 0;
  }
  rejects(unknown);
  Bytes relabelled(s.begin(), s.end());
  relabelled[8] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(-17760706) & 0xff);
  rejects(relabelled);
  // A counter beyond 2^32.
  Bytes counter(s.begin(), s.end());
  counter[counter.size() - 5] = 2;
  rejects(counter);
  // An AEAD suite with a CTR nonce.
  rejects(
      from_hex("01"
               "0000000000000001"
               "0010"
               "00000000000000000000000000000000"
               "0000"
               "0c"
               "000000000000000000000000"
               "0000000000000000"));
  // The same without the nonce decodes.
  EXPECT_EQ(SessionCipher::restore(from_hex("01"
                                            "0000000000000001"
                                            "0010"
                                            "00000000000000000000000000000000"
                                            "0000"
                                            "00"
                                            "0000000000000000"))
                .suite(),
            CipherSuite::A128GCM);
}

TEST(SessionCipher, KeysOfTheWrongSizeAreOurBug) {
  expect_error([] { static_cast<void>(SessionCipher(CipherSuite::A128GCM, keys_for(CipherSuite::A256GCM))); },
               ErrorCode::InternalServerError);
  expect_error(
      [] { static_cast<void>(SessionCipher(CipherSuite::Aes128CtrHmacSha256, keys_for(CipherSuite::A128GCM))); },
      ErrorCode::InternalServerError);
}

TEST(SessionCipher, AeadTamperingGivesTheRightCodes) {
  for (const CipherSuite suite : kAeadSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher c = cipher_for(suite);
    const Bytes message = c.encrypt(body(30));
    const Encrypt0 em = Encrypt0::decode(message);
    const std::int64_t alg = crypto::cipher_suite_id(suite);
    std::vector<std::string> auth_texts;
    const auto auth_fails = [&](ByteView bad) {
      auth_texts.push_back(expect_error([&] { static_cast<void>(c.decrypt(bad)); }, ErrorCode::InvalidMessageError));
    };
    auth_fails(flip(message, message.size() - 1));                                // tag
    auth_fails(flip(message, message.size() - crypto::kAeadTagSize - 1));         // ciphertext
    auth_fails(Encrypt0::make(alg, flip(em.iv(), 0), em.ciphertext()).encode());  // IV
    auth_fails(cipher_for(suite, 1).encrypt(body(30)));                           // other keys
    for (const std::string& t : auth_texts) {
      EXPECT_EQ(t, auth_texts.front());
    }
    expect_no_step_named(auth_texts.front());
    // Another alg in the protected header: 101; an IV of another length: 100.
    const std::int64_t other = suite == CipherSuite::A128GCM ? 3 : 1;
    expect_error([&] { static_cast<void>(c.decrypt(Encrypt0::make(other, em.iv(), em.ciphertext()).encode())); },
                 ErrorCode::InvalidMessageError);
    expect_error(
        [&] { static_cast<void>(c.decrypt(Encrypt0::make(alg, concat(em.iv(), Bytes{0}), em.ciphertext()).encode())); },
        ErrorCode::MessageBodyError);
    expect_error([&] { static_cast<void>(c.decrypt(Encrypt0::make(alg, Bytes{}, em.ciphertext()).encode())); },
                 ErrorCode::MessageBodyError);
  }
}

TEST(SessionCipher, EtmTamperingGivesTheRightCodes) {
  for (const CipherSuite suite : kEtmSuites) {
    SCOPED_TRACE(name(suite));
    SessionCipher c = cipher_for(suite);
    const crypto::SessionKeys keys = keys_for(suite);
    const Bytes message = c.encrypt(body(30));
    const Encrypt0 inner = inner_of(message);
    const std::int64_t alg = crypto::cipher_suite_id(suite);
    const MacAlg mac = mac_of(suite);
    std::vector<std::string> auth_texts;
    const auto auth_fails = [&](ByteView bad) {
      auth_texts.push_back(expect_error([&] { static_cast<void>(c.decrypt(bad)); }, ErrorCode::InvalidMessageError));
    };
    const std::size_t tag_size = crypto::cipher_suite_info(suite).tag_size;
    auth_fails(flip(message, message.size() - 1));                 // HMAC tag
    auth_fails(flip(message, message.size() - tag_size - 2 - 1));  // last ciphertext byte in the payload
    auth_fails(flip(message, 12));                                 // inside the inner protected header / IV
    auth_fails(cipher_for(suite, 1).encrypt(body(30)));            // other keys
    if (crypto::cipher_suite_info(suite).mode == crypto::AesMode::Cbc) {
      // A correct MAC over a CBC ciphertext whose padding is wrong fails alike.
      const Encrypt0 bad_padding = Encrypt0::make(alg, inner.iv(), Bytes(32, 0x17));
      auth_fails(Mac0::create(mac, keys.mac_key, bad_padding.encode_untagged()).encode());
    }
    for (const std::string& t : auth_texts) {
      EXPECT_EQ(t, auth_texts.front());
    }
    expect_no_step_named(auth_texts.front());
    // Outer alg other than the suite's HMAC, or inner alg other than the suite (with a valid MAC): 101.
    const MacAlg other_mac = mac == MacAlg::HmacSha256 ? MacAlg::HmacSha384 : MacAlg::HmacSha256;
    expect_error(
        [&] { static_cast<void>(c.decrypt(Mac0::create(other_mac, keys.mac_key, inner.encode_untagged()).encode())); },
        ErrorCode::InvalidMessageError);
    const Encrypt0 other_alg = Encrypt0::make(alg == -17760704 ? -17760703 : -17760704, inner.iv(), inner.ciphertext());
    expect_error(
        [&] { static_cast<void>(c.decrypt(Mac0::create(mac, keys.mac_key, other_alg.encode_untagged()).encode())); },
        ErrorCode::InvalidMessageError);
    // An inner IV of another length under a valid MAC: 100; an inner block that is not an Encrypt0: 100.
    const Encrypt0 long_iv = Encrypt0::make(alg, concat(inner.iv(), Bytes{0}), inner.ciphertext());
    expect_error(
        [&] { static_cast<void>(c.decrypt(Mac0::create(mac, keys.mac_key, long_iv.encode_untagged()).encode())); },
        ErrorCode::MessageBodyError);
    expect_error([&] { static_cast<void>(c.decrypt(Mac0::create(mac, keys.mac_key, body(3)).encode())); },
                 ErrorCode::MessageBodyError);
  }
}

TEST(SessionCipher, WrongKindOfMessageIsABodyError) {
  const Bytes plain_cbor = body(20);
  for (const CipherSuite suite : kAllSuites) {
    SCOPED_TRACE(name(suite));
    const SessionCipher c = cipher_for(suite);
    expect_error([&] { static_cast<void>(c.decrypt(plain_cbor)); }, ErrorCode::MessageBodyError);
    expect_error([&] { static_cast<void>(c.decrypt(Bytes{})); }, ErrorCode::MessageBodyError);
    expect_error([&] { static_cast<void>(c.decrypt(Bytes{0xD0})); }, ErrorCode::MessageBodyError);
  }
  // An Encrypt0 where a Mac0 is expected, and the other way round.
  const Bytes encrypt0 = cipher_for(CipherSuite::A128GCM).encrypt(body(5));
  const Bytes mac0 = cipher_for(CipherSuite::Aes128CtrHmacSha256).encrypt(body(5));
  for (const CipherSuite suite : kEtmSuites) {
    expect_error([&] { static_cast<void>(cipher_for(suite).decrypt(encrypt0)); }, ErrorCode::MessageBodyError);
  }
  for (const CipherSuite suite : kAeadSuites) {
    expect_error([&] { static_cast<void>(cipher_for(suite).decrypt(mac0)); }, ErrorCode::MessageBodyError);
  }
  // Trailing bytes after the message.
  const SessionCipher gcm = cipher_for(CipherSuite::A128GCM);
  expect_error([&] { static_cast<void>(gcm.decrypt(concat(encrypt0, Bytes{0x00}))); }, ErrorCode::MessageBodyError);
}

TEST(SessionCipher, UntaggedMessagesOnlyUnderLeniency) {
  const Leniency untagged({Quirk::UntaggedCose});
  {
    SessionCipher c = cipher_for(CipherSuite::A256GCM);
    const Bytes message = c.encrypt(body(9));
    const Bytes bare = Encrypt0::decode(message).encode_untagged();
    expect_error([&] { static_cast<void>(c.decrypt(bare)); }, ErrorCode::MessageBodyError);
    EXPECT_EQ(c.decrypt(bare, untagged), body(9));
  }
  {
    SessionCipher c = cipher_for(CipherSuite::Aes256CbcHmacSha384);
    const Bytes message = c.encrypt(body(9));
    ASSERT_EQ(message[0], 0xD1);
    const Bytes bare(message.begin() + 1, message.end());
    expect_error([&] { static_cast<void>(c.decrypt(bare)); }, ErrorCode::MessageBodyError);
    EXPECT_EQ(c.decrypt(bare, untagged), body(9));
  }
}

}  // namespace
}  // namespace fdo::cose
