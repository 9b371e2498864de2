#include "libfdo/types/rendezvous_info.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/text.h"
#include "libfdo/core/url.h"

namespace fdo {
namespace {

std::string variable_label(RVVariable variable) {
  const std::string_view name = rv_variable_name(variable);
  return name.empty() ? "RVVariable " + std::to_string(static_cast<unsigned>(variable)) : std::string(name);
}

// Checks that `item` (one CBOR item) is a valid value of `variable` (FDO 1.1 §3.7) and returns the
// bytes to keep: the item as received, except RVIPAddress, which is kept as 4 bytes when IPv4-mapped.
Bytes checked_value(RVVariable variable, ByteView item, const std::string& field) {
  cbor::Reader r(item, field);
  Bytes keep(item.begin(), item.end());
  switch (variable) {
    case RVVariable::RVIPAddress: {
      const Bytes raw = r.read_bstr("IPAddress");
      const std::optional<IpAddress> address = IpAddress::from_bytes(raw);
      if (!address) {
        r.fail("IPAddress", "expected 4 (IPv4) or 16 (IPv6) bytes, got " + std::to_string(raw.size()));
      }
      // docs/interop.md "ipv4-mapped-addresses": a 16-byte IPv4-mapped address (::ffff:a.b.c.d) is read as IPv4.
      keep = cbor::encode_bstr(address->unmapped().bytes());
      break;
    }
    case RVVariable::RVDevPort:
    case RVVariable::RVOwnerPort:
      r.read_uint_max("Port", 0xFFFF);
      break;
    case RVVariable::RVDns:
    case RVVariable::RVWifiSsid:
    case RVVariable::RVWifiPw:
      r.read_tstr("tstr");
      break;
    case RVVariable::RVSvCertHash:
    case RVVariable::RVClCertHash:
      Hash::decode(r, "Hash", HashKind::Digest);
      break;
    case RVVariable::RVUserInput:
      if (!r.try_read_null()) {
        r.read_bool("bool");
      }
      break;
    case RVVariable::RVMedium:
    case RVVariable::RVProtocol:
      r.read_uint_max("uint8", 0xFF);
      break;
    case RVVariable::RVDelaysec:
      r.read_uint_max("uint32", 0xFFFFFFFF);
      break;
    case RVVariable::RVExtRV: {
      const std::size_t count = r.read_array("RVExtRV");
      if (count == 0) {
        r.fail("RVExtRV", "expected [mechanism, * args]");
      }
      r.read_tstr("RVExtRV[0] mechanism");
      for (std::size_t i = 1; i < count; ++i) {
        r.skip("RVExtRV arg");
      }
      break;
    }
    case RVVariable::RVDevOnly:
    case RVVariable::RVOwnerOnly:
    case RVVariable::RVBypass:
      r.fail("value", "a flag has no value");
  }
  r.expect_end();
  return keep;
}

// A bstr holding a bare 4- or 16-byte address (FDO 1.0 form): bstr .cbor IPAddress is 5 or 17 bytes long, so
// the two forms never have the same length.
bool is_bare_ip(ByteView content) {
  return content.size() == 4 || content.size() == 16;
}

std::uint64_t read_kept_uint(const RendezvousInstr& instr) {
  cbor::Reader r(*instr.value, "RendezvousInstr");
  return r.read_uint("value");
}

std::string read_kept_tstr(const RendezvousInstr& instr) {
  cbor::Reader r(*instr.value, "RendezvousInstr");
  return r.read_tstr("value");
}

Hash read_kept_hash(const RendezvousInstr& instr) {
  cbor::Reader r(*instr.value, "RendezvousInstr");
  return Hash::decode(r, "value", HashKind::Digest);
}

std::string hash_text(const Hash& h) {
  return std::string(hash_type_name(h.type())) + ":" + h.hex();
}

std::optional<std::uint32_t> parse_seconds(std::string_view s) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// One `--rv` URL → one directive (docs/cli.md; docs/interop.md "rv-protocol-default": explicit protocol and port
// always).
RendezvousDirective directive_from_url(std::string_view url) {
  const Url parsed = parse_url(url, UrlRules{.what = "--rv", .allow_path_prefix = false, .allow_query = true});
  const auto bad = [&](const std::string& why) { throw_body_error("--rv '" + std::string(url) + "': " + why); };
  RendezvousDirective d;
  if (const std::optional<IpAddress> ip = IpAddress::from_url_host(parsed.host, "--rv", url)) {
    d.add_ip_address(*ip);
  } else {
    d.set_dns(parsed.host);
  }
  d.set_dev_port(parsed.port).set_owner_port(parsed.port);
  d.set_protocol(parsed.scheme == "http" ? RVProtocolValue::Http : RVProtocolValue::Https);
  std::string_view query = parsed.query;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view flag = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (flag == "dev-only") {
      d.set_flag(RVVariable::RVDevOnly);
    } else if (flag == "owner-only") {
      d.set_flag(RVVariable::RVOwnerOnly);
    } else if (flag == "bypass") {
      d.set_flag(RVVariable::RVBypass);
    } else if (flag.substr(0, 6) == "delay=") {
      const std::optional<std::uint32_t> seconds = parse_seconds(flag.substr(6));
      if (!seconds) {
        bad("delay must be 0..4294967295 seconds");
      }
      d.set_delay_sec(seconds.value_or(0));
    } else if (flag.substr(0, 13) == "sv-cert-hash=" || flag.substr(0, 13) == "cl-cert-hash=") {
      // FDO 1.1 §3.7 RVSvCertHash / RVClCertHash: the SHA-256 or SHA-384 (by length) of the rendezvous server's
      // TLS leaf or CA certificate, which the device pins (docs/security.md "TLS").
      const std::string_view hex = flag.substr(13);
      if ((hex.size() != 64 && hex.size() != 96) ||
          !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
        bad(std::string(flag.substr(0, 12)) + " must be 64 or 96 hex digits (SHA-256 or SHA-384)");
      }
      const Hash pin(hex.size() == 64 ? HashType::Sha256 : HashType::Sha384, from_hex(hex));
      if (flag[0] == 's') {
        d.set_sv_cert_hash(pin);
      } else {
        d.set_cl_cert_hash(pin);
      }
    } else {
      bad("unknown option '" + std::string(flag) +
          "' (dev-only, owner-only, bypass, delay=SECONDS, sv-cert-hash=HEX, cl-cert-hash=HEX)");
    }
  }
  if (d.dev_only() && d.owner_only()) {
    bad("dev-only and owner-only exclude each other");
  }
  // FDO 1.1 §3.7.1: RVBypass is a device-only variable; the owner does not run TO0 for it.
  if (d.bypass() && d.owner_only()) {
    bad("bypass names the owner for the device; it cannot be owner-only");
  }
  return d;
}

}  // namespace

