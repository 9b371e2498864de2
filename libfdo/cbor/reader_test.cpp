#include "libfdo/cbor/reader.h"

#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace fdo::cbor {
namespace {

using Row = std::vector<std::string>;

std::string trim(const std::string& s) {
  const std::size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// Rows of a table file in libfdo/testdata/cbor/ (README.md there describes the format).
std::vector<Row> load_table(const std::string& name, std::size_t columns) {
  const std::string path = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/cbor/" + name;
  std::ifstream file(path);
  EXPECT_TRUE(file.is_open()) << "cannot open " << path;
  std::vector<Row> rows;
  std::string line;
  while (std::getline(file, line)) {
    line = trim(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    Row row;
    std::size_t start = 0;
    while (true) {
      const std::size_t bar = line.find('|', start);
      row.push_back(trim(line.substr(start, bar - start)));
      if (bar == std::string::npos) {
        break;
      }
      start = bar + 1;
    }
    EXPECT_EQ(row.size(), columns) << name << ": " << line;
    if (row.size() == columns) {
      rows.push_back(row);
    }
  }
  return rows;
}

Bytes hex_input(const std::string& text) { return text == "-" ? Bytes{} : from_hex(text); }

// Copies one item from a Reader to a Writer using only the typed read_* calls.
void copy_item(Reader& in, Writer& out) {
  switch (in.peek_type()) {
    case MajorType::Unsigned:
      out.uint(in.read_uint("uint"));
      return;
    case MajorType::Negative:
      out.int_(in.read_int("int"));
      return;
    case MajorType::Bytes:
      out.bstr(in.read_bstr_view("bstr"));
      return;
    case MajorType::Text:
      out.tstr(in.read_tstr("tstr"));
      return;
    case MajorType::Array: {
      const std::size_t count = in.read_array("array");
      out.array(count);
      for (std::size_t i = 0; i < count; ++i) {
        copy_item(in, out);
      }
      return;
    }
    case MajorType::Map: {
      const std::size_t count = in.read_map("map");
      out.map(count);
      for (std::size_t i = 0; i < 2 * count; ++i) {
        copy_item(in, out);
      }
      return;
    }
    case MajorType::Tag:
      out.tag(in.read_tag("tag"));
      copy_item(in, out);
      return;
    case MajorType::Simple:
      if (in.try_read_null()) {
        out.null();
      } else {
        out.boolean(in.read_bool("simple"));
      }
      return;
  }
}

// Runs one call of the reader_cases.txt language.
void run_call(Reader& reader, const std::string& call, const std::string& field) {
  const std::size_t colon = call.find(':');
  const std::string name = call.substr(0, colon);
  const bool has_arg = colon != std::string::npos;
  const std::uint64_t arg = has_arg ? std::stoull(call.substr(colon + 1)) : 0;
  if (name == "uint") {
    reader.read_uint(field);
  } else if (name == "int") {
    reader.read_int(field);
  } else if (name == "bstr" && has_arg) {
    reader.read_bstr_size(field, arg);
  } else if (name == "bstr") {
    reader.read_bstr(field);
  } else if (name == "tstr") {
    reader.read_tstr(field);
  } else if (name == "bool") {
    reader.read_bool(field);
  } else if (name == "null") {
    reader.read_null(field);
  } else if (name == "array" && has_arg) {
    reader.read_array_of(field, arg);
  } else if (name == "array") {
    reader.read_array(field);
  } else if (name == "map") {
    reader.read_map(field);
  } else if (name == "tag" && has_arg) {
    reader.expect_tag(field, arg);
  } else if (name == "tag") {
    reader.read_tag(field);
  } else if (name == "uintmax") {
    reader.read_uint_max(field, arg);
  } else if (name == "skip") {
    reader.skip(field);
  } else if (name == "raw") {
    reader.read_raw(field);
  } else if (name == "peek") {
    (void)reader.peek_type();
  } else if (name == "end") {
    reader.expect_end();
  } else {
    ADD_FAILURE() << "unknown call " << call;
  }
}

// FDO-shaped items used by the generated tests.
std::vector<Bytes> fdo_samples() {
  Bytes guid(16, 0xab);
  Bytes nonce(16, 0x5a);
  Writer hello;  // TO2.HelloDevice-like: [maxsz, guid, nonce, "ECDH256", 10, [-7, h'']]
  hello.array(6).uint(1300).bstr(guid).bstr(nonce).tstr("ECDH256").uint(10).array(2).int_(-7).bstr({});
  Writer sign1;  // COSE_Sign1: 18([<<{1: -7}>>, {256: nonce}, payload, signature])
  sign1.tag(18).array(4).bstr(from_hex("a10126")).map(1).uint(256).bstr(nonce).bstr(hello.bytes()).bstr(Bytes(64, 1));
  Writer rv;  // RendezvousInfo-like: [[[5, h'6b3132372e302e302e31'], [3, h'191f90']]]
  rv.array(1).array(2).array(2).uint(5).bstr(encode_tstr("127.0.0.1")).array(2).uint(3).bstr(encode_uint(8080));
  return {hello.bytes(), sign1.bytes(), rv.bytes()};
}

Bytes nested(std::uint8_t head, int levels, Bytes inner) {
  Bytes out(static_cast<std::size_t>(levels), head);
  append(out, inner);
  return out;
}

TEST(ReaderAppendixA, SkipAndReadRawFollowTable) {
  const std::vector<Row> rows = load_table("rfc8949_appendix_a.txt", 4);
  ASSERT_EQ(rows.size(), 81U);
  for (const Row& row : rows) {
    SCOPED_TRACE(row[0]);
    const Bytes in = from_hex(row[0]);
    Reader reader(in, "A");
    if (row[2] == "ok") {
      const ByteView raw = reader.read_raw("item");
      EXPECT_EQ(Bytes(raw.begin(), raw.end()), in);
      EXPECT_NO_THROW(reader.expect_end());
      EXPECT_TRUE(is_single_item(in));
    } else {
      try {
        reader.skip("item");
        ADD_FAILURE() << "skip accepted " << row[0];
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
        EXPECT_NE(std::string(e.what()).find(row[2].substr(6)), std::string::npos) << e.what();
      }
      EXPECT_FALSE(is_single_item(in));
    }
  }
}

TEST(ReaderAppendixA, TypedReadsReencodeToSameBytes) {
  const std::vector<Row> rows = load_table("rfc8949_appendix_a.txt", 4);
  ASSERT_EQ(rows.size(), 81U);
  int roundtrips = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE(row[0]);
    const Bytes in = from_hex(row[0]);
    Reader reader(in, "A");
    Writer writer;
    if (row[3] == "roundtrip") {
      copy_item(reader, writer);
      reader.expect_end();
      EXPECT_EQ(to_hex(writer.bytes()), row[0]);
      ++roundtrips;
    } else {
      try {
        copy_item(reader, writer);
        ADD_FAILURE() << "typed read accepted " << row[0];
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
        EXPECT_NE(std::string(e.what()).find(row[3].substr(6)), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_EQ(roundtrips, 43);
}

TEST(ReaderCases, FollowTable) {
  const std::vector<Row> rows = load_table("reader_cases.txt", 3);
  ASSERT_GE(rows.size(), 90U);
  for (const Row& row : rows) {
    SCOPED_TRACE(row[0] + " | " + row[1]);
    const Bytes in = hex_input(row[0]);
    Reader reader(in, "Vec");
    std::vector<std::string> calls;
    std::size_t start = 0;
    while (start < row[1].size()) {
      const std::size_t space = row[1].find(' ', start);
      calls.push_back(row[1].substr(start, space - start));
      start = space == std::string::npos ? row[1].size() : space + 1;
    }
    try {
      for (std::size_t i = 0; i < calls.size(); ++i) {
        run_call(reader, calls[i], "f" + std::to_string(i));
      }
      EXPECT_EQ(row[2], "ok");
    } catch (const Error& e) {
      const std::size_t space = row[2].find(' ');
      ASSERT_NE(space, std::string::npos) << "unexpected error: " << e.what();
      EXPECT_EQ(static_cast<int>(e.code()), std::stoi(row[2].substr(0, space)));
      EXPECT_NE(std::string(e.what()).find(row[2].substr(space + 1)), std::string::npos) << e.what();
    }
  }
}

TEST(Reader, TruncationAtEveryLengthFailsCleanly) {
  for (const Bytes& sample : fdo_samples()) {
    ASSERT_TRUE(is_single_item(sample)) << to_hex(sample);
    for (std::size_t length = 0; length < sample.size(); ++length) {
      const ByteView prefix = ByteView(sample).first(length);
      Reader reader(prefix, "T");
      try {
        reader.skip("item");
        ADD_FAILURE() << "accepted a prefix of " << length << " bytes";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::MessageBodyError) << e.what();
      }
      EXPECT_FALSE(is_single_item(prefix));
    }
  }
}

TEST(Reader, TrailingBytesAreRejected) {
  for (const Bytes& sample : fdo_samples()) {
    Bytes longer = sample;
    longer.push_back(0x00);
    Reader reader(longer, "TO2.HelloDevice");
    reader.skip("body");
    try {
      reader.expect_end();
      ADD_FAILURE() << "trailing byte accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "TO2.HelloDevice: expected end of input, got 1 trailing bytes at offset " +
                                           std::to_string(sample.size()));
    }
    EXPECT_FALSE(is_single_item(longer));
  }
}

TEST(Reader, NestingOf64IsAcceptedAnd65Rejected) {
  // Arrays [[[...0...]]], maps {0: {0: ... 0}}, tags 6(6(...0)): 64 containers pass, 65 fail.
  const std::vector<std::pair<std::uint8_t, Bytes>> kinds = {{0x81, {}}, {0xa1, {0x00}}, {0xc6, {}}};
  for (const auto& [head, key] : kinds) {
    SCOPED_TRACE(static_cast<int>(head));
    Bytes ok_input;
    Bytes deep_input;
    for (int i = 0; i < 64; ++i) {
      ok_input.push_back(head);
      append(ok_input, key);
    }
    deep_input = ok_input;
    deep_input.push_back(head);
    append(deep_input, key);
    ok_input.push_back(0x00);
    deep_input.push_back(0x00);
    EXPECT_TRUE(is_single_item(ok_input));
    Reader ok_reader(ok_input, "D");
    EXPECT_EQ(ok_reader.read_raw("deep").size(), ok_input.size());
    Reader deep_reader(deep_input, "D");
    try {
      deep_reader.skip("deep");
      ADD_FAILURE() << "65 levels accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
      EXPECT_NE(std::string(e.what()).find("D deep: expected at most 64 nested levels"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(is_single_item(deep_input));
  }
}

TEST(Reader, DeepNestingBeyondTheStackIsRejectedNotRecursed) {
  const Bytes input = nested(0x81, 100000, {0x00});
  Reader reader(input, "D");
  EXPECT_THROW(reader.skip("deep"), Error);
  EXPECT_FALSE(is_single_item(input));
}

TEST(Reader, ReadRawReturnsTheBytesAsReceived) {
  // Not deterministic on purpose: 24 in two bytes (1818 would be 18 18; here 1800 is 0 in two bytes),
  // a map with unsorted keys. read_raw must hand back exactly these bytes, and Writer::raw must keep them.
  const Bytes item = from_hex("83180082a2020103040000");
  const Bytes input = concat(from_hex("82"), concat(item, from_hex("f6")));
  Reader reader(input, "R");
  reader.read_array_of("outer", 2);
  const ByteView raw = reader.read_raw("item");
  EXPECT_EQ(raw.data(), input.data() + 1);
  EXPECT_EQ(to_hex(raw), to_hex(item));
  reader.read_null("tail");
  reader.expect_end();
  Writer writer;
  writer.array(2).raw(raw).null();
  EXPECT_EQ(writer.bytes(), input);
}

TEST(Reader, ReadIntCoversInt64) {
  Writer writer;
  writer.array(5)
      .int_(std::numeric_limits<std::int64_t>::min())
      .int_(std::numeric_limits<std::int64_t>::max())
      .int_(-1)
      .int_(0)
      .int_(-24);
  Reader reader(writer.bytes(), "I");
  reader.read_array_of("a", 5);
  EXPECT_EQ(reader.read_int("min"), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(reader.read_int("max"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(reader.read_int("m1"), -1);
  EXPECT_EQ(reader.read_int("zero"), 0);
  EXPECT_EQ(reader.read_int("m24"), -24);
  reader.expect_end();
}

TEST(Reader, ValuesComeBackAsWritten) {
  const Bytes payload = from_hex("000102ff");
  Writer writer;
  writer.array(7).uint(65536).bstr(payload).tstr("caf\xc3\xa9").boolean(true).null().tag(18).map(0).uint(7);
  const Bytes input = writer.bytes();
  Reader reader(input, "V");
  EXPECT_EQ(reader.read_array("a"), 7U);
  EXPECT_EQ(reader.read_uint_max("u", 65536), 65536U);
  const ByteView view = reader.read_bstr_view("b");
  EXPECT_GE(view.data(), input.data());
  EXPECT_LE(view.data() + view.size(), input.data() + input.size());
  EXPECT_EQ(Bytes(view.begin(), view.end()), payload);
  EXPECT_EQ(reader.read_tstr("t"), "caf\xc3\xa9");
  EXPECT_TRUE(reader.read_bool("bool"));
  EXPECT_TRUE(reader.peek_null());
  reader.read_null("null");
  EXPECT_TRUE(reader.peek_tag(18));
  EXPECT_FALSE(reader.peek_tag(17));
  EXPECT_EQ(reader.read_tag("tag"), 18U);
  EXPECT_EQ(reader.peek_type(), MajorType::Map);
  EXPECT_EQ(reader.read_map("m"), 0U);
  EXPECT_EQ(reader.position(), input.size() - 1);
  EXPECT_FALSE(reader.try_read_null());
  EXPECT_EQ(reader.read_uint("last"), 7U);
  EXPECT_TRUE(reader.at_end());
  EXPECT_FALSE(reader.peek_null());
  EXPECT_FALSE(reader.peek_tag(18));
}

TEST(Reader, PeeksDoNotConsume) {
  const Bytes input = from_hex("f6");
  Reader reader(input, "P");
  EXPECT_TRUE(reader.peek_null());
  EXPECT_EQ(reader.peek_type(), MajorType::Simple);
  EXPECT_EQ(reader.position(), 0U);
  EXPECT_TRUE(reader.try_read_null());
  EXPECT_TRUE(reader.at_end());
}

TEST(Reader, FailJoinsContextAndField) {
  const Bytes input = from_hex("00");
  const Reader reader(input, "TO2.HelloDevice");
  const auto message = [&](std::string_view field) {
    try {
      reader.fail(field, "what");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message("[2] NonceTO2ProveOV"), "TO2.HelloDevice[2] NonceTO2ProveOV: what");
  EXPECT_EQ(message("guid"), "TO2.HelloDevice guid: what");
  EXPECT_EQ(message(""), "TO2.HelloDevice: what");
}

TEST(Reader, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(to_bytes("plain ASCII")));
  EXPECT_TRUE(is_valid_utf8(from_hex("c3bce6b0b4f0908591")));
  EXPECT_TRUE(is_valid_utf8({}));
  EXPECT_FALSE(is_valid_utf8(from_hex("c1bf")));      // overlong 2-byte form
  EXPECT_FALSE(is_valid_utf8(from_hex("f08fbfbf")));  // overlong 4-byte form
  EXPECT_FALSE(is_valid_utf8(from_hex("edbfbf")));    // surrogate U+DFFF
  EXPECT_FALSE(is_valid_utf8(from_hex("f5808080")));  // lead byte above U+10FFFF
}

TEST(Reader, DecodeHeadReportsArgumentAndSize) {
  std::string error;
  const std::optional<ItemHead> head = decode_head(from_hex("1b0000000100000000"), error);
  ASSERT_TRUE(head.has_value()) << error;
  EXPECT_EQ(head->type, MajorType::Unsigned);
  EXPECT_EQ(head->argument, 4294967296U);
  EXPECT_EQ(head->size, 9U);
  const std::optional<ItemHead> text = decode_head(from_hex("7818"), error);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->argument, 24U);
  EXPECT_EQ(text->size, 2U);
  EXPECT_FALSE(decode_head(from_hex("1b00"), error).has_value());
  EXPECT_EQ(error, "truncated head, needs 9 bytes, got 2");
  EXPECT_TRUE(decode_head(from_hex("9f"), error)->indefinite());
}

TEST(Reader, RandomInputsOnlyEverThrowMessageBodyError) {
  // Seeded corruption sweep (docs/style.md §9): FDO_TEST_SEED=<n> replays a run.
  const char* env = std::getenv("FDO_TEST_SEED");
  const std::uint32_t seed = env != nullptr ? static_cast<std::uint32_t>(std::stoul(env)) : std::random_device{}();
  std::cout << "FDO_TEST_SEED=" << seed << "\n";
  std::mt19937 rng(seed);
  const std::vector<Bytes> samples = fdo_samples();
  for (int round = 0; round < 3000; ++round) {
    Bytes input = samples[rng() % samples.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
    }
    Reader reader(input, "F");
    try {
      while (!reader.at_end()) {
        reader.skip("item");
      }
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), ErrorCode::MessageBodyError) << "seed " << seed << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace fdo::cbor
