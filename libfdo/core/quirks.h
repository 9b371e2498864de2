#pragma once
// The registry of known deviations of other FDO implementations (docs/interop.md, "Catalogue of known
// deviations"). Strict by default: a caller may accept a named deviation through a Leniency,
// and every accepted use is logged as a warning naming the peer's deviation and the spec rule.

#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace fdo {

/// A named deviation from the spec that some peer implementation is known to produce. Each comment starts
/// with the deviation's entry in docs/interop.md.
enum class Quirk {
  /// legacy-cert-chain-hash: OVDevCertChainHash over the CBOR array of certificates (older fdo-rs), not
  /// the DER concatenation.
  LegacyCertChainHash,
  /// untagged-cose: COSE_Sign1 / Encrypt0 / Mac0 without its CBOR tag (early fdo-rs).
  UntaggedCose,
  /// eat-ueid-claim: EAT UEID under claim 11 instead of 256 (fdo-rs).
  EatUeidClaim11,
  /// cose-key-coordinates: COSE_Key coordinates shorter than the field size or with a sign byte
  /// (go-fdo, Java PRI).
  CoseKeyCoordinateLength,
  /// bare-oveextra-map: OVEExtra written as a bare map instead of bstr .cbor map (fdo-rs).
  BareOveExtraMap,
  /// bare-rv-values: RendezvousInstr values not bstr-wrapped (FDO 1.0 form, Java PRI reads them).
  BareRvValues,
  /// bare-to0d: to0d in TO0.OwnerSign not bstr-wrapped (old Java PRI).
  BareTo0d,
  /// a256gcm-id-2: cipherSuiteName 2 meaning A256GCM (go-fdo).
  GoFdoA256GcmId2,
  /// bearer-scheme-case: "Authorization: bearer <token>" (another case than "Bearer"), from generic HTTP
  /// clients that case-fold the scheme as RFC 9110 allows; FDO 1.1 §4.3 names "Bearer" exactly.
  BearerSchemeCase,
  /// bare-command-args: fdo.command:args as a bare [* tstr] instead of bstr .cbor [* tstr] (Java PRI, C SDK).
  BareCommandArgs,
};

/// Description of one quirk for logs, docs and `--lenient NAME`.
struct QuirkInfo {
  Quirk quirk;
  std::string_view name;      ///< CLI name, e.g. "legacy-cert-chain-hash"
  std::string_view doc_entry; ///< its entry in docs/interop.md, e.g. "legacy-cert-chain-hash"
  std::string_view peer;      ///< who produces it, e.g. "fido-device-onboard-rs before PR #601"
  std::string_view rule;      ///< the spec rule it breaks
};

/// Every known quirk, in enum order.
std::span<const QuirkInfo> all_quirks();
/// The registry entry of a quirk.
const QuirkInfo& quirk_info(Quirk quirk);
/// Looks a quirk up by its CLI name.
std::optional<Quirk> parse_quirk(std::string_view name);

/// The set of deviations a caller accepts. Default-constructed: strict (none).
class Leniency {
 public:
  Leniency() = default;
  /// Accepts the given quirks.
  explicit Leniency(std::set<Quirk> allowed) : m_allowed(std::move(allowed)) {}
  /// Parses CLI names; throws Error(MessageBodyError) naming an unknown one and listing valid names.
  static Leniency from_names(std::span<const std::string> names);
  /// Whether `quirk` is accepted (no logging).
  [[nodiscard]] bool allows(Quirk quirk) const { return m_allowed.count(quirk) != 0; }
  /// Whether `quirk` is accepted; when it is, logs a warning naming the deviation, the spec rule and
  /// `where` (the value that deviated). Call this at the point a deviation is actually met.
  [[nodiscard]] bool accept(Quirk quirk, std::string_view where) const;
  [[nodiscard]] const std::set<Quirk>& allowed() const { return m_allowed; }

 private:
  std::set<Quirk> m_allowed;
};

}  // namespace fdo