std::string_view rv_variable_name(RVVariable variable) {
  switch (variable) {
    case RVVariable::RVDevOnly:
      return "RVDevOnly";
    case RVVariable::RVOwnerOnly:
      return "RVOwnerOnly";
    case RVVariable::RVIPAddress:
      return "RVIPAddress";
    case RVVariable::RVDevPort:
      return "RVDevPort";
    case RVVariable::RVOwnerPort:
      return "RVOwnerPort";
    case RVVariable::RVDns:
      return "RVDns";
    case RVVariable::RVSvCertHash:
      return "RVSvCertHash";
    case RVVariable::RVClCertHash:
      return "RVClCertHash";
    case RVVariable::RVUserInput:
      return "RVUserInput";
    case RVVariable::RVWifiSsid:
      return "RVWifiSsid";
    case RVVariable::RVWifiPw:
      return "RVWifiPw";
    case RVVariable::RVMedium:
      return "RVMedium";
    case RVVariable::RVProtocol:
      return "RVProtocol";
    case RVVariable::RVDelaysec:
      return "RVDelaysec";
    case RVVariable::RVBypass:
      return "RVBypass";
    case RVVariable::RVExtRV:
      return "RVExtRV";
  }
  return "";
}

bool is_known(RVVariable variable) {
  return static_cast<std::uint8_t>(variable) <= 15;
}

bool is_flag(RVVariable variable) {
  return variable == RVVariable::RVDevOnly || variable == RVVariable::RVOwnerOnly || variable == RVVariable::RVBypass;
}

