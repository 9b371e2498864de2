// RendezvousInfo::from_json, the `--rv-info FILE` form (docs/cli.md "Rendezvous info"): every RendezvousInfo the
// tests build survives RendezvousInfo → JSON → RendezvousInfo and JSON → RendezvousInfo → JSON, and bad files are
// refused with the place named.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo {
namespace {

using test::expect_error;

std::string json_of(const RendezvousInfo& info) {
  JsonWriter j;
  info.to_json(j, true);
  return j.str();
}

RendezvousDirective directive(const std::function<void(RendezvousDirective&)>& build) {
  RendezvousDirective d;
  build(d);
  return d;
}

struct Case {
  std::string name;  // where the tests build it
  RendezvousInfo info;
};

// Every RendezvousInfo the unit and integration tests build (grep from_urls, RendezvousDirective).
std::vector<Case> built_by_the_tests() {
  std::vector<Case> cases;
  const auto urls = [&](const std::string& where, const std::string& list) {
    cases.push_back({where + " " + list, RendezvousInfo::from_urls(std::string_view(list))});
  };
  // from_urls in voucher_test_fixture.h, rv_test_support.h, di_test.cpp (protocol, integration), tpm_test.cpp,
  // to2_test.cpp, di_test.cpp (messages), plan_test.cpp, device_credential_test.cpp, reseller_cli_test.cpp,
  // to0_to1_test.cpp, to1_test.cpp.
  for (const char* list : {"http://127.0.0.1:8040", "http://127.0.0.1:8041", "http://127.0.0.1:1", "http://127.0.0.1:2",
                           "http://127.0.0.1:9041", "http://rv.example.com:8040", "http://rv.scripted:8040?delay=5",
                           "http://rv.empty:8041", "http://rv.empty:8041?delay=5000",
                           "http://rv.empty:8041,http://owner.example:8443?bypass",
                           "http://rv.down:8049?delay=10,http://rv.empty:8041?delay=5000",
                           "http://rv.good:8040?owner-only,http://rv.down:8049,http://rv.empty:8041,http://rv.good:8040"}) {
    urls("from_urls", list);
  }
  // rendezvous_info_test.cpp
  urls("rendezvous_info_test", "http://rv.example.com:8080");
  urls("rendezvous_info_test", "https://192.168.1.10:8443?dev-only&delay=30");
  urls("rendezvous_info_test", "https://[::1]?bypass, http://rv");
  urls("rendezvous_info_test", "http://a:1,https://b:2?owner-only,http://c:3");
  urls("rendezvous_info_test", "http://rv.example.com:8080?delay=30");
  cases.push_back({"rendezvous_info_test BuildersEmitOneOfEachInVariableOrder",
                   RendezvousInfo({directive([](RendezvousDirective& d) {
                     d.set_protocol(RVProtocolValue::Https)
                         .set_dns("rv")
                         .set_dev_port(8443)
                         .add_ip_address(*IpAddress::parse("10.0.0.1"))
                         .add_ip_address(*IpAddress::parse("::ffff:10.0.0.2"))
                         .set_flag(RVVariable::RVBypass)
                         .set_flag(RVVariable::RVDevOnly)
                         .set_delay_sec(30)
                         .set_user_input(true);
                   })})});
  cases.push_back({"rendezvous_info_test AddChecksValuesAsDecodeDoes", RendezvousInfo({directive([](auto& d) {
                     d.add({RVVariable::RVDevPort, cbor::encode_uint(80)});
                     d.add({RVVariable::RVBypass, from_hex("f6")});
                     d.add({static_cast<RVVariable>(99), from_hex("01")});
                     d.add({static_cast<RVVariable>(200), std::nullopt});
                   })})});
  cases.push_back({"rendezvous_info_test AccessorsReadEveryVariable", RendezvousInfo({directive([](auto& d) {
                     d.set_wifi_ssid("lab").set_wifi_pw("pw").set_medium(kRVMedWifiAll);
                     d.set_ext_rv({"wol", {cbor::encode_uint(7), cbor::encode_tstr("x")}});
                     d.set_sv_cert_hash(Hash::compute(HashType::Sha256, to_bytes("leaf")));
                     d.set_cl_cert_hash(Hash::compute(HashType::Sha384, to_bytes("ca")));
                     d.set_user_input(false).set_owner_port(8041);
                   })})});
  cases.push_back({"rendezvous_info_test RendersJsonAndHidesTheWifiPassword", RendezvousInfo({directive([](auto& d) {
                     d.set_wifi_pw("s3cret").set_flag(RVVariable::RVOwnerOnly);
                     d.add({static_cast<RVVariable>(42), from_hex("01")});
                     d.set_sv_cert_hash(Hash(HashType::Sha256, Bytes(32, 0xAB)));
                   })})});
  // rv_walk_test.cpp
  cases.push_back({"rv_walk_test DeviceTriesDnsThenEachIpWithTheDevicePort", RendezvousInfo({directive([](auto& d) {
                     d.add_ip_address(*IpAddress::parse("10.0.0.1")).set_dns("rv.example.com").set_dev_port(8040);
                     d.set_owner_port(8041).add_ip_address(*IpAddress::parse("fd00::1"));
                     d.set_protocol(RVProtocolValue::Http).set_delay_sec(30);
                   })})});
  cases.push_back({"rv_walk_test DefaultsHttpsAndSchemePorts",
                   RendezvousInfo({directive([](auto& d) { d.set_dns("a"); }),
                                   directive([](auto& d) { d.set_dns("b").set_protocol(RVProtocolValue::Http); }),
                                   directive([](auto& d) {
                                     d.set_dns("c").set_protocol(RVProtocolValue::Rest);
                                     d.add_ip_address(*IpAddress::parse("10.0.0.3"));
                                   })})});
  std::vector<RendezvousDirective> unusable;
  for (const auto& extra : std::vector<std::function<void(RendezvousDirective&)>>{
           [](auto& d) { d.set_flag(RVVariable::RVOwnerOnly); },
           [](auto& d) { d.set_protocol(RVProtocolValue::Tls); }, [](auto& d) { d.set_ext_rv({"wol", {}}); },
           [](auto& d) { d.set_user_input(true); }, [](auto& d) { d.set_flag(RVVariable::RVDevOnly); }}) {
    unusable.push_back(directive([&](auto& d) {
      d.set_dns("rv").set_delay_sec(5);
      extra(d);
    }));
  }
  unusable.push_back(directive([](auto& d) { d.set_dev_port(80); }));
  cases.push_back({"rv_walk_test DeviceSkipsOwnerOnlyAndUnusableDirectives", RendezvousInfo(unusable)});
  cases.push_back({"rv_walk_test BypassTargetsAreMarked...", RendezvousInfo({directive([](auto& d) {
                     d.set_dns("owner.example.com").set_dev_port(8043).set_protocol(RVProtocolValue::Rest);
                     d.set_delay_sec(10).set_flag(RVVariable::RVBypass);
                     d.set_sv_cert_hash(Hash(HashType::Sha256, Bytes(32, 1)));
                     d.set_cl_cert_hash(Hash(HashType::Sha384, Bytes(48, 2)));
                   })})});
  RendezvousInfo owner_walk = RendezvousInfo::from_urls(std::vector<std::string>{
      "http://rv1:8040?dev-only", "https://owner:8043?bypass", "http://rv2:8041", "http://rv2:8041?delay=5",
      "https://10.0.0.9:8443?owner-only"});
  owner_walk.add(directive([](auto& d) {
    d.set_dns("rv3").set_dev_port(1).set_owner_port(2).set_protocol(RVProtocolValue::Http);
  }));
  cases.push_back({"rv_walk_test OwnerSkipsDevOnly...", owner_walk});
  cases.push_back({"rv_walk_test OwnerDefaultsPortByScheme",
                   RendezvousInfo({directive([](auto& d) { d.set_dns("rv").set_dev_port(8040); })})});
  // to1_test.cpp BypassKeepsEveryTargetOfItsDirectiveInWalkOrder
  cases.push_back({"to1_test BypassKeepsEveryTarget...", RendezvousInfo({directive([](auto& d) {
                     d.set_dns("owner.example").add_ip_address(*IpAddress::parse("127.0.0.1"));
                     d.add_ip_address(*IpAddress::parse("::1")).set_dev_port(8443);
                     d.set_protocol(RVProtocolValue::Rest).set_flag(RVVariable::RVBypass);
                   })})});
  // Values beyond the builders: every RVProtocol name and an undefined one, the largest numbers, unknown variables.
  for (unsigned p = 0; p <= 7; ++p) {
    cases.push_back({"protocol " + std::to_string(p), RendezvousInfo({directive([&](auto& d) {
                       d.set_dns("rv").add({RVVariable::RVProtocol, cbor::encode_uint(p)});
                     })})});
  }
  cases.push_back({"limits", RendezvousInfo({directive([](auto& d) {
                     d.set_dev_port(65535).set_owner_port(0).set_medium(255).set_delay_sec(4294967295u);
                     d.add({static_cast<RVVariable>(255), Bytes{}});
                     d.set_dns("r\xc3\xa9seau \"quoted\"\n");
                   })})});
  return cases;
}

void expect_round_trips(const std::string& name, const RendezvousInfo& info) {
  SCOPED_TRACE(name);
  const std::string json = json_of(info);
  const RendezvousInfo back = RendezvousInfo::from_json(json, "test.json");
  EXPECT_EQ(back, info) << json;                  // RendezvousInfo → JSON → RendezvousInfo
  EXPECT_EQ(back.encode(), info.encode());        // the CBOR is unchanged too
  EXPECT_EQ(json_of(back), json);                 // JSON → RendezvousInfo → JSON
}

TEST(RendezvousInfoJson, EveryRendezvousInfoOfTheTestsRoundTrips) {
  const std::vector<Case> cases = built_by_the_tests();
  EXPECT_GE(cases.size(), 37u);  // the table above, all of it
  for (const Case& c : cases) {
    expect_round_trips(c.name, c.info);
  }
}

TEST(RendezvousInfoJson, DecodedInstructionVectorsRoundTrip) {
  // The decodable instruction vectors of libfdo/testdata/types/rv_instructions.txt, except the forms that to_json
  // normalises: RVUserInput written [8] or [8, null] reads as true and comes back as [8, true].
  std::size_t n = 0;
  for (const test::Record& rec : test::read_records("types", "rv_instructions.txt")) {
    if (rec.count("error") != 0) {
      continue;
    }
    Leniency leniency;
    if (rec.count("lenient") != 0) {
      const std::vector<std::string> names = {rec.at("lenient")};
      leniency = Leniency::from_names(names);
    }
    const RendezvousInfo info = RendezvousInfo::decode(concat(from_hex("8181"), from_hex(rec.at("instr"))), leniency);
    const RendezvousInstr& instr = info.directives()[0].instructions()[0];
    if (instr.variable == RVVariable::RVUserInput && (!instr.value || *instr.value == from_hex("f6"))) {
      const RendezvousInfo back = RendezvousInfo::from_json(json_of(info), "test.json");
      EXPECT_EQ(back.directives()[0].user_input(), true) << rec.at("name");
      continue;
    }
    expect_round_trips(rec.at("name"), info);
    ++n;
  }
  EXPECT_GT(n, 20u);
}

TEST(RendezvousInfoJson, ReadsTheDocumentedExample) {
  // docs/cli.md "Rendezvous info", the example file.
  const RendezvousInfo info = RendezvousInfo::from_json(R"([
    [{"variable": "RVDns", "value": "rv.example.com"}, {"variable": "RVDevPort", "value": 8041},
     {"variable": "RVOwnerPort", "value": 8041}, {"variable": "RVProtocol", "value": "https"},
     {"variable": "RVSvCertHash", "value": {"alg": "SHA256",
      "hex": "0000000000000000000000000000000000000000000000000000000000000001"}}],
    [{"variable": "RVIPAddress", "value": "192.0.2.7"}, {"variable": "RVDevPort", "value": 8040},
     {"variable": "RVProtocol", "value": "http"}, {"variable": "RVDelaysec", "value": 30},
     {"variable": "RVDevOnly"}]
  ])",
                                                        "rv.json");
  ASSERT_EQ(info.directives().size(), 2u);
  EXPECT_EQ(info.directives()[0].describe(),
            "dns=rv.example.com dev-port=8041 owner-port=8041 protocol=https sv-cert-hash=SHA256:"
            "0000000000000000000000000000000000000000000000000000000000000001");
  // The file's order is kept (not the builders' variable order).
  EXPECT_EQ(info.directives()[1].describe(), "ip=192.0.2.7 dev-port=8040 protocol=http delay=30s dev-only");
  // An IPv4-mapped IPv6 address is kept as IPv4 (docs/interop.md "ipv4-mapped-addresses"), as from CBOR.
  EXPECT_EQ(RendezvousInfo::from_json(R"([[{"variable":"RVIPAddress","value":"::ffff:10.0.0.2"}]])", "f")
                .directives()[0]
                .describe(),
            "ip=10.0.0.2");
}

