#include "libfdo/cbor/diag.h"

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace fdo::cbor {
namespace {

constexpr DiagOptions kFlat{.pretty = false, .expand_embedded = false, .max_bstr = 0};

std::string trim(const std::string& s) {
  const std::size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::string flat(const std::string& hex) { return to_diag(from_hex(hex), kFlat); }

TEST(DiagAppendixA, MatchesRfcDiagnosticNotation) {
  const std::string path = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/cbor/rfc8949_appendix_a.txt";
  std::ifstream file(path);
  ASSERT_TRUE(file.is_open()) << "cannot open " << path;
  std::string line;
  int rows = 0;
  while (std::getline(file, line)) {
    line = trim(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::size_t first = line.find('|');
    const std::size_t second = line.find('|', first + 1);
    ASSERT_NE(second, std::string::npos) << line;
    const std::string hex = trim(line.substr(0, first));
    const std::string expected = trim(line.substr(first + 1, second - first - 1));
    EXPECT_EQ(flat(hex), expected) << hex;
    ++rows;
  }
  EXPECT_EQ(rows, 81);
}

TEST(Diag, ExpandsEmbeddedCborWhenOneWholeItem) {
  const DiagOptions expand{.pretty = false, .expand_embedded = true, .max_bstr = 0};
  EXPECT_EQ(to_diag(from_hex("d818456449455446"), expand), "24(<<\"IETF\">>)");
  // COSE_Sign1 with protected header bstr .cbor {1: -7}.
  EXPECT_EQ(to_diag(from_hex("d28443a10126a041f64100"), expand), "18([<<{1: -7}>>, {}, <<null>>, <<0>>])");
  // Two items, or a truncated one, stay hex.
  EXPECT_EQ(to_diag(from_hex("420102"), expand), "h'0102'");
  EXPECT_EQ(to_diag(from_hex("4118"), expand), "h'18'");
  EXPECT_EQ(to_diag(from_hex("40"), expand), "h''");
  // Nested embedding.
  EXPECT_EQ(to_diag(from_hex("43420102"), expand), "<<h'0102'>>");
}

TEST(Diag, PrettyIndentsNestedContainers) {
  Writer w;
  w.array(3).uint(1).map(1).tstr("a").array(1).uint(2).tag(18).array(2).bstr({}).map(0);
  EXPECT_EQ(to_diag(w.bytes()),
            "[\n"
            "  1,\n"
            "  {\n"
            "    \"a\": [\n"
            "      2\n"
            "    ]\n"
            "  },\n"
            "  18([\n"
            "    h'',\n"
            "    {}\n"
            "  ])\n"
            "]");
}

TEST(Diag, PrettyIndentsInsideEmbeddedItems) {
  Writer inner;
  inner.array(2).uint(1).uint(2);
  Writer outer;
  outer.array(1).bstr(inner.bytes());
  EXPECT_EQ(to_diag(outer.bytes()), "[\n  <<[\n    1,\n    2\n  ]>>\n]");
}

TEST(Diag, MalformedInputKeepsWhatWasPrinted) {
  EXPECT_EQ(flat("8301"), "[1, <error: end of input at offset 2>");
  EXPECT_EQ(flat("0102"), "1 <error: 1 trailing bytes at offset 1>");
  EXPECT_EQ(to_diag({}), "<error: end of input at offset 0>");
  EXPECT_EQ(flat("82015b1000000000000000"),
            "[1, <error: string of 1152921504606846976 bytes with 0 bytes left at offset 2>");
  EXPECT_EQ(flat("1c"), "<error: reserved additional information 28 (initial byte 0x1c) at offset 0>");
  EXPECT_EQ(flat("8162c328"), "[ <error: invalid UTF-8 in tstr at offset 1>");
  EXPECT_EQ(flat("81ff"), "[ <error: break (0xff) outside an indefinite-length item at offset 1>");
  EXPECT_EQ(flat("5f4101614100ff"),
            "(_ h'01', <error: chunk of an indefinite-length string is not a definite string of the same type at "
            "offset 3>");
  EXPECT_EQ(flat("f810"), "<error: two-byte simple value 16 below 32 at offset 0>");
}

TEST(Diag, NestingDeeperThan64IsAnError) {
  const Bytes ok(64, 0x81);
  Bytes ok_input = ok;
  ok_input.push_back(0x00);
  EXPECT_EQ(to_diag(ok_input, kFlat).find("<error"), std::string::npos);
  Bytes deep = ok;
  deep.push_back(0x81);
  deep.push_back(0x00);
  EXPECT_NE(to_diag(deep, kFlat).find("<error: nesting deeper than 64 levels"), std::string::npos);
  const Bytes very_deep(100000, 0xc6);
  EXPECT_NE(to_diag(very_deep).find("<error: nesting deeper than 64 levels"), std::string::npos);
  const Bytes embedded_chain(60000, 0x41);  // h'41...': bstrs inside bstrs
  EXPECT_NO_THROW((void)to_diag(embedded_chain));
}

TEST(Diag, LongByteStringsAreShortenedOnRequest) {
  const DiagOptions shortened{.pretty = false, .expand_embedded = false, .max_bstr = 4};
  EXPECT_EQ(to_diag(encode_bstr(from_hex("00010203040506")), shortened), "h'00010203...' / 7 bytes /");
  EXPECT_EQ(to_diag(encode_bstr(from_hex("00010203")), shortened), "h'00010203'");
}

TEST(Diag, TextIsEscaped) {
  EXPECT_EQ(to_diag(encode_tstr("a\n\"\\\x01\x7f\t"), kFlat), "\"a\\n\\\"\\\\\\u0001\\u007f\\t\"");
}

TEST(Diag, NeverThrowsOnTruncatedOrCorruptedInput) {
  // Seeded corruption sweep (docs/style.md §9): FDO_TEST_SEED=<n> replays a run.
  const char* env = std::getenv("FDO_TEST_SEED");
  const std::uint32_t seed = env != nullptr ? static_cast<std::uint32_t>(std::stoul(env)) : std::random_device{}();
  std::cout << "FDO_TEST_SEED=" << seed << "\n";
  std::mt19937 rng(seed);
  Writer w;
  w.tag(18).array(4).bstr(from_hex("a10126")).map(1).int_(-259).bstr(Bytes(16, 7)).bstr(from_hex("83010203"));
  w.bstr(Bytes(64, 9));
  const Bytes sample = w.bytes();
  for (std::size_t length = 0; length < sample.size(); ++length) {
    const std::string out = to_diag(ByteView(sample).first(length));
    EXPECT_NE(out.find("<error: "), std::string::npos) << length;
  }
  for (int round = 0; round < 3000; ++round) {
    Bytes input = sample;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
    }
    EXPECT_NO_THROW((void)to_diag(input)) << "seed " << seed;
  }
}

}  // namespace
}  // namespace fdo::cbor