std::string_view rv_protocol_name(RVProtocolValue protocol) {
  switch (protocol) {
    case RVProtocolValue::Rest:
      return "rest";
    case RVProtocolValue::Http:
      return "http";
    case RVProtocolValue::Https:
      return "https";
    case RVProtocolValue::Tcp:
      return "tcp";
    case RVProtocolValue::Tls:
      return "tls";
    case RVProtocolValue::CoapTcp:
      return "coap+tcp";
    case RVProtocolValue::CoapUdp:
      return "coap+udp";
  }
  return "";
}

// ---- RendezvousDirective: codec -------------------------------------------------------------------

RendezvousDirective RendezvousDirective::decode(cbor::Reader& in, const Leniency& leniency, std::string_view field) {
  RendezvousDirective d;
  const std::size_t count = in.read_array(field);
  if (count == 0) {
    in.fail(field, "a RendezvousDirective needs at least one RendezvousInstr");
  }
  for (std::size_t k = 0; k < count; ++k) {
    const std::string f = std::string(field) + "[" + std::to_string(k) + "]";
    const std::size_t len = in.read_array(f);
    if (len != 1 && len != 2) {
      in.fail(f, "expected [RVVariable] or [RVVariable, RVValue], got " + std::to_string(len) + " elements");
    }
    const auto variable = static_cast<RVVariable>(in.read_uint_max(f + "[0] RVVariable", 0xFF));
    const std::string vf = f + " " + variable_label(variable);
    if (len == 1) {
      // docs/interop.md "rv-flag-instructions": flags accept [v]; RVUserInput accepts [8] (true).
      if (is_flag(variable) || variable == RVVariable::RVUserInput || !is_known(variable)) {
        d.m_instructions.push_back({variable, std::nullopt});
        continue;
      }
      in.fail(vf, "needs a value");
    }
    if (is_flag(variable)) {
      // docs/interop.md "rv-flag-instructions": the flags accept [v], [v, <any bstr>] and [v, <bare value>],
      // ignoring the value (fdo-rs writes [v, h'F6']).
      in.skip(vf);
      d.m_instructions.push_back({variable, std::nullopt});
      continue;
    }
    if (in.peek_type() == cbor::MajorType::Bytes) {
      const Bytes content = in.read_bstr(vf);
      if (!is_known(variable)) {
        d.m_instructions.push_back({variable, content});
        continue;
      }
      if (variable == RVVariable::RVIPAddress && is_bare_ip(content) && leniency.accept(Quirk::BareRvValues, vf)) {
        d.m_instructions.push_back({variable, checked_value(variable, cbor::encode_bstr(content), vf)});
        continue;
      }
      if (!cbor::is_single_item(content)) {
        in.fail(vf, "RVValue must be bstr .cbor of one item");
      }
      d.m_instructions.push_back({variable, checked_value(variable, content, vf)});
      continue;
    }
    const ByteView item = in.read_raw(vf);
    // FDO 1.1 §3.7: every RVValue is bstr-wrapped CBOR; bare values only under the quirk
    // (docs/interop.md "bare-rv-values").
    if (!leniency.accept(Quirk::BareRvValues, vf)) {
      in.fail(vf, "RVValue must be bstr .cbor (FDO 1.1), got a bare value");
    }
    d.m_instructions.push_back(
        {variable, is_known(variable) ? checked_value(variable, item, vf) : Bytes(item.begin(), item.end())});
  }
  return d;
}

void RendezvousDirective::encode(cbor::Writer& out) const {
  if (m_instructions.empty()) {
    throw_internal("RendezvousDirective: cannot encode an empty directive");
  }
  out.array(m_instructions.size());
  for (const RendezvousInstr& instr : m_instructions) {
    if (instr.value) {
      out.array(2).uint(static_cast<std::uint8_t>(instr.variable)).bstr(*instr.value);
    } else {
      out.array(1).uint(static_cast<std::uint8_t>(instr.variable));
    }
  }
}

// ---- RendezvousDirective: accessors ---------------------------------------------------------------

bool RendezvousDirective::has(RVVariable variable) const {
  return last(variable) != nullptr;
}

const RendezvousInstr* RendezvousDirective::last(RVVariable variable) const {
  const RendezvousInstr* found = nullptr;
  for (const RendezvousInstr& instr : m_instructions) {
    if (instr.variable == variable) {
      found = &instr;
    }
  }
  return found;
}

