#include "libfdo/serviceinfo/kv.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"

namespace fdo::serviceinfo {
namespace {

ServiceInfo decode_hex(std::string_view hex) {
  const Bytes in = from_hex(hex);
  cbor::Reader r(in, "TO2.DeviceServiceInfo");
  ServiceInfo kvs = decode_service_info(r);
  r.expect_end();
  return kvs;
}

// FDO 1.1 §3.8: the value is the CBOR item wrapped in a bstr: true travels as 41 f5.
TEST(ServiceInfoKv, ValuesAreWrappedItems) {
  EXPECT_EQ(to_hex(bool_value(true)), "f5");
  EXPECT_EQ(to_hex(encode_service_info({make_kv("devmod", "active", bool_value(true))})),
            "81" "82" "6d" + to_hex(to_bytes("devmod:active")) + "41f5");
  // "sh" as 43 62 73 68; h'0102' as 43 42 01 02.
  EXPECT_EQ(to_hex(cbor::encode_bstr(tstr_value("sh"))), "43627368");
  EXPECT_EQ(to_hex(cbor::encode_bstr(bstr_value(from_hex("0102")))), "43420102");
  EXPECT_EQ(to_hex(uint_value(1300)), "190514");
  EXPECT_EQ(to_hex(int_value(-1)), "20");
}

TEST(ServiceInfoKv, EmptyListIs80) { EXPECT_EQ(to_hex(encode_service_info({})), "80"); }

TEST(ServiceInfoKv, RoundTrip) {
  const ServiceInfo kvs = {make_kv("devmod", "os", tstr_value("Linux")),
                           make_kv("fdo.download", "data", bstr_value(Bytes(300, 7))),
                           make_kv("fdo.download", "data", bstr_value(Bytes(300, 8)))};
  const Bytes encoded = encode_service_info(kvs);
  EXPECT_EQ(encoded.size(), encoded_size(kvs));
  EXPECT_EQ(decode_hex(to_hex(encoded)), kvs);  // order and repeats kept
}

TEST(ServiceInfoKv, EncodedSizeMatchesEncoding) {
  for (const std::size_t n : {0U, 1U, 22U, 23U, 24U, 255U, 256U, 65535U, 65536U}) {
    const ServiceInfoKv kv{.key = std::string(n % 300, 'k') + ":m", .value = Bytes(n, 1)};
    EXPECT_EQ(encoded_size(kv) + 1, encode_service_info({kv}).size()) << n;
  }
  EXPECT_EQ(encoded_head_size(23), 1U);
  EXPECT_EQ(encoded_head_size(24), 2U);
  EXPECT_EQ(encoded_head_size(256), 3U);
  EXPECT_EQ(encoded_head_size(65536), 5U);
  EXPECT_EQ(encoded_head_size(1ULL << 32), 9U);
}

TEST(ServiceInfoKv, AcceptsEmptyKvAsEmptyList) { EXPECT_TRUE(decode_hex("8180").empty()); }

TEST(ServiceInfoKv, RejectsMalformedLists) {
  // Not an array; a KV of 3; key not tstr (DEV-44: [1, h'00']); value not bstr; key without colon; [[], kv].
  for (const char* hex : {"a0", "81830000", "8182014100", "81826161" "3a" "f5", "8182616141f5", "82808261" "3a" "41f5"}) {
    test::expect_error([&] { decode_hex(hex); }, ErrorCode::MessageBodyError);
  }
}

TEST(ServiceInfoKv, SplitsAtFirstColon) {
  const auto [module, message] = split_key("fdo.command:a:b");
  EXPECT_EQ(module, "fdo.command");
  EXPECT_EQ(message, "a:b");
  const auto [m2, msg2] = split_key(":x");
  EXPECT_EQ(m2, "");
  EXPECT_EQ(msg2, "x");
  test::expect_error([] { (void)split_key("nocolon"); }, ErrorCode::MessageBodyError);
}

TEST(ServiceInfoKv, ValueReadersCheckTypeAndTrailingBytes) {
  EXPECT_TRUE(read_bool_value(from_hex("f5"), "m:active"));
  EXPECT_EQ(read_tstr_value(from_hex("627368"), "m:x"), "sh");
  EXPECT_EQ(read_uint_value(from_hex("190514"), "m:x"), 1300U);
  EXPECT_EQ(read_int_value(from_hex("20"), "m:x"), -1);
  EXPECT_EQ(read_bstr_value(from_hex("420102"), "m:x"), from_hex("0102"));
  const std::string text = test::expect_error([] { (void)read_bool_value(from_hex("01"), "m:active"); },
                                              ErrorCode::MessageBodyError);
  EXPECT_NE(text.find("m:active"), std::string::npos) << text;
  test::expect_error([] { (void)read_bool_value(from_hex("f5f5"), "m:active"); }, ErrorCode::MessageBodyError);
  test::expect_error([] { (void)read_tstr_value(from_hex(""), "m:x"); }, ErrorCode::MessageBodyError);
}

TEST(ServiceInfoKv, JoinsSplitValuesOnly) {
  const Bytes whole = bstr_value(Bytes(40, 9));
  const ServiceInfo split = {{.key = "m:data", .value = Bytes(whole.begin(), whole.begin() + 10)},
                             {.key = "m:data", .value = Bytes(whole.begin() + 10, whole.end())},
                             {.key = "m:data", .value = bool_value(true)}};
  const ServiceInfo joined = join_fragments(split);
  ASSERT_EQ(joined.size(), 2U);
  EXPECT_EQ(joined[0].value, whole);
  EXPECT_EQ(joined[1].value, bool_value(true));
  // A fragment followed by another key is left alone (its reader reports it).
  const ServiceInfo lone = {{.key = "m:data", .value = Bytes(whole.begin(), whole.begin() + 10)},
                            {.key = "m:other", .value = bool_value(true)}};
  EXPECT_EQ(join_fragments(lone), lone);
}

TEST(ServiceInfoKv, ASplitValueComesBackWholeAcrossAnyNumberOfMessages) {
  const Bytes whole = tstr_value(std::string(5000, 'A'));
  const ServiceInfo parts = split_value("fdo.csr", "cacerts-res", whole, 1000);
  ASSERT_EQ(parts.size(), 6U);
  for (const ServiceInfoKv& kv : parts) {
    EXPECT_EQ(kv.key, "fdo.csr:cacerts-res");
    EXPECT_LE(encoded_size(kv), 1000U);
  }
  EXPECT_EQ(encoded_size(parts[0]), 1000U);  // each fragment fills its budget
  // One fragment per message, the sender setting IsMore until the last: the receiver keeps the joined prefix.
  std::optional<ServiceInfoKv> fragment;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    EXPECT_TRUE(take_complete(fragment, {parts[i]}, true).empty()) << i;
    ASSERT_TRUE(fragment.has_value());
  }
  const ServiceInfo last = take_complete(fragment, {parts.back(), {.key = "m:x", .value = bool_value(true)}}, false);
  ASSERT_EQ(last.size(), 2U);
  EXPECT_EQ(last[0].value, whole);
  EXPECT_FALSE(fragment.has_value());
  // Two fragments per message, and the next value after it in the same message.
  const ServiceInfo in1{parts[0], parts[1]};
  const ServiceInfo in2{parts[2], parts[3], parts[4]};
  ServiceInfo in3{parts[5], {.key = "m:x", .value = bool_value(false)}};
  EXPECT_TRUE(take_complete(fragment, in1, true).empty());
  EXPECT_TRUE(take_complete(fragment, in2, true).empty());
  EXPECT_EQ(take_complete(fragment, in3, false).at(0).value, whole);
  // A value that fits is one KV as it is.
  EXPECT_EQ(split_value("m", "x", bool_value(true), 20), (ServiceInfo{make_kv("m", "x", bool_value(true))}));
  test::expect_error([&] { (void)split_value("fdo.csr", "cacerts-res", whole, 22); }, ErrorCode::InternalServerError);
}

TEST(ServiceInfoKv, WithoutIsMoreAnIncompleteValueIsPassedOnForItsReaderToRefuse) {
  const ServiceInfo parts = split_value("m", "x", tstr_value(std::string(100, 'z')), 40);
  std::optional<ServiceInfoKv> fragment;
  const ServiceInfo out = take_complete(fragment, {parts[0], parts[1]}, false);
  EXPECT_EQ(out.size(), 2U);
  EXPECT_FALSE(fragment.has_value());
  test::expect_error([&] { (void)read_tstr_value(out[0].value, "m:x"); }, ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo::serviceinfo
