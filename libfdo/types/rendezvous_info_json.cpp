// RendezvousInfo::from_json: the full form of `--rv-info FILE` (docs/cli.md "Rendezvous info"), which is the JSON
// that RendezvousInfo::to_json(reveal = true) writes. Read with nlohmann-json, the one JSON library of this layer
// (docs/adr/0002-dependency-containment.md).
#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo {
namespace {

using Json = nlohmann::json;

// The schema nests at most 5 deep (directives, instructions, instruction, RVExtRV value, args_hex); deeper input is
// refused while parsing, so no recursion (dump() in messages, destruction) ever sees deep nesting.
constexpr int kMaxDepth = 8;

struct TooDeep {};

// Text of a JSON value for an error message, cut short; invalid UTF-8 cannot occur (the parser refuses it).
std::string shown(const Json& v) {
  std::string text = v.dump();
  if (text.size() > 40) {
    text = text.substr(0, 37) + "...";
  }
  return text;
}

// Reads one instruction object at `where` ("rv.json: [0][2]") and appends it to `d`.
class InstrReader {
 public:
  InstrReader(const Json& obj, std::string where) : m_obj(obj), m_where(std::move(where)) {}

  RendezvousInstr read() {
    if (!m_obj.is_object()) {
      fail("expected an object {\"variable\": NAME, \"value\": …}, got " + shown(m_obj));
    }
    const RVVariable variable = read_variable();
    m_where += " " + std::string(is_known(variable) ? rv_variable_name(variable) : "RVVariable " +
                                                          std::to_string(static_cast<unsigned>(variable)));
    if (!is_known(variable)) {
      check_members({"variable", "value_hex"});
      if (!m_obj.contains("value_hex")) {
        return {variable, std::nullopt};
      }
      return {variable, hex_member(m_obj.at("value_hex"), "value_hex")};
    }
    if (is_flag(variable)) {
      check_members({"variable"});
      return {variable, std::nullopt};
    }
    check_members({"variable", "value"});
    if (!m_obj.contains("value")) {
      fail("needs a \"value\"");
    }
    return {variable, value_cbor(variable, m_obj.at("value"))};
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw_body_error(m_where + ": " + why); }

  RVVariable read_variable() {
    if (!m_obj.contains("variable")) {
      fail("needs a \"variable\" (a name such as \"RVDns\", or a number 16..255)");
    }
    const Json& v = m_obj.at("variable");
    if (v.is_string()) {
      const std::string name = v.get<std::string>();
      for (unsigned n = 0; n <= 15; ++n) {
        if (rv_variable_name(static_cast<RVVariable>(n)) == name) {
          return static_cast<RVVariable>(n);
        }
      }
      fail("unknown variable \"" + name + "\" (FDO 1.1 §3.7 names: RVDevOnly, RVOwnerOnly, RVIPAddress, RVDevPort, " +
           "RVOwnerPort, RVDns, RVSvCertHash, RVClCertHash, RVUserInput, RVWifiSsid, RVWifiPw, RVMedium, RVProtocol, " +
           "RVDelaysec, RVBypass, RVExtRV)");
    }
    if (v.is_number_unsigned() && v.get<std::uint64_t>() >= 16 && v.get<std::uint64_t>() <= 0xFF) {
      return static_cast<RVVariable>(v.get<std::uint64_t>());
    }
    if (v.is_number_unsigned() && v.get<std::uint64_t>() < 16) {
      fail("variable " + shown(v) + " is defined by FDO 1.1: write its name (\"" +
           std::string(rv_variable_name(static_cast<RVVariable>(v.get<std::uint64_t>()))) + "\")");
    }
    fail("\"variable\" must be a name or a number 16..255, got " + shown(v));
  }

