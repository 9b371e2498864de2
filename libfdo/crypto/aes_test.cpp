#include "libfdo/crypto/aes.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/internal/test_util.h"

namespace fdo::crypto {
namespace {

using test::expect_error;
using test::hex_field;
using test::read_records;
using Case = test::Record;

ErrorCode code_field(const Case& c) { return static_cast<ErrorCode>(std::stoi(c.at("error"))); }

using AeadEncrypt = Bytes (*)(ByteView, ByteView, ByteView, ByteView);

/// Checks every case of an AEAD vector file; returns the number of positive and negative cases.
std::pair<int, int> run_aead_file(const std::string& file, AeadEncrypt encrypt, AeadEncrypt decrypt) {
  int positive = 0;
  int negative = 0;
  for (const Case& c : read_records(file)) {
    SCOPED_TRACE(c.at("name"));
    const Bytes key = hex_field(c, "key");
    const Bytes iv = hex_field(c, "iv");
    const Bytes aad = hex_field(c, "aad");
    const Bytes ct = hex_field(c, "ct");
    if (c.count("error") != 0) {
      expect_error([&] { (void)decrypt(key, iv, aad, ct); }, code_field(c));
      ++negative;
      continue;
    }
    const Bytes pt = hex_field(c, "pt");
    EXPECT_EQ(to_hex(encrypt(key, iv, aad, pt)), to_hex(ct));
    EXPECT_EQ(to_hex(decrypt(key, iv, aad, ct)), to_hex(pt));
    ++positive;
  }
  return {positive, negative};
}

TEST(AesGcm, McGrewViegaVectorsAndTheirCorruptions) {
  const auto [positive, negative] = run_aead_file("aes_gcm_vectors.txt", aes_gcm_encrypt, aes_gcm_decrypt);
  EXPECT_EQ(positive, 8);
  EXPECT_EQ(negative, 7);
}

TEST(AesCcm, CoseExamplesAndTheirCorruptions) {
  const auto [positive, negative] = run_aead_file("aes_ccm_vectors.txt", aes_ccm_encrypt, aes_ccm_decrypt);
  EXPECT_EQ(positive, 6);
  EXPECT_EQ(negative, 5);
}

TEST(AesCtrCbc, Sp800_38aVectorsAndPaddingErrors) {
  int positive = 0;
  int negative = 0;
  for (const Case& c : read_records("aes_ctr_cbc_vectors.txt")) {
    SCOPED_TRACE(c.at("name"));
    const bool cbc = c.at("mode") == "CBC";
    const auto encrypt = cbc ? aes_cbc_encrypt : aes_ctr_encrypt;
    const auto decrypt = cbc ? aes_cbc_decrypt : aes_ctr_decrypt;
    const Bytes key = hex_field(c, "key");
    const Bytes iv = hex_field(c, "iv");
    const Bytes ct = hex_field(c, "ct");
    if (c.count("error") != 0) {
      expect_error([&] { (void)decrypt(key, iv, ct); }, code_field(c));
      ++negative;
      continue;
    }
    const Bytes pt = hex_field(c, "pt");
    EXPECT_EQ(to_hex(encrypt(key, iv, pt)), to_hex(ct));
    EXPECT_EQ(to_hex(decrypt(key, iv, ct)), to_hex(pt));
    ++positive;
  }
  EXPECT_EQ(positive, 8);
  EXPECT_EQ(negative, 7);
}

/// Flips every bit of an AEAD output in turn; each must fail with the same 101 message.
void expect_every_bit_flip_fails(AeadEncrypt encrypt, AeadEncrypt decrypt, std::size_t iv_size) {
  const Bytes key = random_bytes(16);
  const Bytes iv = random_bytes(iv_size);
  const Bytes aad = to_bytes("Enc_structure");
  const Bytes sealed = encrypt(key, iv, aad, to_bytes("TO2.SetupDevice body"));
  std::string first_message;
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    Bytes corrupt = sealed;
    corrupt[bit / 8] = static_cast<std::uint8_t>(corrupt[bit / 8] ^ (1u << (bit % 8)));
    const std::string message =
        expect_error([&] { (void)decrypt(key, iv, aad, corrupt); }, ErrorCode::InvalidMessageError);
    if (bit == 0) {
      first_message = message;
    }
    EXPECT_EQ(message, first_message) << "bit " << bit;
  }
  EXPECT_EQ(first_message, "decryption failed");
}

TEST(AesGcm, EveryFlippedCiphertextOrTagBitFailsAlike) {
  expect_every_bit_flip_fails(aes_gcm_encrypt, aes_gcm_decrypt, kGcmIvSize);
}

TEST(AesCcm, EveryFlippedCiphertextOrTagBitFailsAlike) {
  expect_every_bit_flip_fails(aes_ccm_encrypt, aes_ccm_decrypt, kCcmShortNonceSize);
  expect_every_bit_flip_fails(aes_ccm_encrypt, aes_ccm_decrypt, kCcmLongNonceSize);
}

TEST(AesCbc, PaddingAndLengthFailuresLookLikeTagFailures) {
  const Bytes key = random_bytes(32);
  const Bytes iv = random_bytes(kAesBlockSize);
  Bytes ct = aes_cbc_encrypt(key, iv, to_bytes("0123456789abcdef"));
  ASSERT_EQ(ct.size(), 32u);
  // The last byte of the first block is XORed into the padding byte of the second.
  ct[15] = static_cast<std::uint8_t>(ct[15] ^ 0xFF);
  const std::string padding = expect_error([&] { (void)aes_cbc_decrypt(key, iv, ct); }, ErrorCode::InvalidMessageError);
  ct.pop_back();
  const std::string length = expect_error([&] { (void)aes_cbc_decrypt(key, iv, ct); }, ErrorCode::InvalidMessageError);
  const std::string tag = expect_error(
      [&] { (void)aes_gcm_decrypt(key, Bytes(kGcmIvSize), {}, Bytes(kAeadTagSize)); }, ErrorCode::InvalidMessageError);
  EXPECT_EQ(padding, "decryption failed");
  EXPECT_EQ(length, padding);
  EXPECT_EQ(tag, padding);
}

TEST(Aes, RoundTripsEverySizeInAllModesAndKeySizes) {
  for (const std::size_t key_size : {16u, 32u}) {
    const Bytes key = random_bytes(key_size);
    for (std::size_t n = 0; n <= 70; ++n) {
      SCOPED_TRACE("key " + std::to_string(key_size) + ", plaintext " + std::to_string(n));
      const Bytes pt = random_bytes(n);
      const Bytes aad = random_bytes(n % 7);
      const Bytes gcm_iv = random_bytes(kGcmIvSize);
      EXPECT_EQ(aes_gcm_decrypt(key, gcm_iv, aad, aes_gcm_encrypt(key, gcm_iv, aad, pt)), pt);
      for (const std::size_t nonce_size : {kCcmShortNonceSize, kCcmLongNonceSize}) {
        const Bytes nonce = random_bytes(nonce_size);
        EXPECT_EQ(aes_ccm_decrypt(key, nonce, aad, aes_ccm_encrypt(key, nonce, aad, pt)), pt);
      }
      const Bytes iv = random_bytes(kAesBlockSize);
      const Bytes ctr = aes_ctr_encrypt(key, iv, pt);
      EXPECT_EQ(ctr.size(), n);
      EXPECT_EQ(aes_ctr_decrypt(key, iv, ctr), pt);
      const Bytes cbc = aes_cbc_encrypt(key, iv, pt);
      EXPECT_EQ(cbc.size(), (n / kAesBlockSize + 1) * kAesBlockSize);
      EXPECT_EQ(aes_cbc_decrypt(key, iv, cbc), pt);
    }
  }
}

TEST(Aes, AeadOutputIsCiphertextThenSixteenByteTag) {
  const Bytes key(16, 0x42);
  const Bytes iv(kGcmIvSize, 0x01);
  const Bytes pt = to_bytes("hello");
  const Bytes sealed = aes_gcm_encrypt(key, iv, {}, pt);
  ASSERT_EQ(sealed.size(), pt.size() + kAeadTagSize);
  // GCM's ciphertext is CTR mode starting at counter block IV ‖ 00000002 (SP 800-38D §7.1).
  Bytes counter = iv;
  append(counter, Bytes{0, 0, 0, 2});
  EXPECT_EQ(Bytes(sealed.begin(), sealed.begin() + 5), aes_ctr_encrypt(key, counter, pt));
}

TEST(Aes, RejectsWrongKeyAndIvSizes) {
  const Bytes pt = to_bytes("x");
  for (const std::size_t bad_key : {0u, 15u, 24u, 33u}) {
    const Bytes key(bad_key, 1);
    expect_error([&] { (void)aes_gcm_encrypt(key, Bytes(12), {}, pt); }, ErrorCode::MessageBodyError);
    expect_error([&] { (void)aes_ccm_encrypt(key, Bytes(13), {}, pt); }, ErrorCode::MessageBodyError);
    expect_error([&] { (void)aes_ctr_encrypt(key, Bytes(16), pt); }, ErrorCode::MessageBodyError);
    expect_error([&] { (void)aes_cbc_decrypt(key, Bytes(16), Bytes(16)); }, ErrorCode::MessageBodyError);
  }
  const Bytes key(16, 1);
  for (const std::size_t bad_iv : {0u, 8u, 11u, 13u, 16u}) {
    expect_error([&] { (void)aes_gcm_encrypt(key, Bytes(bad_iv), {}, pt); }, ErrorCode::MessageBodyError);
    expect_error([&] { (void)aes_gcm_decrypt(key, Bytes(bad_iv), {}, Bytes(32)); }, ErrorCode::MessageBodyError);
  }
  for (const std::size_t bad_nonce : {0u, 6u, 8u, 12u, 14u}) {
    expect_error([&] { (void)aes_ccm_encrypt(key, Bytes(bad_nonce), {}, pt); }, ErrorCode::MessageBodyError);
  }
  for (const std::size_t bad_iv : {0u, 12u, 15u, 17u}) {
    expect_error([&] { (void)aes_ctr_encrypt(key, Bytes(bad_iv), pt); }, ErrorCode::MessageBodyError);
    expect_error([&] { (void)aes_cbc_encrypt(key, Bytes(bad_iv), pt); }, ErrorCode::MessageBodyError);
  }
}

TEST(AesCcm, ThirteenByteNonceLimitsPlaintextTo65535Bytes) {
  const Bytes key(16, 7);
  const Bytes nonce(kCcmLongNonceSize, 9);
  const Bytes largest(65535, 0xAB);
  EXPECT_EQ(aes_ccm_decrypt(key, nonce, {}, aes_ccm_encrypt(key, nonce, {}, largest)), largest);
  expect_error([&] { (void)aes_ccm_encrypt(key, nonce, {}, Bytes(65536)); }, ErrorCode::MessageBodyError);
  // The 7-byte nonce leaves an 8-byte length field: no practical limit.
  const Bytes short_nonce(kCcmShortNonceSize, 9);
  const Bytes big(65536, 0xCD);
  EXPECT_EQ(aes_ccm_decrypt(key, short_nonce, {}, aes_ccm_encrypt(key, short_nonce, {}, big)), big);
}

}  // namespace
}  // namespace fdo::crypto
