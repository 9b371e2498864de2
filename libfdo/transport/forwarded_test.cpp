// client_address(): X-Forwarded-For is believed only from a trusted proxy, and only as far as trusted proxies wrote it
// (docs/security.md "Behind a reverse proxy").
#include "libfdo/transport/forwarded.h"

#include <gtest/gtest.h>

namespace fdo::transport {
namespace {

const std::vector<std::string> kProxies = {"127.0.0.1", "10.0.0.2"};

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItForwards) {
  EXPECT_EQ(client_address("192.0.2.7", {{"X-Forwarded-For", "198.51.100.1"}}, kProxies), "192.0.2.7");
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "198.51.100.1"}}, {}), "127.0.0.1");
}

TEST(ClientAddress, ATrustedProxyNamesTheClientItSaw) {
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "198.51.100.1"}}, kProxies), "198.51.100.1");
  EXPECT_EQ(client_address("127.0.0.1", {{"x-forwarded-for", " 2001:db8::5 "}}, kProxies), "2001:db8::5");
  // A client's own X-Forwarded-For is left of what the proxy appended: only the right-most untrusted entry counts.
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "203.0.113.9, 198.51.100.1"}}, kProxies),
            "198.51.100.1");
  // Two trusted proxies in a row: the entry the first one wrote; across several fields, in order.
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-For", "10.0.0.2"}},
                           kProxies),
            "198.51.100.1");
  // IPv4-mapped IPv6 peers compare equal to their IPv4 form.
  EXPECT_EQ(client_address("::ffff:127.0.0.1", {{"X-Forwarded-For", "198.51.100.1"}}, kProxies), "198.51.100.1");
}

TEST(ClientAddress, ATrustedProxyWithoutAUsableHeaderIsTheClient) {
  EXPECT_EQ(client_address("127.0.0.1", {}, kProxies), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "not-an-address"}}, kProxies), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "198.51.100.1:4711"}}, kProxies), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1", {{"X-Forwarded-For", "10.0.0.2"}}, kProxies), "127.0.0.1");
}

TEST(ClientAddress, TrustedProxiesAreIpLiterals) {
  EXPECT_TRUE(is_ip_address("127.0.0.1"));
  EXPECT_TRUE(is_ip_address("::1"));
  EXPECT_FALSE(is_ip_address("localhost"));
  EXPECT_FALSE(is_ip_address("10.0.0.0/8"));
  EXPECT_FALSE(is_ip_address("[::1]"));
}

}  // namespace
}  // namespace fdo::transport