TEST(RendezvousInfoJson, BadFilesNameTheFileAndThePlace) {
  const struct {
    const char* json;
    const char* message;
  } bad[] = {
      {"", "rv.json: empty"},
      {" \n", "rv.json: empty"},
      {"[[{\"variable\": \"RVDns\", \"value\": \"x\"}]", "rv.json: not JSON: "},
      {"rv.example.com:8041", "rv.json: not JSON: "},
      {"[[{\"variable\":\"RVDns\",\"value\":\"\xff\"}]]", "rv.json: not JSON: "},
      {"{}", "rv.json: expected a non-empty array of directives"},
      {"[]", "rv.json: expected a non-empty array of directives"},
      {"[[]]", "rv.json: [0]: expected a non-empty array of instructions"},
      {R"([[{"variable":"RVDns","value":"a"}], {}])", "rv.json: [1]: expected a non-empty array of instructions"},
      {R"([["RVDns"]])", "rv.json: [0][0]: expected an object"},
      {R"([[{"value":"a"}]])", "rv.json: [0][0]: needs a \"variable\""},
      {R"([[{"variable":"RVDNS","value":"a"}]])", "rv.json: [0][0]: unknown variable \"RVDNS\""},
      {R"([[{"variable":5,"value":"a"}]])", "rv.json: [0][0]: variable 5 is defined by FDO 1.1: write its name (\"RVDns\")"},
      {R"([[{"variable":256}]])", "rv.json: [0][0]: \"variable\" must be a name or a number 16..255"},
      {R"([[{"variable":"RVDns"}]])", "rv.json: [0][0] RVDns: needs a \"value\""},
      {R"([[{"variable":"RVDns","value":"a","port":1}]])", "rv.json: [0][0] RVDns: unknown member \"port\""},
      {R"([[{"variable":"RVDevOnly","value":true}]])", "rv.json: [0][0] RVDevOnly: unknown member \"value\""},
      {R"([[{"variable":"RVDns","value":"a"},{"variable":"RVDevPort","value":"8041"}]])",
       "rv.json: [0][1] RVDevPort: value must be an integer 0..65535, got \"8041\""},
      {R"([[{"variable":"RVDevPort","value":65536}]])", "rv.json: [0][0] RVDevPort: value must be an integer 0..65535"},
      {R"([[{"variable":"RVDevPort","value":-1}]])", "rv.json: [0][0] RVDevPort: value must be an integer 0..65535"},
      {R"([[{"variable":"RVDevPort","value":80.5}]])", "rv.json: [0][0] RVDevPort: value must be an integer 0..65535"},
      {R"([[{"variable":"RVDelaysec","value":4294967296}]])", "[0][0] RVDelaysec: value must be an integer 0..4294967295"},
      {R"([[{"variable":"RVDns","value":7}]])", "rv.json: [0][0] RVDns: value must be a string, got 7"},
      {R"([[{"variable":"RVIPAddress","value":"rv.example.com"}]])",
       "rv.json: [0][0] RVIPAddress: value must be an IPv4 or IPv6 address"},
      {R"([[{"variable":"RVUserInput","value":"yes"}]])", "rv.json: [0][0] RVUserInput: value must be true or false"},
      {R"([[{"variable":"RVProtocol","value":"ftp"}]])", "rv.json: [0][0] RVProtocol: unknown protocol \"ftp\""},
      {R"([[{"variable":"RVSvCertHash","value":"ab"}]])", "rv.json: [0][0] RVSvCertHash: value must be {\"alg\""},
      {R"([[{"variable":"RVSvCertHash","value":{"alg":"HMAC-SHA256","hex":"00"}}]])",
       "rv.json: [0][0] RVSvCertHash: alg must be \"SHA256\" or \"SHA384\""},
      {R"([[{"variable":"RVClCertHash","value":{"alg":"SHA384","hex":"00"}}]])",
       "rv.json: [0][0] RVClCertHash: SHA384 needs 96 hex digits, got 2"},
      {R"([[{"variable":"RVClCertHash","value":{"alg":"SHA256","hex":"xyz"}}]])",
       "rv.json: [0][0] RVClCertHash: hex must be hex"},
      {R"([[{"variable":"RVExtRV","value":{"mechanism":"wol","args_hex":["ff"]}}]])",
       "rv.json: [0][0] RVExtRV: args_hex[0] must be the hex of one CBOR item"},
      {R"([[{"variable":"RVExtRV","value":{"args_hex":[]}}]])", "rv.json: [0][0] RVExtRV: value must be {\"mechanism\""},
      {R"([[{"variable":99,"value":"01"}]])", "rv.json: [0][0] RVVariable 99: unknown member \"value\""},
      {"[[[[[[[[[[1]]]]]]]]]]", "rv.json: nested deeper than 8 levels"},
  };
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(expect_error([&] { (void)RendezvousInfo::from_json(deep, "rv.json"); }, ErrorCode::MessageBodyError)
                .find("nested deeper"),
            std::string::npos);
  for (const auto& b : bad) {
    SCOPED_TRACE(b.json);
    const std::string what =
        expect_error([&] { (void)RendezvousInfo::from_json(b.json, "rv.json"); }, ErrorCode::MessageBodyError);
    EXPECT_NE(what.find(b.message), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace fdo
