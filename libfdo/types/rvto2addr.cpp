#include "libfdo/types/rvto2addr.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/url.h"

namespace fdo {

std::string_view transport_protocol_name(TransportProtocol protocol) {
  switch (protocol) {
    case TransportProtocol::Tcp:
      return "ProtTCP";
    case TransportProtocol::Tls:
      return "ProtTLS";
    case TransportProtocol::Http:
      return "ProtHTTP";
    case TransportProtocol::CoAP:
      return "ProtCoAP";
    case TransportProtocol::Https:
      return "ProtHTTPS";
    case TransportProtocol::CoAPS:
      return "ProtCoAPS";
  }
  return "";
}

RVTO2AddrEntry RVTO2AddrEntry::from_url(std::string_view url) {
  const Url parsed = parse_url(url, UrlRules{.what = "TO2 URL", .allow_path_prefix = false, .allow_query = true});
  RVTO2AddrEntry e;
  if (const std::optional<IpAddress> ip = IpAddress::from_url_host(parsed.host, "TO2 URL", url)) {
    e.rv_ip = ip;
  } else {
    e.rv_dns = parsed.host;
  }
  e.rv_port = parsed.port;
  e.rv_protocol = parsed.scheme == "http" ? TransportProtocol::Http : TransportProtocol::Https;
  return e;
}

RVTO2AddrEntry RVTO2AddrEntry::decode(cbor::Reader& in, std::string_view field) {
  const std::string f(field);
  RVTO2AddrEntry e;
  in.read_array_of(f, 4);
  if (!in.try_read_null()) {
    const Bytes ip = in.read_bstr(f + "[0] RVIP");
    e.rv_ip = IpAddress::from_bytes(ip);
    // FDO 1.1 §5.1.1.1: INVALID_IP_ADDRESS (4), for bytes that are not a valid IPv4/IPv6 address.
    if (!e.rv_ip) {
      const std::string name = (f.empty() || f.front() == '[') ? "RVTO2Addr" + f : f;
      throw Error(ErrorCode::InvalidIpAddress,
                  name + "[0] RVIP: expected 4 (IPv4) or 16 (IPv6) bytes, got " + std::to_string(ip.size()));
    }
  }
  if (!in.try_read_null()) {
    e.rv_dns = in.read_tstr(f + "[1] RVDNS");
  }
  // FDO 1.1 §3.3.14: at least one of RVIP and RVDNS is non-null.
  if (!e.rv_ip && !e.rv_dns) {
    in.fail(f, "RVIP and RVDNS are both null");
  }
  e.rv_port = static_cast<std::uint16_t>(in.read_uint_max(f + "[2] RVPort", 0xFFFF));
  const std::uint64_t protocol = in.read_uint(f + "[3] RVProtocol");
  if (protocol < 1 || protocol > 6) {
    in.fail(f + "[3] RVProtocol", "expected TransportProtocol 1..6, got " + std::to_string(protocol));
  }
  e.rv_protocol = static_cast<TransportProtocol>(protocol);
  return e;
}

void RVTO2AddrEntry::encode(cbor::Writer& out) const {
  if (!rv_ip && !rv_dns) {
    throw_internal("RVTO2AddrEntry: RVIP and RVDNS are both empty");
  }
  out.array(4);
  if (rv_ip) {
    out.bstr(rv_ip->bytes());
  } else {
    out.null();
  }
  if (rv_dns) {
    out.tstr(*rv_dns);
  } else {
    out.null();
  }
  out.uint(rv_port).uint(static_cast<std::uint8_t>(rv_protocol));
}

std::vector<std::string> RVTO2AddrEntry::urls() const {
  std::vector<std::string> out;
  // docs/interop.md "rvto2addr-port": HTTP clients can use only ProtHTTP (3) and ProtHTTPS (5).
  if (rv_protocol != TransportProtocol::Http && rv_protocol != TransportProtocol::Https) {
    return out;
  }
  const std::string scheme = rv_protocol == TransportProtocol::Http ? "http" : "https";
  // docs/interop.md "rvto2addr-port": RVPort 0 means the scheme default (80 or 443), as in the go-fdo client.
  const std::uint16_t port = rv_port != 0 ? rv_port : (rv_protocol == TransportProtocol::Http ? 80 : 443);
  const std::string suffix = ":" + std::to_string(port);
  // FDO 1.1 §3.3.14: when both are present, the device tries DNS first.
  if (rv_dns) {
    out.push_back(scheme + "://" + *rv_dns + suffix);
  }
  if (rv_ip) {
    out.push_back(scheme + "://" + rv_ip->unmapped().url_host() + suffix);
  }
  return out;
}

RVTO2Addr RVTO2Addr::from_urls(std::span<const std::string> urls) {
  RVTO2Addr out;
  for (const std::string& list : urls) {
    std::string_view rest = list;
    while (true) {
      const std::size_t comma = rest.find(',');
      std::string_view url = rest.substr(0, comma);
      while (!url.empty() && url.front() == ' ') {
        url.remove_prefix(1);
      }
      while (!url.empty() && url.back() == ' ') {
        url.remove_suffix(1);
      }
      out.entries.push_back(RVTO2AddrEntry::from_url(url));
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
  }
  if (out.entries.empty()) {
    throw_body_error("TO2 URL: at least one URL is needed");
  }
  return out;
}

RVTO2Addr RVTO2Addr::decode(cbor::Reader& in, std::string_view field) {
  RVTO2Addr out;
  const std::size_t count = in.read_array(field);
  if (count == 0) {
    in.fail(field, "RVTO2Addr needs at least one RVTO2AddrEntry");
  }
  for (std::size_t i = 0; i < count; ++i) {
    out.entries.push_back(RVTO2AddrEntry::decode(in, std::string(field) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

RVTO2Addr RVTO2Addr::decode(ByteView in, std::string_view field) {
  cbor::Reader r(in, field);
  RVTO2Addr out = decode(r, "");
  r.expect_end();
  return out;
}

void RVTO2Addr::encode(cbor::Writer& out) const {
  if (entries.empty()) {
    throw_internal("RVTO2Addr: cannot encode without an entry");
  }
  out.array(entries.size());
  for (const RVTO2AddrEntry& e : entries) {
    e.encode(out);
  }
}

Bytes RVTO2Addr::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

std::vector<std::string> RVTO2Addr::to_urls() const {
  std::vector<std::string> out;
  for (const RVTO2AddrEntry& e : entries) {
    for (std::string& url : e.urls()) {
      out.push_back(std::move(url));
    }
  }
  return out;
}

void RVTO2Addr::to_json(JsonWriter& out) const {
  out.begin_array();
  for (const RVTO2AddrEntry& e : entries) {
    out.begin_object().key("ip");
    if (e.rv_ip) {
      out.string(e.rv_ip->to_string());
    } else {
      out.null();
    }
    out.key("dns");
    if (e.rv_dns) {
      out.string(*e.rv_dns);
    } else {
      out.null();
    }
    out.key("port").uinteger(e.rv_port).key("protocol").string(transport_protocol_name(e.rv_protocol));
    out.end_object();
  }
  out.end_array();
}

}  // namespace fdo
