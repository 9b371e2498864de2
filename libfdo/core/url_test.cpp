#include "libfdo/core/url.h"

#include <gtest/gtest.h>

#include "libfdo/core/error.h"

namespace fdo {
namespace {

ErrorCode code_of(std::string_view text) {
  try {
    (void)parse_url(text);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::InternalServerError;
}

TEST(Url, ParsesSchemeHostPortAndPrefix) {
  EXPECT_EQ(parse_url("http://127.0.0.1:8080"), (Url{"http", "127.0.0.1", 8080, "", ""}));
  EXPECT_EQ(parse_url("HTTPS://rv.example.com"), (Url{"https", "rv.example.com", 443, "", ""}));
  EXPECT_EQ(parse_url("http://owner.local"), (Url{"http", "owner.local", 80, "", ""}));
  EXPECT_EQ(parse_url("http://h:1/api/fdo/"), (Url{"http", "h", 1, "/api/fdo", ""}));
  EXPECT_EQ(parse_url("http://h:1/"), (Url{"http", "h", 1, "", ""}));
}

TEST(Url, ParsesBracketedIpv6) {
  // docs/interop.md "ipv6-url-brackets": fdo-rs built http://fe80::…:8081 without brackets.
  EXPECT_EQ(parse_url("http://[::1]:8041"), (Url{"http", "::1", 8041, "", ""}));
  EXPECT_EQ(parse_url("http://[2001:db8::1]"), (Url{"http", "2001:db8::1", 80, "", ""}));
  EXPECT_EQ(parse_url("http://[fe80::1%25eth0]:8081"), (Url{"http", "fe80::1%eth0", 8081, "", ""}));
}

TEST(Url, RejectsMalformedText) {
  for (const char* bad :
       {"127.0.0.1:8080", "ftp://h:1", "http://", "http://:80", "http://h:0", "http://h:65536",
        "http://h:08", "http://h:x", "http://::1:8080", "http://[::1", "http://[::1]x",
        "http://[zz::1]:1", "http://u@h:1", "http://h:1/a?b", "http://h:1/a#b", "http://h:1/a b",
        "http://h_ost!:1", "http://a..b:1"}) {
    EXPECT_EQ(code_of(bad), ErrorCode::MessageBodyError) << bad;
  }
}

TEST(Url, RulesAllowAQueryRefuseAPathAndNameTheOption) {
  // The tools' --rv and --to2-url (docs/cli.md): a query, no path, errors named after the option.
  const UrlRules rv{.what = "--rv", .allow_path_prefix = false, .allow_query = true};
  EXPECT_EQ(parse_url("https://Owner-1.example.com:8443/?x=1", rv), (Url{"https", "Owner-1.example.com", 8443, "", "x=1"}));
  EXPECT_EQ(parse_url("http://[2001:db8::1]?dev-only&delay=5", rv), (Url{"http", "2001:db8::1", 80, "", "dev-only&delay=5"}));
  EXPECT_EQ(parse_url("http://h:1/", rv), (Url{"http", "h", 1, "", ""}));
  const auto message = [&](std::string_view text) {
    try {
      (void)parse_url(text, rv);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("http://x:99999"), "--rv 'http://x:99999': port must be 1..65535, got '99999'");
  EXPECT_EQ(message("http://x:1/path"), "--rv 'http://x:1/path': expected no path after HOST:PORT");
  EXPECT_EQ(message("ftp://x:1"), "--rv 'ftp://x:1': scheme must be http or https");
  EXPECT_EQ(message("http://x:1?a#b"), "--rv 'http://x:1?a#b': a fragment is not allowed");
  EXPECT_EQ(message("rv.example.com"), "--rv 'rv.example.com': expected http(s)://HOST[:PORT]");
  EXPECT_EQ(message("http://bad host:1"), "--rv 'http://bad host:1': host 'bad host' is neither an IP address nor a DNS name");
  // Without the rules, a query is refused and the path is a prefix.
  EXPECT_EQ(code_of("http://h:1?x"), ErrorCode::MessageBodyError);
  EXPECT_EQ(parse_url("http://h:1/p").path_prefix, "/p");
}

TEST(Url, FormatsWithExplicitPortAndBrackets) {
  EXPECT_EQ(format_url(parse_url("http://[::1]:8041/p")), "http://[::1]:8041/p");
  EXPECT_EQ(format_url(parse_url("https://rv.example.com")), "https://rv.example.com:443");
  EXPECT_EQ(format_url(parse_url("http://[fe80::1%25eth0]:1")), "http://[fe80::1%25eth0]:1");
  EXPECT_EQ(format_host_port("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(format_host_port("::1", 80), "[::1]:80");
}

TEST(Url, MakeUrlValidatesParts) {
  EXPECT_EQ(make_url("http", "::1", 8080), (Url{"http", "::1", 8080, "", ""}));
  EXPECT_EQ(make_url("HTTPS", "owner", 1, "/x/"), (Url{"https", "owner", 1, "/x", ""}));
  EXPECT_THROW(make_url("http", "bad host", 1), Error);
  EXPECT_THROW(make_url("coap", "h", 1), Error);
  EXPECT_THROW(make_url("http", "h", 0), Error);
}

TEST(Url, ParsesListenAddresses) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:0"), (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(parse_listen_address("0.0.0.0:8041"), (HostPort{"0.0.0.0", 8041}));
  EXPECT_EQ(parse_listen_address("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_EQ(parse_listen_address("localhost:8038"), (HostPort{"127.0.0.1", 8038}));
  for (const char* bad : {"127.0.0.1", "example.com:80", "[localhost]:80", "::1:80", "[::1]", "1.2.3.4:65536",
                          "1.2.3.4:-1", "[127.0.0.1]:1", "1.2.3:80"}) {
    EXPECT_THROW(parse_listen_address(bad), Error) << bad;
  }
}

TEST(Url, RecognisesLoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("LocalHost"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::2"));
  EXPECT_FALSE(is_loopback_host("example.com"));
  EXPECT_TRUE(is_ipv6_literal("fe80::1%eth0"));
  EXPECT_FALSE(is_ipv6_literal("fe80::1%"));
  EXPECT_TRUE(is_ipv4_literal("192.168.1.10"));
  EXPECT_FALSE(is_ipv4_literal("192.168.1"));
}

}  // namespace
}  // namespace fdo
