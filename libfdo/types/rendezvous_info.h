#pragma once
// RendezvousInfo, RendezvousDirective and RendezvousInstr, FDO 1.1 §3.7, plus the
// CLI's human form `--rv URL[,URL…]` (docs/cli.md) and the renderings of `show`.
// How a device or owner walks it is in rv_walk.h.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/ip_address.h"
#include "libfdo/types/json.h"

namespace fdo {

/// RVVariable, FDO 1.1 §3.7 Table 3.6. A uint8 on the wire; numbers above 15 are
/// not defined by FDO 1.1 but are kept and re-emitted as received.
enum class RVVariable : std::uint8_t {
  RVDevOnly = 0,
  RVOwnerOnly = 1,
  RVIPAddress = 2,
  RVDevPort = 3,
  RVOwnerPort = 4,
  RVDns = 5,
  RVSvCertHash = 6,
  RVClCertHash = 7,
  RVUserInput = 8,
  RVWifiSsid = 9,
  RVWifiPw = 10,
  RVMedium = 11,
  RVProtocol = 12,
  RVDelaysec = 13,
  RVBypass = 14,
  RVExtRV = 15,
};
/// The spec's name ("RVDevOnly"); "" for numbers FDO does not define.
std::string_view rv_variable_name(RVVariable variable);
/// Whether FDO 1.1 defines the variable (0..15).
bool is_known(RVVariable variable);
/// RVDevOnly, RVOwnerOnly and RVBypass: instructions without a value (FDO 1.1 §3.7).
bool is_flag(RVVariable variable);

/// RVProtocolValue, FDO 1.1 §3.7. Not the TransportProtocol of RVTO2Addr.
enum class RVProtocolValue : std::uint8_t {
  /// First supported of https, http, coap udp, coap tcp.
  Rest = 0,
  Http = 1,
  Https = 2,
  Tcp = 3,
  Tls = 4,
  CoapTcp = 5,
  CoapUdp = 6,
};
/// "rest", "http", "https", "tcp", "tls", "coap+tcp", "coap+udp"; "" for undefined values.
std::string_view rv_protocol_name(RVProtocolValue protocol);

/// RVMediumValue: 0..9 RVMedEth0..9, 10..19 RVMedWifi0..9, and these two.
inline constexpr std::uint8_t kRVMedEthAll = 20;
inline constexpr std::uint8_t kRVMedWifiAll = 21;

/// RVExtRV = [mechanism: tstr, * args] (FDO 1.1 §3.7); args kept as their CBOR encodings.
struct RVExtRV {
  std::string mechanism;
  std::vector<Bytes> args;
  bool operator==(const RVExtRV&) const = default;
};

/// One instruction: RendezvousInstr = [RVVariable, RVValue], RVValue = bstr .cbor any.
struct RendezvousInstr {
  RVVariable variable{};
  /// The CBOR item inside the RVValue bstr; nullopt for an instruction written `[v]`.
  std::optional<Bytes> value;
  bool operator==(const RendezvousInstr&) const = default;
};

/// One way to reach a rendezvous server: RendezvousDirective = [+ RendezvousInstr].
/// Reading follows FDO 1.1 §3.7 (our rule: last value wins, IP addresses accumulate); the builders emit at
/// most one instruction per variable (except RVIPAddress), in variable order.
class RendezvousDirective {
 public:
  RendezvousDirective() = default;

  /// Reads a directive (FDO 1.1 §3.7; docs/interop.md "rv-flag-instructions", "ipv4-mapped-addresses"):
  /// * flags (0, 1, 14) accept `[v]`, `[v, any bstr]` and `[v, bare value]`, the value ignored;
  /// * RVUserInput accepts `[8]`, `[8, h'F5'/h'F4']` and `[8, h'F6']` (null and absent count as true);
  /// * other values must be bstr-wrapped CBOR of their type (Error 100), or, only under
  ///   Quirk::BareRvValues, the bare value (FDO 1.0 form);
  /// * a 16-byte IPv4-mapped RVIPAddress is read as the 4-byte IPv4 address;
  /// * unknown variable numbers are kept with their bstr content.
  static RendezvousDirective decode(cbor::Reader& in, const Leniency& leniency, std::string_view field);
  /// Writes each instruction: `[v]` without value, else `[v, bstr(value)]`. Throws
  /// Error(InternalServerError) for an empty directive.
  void encode(cbor::Writer& out) const;

  [[nodiscard]] const std::vector<RendezvousInstr>& instructions() const { return m_instructions; }

  // Typed accessors (last value wins).
  [[nodiscard]] bool dev_only() const { return has(RVVariable::RVDevOnly); }
  [[nodiscard]] bool owner_only() const { return has(RVVariable::RVOwnerOnly); }
  [[nodiscard]] bool bypass() const { return has(RVVariable::RVBypass); }
  /// Every RVIPAddress, in order (IPv4-mapped already read as IPv4).
  [[nodiscard]] std::vector<IpAddress> ip_addresses() const;
  [[nodiscard]] std::optional<std::uint16_t> dev_port() const;
  [[nodiscard]] std::optional<std::uint16_t> owner_port() const;
  [[nodiscard]] std::optional<std::string> dns() const;
  [[nodiscard]] std::optional<Hash> sv_cert_hash() const;
  [[nodiscard]] std::optional<Hash> cl_cert_hash() const;
  /// RVUserInput: nullopt if absent; `[8]` and null read as true.
  [[nodiscard]] std::optional<bool> user_input() const;
  [[nodiscard]] std::optional<std::string> wifi_ssid() const;
  /// RVWifiPw: a secret of the device's network; never logged.
  [[nodiscard]] std::optional<std::string> wifi_pw() const;
  [[nodiscard]] std::optional<std::uint8_t> medium() const;
  /// RVProtocol as received (may hold a value above 6, which no walk can use).
  [[nodiscard]] std::optional<RVProtocolValue> protocol() const;
  [[nodiscard]] std::optional<std::uint32_t> delay_sec() const;
  [[nodiscard]] std::optional<RVExtRV> ext_rv() const;

