#include "libfdo/types/json.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cose/internal/test_util.h"

namespace fdo {
namespace {

using test::expect_error;

TEST(Json, EscapesStrings) {
  EXPECT_EQ(json_escape(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(json_escape("\n\r\t\b\f"), R"(\n\r\t\b\f)");
  EXPECT_EQ(json_escape(std::string("\x01\x1f", 2)), R"(\u0001\u001f)");
  EXPECT_EQ(json_escape(std::string("nul\0x", 5)), R"(nul\u0000x)");
  EXPECT_EQ(json_escape("/ ~ \x7f"), "/ ~ \x7f");
  // Valid UTF-8 passes through; invalid bytes become U+FFFD.
  EXPECT_EQ(json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  EXPECT_EQ(json_escape("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(json_escape("\xc3"), "\xef\xbf\xbd");                                  // truncated sequence
  EXPECT_EQ(json_escape("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(json_escape("\xe2\x82!"), "\xef\xbf\xbd!");                               // cut short: one U+FFFD
  // The writer escapes keys and values the same way and never throws on bad UTF-8.
  JsonWriter j;
  j.begin_object().key("k\xff").string("v\x01\xc3").end_object();
  EXPECT_EQ(j.str(), "{\"k\xef\xbf\xbd\":\"v\\u0001\xef\xbf\xbd\"}");
}

TEST(Json, WritesNestedDocuments) {
  JsonWriter j;
  j.begin_object()
      .key("guid")
      .string("00ff")
      .key("ok")
      .boolean(true)
      .key("n")
      .integer(-5)
      .key("u")
      .uinteger(18446744073709551615ull)
      .key("none")
      .null()
      .key("list")
      .begin_array()
      .integer(1)
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .end_array()
      .end_object();
  EXPECT_EQ(j.str(), R"({"guid":"00ff","ok":true,"n":-5,"u":18446744073709551615,"none":null,"list":[1,{},[]]})");
}

TEST(Json, PrettyPrintsWithTwoSpaces) {
  JsonWriter j(true);
  j.begin_object().key("a").begin_array().integer(1).integer(2).end_array().key("b").begin_object().end_object();
  j.end_object();
  EXPECT_EQ(j.str(), "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}");
}

TEST(Json, RecognisesOneJsonObject) {
  EXPECT_TRUE(is_json_object("{}"));
  EXPECT_TRUE(is_json_object(" {\"temperature_c\": 21.5, \"tags\": [1, {\"a\": null}]}\r\n"));
  for (const char* bad : {"", " ", "[1,2]", "\"{}\"", "{} {}", "{", "{ not json }", "{\"a\":1,}", "{\"a\":\"\xff\"}", "1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(is_json_object(bad));
  }
  EXPECT_FALSE(is_json_object(std::string(100000, '[') + std::string(100000, ']')));
}

TEST(Json, MisuseIsOurBug) {
  expect_error([] { JsonWriter().begin_object().string("no key"); }, ErrorCode::InternalServerError);
  expect_error([] { JsonWriter().begin_array().key("k"); }, ErrorCode::InternalServerError);
  expect_error([] { JsonWriter().begin_array().end_object(); }, ErrorCode::InternalServerError);
  expect_error([] { JsonWriter().begin_object().key("k").end_object(); }, ErrorCode::InternalServerError);
  expect_error([] { JsonWriter().integer(1).integer(2); }, ErrorCode::InternalServerError);
  expect_error([] { (void)JsonWriter().begin_array().str(); }, ErrorCode::InternalServerError);
  expect_error([] { (void)JsonWriter().str(); }, ErrorCode::InternalServerError);
  expect_error([] { JsonWriter().end_array(); }, ErrorCode::InternalServerError);
  expect_error([] { JsonWriter().begin_object().key("k").null().key("k").null(); }, ErrorCode::InternalServerError);
}

}  // namespace
}  // namespace fdo
