#include "libfdo/types/rvto2addr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo {
namespace {

using test::expect_error;
using Urls = std::vector<std::string>;

TEST(RVTO2Addr, SpecExampleRoundTrips) {
  // FDO 1.1 §3.3.14: [null, "owner.example.com", 8443, 5].
  const Bytes entry = test::hex_spaced("84 F6 71 6F776E65722E6578616D706C652E636F6D 19 20FB 05");
  const Bytes wire = concat(from_hex("81"), entry);
  const RVTO2Addr addr = RVTO2Addr::decode(wire);
  ASSERT_EQ(addr.entries.size(), 1u);
  const RVTO2AddrEntry& e = addr.entries[0];
  EXPECT_FALSE(e.rv_ip.has_value());
  EXPECT_EQ(e.rv_dns, "owner.example.com");
  EXPECT_EQ(e.rv_port, 8443);
  EXPECT_EQ(e.rv_protocol, TransportProtocol::Https);
  EXPECT_EQ(addr.encode(), wire);
  EXPECT_EQ(addr.to_urls(), (Urls{"https://owner.example.com:8443"}));
  EXPECT_EQ(RVTO2Addr{{RVTO2AddrEntry::from_url("https://owner.example.com:8443")}}.encode(), wire);
}

TEST(RVTO2Addr, FromUrlsWritesExplicitPortsAndTheRightField) {
  const std::vector<std::string> args = {"http://127.0.0.1:8042, https://owner.example.com", "http://[::1]:80"};
  const RVTO2Addr addr = RVTO2Addr::from_urls(args);
  ASSERT_EQ(addr.entries.size(), 3u);
  // [h'7F000001', null, 8042, 3] and [null, "owner.example.com", 443, 5]: never port 0 (docs/interop.md
  // "rvto2addr-port").
  EXPECT_EQ(to_hex(addr.encode()),
            "83"
            "84447f000001f6191f6a03"
            "84f6716f776e65722e6578616d706c652e636f6d1901bb05"
            "8450" +
                to_hex(IpAddress::parse("::1")->bytes()) + "f6185003");
  EXPECT_EQ(addr.to_urls(), (Urls{"http://127.0.0.1:8042", "https://owner.example.com:443", "http://[::1]:80"}));
  EXPECT_EQ(RVTO2Addr::decode(addr.encode()), addr);
  expect_error([] { (void)RVTO2Addr::from_urls(std::vector<std::string>{"tcp://x:1"}); }, ErrorCode::MessageBodyError);
  expect_error([] { (void)RVTO2Addr::from_urls(std::vector<std::string>{}); }, ErrorCode::MessageBodyError);
}

TEST(RVTO2Addr, UrlsTryDnsFirstAndSkipNonHttp) {
  RVTO2AddrEntry both;
  both.rv_ip = IpAddress::from_bytes(from_hex("00000000000000000000ffff0a000005"));
  both.rv_dns = "owner";
  both.rv_port = 0;
  both.rv_protocol = TransportProtocol::Http;
  RVTO2AddrEntry tcp = both;
  tcp.rv_protocol = TransportProtocol::Tcp;
  // Port 0 → scheme default; an IPv4-mapped address is used as IPv4; TCP gives no URL.
  EXPECT_EQ((RVTO2Addr{{both, tcp}}.to_urls()), (Urls{"http://owner:80", "http://10.0.0.5:80"}));
  // The IP bytes are kept as received (16 bytes).
  const RVTO2Addr back = RVTO2Addr::decode(RVTO2Addr{{both}}.encode());
  EXPECT_EQ(back.entries[0].rv_ip->bytes().size(), 16u);
}

TEST(RVTO2Addr, RejectsBadEntriesWithTheSpecCodes) {
  // FDO 1.1 §5.1.1.1: bytes that are not an IPv4/IPv6 address → INVALID_IP_ADDRESS (4).
  expect_error([] { (void)RVTO2Addr::decode(from_hex("8184450102030405f6185003")); }, ErrorCode::InvalidIpAddress);
  expect_error([] { (void)RVTO2Addr::decode(from_hex("818440f6185003")); }, ErrorCode::InvalidIpAddress);
  const char* body_errors[] = {
      "80",                      // no entry
      "8184f6f6185003",          // neither IP nor DNS
      "8184f661611a0001000003",  // port 65536
      "8184f66161185000",        // protocol 0
      "8184f66161185007",        // protocol 7
      "8183f661611850",          // three elements
      "8184f6416118 5003",       // DNS as bstr
      "8184f661611850"
      "03"
      "00",              // trailing byte
      "84f66161185003",  // an entry, not a list
  };
  for (std::string hex : body_errors) {
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    SCOPED_TRACE(hex);
    expect_error([&] { (void)RVTO2Addr::decode(from_hex(hex)); }, ErrorCode::MessageBodyError);
  }
  expect_error([] { (void)RVTO2Addr{}.encode(); }, ErrorCode::InternalServerError);
  expect_error([] { (void)RVTO2Addr{{RVTO2AddrEntry{}}}.encode(); }, ErrorCode::InternalServerError);
}

TEST(RVTO2Addr, RendersJson) {
  const RVTO2Addr addr = RVTO2Addr::from_urls(std::vector<std::string>{"http://10.1.2.3:8042,https://o:1"});
  JsonWriter j;
  addr.to_json(j);
  EXPECT_EQ(j.str(), R"([{"ip":"10.1.2.3","dns":null,"port":8042,"protocol":"ProtHTTP"},)"
                     R"({"ip":null,"dns":"o","port":1,"protocol":"ProtHTTPS"}])");
  EXPECT_EQ(transport_protocol_name(TransportProtocol::CoAPS), "ProtCoAPS");
}

TEST(RVTO2Addr, FromUrlTakesIpHostsAsAddressesAndRefusesZones) {
  EXPECT_EQ(RVTO2AddrEntry::from_url("http://[2001:db8::1]").rv_ip->url_host(), "[2001:db8::1]");
  EXPECT_EQ(RVTO2AddrEntry::from_url("https://Owner-1.example.com:8443/?x=1").rv_dns, "Owner-1.example.com");
  const std::string zone = expect_error([] { (void)RVTO2AddrEntry::from_url("http://[fe80::1%25eth0]:1"); },
                                        ErrorCode::MessageBodyError);
  EXPECT_EQ(zone, "TO2 URL 'http://[fe80::1%25eth0]:1': an IPv6 zone cannot be written in FDO's IPAddress");
  EXPECT_THROW((void)RVTO2AddrEntry::from_url("http://h:1/api"), Error);
}

TEST(IpAddress, ParsesPrintsAndUnmaps) {
  EXPECT_EQ(IpAddress::parse("192.168.1.10")->bytes().size(), 4u);
  EXPECT_EQ(IpAddress::parse("::ffff:192.168.1.10")->unmapped().to_string(), "192.168.1.10");
  EXPECT_TRUE(IpAddress::parse("::ffff:1.2.3.4")->is_v4_mapped());
  EXPECT_FALSE(IpAddress::parse("::1")->is_v4_mapped());
  EXPECT_EQ(IpAddress::parse("::1")->unmapped().to_string(), "::1");
  EXPECT_FALSE(IpAddress::parse("example.com").has_value());
  EXPECT_FALSE(IpAddress::parse("1.2.3").has_value());
  EXPECT_FALSE(IpAddress::from_bytes(Bytes(5, 0)).has_value());
  EXPECT_EQ(IpAddress::from_bytes(from_hex("7f000001"))->url_host(), "127.0.0.1");
}

}  // namespace
}  // namespace fdo