std::vector<IpAddress> RendezvousDirective::ip_addresses() const {
  std::vector<IpAddress> out;
  for (const RendezvousInstr& instr : m_instructions) {
    if (instr.variable == RVVariable::RVIPAddress && instr.value) {
      cbor::Reader r(*instr.value, "RVIPAddress");
      if (const std::optional<IpAddress> ip = IpAddress::from_bytes(r.read_bstr("value"))) {
        out.push_back(*ip);
      }
    }
  }
  return out;
}

std::optional<std::uint16_t> RendezvousDirective::dev_port() const {
  const RendezvousInstr* i = last(RVVariable::RVDevPort);
  return i ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(read_kept_uint(*i))) : std::nullopt;
}

std::optional<std::uint16_t> RendezvousDirective::owner_port() const {
  const RendezvousInstr* i = last(RVVariable::RVOwnerPort);
  return i ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(read_kept_uint(*i))) : std::nullopt;
}

std::optional<std::string> RendezvousDirective::dns() const {
  const RendezvousInstr* i = last(RVVariable::RVDns);
  return i ? std::optional<std::string>(read_kept_tstr(*i)) : std::nullopt;
}

std::optional<Hash> RendezvousDirective::sv_cert_hash() const {
  const RendezvousInstr* i = last(RVVariable::RVSvCertHash);
  return i ? std::optional<Hash>(read_kept_hash(*i)) : std::nullopt;
}

std::optional<Hash> RendezvousDirective::cl_cert_hash() const {
  const RendezvousInstr* i = last(RVVariable::RVClCertHash);
  return i ? std::optional<Hash>(read_kept_hash(*i)) : std::nullopt;
}

std::optional<bool> RendezvousDirective::user_input() const {
  const RendezvousInstr* i = last(RVVariable::RVUserInput);
  if (i == nullptr) {
    return std::nullopt;
  }
  if (!i->value) {
    return true;
  }
  // docs/interop.md "rv-flag-instructions": for 8, accept [8], [8, h'F5'/h'F4'] or [8, h'F6'], null meaning true.
  cbor::Reader r(*i->value, "RVUserInput");
  if (r.try_read_null()) {
    return true;
  }
  return r.read_bool("value");
}

std::optional<std::string> RendezvousDirective::wifi_ssid() const {
  const RendezvousInstr* i = last(RVVariable::RVWifiSsid);
  return i ? std::optional<std::string>(read_kept_tstr(*i)) : std::nullopt;
}

std::optional<std::string> RendezvousDirective::wifi_pw() const {
  const RendezvousInstr* i = last(RVVariable::RVWifiPw);
  return i ? std::optional<std::string>(read_kept_tstr(*i)) : std::nullopt;
}

std::optional<std::uint8_t> RendezvousDirective::medium() const {
  const RendezvousInstr* i = last(RVVariable::RVMedium);
  return i ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(read_kept_uint(*i))) : std::nullopt;
}

std::optional<RVProtocolValue> RendezvousDirective::protocol() const {
  const RendezvousInstr* i = last(RVVariable::RVProtocol);
  return i ? std::optional<RVProtocolValue>(static_cast<RVProtocolValue>(read_kept_uint(*i))) : std::nullopt;
}

std::optional<std::uint32_t> RendezvousDirective::delay_sec() const {
  const RendezvousInstr* i = last(RVVariable::RVDelaysec);
  return i ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(read_kept_uint(*i))) : std::nullopt;
}

std::optional<RVExtRV> RendezvousDirective::ext_rv() const {
  const RendezvousInstr* i = last(RVVariable::RVExtRV);
  if (i == nullptr) {
    return std::nullopt;
  }
  cbor::Reader r(*i->value, "RVExtRV");
  const std::size_t count = r.read_array("value");
  RVExtRV ext;
  ext.mechanism = r.read_tstr("mechanism");
  for (std::size_t k = 1; k < count; ++k) {
    const ByteView arg = r.read_raw("arg");
    ext.args.emplace_back(arg.begin(), arg.end());
  }
  return ext;
}

// ---- RendezvousDirective: builders ----------------------------------------------------------------

