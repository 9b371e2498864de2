// The shared PEM framing (libfdo/core/pem.h, RFC 7468) that keys, certificates and vouchers use.
#include "libfdo/core/pem.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/core/error.h"
#include "libfdo/core/internal/expect_error.h"

namespace fdo::pem {
namespace {

using test::expect_error;

Bytes counting(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::uint8_t>(i * 13 + 1);
  }
  return out;
}

std::string crlf(const std::string& lf) {
  std::string out;
  for (const char c : lf) {
    if (c == '\n') {
      out += '\r';
    }
    out += c;
  }
  return out;
}

TEST(Pem, WritesLfSixtyFourColumnsAndReadsItBack) {
  const Bytes contents = counting(100);
  const std::string text = write("TEST DATA", contents);
  EXPECT_EQ(text.rfind("-----BEGIN TEST DATA-----\n", 0), 0u);
  EXPECT_EQ(text.substr(text.size() - 24), "-----END TEST DATA-----\n");
  EXPECT_EQ(text.find('\r'), std::string::npos);
  // 100 bytes are 136 base64 characters: lines of 64, 64 and 8.
  EXPECT_EQ(text.find('\n', 26) - 26, 64u);
  const std::vector<Block> blocks = read_blocks(text);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].label, "TEST DATA");
  EXPECT_EQ(blocks[0].line, 1u);
  EXPECT_EQ(blocks[0].decode(), contents);
  EXPECT_EQ(std::string(blocks[0].text) + "\n", text);
  EXPECT_EQ(write("EMPTY", Bytes{}), "-----BEGIN EMPTY-----\n-----END EMPTY-----\n");
  EXPECT_EQ(read_blocks(write("EMPTY", Bytes{})).at(0).decode(), Bytes{});
}

TEST(Pem, ReadsSeveralBlocksWithJunkBetweenThemInOrder) {
  const std::string text = "Subject: leaf\nsome notes\n" + write("CERTIFICATE", counting(10)) +
                           "\n  between the blocks  \n" + write("PUBLIC KEY", counting(70)) + "trailer";
  const std::vector<Block> blocks = read_blocks(text);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].label, "CERTIFICATE");
  EXPECT_EQ(blocks[0].line, 3u);
  EXPECT_EQ(blocks[0].decode(), counting(10));
  EXPECT_EQ(blocks[1].label, "PUBLIC KEY");
  EXPECT_EQ(blocks[1].line, 8u);
  EXPECT_EQ(blocks[1].decode(), counting(70));
  EXPECT_EQ(blocks[1].text.substr(0, 22), "-----BEGIN PUBLIC KEY-");
  EXPECT_TRUE(read_blocks("no PEM here\n").empty());
  EXPECT_TRUE(read_blocks("").empty());
}

TEST(Pem, ReadsCrlfBlanksAroundLinesAndNoFinalNewline) {
  const std::string lf = write("OWNERSHIP VOUCHER", counting(90));
  std::string text = crlf(lf);
  text.pop_back();  // no final line end, as some Java tools write
  text.pop_back();
  text = "\r\n  " + text;
  const std::vector<Block> blocks = read_blocks(text);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].decode(), counting(90));
  EXPECT_TRUE(starts_with_begin(text));
  EXPECT_FALSE(starts_with_begin("x-----BEGIN A-----"));
  EXPECT_FALSE(starts_with_begin("  \n"));
}

TEST(Pem, SkipsRfc1421HeaderLinesBeforeTheBase64) {
  const std::string text =
      "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAQID\n"
      "-----END RSA PRIVATE KEY-----\n";
  EXPECT_EQ(read_blocks(text).at(0).decode(), (Bytes{1, 2, 3}));
}

TEST(Pem, RefusesBrokenFramingNamingTheLine) {
  const std::string good = write("A", counting(5));
  const std::string no_end = expect_error([&] { (void)read_blocks(good.substr(0, good.size() - 16)); },
                                          ErrorCode::MessageBodyError);
  EXPECT_NE(no_end.find("block 'A' (PEM line 1) has no END line"), std::string::npos) << no_end;
  const std::string stray =
      expect_error([] { (void)read_blocks("x\n-----END A-----\n"); }, ErrorCode::MessageBodyError);
  EXPECT_NE(stray.find("PEM line 2: END line without a BEGIN line"), std::string::npos) << stray;
  const std::string mismatch =
      expect_error([] { (void)read_blocks("-----BEGIN A-----\nAQID\n-----END B-----\n"); }, ErrorCode::MessageBodyError);
  EXPECT_NE(mismatch.find("PEM line 3: END label 'B' does not match BEGIN label 'A'"), std::string::npos) << mismatch;
  const std::string nested = expect_error([] { (void)read_blocks("-----BEGIN A-----\n-----BEGIN A-----\n"); },
                                          ErrorCode::MessageBodyError);
  EXPECT_NE(nested.find("PEM line 2: BEGIN line inside block 'A'"), std::string::npos) << nested;
}

TEST(Pem, BadBase64IsAnErrorOfDecodeNamingTheBlock) {
  for (const char* body : {"AQ*D", "A", "AQID\nNot: a header after the base64"}) {
    SCOPED_TRACE(body);
    const std::string text = "junk\n-----BEGIN KEY-----\n" + std::string(body) + "\n-----END KEY-----\n";
    const std::vector<Block> blocks = read_blocks(text);  // framing is fine
    ASSERT_EQ(blocks.size(), 1u);
    const std::string what = expect_error([&] { (void)blocks[0].decode(); }, ErrorCode::MessageBodyError);
    EXPECT_NE(what.find("PEM: block 'KEY' (PEM line 2)"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace fdo::pem
