#pragma once
// RVTO2Addr: where the owner waits for TO2, FDO 1.1 §3.3.14. Carried in to1d.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/types/ip_address.h"
#include "libfdo/types/json.h"

namespace fdo {

/// TransportProtocol, FDO 1.1 §3.3.12. Not the RVProtocolValue of RendezvousInfo: HTTPS is 5 here.
enum class TransportProtocol : std::uint8_t {
  Tcp = 1,
  Tls = 2,
  Http = 3,
  CoAP = 4,
  Https = 5,
  CoAPS = 6,
};
/// The spec's names: "ProtTCP", "ProtTLS", "ProtHTTP", "ProtCoAP", "ProtHTTPS", "ProtCoAPS".
std::string_view transport_protocol_name(TransportProtocol protocol);

/// One address of the owner:
///   RVTO2AddrEntry = [RVIP: IPAddress / null, RVDNS: DNSAddress / null, RVPort: Port,
///                     RVProtocol: TransportProtocol]
struct RVTO2AddrEntry {
  std::optional<IpAddress> rv_ip;
  std::optional<std::string> rv_dns;
  std::uint16_t rv_port = 0;
  TransportProtocol rv_protocol = TransportProtocol::Https;

  /// From `http://HOST:PORT` or `https://HOST:PORT`: an IP host fills RVIP, a name RVDNS; the port is
  /// always explicit (80 / 443 when the URL has none; docs/interop.md "rvto2addr-port": never 0).
  static RVTO2AddrEntry from_url(std::string_view url);

  /// Reads an entry. An RVIP that is not 4 or 16 bytes is Error(InvalidIpAddress) (FDO 1.1 §5.1.1.1, code
  /// 4); both RVIP and RVDNS null, a port above 65535 or a protocol outside 1..6 is Error(MessageBodyError).
  /// The IP bytes are kept as received.
  static RVTO2AddrEntry decode(cbor::Reader& in, std::string_view field = "RVTO2AddrEntry");
  /// Error(InternalServerError) if both RVIP and RVDNS are empty.
  void encode(cbor::Writer& out) const;

  /// The HTTP URLs of this entry, DNS first, then IP (docs/interop.md "rvto2addr-port"); none for protocols other than
  /// ProtHTTP and ProtHTTPS. Port 0 means the scheme's default; IPv4-mapped addresses are written as IPv4.
  [[nodiscard]] std::vector<std::string> urls() const;

  bool operator==(const RVTO2AddrEntry&) const = default;
};

/// RVTO2Addr = [+ RVTO2AddrEntry].
struct RVTO2Addr {
  std::vector<RVTO2AddrEntry> entries;

  /// From `--to2-url` arguments (each may hold a comma-separated list).
  static RVTO2Addr from_urls(std::span<const std::string> urls);

  /// Reads an RVTO2Addr with at least one entry (Error 100 for an empty one).
  static RVTO2Addr decode(cbor::Reader& in, std::string_view field = "RVTO2Addr");
  /// Decodes `in`, which must be exactly one RVTO2Addr.
  static RVTO2Addr decode(ByteView in, std::string_view field = "RVTO2Addr");
  /// Error(InternalServerError) if there is no entry.
  void encode(cbor::Writer& out) const;
  [[nodiscard]] Bytes encode() const;

  /// Every HTTP URL, entries in order (each DNS first, then IP); entries with other protocols skipped.
  [[nodiscard]] std::vector<std::string> to_urls() const;
  /// JSON array of {"ip": …|null, "dns": …|null, "port": n, "protocol": "ProtHTTPS"}.
  void to_json(JsonWriter& out) const;

  bool operator==(const RVTO2Addr&) const = default;
};

}  // namespace fdo