RendezvousDirective& RendezvousDirective::set(RVVariable variable, std::optional<Bytes> value) {
  std::erase_if(m_instructions, [&](const RendezvousInstr& i) { return i.variable == variable; });
  const auto pos = std::find_if(m_instructions.begin(), m_instructions.end(), [&](const RendezvousInstr& i) {
    return static_cast<std::uint8_t>(i.variable) > static_cast<std::uint8_t>(variable);
  });
  m_instructions.insert(pos, RendezvousInstr{variable, std::move(value)});
  return *this;
}

RendezvousDirective& RendezvousDirective::set_flag(RVVariable flag) {
  if (!is_flag(flag)) {
    throw_internal("RendezvousDirective::set_flag: " + variable_label(flag) + " is not a flag");
  }
  return set(flag, std::nullopt);
}

RendezvousDirective& RendezvousDirective::add_ip_address(const IpAddress& address) {
  const auto pos = std::find_if(m_instructions.begin(), m_instructions.end(), [](const RendezvousInstr& i) {
    return static_cast<std::uint8_t>(i.variable) > static_cast<std::uint8_t>(RVVariable::RVIPAddress);
  });
  m_instructions.insert(pos, RendezvousInstr{RVVariable::RVIPAddress, cbor::encode_bstr(address.unmapped().bytes())});
  return *this;
}

RendezvousDirective& RendezvousDirective::set_dev_port(std::uint16_t port) {
  return set(RVVariable::RVDevPort, cbor::encode_uint(port));
}

RendezvousDirective& RendezvousDirective::set_owner_port(std::uint16_t port) {
  return set(RVVariable::RVOwnerPort, cbor::encode_uint(port));
}

RendezvousDirective& RendezvousDirective::set_dns(std::string_view name) {
  return set(RVVariable::RVDns, cbor::encode_tstr(name));
}

RendezvousDirective& RendezvousDirective::set_sv_cert_hash(const Hash& hash) {
  return set(RVVariable::RVSvCertHash, hash.encode());
}

RendezvousDirective& RendezvousDirective::set_cl_cert_hash(const Hash& hash) {
  return set(RVVariable::RVClCertHash, hash.encode());
}

RendezvousDirective& RendezvousDirective::set_user_input(bool value) {
  cbor::Writer w;
  w.boolean(value);
  return set(RVVariable::RVUserInput, std::move(w).take());
}

RendezvousDirective& RendezvousDirective::set_wifi_ssid(std::string_view ssid) {
  return set(RVVariable::RVWifiSsid, cbor::encode_tstr(ssid));
}

RendezvousDirective& RendezvousDirective::set_wifi_pw(std::string_view password) {
  return set(RVVariable::RVWifiPw, cbor::encode_tstr(password));
}

RendezvousDirective& RendezvousDirective::set_medium(std::uint8_t medium) {
  return set(RVVariable::RVMedium, cbor::encode_uint(medium));
}

RendezvousDirective& RendezvousDirective::set_protocol(RVProtocolValue protocol) {
  return set(RVVariable::RVProtocol, cbor::encode_uint(static_cast<std::uint8_t>(protocol)));
}

RendezvousDirective& RendezvousDirective::set_delay_sec(std::uint32_t seconds) {
  return set(RVVariable::RVDelaysec, cbor::encode_uint(seconds));
}

RendezvousDirective& RendezvousDirective::set_ext_rv(const RVExtRV& ext) {
  cbor::Writer w;
  w.array(1 + ext.args.size()).tstr(ext.mechanism);
  for (const Bytes& arg : ext.args) {
    w.raw(arg);
  }
  return set(RVVariable::RVExtRV, std::move(w).take());
}

RendezvousDirective& RendezvousDirective::add(const RendezvousInstr& instr) {
  const std::string field = "RendezvousInstr " + variable_label(instr.variable);
  if (is_flag(instr.variable)) {
    m_instructions.push_back({instr.variable, std::nullopt});
  } else if (!is_known(instr.variable) || (!instr.value && instr.variable == RVVariable::RVUserInput)) {
    m_instructions.push_back(instr);
  } else if (!instr.value) {
    throw_body_error(field + ": needs a value");
  } else {
    if (!cbor::is_single_item(*instr.value)) {
      throw_body_error(field + ": value must be one CBOR item");
    }
    m_instructions.push_back({instr.variable, checked_value(instr.variable, *instr.value, field)});
  }
  return *this;
}