  void check_members(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : m_obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail("unknown member \"" + key + "\"");
      }
    }
  }

  std::uint64_t uint_value(const Json& v, std::uint64_t max) const {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max) {
      fail("value must be an integer 0.." + std::to_string(max) + ", got " + shown(v));
    }
    return v.get<std::uint64_t>();
  }

  std::string string_value(const Json& v, std::string_view what) const {
    if (!v.is_string()) {
      fail(std::string(what) + " must be a string, got " + shown(v));
    }
    return v.get<std::string>();
  }

  Bytes hex_member(const Json& v, std::string_view what) const {
    const std::string text = string_value(v, what);
    try {
      return from_hex(text);
    } catch (const Error&) {
      fail(std::string(what) + " must be hex (an even number of 0-9a-f), got " + shown(v));
    }
  }

  // The CBOR item inside the RVValue bstr (FDO 1.1 §3.7), from the JSON value of a known, non-flag variable.
  Bytes value_cbor(RVVariable variable, const Json& v) const {
    switch (variable) {
      case RVVariable::RVIPAddress: {
        const std::optional<IpAddress> ip = IpAddress::parse(string_value(v, "value"));
        if (!ip) {
          fail("value must be an IPv4 or IPv6 address, got " + shown(v));
        }
        return cbor::encode_bstr(ip->bytes());
      }
      case RVVariable::RVDevPort:
      case RVVariable::RVOwnerPort:
        return cbor::encode_uint(uint_value(v, 0xFFFF));
      case RVVariable::RVMedium:
        return cbor::encode_uint(uint_value(v, 0xFF));
      case RVVariable::RVDelaysec:
        return cbor::encode_uint(uint_value(v, 0xFFFFFFFF));
      case RVVariable::RVDns:
      case RVVariable::RVWifiSsid:
      case RVVariable::RVWifiPw:
        return cbor::encode_tstr(string_value(v, "value"));
      case RVVariable::RVSvCertHash:
      case RVVariable::RVClCertHash:
        return hash_value(v).encode();
      case RVVariable::RVUserInput: {
        if (!v.is_boolean()) {
          fail("value must be true or false, got " + shown(v));
        }
        cbor::Writer w;
        w.boolean(v.get<bool>());
        return std::move(w).take();
      }
      case RVVariable::RVProtocol:
        return cbor::encode_uint(protocol_value(v));
      case RVVariable::RVExtRV:
        return ext_rv_value(v);
      case RVVariable::RVDevOnly:
      case RVVariable::RVOwnerOnly:
      case RVVariable::RVBypass:
        break;
    }
    throw_internal("RendezvousInfo::from_json: no value for a flag");
  }

  // {"alg": "SHA256"|"SHA384", "hex": …}, as the tools write every Hash.
  Hash hash_value(const Json& v) const {
    if (!v.is_object() || !v.contains("alg") || !v.contains("hex") || v.size() != 2) {
      fail("value must be {\"alg\": \"SHA256\" or \"SHA384\", \"hex\": HEX}, got " + shown(v));
    }
    const std::string alg = string_value(v.at("alg"), "alg");
    HashType type{};
    if (alg == hash_type_name(HashType::Sha256)) {
      type = HashType::Sha256;
    } else if (alg == hash_type_name(HashType::Sha384)) {
      type = HashType::Sha384;
    } else {
      fail("alg must be \"SHA256\" or \"SHA384\", got " + shown(v.at("alg")));
    }
    Bytes digest = hex_member(v.at("hex"), "hex");
    if (digest.size() != hash_type_size(type)) {
      fail(alg + " needs " + std::to_string(2 * hash_type_size(type)) + " hex digits, got " +
           std::to_string(2 * digest.size()));
    }
    return Hash(type, std::move(digest));
  }

  // A name of rv_protocol_name() or, for values FDO 1.1 does not name, the number.
  std::uint64_t protocol_value(const Json& v) const {
    if (v.is_number_unsigned()) {
      return uint_value(v, 0xFF);
    }
    const std::string name = string_value(v, "value");
    for (unsigned p = 0; p <= 6; ++p) {
      if (rv_protocol_name(static_cast<RVProtocolValue>(p)) == name) {
        return p;
      }
    }
    fail("unknown protocol \"" + name + "\" (rest, http, https, tcp, tls, coap+tcp, coap+udp, or a number)");
  }

  // {"mechanism": TEXT, "args_hex": [HEX, …]}, each arg the hex of one CBOR item.
  Bytes ext_rv_value(const Json& v) const {
    if (!v.is_object() || !v.contains("mechanism")) {
      fail("value must be {\"mechanism\": TEXT, \"args_hex\": [HEX, …]}, got " + shown(v));
    }
    for (const auto& [key, member] : v.items()) {
      if (key != "mechanism" && key != "args_hex") {
        fail("unknown member \"" + key + "\" in the value");
      }
    }
    const std::string mechanism = string_value(v.at("mechanism"), "mechanism");
    const Json none = Json::array();
    const Json& args = v.contains("args_hex") ? v.at("args_hex") : none;
    if (!args.is_array()) {
      fail("args_hex must be an array of hex strings, got " + shown(args));
    }
    cbor::Writer w;
    w.array(1 + args.size()).tstr(mechanism);
    for (std::size_t i = 0; i < args.size(); ++i) {
      const Bytes arg = hex_member(args[i], "args_hex[" + std::to_string(i) + "]");
      if (!cbor::is_single_item(arg)) {
        fail("args_hex[" + std::to_string(i) + "] must be the hex of one CBOR item");
      }
      w.raw(arg);
    }
    return std::move(w).take();
  }

  const Json& m_obj;
  std::string m_where;
};

}  // namespace

RendezvousInfo RendezvousInfo::from_json(std::string_view text, std::string_view source) {
  const std::string where(source);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw_body_error(where + ": empty; expected a JSON RendezvousInfo [[{\"variable\": …}, …], …]");
  }
  Json doc;
  try {
    doc = Json::parse(text, [](int depth, Json::parse_event_t /*event*/, Json& /*parsed*/) {
      if (depth > kMaxDepth) {
        throw TooDeep{};
      }
      return true;
    });
  } catch (const TooDeep&) {
    throw_body_error(where + ": nested deeper than " + std::to_string(kMaxDepth) + " levels");
  } catch (const Json::parse_error& e) {
    // nlohmann's text starts with "[json.exception.parse_error.N] "; the rest says where and what.
    const std::string what = e.what();
    const std::size_t cut = what.find("] ");
    throw_body_error(where + ": not JSON: " + (cut == std::string::npos ? what : what.substr(cut + 2)));
  }
  // FDO 1.1 §3.7: RendezvousInfo = [+ RendezvousDirective], RendezvousDirective = [+ RendezvousInstr].
  if (!doc.is_array() || doc.empty()) {
    throw_body_error(where + ": expected a non-empty array of directives, got " + shown(doc));
  }
  RendezvousInfo info;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const std::string at = where + ": [" + std::to_string(i) + "]";
    const Json& directive = doc[i];
    if (!directive.is_array() || directive.empty()) {
      throw_body_error(at + ": expected a non-empty array of instructions, got " + shown(directive));
    }
    RendezvousDirective d;
    for (std::size_t k = 0; k < directive.size(); ++k) {
      const std::string place = at + "[" + std::to_string(k) + "]";
      const RendezvousInstr instr = InstrReader(directive[k], place).read();
      try {
        d.add(instr);
      } catch (const Error& e) {
        throw_body_error(place + ": " + e.what());
      }
    }
    info.add(std::move(d));
  }
  return info;
}

}  // namespace fdo