  // Builders. Each replaces earlier instructions of its variable, except add_ip_address.
  /// Sets RVDevOnly, RVOwnerOnly or RVBypass; Error(InternalServerError) for other variables.
  RendezvousDirective& set_flag(RVVariable flag);
  /// Appends an RVIPAddress; IPv4-mapped addresses are written as 4-byte IPv4 (docs/interop.md
  /// "ipv4-mapped-addresses").
  RendezvousDirective& add_ip_address(const IpAddress& address);
  RendezvousDirective& set_dev_port(std::uint16_t port);
  RendezvousDirective& set_owner_port(std::uint16_t port);
  RendezvousDirective& set_dns(std::string_view name);
  RendezvousDirective& set_sv_cert_hash(const Hash& hash);
  RendezvousDirective& set_cl_cert_hash(const Hash& hash);
  RendezvousDirective& set_user_input(bool value);
  RendezvousDirective& set_wifi_ssid(std::string_view ssid);
  RendezvousDirective& set_wifi_pw(std::string_view password);
  RendezvousDirective& set_medium(std::uint8_t medium);
  RendezvousDirective& set_protocol(RVProtocolValue protocol);
  RendezvousDirective& set_delay_sec(std::uint32_t seconds);
  RendezvousDirective& set_ext_rv(const RVExtRV& ext);
  /// Appends an instruction as given, after checking its value as decode() would (Error 100).
  RendezvousDirective& add(const RendezvousInstr& instr);

  /// One line for humans: the instructions as `name=value` words in order, e.g.
  /// "dns=rv.example.com dev-port=8080 owner-port=8080 protocol=http dev-only". RVWifiPw is hidden.
  [[nodiscard]] std::string describe() const;
  /// JSON array of instruction objects {"variable": name, "value": …} (no "value" for flags; unknown
  /// variables as {"variable": number, "value_hex": …}). RVWifiPw is shown only with `reveal`.
  void to_json(JsonWriter& out, bool reveal = false) const;

  bool operator==(const RendezvousDirective&) const = default;

 private:
  [[nodiscard]] bool has(RVVariable variable) const;
  [[nodiscard]] const RendezvousInstr* last(RVVariable variable) const;
  RendezvousDirective& set(RVVariable variable, std::optional<Bytes> value);

  std::vector<RendezvousInstr> m_instructions;
};

/// RendezvousInfo = [+ RendezvousDirective], FDO 1.1 §3.7: alternatives, in order.
class RendezvousInfo {
 public:
  RendezvousInfo() = default;
  explicit RendezvousInfo(std::vector<RendezvousDirective> directives) : m_directives(std::move(directives)) {}

  /// Reads a RendezvousInfo with at least one directive, each with at least one instruction (Error 100).
  static RendezvousInfo decode(cbor::Reader& in, const Leniency& leniency = {},
                               std::string_view field = "RendezvousInfo");
  /// Decodes `in`, which must be exactly one RendezvousInfo.
  static RendezvousInfo decode(ByteView in, const Leniency& leniency = {}, std::string_view field = "RendezvousInfo");
  /// Deterministic encoding; Error(InternalServerError) if there is no directive.
  void encode(cbor::Writer& out) const;
  [[nodiscard]] Bytes encode() const;

  /// The CLI's human form (docs/cli.md): a comma-separated list of `http://HOST:PORT` or `https://HOST:PORT`
  /// with optional `?dev-only`, `?owner-only`, `?bypass`, `?delay=SECONDS` (joined with `&`). Each URL
  /// becomes one directive: RVIPAddress if HOST is an IP address ([…] for IPv6) else RVDns, RVDevPort and
  /// RVOwnerPort (PORT, or 80 / 443 by scheme), RVProtocol always (docs/interop.md "rv-protocol-default").
  /// Error(MessageBodyError) naming the bad URL otherwise.
  static RendezvousInfo from_urls(std::string_view urls);
  /// Same, for several arguments (each may itself hold a comma-separated list).
  static RendezvousInfo from_urls(std::span<const std::string> urls);
  /// The CLI's full form, `--rv-info FILE` (docs/cli.md "Rendezvous info"): the JSON that to_json(reveal = true)
  /// writes, instructions kept in the file's order. Error(MessageBodyError) naming `source` and the place of the
  /// first problem ("rv.json: [0][2] RVDevPort: value must be an integer 0..65535, got \"x\"").
  static RendezvousInfo from_json(std::string_view text, std::string_view source);

  [[nodiscard]] const std::vector<RendezvousDirective>& directives() const { return m_directives; }
  RendezvousInfo& add(RendezvousDirective directive);

  /// One human line per directive (RendezvousDirective::describe).
  [[nodiscard]] std::vector<std::string> describe() const;
  /// JSON array of directives (RendezvousDirective::to_json); with `reveal`, what from_json() reads back.
  void to_json(JsonWriter& out, bool reveal = false) const;

  bool operator==(const RendezvousInfo&) const = default;

 private:
  std::vector<RendezvousDirective> m_directives;
};

}  // namespace fdo