// ---- RendezvousDirective: renderings --------------------------------------------------------------

std::string RendezvousDirective::describe() const {
  std::string out;
  const auto word = [&](const std::string& w) {
    if (!out.empty()) {
      out += ' ';
    }
    out += w;
  };
  for (const RendezvousInstr& instr : m_instructions) {
    cbor::Reader r(instr.value ? ByteView(*instr.value) : ByteView(), "RendezvousInstr");
    switch (instr.variable) {
      case RVVariable::RVDevOnly:
        word("dev-only");
        break;
      case RVVariable::RVOwnerOnly:
        word("owner-only");
        break;
      case RVVariable::RVBypass:
        word("bypass");
        break;
      case RVVariable::RVIPAddress:
        word("ip=" + IpAddress::from_bytes(r.read_bstr("value"))->to_string());
        break;
      case RVVariable::RVDevPort:
        word("dev-port=" + std::to_string(r.read_uint("value")));
        break;
      case RVVariable::RVOwnerPort:
        word("owner-port=" + std::to_string(r.read_uint("value")));
        break;
      case RVVariable::RVDns:
        word("dns=" + r.read_tstr("value"));
        break;
      case RVVariable::RVSvCertHash:
        word("sv-cert-hash=" + hash_text(Hash::decode(r, "value", HashKind::Digest)));
        break;
      case RVVariable::RVClCertHash:
        word("cl-cert-hash=" + hash_text(Hash::decode(r, "value", HashKind::Digest)));
        break;
      case RVVariable::RVUserInput:
        word(std::string("user-input=") +
             (instr.value && !r.try_read_null() && !r.read_bool("value") ? "false" : "true"));
        break;
      case RVVariable::RVWifiSsid:
        word("wifi-ssid=" + r.read_tstr("value"));
        break;
      case RVVariable::RVWifiPw:
        word("wifi-pw=(hidden)");
        break;
      case RVVariable::RVMedium:
        word("medium=" + std::to_string(r.read_uint("value")));
        break;
      case RVVariable::RVProtocol: {
        const auto p = static_cast<RVProtocolValue>(r.read_uint("value"));
        const std::string_view name = rv_protocol_name(p);
        word("protocol=" + (name.empty() ? std::to_string(static_cast<unsigned>(p)) : std::string(name)));
        break;
      }
      case RVVariable::RVDelaysec:
        word("delay=" + std::to_string(r.read_uint("value")) + "s");
        break;
      case RVVariable::RVExtRV:
        word("ext-rv=" + ext_rv()->mechanism);
        break;
      default:
        word("rv" + std::to_string(static_cast<unsigned>(instr.variable)) + "=" +
             (instr.value ? to_hex(*instr.value) : std::string("(none)")));
    }
  }
  return out;
}

