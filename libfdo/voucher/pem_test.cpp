// PEM framing of vouchers (docs/voucher.md "PEM files", OV-20).

#include "libfdo/core/internal/expect_error.h"
#include "libfdo/voucher/pem.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

namespace fdo::voucher {
namespace {

Bytes sample(std::size_t n, std::uint8_t seed) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::uint8_t>(seed + i * 7);
  }
  out[0] = 0x85;
  return out;
}

std::vector<VoucherInput> read(std::string_view text) { return read_vouchers(to_bytes(text)); }

TEST(VoucherPem, WritesLfSixtyFourColumnsAndAFinalNewline) {
  const Bytes cbor = sample(100, 1);
  const std::string pem = to_pem(cbor);
  EXPECT_EQ(pem.rfind("-----BEGIN OWNERSHIP VOUCHER-----\n", 0), 0u);
  EXPECT_EQ(pem.substr(pem.size() - 32), "-----END OWNERSHIP VOUCHER-----\n");
  EXPECT_EQ(pem.find('\r'), std::string::npos);
  // 100 bytes → 136 base64 characters: lines of 64, 64 and 8.
  const std::size_t first = pem.find('\n') + 1;
  EXPECT_EQ(pem.find('\n', first) - first, 64u);
  const std::size_t second = pem.find('\n', first) + 1;
  EXPECT_EQ(pem.find('\n', second) - second, 64u);
  const std::size_t third = pem.find('\n', second) + 1;
  EXPECT_EQ(pem.find('\n', third) - third, 8u);
  const std::vector<VoucherInput> back = read(pem);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].cbor, cbor);
  EXPECT_FALSE(back[0].private_key_pem.has_value());
}

TEST(VoucherPem, BodyStartsWithHRhlForAVoucher) {
  EXPECT_EQ(to_pem(from_hex("851865")).substr(34, 4), "hRhl");
}

TEST(VoucherPem, ReadsCrlfAndJavaStyleWithoutFinalNewline) {
  const Bytes cbor = sample(70, 2);
  std::string pem = to_pem(cbor);
  std::string crlf;
  for (const char c : pem) {
    if (c == '\n') {
      crlf += "\r\n";
    } else {
      crlf += c;
    }
  }
  EXPECT_EQ(read(crlf).at(0).cbor, cbor);
  crlf.resize(crlf.size() - 2);
  EXPECT_EQ(read(crlf).at(0).cbor, cbor);
  // Whitespace around lines and blank lines between them.
  std::string spaced = "\n  \n" + pem;
  spaced.insert(spaced.find('\n', 40) + 1, "   \n");
  EXPECT_EQ(read(spaced).at(0).cbor, cbor);
}

TEST(VoucherPem, ReadsSeveralVouchersAndSkipsOtherLabels) {
  const Bytes a = sample(50, 3);
  const Bytes b = sample(60, 4);
  const std::string cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const std::vector<VoucherInput> out = read(to_pem(a) + cert + "some text\n" + to_pem(b));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].cbor, a);
  EXPECT_EQ(out[1].cbor, b);
  EXPECT_EQ(out[0].index, 1u);
  EXPECT_EQ(out[1].index, 2u);
}

TEST(VoucherPem, OffersAPrivateKeyBlockThatFollowsAVoucher) {  // OV-20, "voucher-key-bundle"
  const Bytes a = sample(50, 5);
  const std::string key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----";
  const std::vector<VoucherInput> out = read(to_pem(a) + key + "\n");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].private_key_pem.has_value());
  EXPECT_EQ(to_string(out[0].private_key_pem->view()), key);
  // EC PRIVATE KEY (Java PRI's bundle) is offered too; a key before any voucher is not.
  const std::string ec = "-----BEGIN EC PRIVATE KEY-----\r\nAAAA\r\n-----END EC PRIVATE KEY-----\r\n";
  EXPECT_TRUE(read(to_pem(a) + ec).at(0).private_key_pem.has_value());
  EXPECT_FALSE(read(ec + to_pem(a)).at(0).private_key_pem.has_value());
}

TEST(VoucherPem, RefusesAFileWithoutVoucherBlocks) {  // OV-20
  try {
    static_cast<void>(read("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    ADD_FAILURE() << "a certificate was read as a voucher";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
    EXPECT_NE(std::string(e.what()).find("found: CERTIFICATE"), std::string::npos) << e.what();
  }
}

TEST(VoucherPem, RefusesBrokenFraming) {
  const std::string pem = to_pem(sample(40, 6));
  test::expect_error([&] { (void)read(pem.substr(0, pem.size() - 10)); }, ErrorCode::MessageBodyError);  // no END
  std::string mismatched = pem;
  mismatched.replace(mismatched.find("END OWNERSHIP"), 13, "END CERTIFIC8");
  test::expect_error([&] { (void)read(mismatched); }, ErrorCode::MessageBodyError);
  std::string bad_base64 = pem;
  bad_base64[40] = '*';
  test::expect_error([&] { (void)read(bad_base64); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { (void)read("-----BEGIN OWNERSHIP VOUCHER-----\n-----END OWNERSHIP VOUCHER-----\n"); },
                     ErrorCode::MessageBodyError);
  test::expect_error(
      [&] { (void)read("-----BEGIN OWNERSHIP VOUCHER-----\n-----BEGIN OWNERSHIP VOUCHER-----\n"); },
      ErrorCode::MessageBodyError);
}

TEST(VoucherPem, TakesOtherInputAsOneRawCborVoucher) {
  const Bytes raw = sample(30, 7);
  const std::vector<VoucherInput> out = read_vouchers(raw);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].cbor, raw);
  EXPECT_THROW(static_cast<void>(read_vouchers(Bytes{})), Error);
}

}  // namespace
}  // namespace fdo::voucher
