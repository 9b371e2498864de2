#include "libfdo/types/rendezvous_info.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo {
namespace {

using test::expect_error;

Bytes one_instr(const std::string& instr_hex) {
  return concat(from_hex("8181"), from_hex(instr_hex));
}

// The OVRVInfo bytes inside an interop voucher's header, exactly as they sit there.
Bytes interop_rv_info(const std::string& file, bool header_wrapped = true) {
  const Bytes voucher = test::interop_voucher(file);
  cbor::Reader r(voucher, file);
  r.read_array(file);
  Bytes header;
  if (header_wrapped) {
    r.read_uint("protver");
    header = r.read_bstr("header");
  } else {
    const ByteView raw = r.read_raw("header");  // FDO 1.0: the header array itself
    header.assign(raw.begin(), raw.end());
  }
  cbor::Reader h(header, "OVHeader");
  h.read_array("OVHeader");
  h.skip("OVHProtVer");
  h.skip("OVGuid");
  const ByteView rv = h.read_raw("OVRVInfo");
  return Bytes(rv.begin(), rv.end());
}

TEST(RendezvousInfo, InstructionVectors) {
  for (const test::Record& rec : test::read_records("types", "rv_instructions.txt")) {
    SCOPED_TRACE(rec.at("name"));
    const Bytes in = one_instr(rec.at("instr"));
    Leniency leniency;
    if (rec.count("lenient") != 0) {
      const std::vector<std::string> names = {rec.at("lenient")};
      leniency = Leniency::from_names(names);
    }
    if (rec.count("error") != 0) {
      const auto code = static_cast<ErrorCode>(std::stoi(rec.at("error")));
      const std::string what = expect_error([&] { (void)RendezvousInfo::decode(in, leniency); }, code);
      if (rec.count("field") != 0) {
        EXPECT_NE(what.find(rec.at("field")), std::string::npos) << what;
      }
      continue;
    }
    const RendezvousInfo info = RendezvousInfo::decode(in, leniency);
    const std::string out = rec.count("out") != 0 ? rec.at("out") : rec.at("instr");
    EXPECT_EQ(to_hex(info.encode()), to_hex(one_instr(out)));
    if (rec.count("describe") != 0) {
      EXPECT_EQ(info.directives().at(0).describe(), rec.at("describe"));
    }
    // What we write reads back to itself, strictly.
    EXPECT_EQ(RendezvousInfo::decode(info.encode()), info);
  }
}

TEST(RendezvousInfo, FdoRsVouchersRoundTripByteForByte) {
  for (const char* file : {"fdo-rs-v101-voucher1.pem", "fdo-rs-v101-voucher2.pem"}) {
    SCOPED_TRACE(file);
    const Bytes raw = interop_rv_info(file);
    EXPECT_EQ(RendezvousInfo::decode(raw).encode(), raw);
  }
  const RendezvousInfo info = RendezvousInfo::decode(interop_rv_info("fdo-rs-v101-voucher2.pem"));
  ASSERT_EQ(info.directives().size(), 1u);
  const RendezvousDirective& d = info.directives()[0];
  EXPECT_EQ(d.dns(), "fdo-test.puiterwijk.org");
  EXPECT_EQ(d.dev_port(), 8080);
  EXPECT_EQ(d.owner_port(), 8080);
  EXPECT_EQ(d.protocol(), RVProtocolValue::Http);
  ASSERT_EQ(d.ip_addresses().size(), 1u);
  EXPECT_EQ(d.ip_addresses()[0].to_string(), "3.126.103.4");
  EXPECT_FALSE(d.dev_only() || d.owner_only() || d.bypass());
  EXPECT_EQ(d.describe(), "dns=fdo-test.puiterwijk.org dev-port=8080 protocol=http ip=3.126.103.4 owner-port=8080");
}

TEST(RendezvousInfo, JavaPriFdo10BareValuesOnlyUnderTheQuirk) {
  const Bytes raw = interop_rv_info("pri-v100-voucher1.pem", false);
  expect_error([&] { (void)RendezvousInfo::decode(raw); }, ErrorCode::MessageBodyError);
  const RendezvousInfo info = RendezvousInfo::decode(raw, Leniency({Quirk::BareRvValues}));
  const RendezvousDirective& d = info.directives().at(0);
  EXPECT_EQ(d.dns(), "fdo10.westus.cloudapp.azure.com");
  EXPECT_EQ(d.dev_port(), 80);
  EXPECT_EQ(d.owner_port(), 80);
  EXPECT_EQ(d.protocol(), RVProtocolValue::Http);
  EXPECT_EQ(d.ip_addresses().at(0).to_string(), "138.91.195.85");
  // Written back in the FDO 1.1 form, which then reads strictly.
  EXPECT_EQ(RendezvousInfo::decode(info.encode()), info);
}

TEST(RendezvousInfo, RejectsEmptyInfoAndEmptyDirective) {
  expect_error([] { (void)RendezvousInfo::decode(from_hex("80")); }, ErrorCode::MessageBodyError);
  expect_error([] { (void)RendezvousInfo::decode(from_hex("8180")); }, ErrorCode::MessageBodyError);
  expect_error([] { (void)RendezvousInfo::decode(from_hex("81810E")); }, ErrorCode::MessageBodyError);
  expect_error(
      [] {
        (void)RendezvousInfo::decode(
            from_hex("81818100"
                     "00"));
      },
      ErrorCode::MessageBodyError);
  expect_error([] { (void)RendezvousInfo().encode(); }, ErrorCode::InternalServerError);
  expect_error([] { (void)RendezvousInfo({RendezvousDirective()}).encode(); }, ErrorCode::InternalServerError);
}

TEST(RendezvousInfo, LastValueWinsAndIpAddressesAccumulate) {
  // [[3, 80], [2, 10.0.0.1], [3, 8080], [2, 10.0.0.2]]
  const RendezvousInfo info =
      RendezvousInfo::decode(from_hex("8184820342185082024544"
                                      "0A000001"
                                      "820343191F90"
                                      "82024544"
                                      "0A000002"));
  const RendezvousDirective& d = info.directives()[0];
  EXPECT_EQ(d.dev_port(), 8080);
  ASSERT_EQ(d.ip_addresses().size(), 2u);
  EXPECT_EQ(d.ip_addresses()[1].to_string(), "10.0.0.2");
  EXPECT_FALSE(d.owner_port().has_value());
  EXPECT_FALSE(d.protocol().has_value());
}

TEST(RendezvousInfo, BuildersEmitOneOfEachInVariableOrder) {
  RendezvousDirective d;
  d.set_protocol(RVProtocolValue::Https)
      .set_dev_port(1)
      .set_dns("rv")
      .set_dev_port(8443)
      .add_ip_address(*IpAddress::parse("10.0.0.1"))
      .add_ip_address(*IpAddress::parse("::ffff:10.0.0.2"))
      .set_flag(RVVariable::RVBypass)
      .set_flag(RVVariable::RVDevOnly)
      .set_delay_sec(30)
      .set_user_input(true);
  // [0] [2 ip] [2 ip] [3 8443] [5 "rv"] [8 true] [12 2] [13 30] [14]
  EXPECT_EQ(to_hex(RendezvousInfo({d}).encode()),
            "8189"
            "8100"
            "820245440a000001"
            "820245440a000002"
            "8203431920fb"
            "82054362727"
            "6"
            "820841f5"
            "820c4102"
            "820d42181e"
            "810e");
  expect_error([&] { d.set_flag(RVVariable::RVDns); }, ErrorCode::InternalServerError);
}

TEST(RendezvousInfo, AddChecksValuesAsDecodeDoes) {
  RendezvousDirective d;
  d.add({RVVariable::RVDevPort, cbor::encode_uint(80)});
  d.add({RVVariable::RVBypass, from_hex("f6")});
  d.add({static_cast<RVVariable>(99), from_hex("01")});
  EXPECT_EQ(to_hex(RendezvousInfo({d}).encode()),
            "8183"
            "8203421850"
            "810e"
            "821863"
            "4101");
  expect_error([&] { d.add({RVVariable::RVDevPort, cbor::encode_uint(65536)}); }, ErrorCode::MessageBodyError);
  expect_error([&] { d.add({RVVariable::RVDns, std::nullopt}); }, ErrorCode::MessageBodyError);
  expect_error([&] { d.add({RVVariable::RVDns, from_hex("6272")}); }, ErrorCode::MessageBodyError);
}

TEST(RendezvousInfo, AccessorsReadEveryVariable) {
  RendezvousDirective d;
  d.set_wifi_ssid("lab").set_wifi_pw("pw").set_medium(kRVMedWifiAll).set_ext_rv({"wol", {cbor::encode_uint(7)}});
  d.set_sv_cert_hash(Hash::compute(HashType::Sha256, to_bytes("leaf")));
  d.set_cl_cert_hash(Hash::compute(HashType::Sha384, to_bytes("ca")));
  d.set_user_input(false).set_owner_port(8041);
  const RendezvousDirective back = RendezvousInfo::decode(RendezvousInfo({d}).encode()).directives()[0];
  EXPECT_EQ(back.wifi_ssid(), "lab");
  EXPECT_EQ(back.wifi_pw(), "pw");
  EXPECT_EQ(back.medium(), 21);
  EXPECT_EQ(back.ext_rv()->mechanism, "wol");
  EXPECT_EQ(back.ext_rv()->args, std::vector<Bytes>{cbor::encode_uint(7)});
  EXPECT_TRUE(back.sv_cert_hash()->matches(to_bytes("leaf")));
  EXPECT_TRUE(back.cl_cert_hash()->matches(to_bytes("ca")));
  EXPECT_EQ(back.user_input(), false);
  EXPECT_EQ(back.owner_port(), 8041);
  EXPECT_FALSE(back.dns().has_value());
  EXPECT_FALSE(back.delay_sec().has_value());
  EXPECT_EQ(back, d);
}

TEST(RendezvousInfo, FromUrlsEmitsProtocolAndBothPorts) {
  // docs/cli.md --rv: HOST a name → RVDns; DevPort AND OwnerPort; RVProtocol always ("rv-protocol-default"); variable order.
  EXPECT_EQ(to_hex(RendezvousInfo::from_urls("http://rv.example.com:8080").encode()),
            "8184"
            "820343191f90"
            "820443191f90"
            "82054f6e72762e6578616d706c652e636f6d"
            "820c4101");
  // An IP host → RVIPAddress; flags and delay; in variable order.
  EXPECT_EQ(to_hex(RendezvousInfo::from_urls("https://192.168.1.10:8443?dev-only&delay=30").encode()),
            "8186"
            "8100"
            "82024544c0a8010a"
            "8203431920fb"
            "8204431920fb"
            "820c4102"
            "820d42181e");
  // Scheme default port written explicitly; IPv6 in brackets; bypass.
  const RendezvousInfo v6 = RendezvousInfo::from_urls("https://[::1]?bypass, http://rv");
  ASSERT_EQ(v6.directives().size(), 2u);
  EXPECT_EQ(v6.directives()[0].describe(), "ip=::1 dev-port=443 owner-port=443 protocol=https bypass");
  EXPECT_EQ(v6.directives()[1].describe(), "dev-port=80 owner-port=80 dns=rv protocol=http");
  const std::vector<std::string> args = {"http://a:1,https://b:2?owner-only", "http://c:3"};
  const RendezvousInfo many = RendezvousInfo::from_urls(args);
  ASSERT_EQ(many.directives().size(), 3u);
  EXPECT_TRUE(many.directives()[1].owner_only());
}

TEST(RendezvousInfo, FromUrlsRejectsBadUrls) {
  for (const char* bad :
       {"", "ftp://x:1", "http://x:0", "http://x:65536", "http://x:port", "http://x:1?foo",
        "http://x:1?dev-only&owner-only", "http://x:1?bypass&owner-only", "http://x:1/path", "http://::1:80",
        "http://[1.2.3.4]:80", "http://[::1", "http://bad host:1", "http://x:1,,http://y:2", "http://x:1?delay=-1",
        "http://x:1?delay=4294967296", "http://:80"}) {
    SCOPED_TRACE(bad);
    expect_error([&] { (void)RendezvousInfo::from_urls(std::string_view(bad)); }, ErrorCode::MessageBodyError);
  }
}

TEST(RendezvousInfo, RendersJsonAndHidesTheWifiPassword) {
  RendezvousInfo info = RendezvousInfo::from_urls("http://rv.example.com:8080?delay=30");
  JsonWriter j;
  info.to_json(j);
  EXPECT_EQ(j.str(), R"([[{"variable":"RVDevPort","value":8080},{"variable":"RVOwnerPort","value":8080},)"
                     R"({"variable":"RVDns","value":"rv.example.com"},{"variable":"RVProtocol","value":"http"},)"
                     R"({"variable":"RVDelaysec","value":30}]])");
  RendezvousDirective d;
  d.set_wifi_pw("s3cret").set_flag(RVVariable::RVOwnerOnly).add({static_cast<RVVariable>(42), from_hex("01")});
  d.set_sv_cert_hash(Hash(HashType::Sha256, Bytes(32, 0xAB)));
  JsonWriter hidden;
  d.to_json(hidden);
  EXPECT_EQ(hidden.str().find("s3cret"), std::string::npos);
  EXPECT_NE(hidden.str().find(R"({"variable":"RVOwnerOnly"})"), std::string::npos) << hidden.str();
  EXPECT_NE(hidden.str().find(R"({"variable":42,"value_hex":"01"})"), std::string::npos) << hidden.str();
  EXPECT_NE(hidden.str().find(R"("value":{"alg":"SHA256","hex":"abab)"), std::string::npos) << hidden.str();
  JsonWriter revealed;
  d.to_json(revealed, true);
  EXPECT_NE(revealed.str().find("s3cret"), std::string::npos);
  EXPECT_EQ(d.describe().find("s3cret"), std::string::npos);
}

TEST(RendezvousInfo, NamesEveryVariable) {
  for (unsigned v = 0; v <= 15; ++v) {
    EXPECT_FALSE(rv_variable_name(static_cast<RVVariable>(v)).empty()) << v;
    EXPECT_TRUE(is_known(static_cast<RVVariable>(v)));
  }
  EXPECT_FALSE(is_known(static_cast<RVVariable>(16)));
  EXPECT_EQ(rv_variable_name(RVVariable::RVDelaysec), "RVDelaysec");
  EXPECT_TRUE(is_flag(RVVariable::RVBypass));
  EXPECT_FALSE(is_flag(RVVariable::RVUserInput));
  EXPECT_EQ(rv_protocol_name(RVProtocolValue::CoapUdp), "coap+udp");
}

}  // namespace
}  // namespace fdo