void RendezvousDirective::to_json(JsonWriter& out, bool reveal) const {
  out.begin_array();
  for (const RendezvousInstr& instr : m_instructions) {
    out.begin_object();
    if (!is_known(instr.variable)) {
      out.key("variable").uinteger(static_cast<std::uint8_t>(instr.variable));
      if (instr.value) {
        out.key("value_hex").string(to_hex(*instr.value));
      }
      out.end_object();
      continue;
    }
    out.key("variable").string(rv_variable_name(instr.variable));
    cbor::Reader r(instr.value ? ByteView(*instr.value) : ByteView(), "RendezvousInstr");
    switch (instr.variable) {
      case RVVariable::RVDevOnly:
      case RVVariable::RVOwnerOnly:
      case RVVariable::RVBypass:
        break;
      case RVVariable::RVIPAddress:
        out.key("value").string(IpAddress::from_bytes(r.read_bstr("value"))->to_string());
        break;
      case RVVariable::RVDevPort:
      case RVVariable::RVOwnerPort:
      case RVVariable::RVMedium:
      case RVVariable::RVDelaysec:
        out.key("value").uinteger(r.read_uint("value"));
        break;
      case RVVariable::RVDns:
      case RVVariable::RVWifiSsid:
        out.key("value").string(r.read_tstr("value"));
        break;
      case RVVariable::RVWifiPw:
        out.key("value").string(reveal ? r.read_tstr("value") : std::string("(hidden)"));
        break;
      case RVVariable::RVSvCertHash:
      case RVVariable::RVClCertHash: {
        const Hash h = Hash::decode(r, "value", HashKind::Digest);
        out.key("value").begin_object().key("alg").string(hash_type_name(h.type())).key("hex").string(h.hex());
        out.end_object();
        break;
      }
      case RVVariable::RVUserInput:
        out.key("value").boolean(*user_input());
        break;
      case RVVariable::RVProtocol: {
        const std::uint64_t v = r.read_uint("value");
        const std::string_view name = rv_protocol_name(static_cast<RVProtocolValue>(v));
        if (name.empty()) {
          out.key("value").uinteger(v);
        } else {
          out.key("value").string(name);
        }
        break;
      }
      case RVVariable::RVExtRV: {
        const RVExtRV ext = *ext_rv();
        out.key("value").begin_object().key("mechanism").string(ext.mechanism).key("args_hex").begin_array();
        for (const Bytes& arg : ext.args) {
          out.string(to_hex(arg));
        }
        out.end_array().end_object();
        break;
      }
    }
    out.end_object();
  }
  out.end_array();
}

// ---- RendezvousInfo -------------------------------------------------------------------------------

RendezvousInfo RendezvousInfo::decode(cbor::Reader& in, const Leniency& leniency, std::string_view field) {
  RendezvousInfo info;
  const std::size_t count = in.read_array(field);
  // FDO 1.1 §3.7: RendezvousInfo = [+ RendezvousDirective] (an empty one is refused).
  if (count == 0) {
    in.fail(field, "a RendezvousInfo needs at least one RendezvousDirective");
  }
  for (std::size_t i = 0; i < count; ++i) {
    info.m_directives.push_back(
        RendezvousDirective::decode(in, leniency, std::string(field) + "[" + std::to_string(i) + "]"));
  }
  return info;
}

RendezvousInfo RendezvousInfo::decode(ByteView in, const Leniency& leniency, std::string_view field) {
  cbor::Reader r(in, field);
  RendezvousInfo out = decode(r, leniency, "");
  r.expect_end();
  return out;
}

void RendezvousInfo::encode(cbor::Writer& out) const {
  if (m_directives.empty()) {
    throw_internal("RendezvousInfo: cannot encode without a directive");
  }
  out.array(m_directives.size());
  for (const RendezvousDirective& d : m_directives) {
    d.encode(out);
  }
}

Bytes RendezvousInfo::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

RendezvousInfo RendezvousInfo::from_urls(std::string_view urls) {
  RendezvousInfo info;
  while (true) {
    const std::size_t comma = urls.find(',');
    const std::string_view url = trim_blanks(urls.substr(0, comma));
    if (url.empty()) {
      throw_body_error("--rv: empty URL in list");
    }
    info.add(directive_from_url(url));
    if (comma == std::string_view::npos) {
      break;
    }
    urls.remove_prefix(comma + 1);
  }
  return info;
}

RendezvousInfo RendezvousInfo::from_urls(std::span<const std::string> urls) {
  RendezvousInfo info;
  for (const std::string& list : urls) {
    const RendezvousInfo part = from_urls(std::string_view(list));
    for (const RendezvousDirective& d : part.directives()) {
      info.add(d);
    }
  }
  if (info.m_directives.empty()) {
    throw_body_error("--rv: at least one URL is needed");
  }
  return info;
}

RendezvousInfo& RendezvousInfo::add(RendezvousDirective directive) {
  m_directives.push_back(std::move(directive));
  return *this;
}

std::vector<std::string> RendezvousInfo::describe() const {
  std::vector<std::string> out;
  out.reserve(m_directives.size());
  for (const RendezvousDirective& d : m_directives) {
    out.push_back(d.describe());
  }
  return out;
}

void RendezvousInfo::to_json(JsonWriter& out, bool reveal) const {
  out.begin_array();
  for (const RendezvousDirective& d : m_directives) {
    d.to_json(out, reveal);
  }
  out.end_array();
}

}  // namespace fdo
