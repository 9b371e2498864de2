#include "libfdo/cbor/writer.h"

#include "libfdo/cbor/reader.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace fdo::cbor {
namespace {

std::string trim(const std::string& s) {
  const std::size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

struct Vector {
  std::string call;
  std::string argument;
  std::string hex;
};

// writer_vectors.txt: "call argument | hex" (README.md in libfdo/testdata/cbor/).
std::vector<Vector> load_vectors() {
  const std::string path = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/cbor/writer_vectors.txt";
  std::ifstream file(path);
  EXPECT_TRUE(file.is_open()) << "cannot open " << path;
  std::vector<Vector> out;
  std::string line;
  while (std::getline(file, line)) {
    line = trim(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::size_t bar = line.find('|');
    const std::string left = trim(line.substr(0, bar));
    const std::size_t space = left.find(' ');
    out.push_back({left.substr(0, space), space == std::string::npos ? "" : trim(left.substr(space + 1)),
                   bar == std::string::npos ? "" : trim(line.substr(bar + 1))});
  }
  return out;
}

TEST(WriterVectors, ShortestHeadsAtEveryBoundary) {
  const std::vector<Vector> vectors = load_vectors();
  ASSERT_GE(vectors.size(), 50U);
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.call + " " + v.argument);
    Writer w;
    std::size_t content = 0;
    if (v.call == "uint") {
      w.uint(std::stoull(v.argument));
    } else if (v.call == "int") {
      w.int_(std::stoll(v.argument));
    } else if (v.call == "bstr_head") {
      content = std::stoull(v.argument);
      w.bstr(Bytes(content, 0x5a));
    } else if (v.call == "tstr_head") {
      content = std::stoull(v.argument);
      w.tstr(std::string(content, 'z'));
    } else if (v.call == "array") {
      w.array(std::stoull(v.argument));
    } else if (v.call == "map") {
      w.map(std::stoull(v.argument));
    } else if (v.call == "tag") {
      w.tag(std::stoull(v.argument));
    } else if (v.call == "bool") {
      w.boolean(v.argument == "true");
    } else if (v.call == "null") {
      w.null();
    } else {
      ADD_FAILURE() << "unknown call " << v.call;
      continue;
    }
    const Bytes expected_head = from_hex(v.hex);
    ASSERT_EQ(w.bytes().size(), expected_head.size() + content);
    EXPECT_EQ(to_hex(ByteView(w.bytes()).first(expected_head.size())), v.hex);
    for (std::size_t i = expected_head.size(); i < w.bytes().size(); ++i) {
      ASSERT_EQ(w.bytes()[i], v.call == "bstr_head" ? 0x5a : 'z');
    }
  }
}

TEST(Writer, WriteMapSortsKeysByEncodedBytes) {
  // RFC 8949 §4.2.1's example key list, given here in reverse order; the RFC's sorted order is
  // 10, 100, -1, "z", "aa", [100], [-1], false.
  Writer list_100;
  list_100.array(1).uint(100);
  Writer list_minus1;
  list_minus1.array(1).int_(-1);
  Writer key_false;
  key_false.boolean(false);
  std::vector<std::pair<Bytes, Bytes>> entries = {
      {key_false.bytes(), encode_uint(7)}, {list_minus1.bytes(), encode_uint(6)}, {list_100.bytes(), encode_uint(5)},
      {encode_tstr("aa"), encode_uint(4)}, {encode_tstr("z"), encode_uint(3)},    {encode_int(-1), encode_uint(2)},
      {encode_uint(100), encode_uint(1)},  {encode_uint(10), encode_uint(0)},
  };
  Writer w;
  w.write_map(entries);
  EXPECT_EQ(to_hex(w.bytes()), "a80a001864012002617a036261610481186405812006f407");
}

TEST(Writer, WriteMapOrdersShorterKeyFirstAndByLength) {
  // Bytewise lexicographic order puts a key before every longer key it prefixes, and a longer
  // encoding of a bigger integer after all shorter ones (RFC 8949 §4.2.1).
  Writer w;
  w.write_map(
      {{encode_uint(256), encode_uint(0)}, {encode_uint(255), encode_uint(0)}, {encode_uint(1), encode_uint(0)}});
  EXPECT_EQ(to_hex(w.bytes()), "a3010018ff0019010000");
}

TEST(Writer, WriteMapRejectsDuplicateKeys) {
  Writer w;
  try {
    w.write_map({{encode_uint(1), encode_uint(0)}, {encode_uint(1), encode_uint(2)}});
    ADD_FAILURE() << "duplicate key accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
  }
}

TEST(Writer, IntCoversInt64Min) {
  EXPECT_EQ(to_hex(encode_int(std::numeric_limits<std::int64_t>::min())), "3b7fffffffffffffff");
  EXPECT_EQ(to_hex(encode_int(std::numeric_limits<std::int64_t>::max())), "1b7fffffffffffffff");
  const Bytes encoded = encode_int(std::numeric_limits<std::int64_t>::min());
  Reader r(encoded, "I");
  EXPECT_EQ(r.read_int("min"), std::numeric_limits<std::int64_t>::min());
}

TEST(Writer, TstrMustBeUtf8) {
  Writer w;
  EXPECT_THROW(w.tstr("\xc3\x28"), Error);
  w.tstr("\xe6\xb0\xb4");
  EXPECT_EQ(to_hex(w.bytes()), "63e6b0b4");
}

TEST(Writer, RawAppendsVerbatim) {
  const Bytes non_canonical = from_hex("1800");  // 0, not in its shortest form: kept as is
  Writer w;
  w.array(2).raw(non_canonical).raw(encode_bstr(from_hex("01")));
  EXPECT_EQ(to_hex(w.bytes()), "8218004101");
}

TEST(Writer, EncodeHelpersMatchWriterCalls) {
  EXPECT_EQ(to_hex(encode_uint(1000)), "1903e8");
  EXPECT_EQ(to_hex(encode_int(-1000)), "3903e7");
  EXPECT_EQ(to_hex(encode_bstr(from_hex("01020304"))), "4401020304");
  EXPECT_EQ(to_hex(encode_tstr("IETF")), "6449455446");
}

TEST(Writer, BuildsFdoShapes) {
  // Hash = [hashtype, hash]: a SHA-256 Hash starts 82 2F 58 20 (FDO 1.1 §3.3).
  Writer hash;
  hash.array(2).int_(-16).bstr(Bytes(32, 0x11));
  EXPECT_EQ(to_hex(ByteView(hash.bytes()).first(4)), "822f5820");
  // COSE_Sign1 with protected {1: -7}: 18([h'a10126', {}, payload, signature]).
  Writer sign1;
  sign1.tag(18).array(4).bstr(from_hex("a10126")).map(0).bstr(from_hex("f6")).bstr(from_hex("00"));
  EXPECT_EQ(to_hex(sign1.bytes()), "d28443a10126a041f64100");
  EXPECT_TRUE(is_single_item(sign1.bytes()));
}

}  // namespace
}  // namespace fdo::cbor
