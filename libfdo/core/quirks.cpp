#include "libfdo/core/quirks.h"

#include <array>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo {
namespace {

constexpr std::array<QuirkInfo, 10> kQuirks = {{
    {Quirk::LegacyCertChainHash, "legacy-cert-chain-hash", "legacy-cert-chain-hash",
     "fido-device-onboard-rs before PR #601 (Jan 2024)",
     "OVDevCertChainHash is the hash of the concatenated DER certificates (FDO 1.1 §3.4.2)"},
    {Quirk::UntaggedCose, "untagged-cose", "untagged-cose", "early fido-device-onboard-rs",
     "COSE_Sign1 / Encrypt0 / Mac0 carry their CBOR tag 18 / 16 / 17 (FDO 1.1 §3.3)"},
    {Quirk::EatUeidClaim11, "eat-ueid-claim-11", "eat-ueid-claim", "fido-device-onboard-rs",
     "the EAT UEID claim key is 256 (FDO 1.1 §3.3.6)"},
    {Quirk::CoseKeyCoordinateLength, "cose-key-coordinate-length", "cose-key-coordinates", "go-fdo, pri-fidoiot",
     "COSE_Key x and y are exactly the field size (RFC 9053 §7.1.1)"},
    {Quirk::BareOveExtraMap, "bare-oveextra-map", "bare-oveextra-map", "fido-device-onboard-rs",
     "OVEExtra is null or bstr .cbor OVEExtraInfo (FDO 1.1 §3.4.2)"},
    {Quirk::BareRvValues, "bare-rv-values", "bare-rv-values", "FDO 1.0 producers, pri-fidoiot",
     "RVValue is bstr .cbor any in FDO 1.1 (FDO 1.1 §3.7)"},
    {Quirk::BareTo0d, "bare-to0d", "bare-to0d", "pri-fidoiot before PR #604",
     "TO0.OwnerSign carries to0d as bstr .cbor to0d (FDO 1.1 §5.3.3)"},
    {Quirk::GoFdoA256GcmId2, "go-fdo-a256gcm-id-2", "a256gcm-id-2", "go-fdo",
     "cipherSuiteName A256GCM is COSE id 3 (FDO 1.1 §3.6.5)"},
    {Quirk::BearerSchemeCase, "bearer-scheme-case", "bearer-scheme-case",
     "HTTP clients that case-fold the authorization scheme",
     "the Authorization header is exactly \"Bearer <token>\" (FDO 1.1 §4.3)"},
    {Quirk::BareCommandArgs, "bare-command-args", "bare-command-args", "pri-fidoiot, C SDK",
     "fdo.command:args is bstr .cbor [* tstr] (FSIM fdo.command)"},
}};

}  // namespace

std::span<const QuirkInfo> all_quirks() { return kQuirks; }

const QuirkInfo& quirk_info(Quirk quirk) { return kQuirks.at(static_cast<std::size_t>(quirk)); }

std::optional<Quirk> parse_quirk(std::string_view name) {
  for (const QuirkInfo& q : kQuirks) {
    if (q.name == name) {
      return q.quirk;
    }
  }
  return std::nullopt;
}

Leniency Leniency::from_names(std::span<const std::string> names) {
  std::set<Quirk> allowed;
  for (const std::string& name : names) {
    const auto q = parse_quirk(name);
    if (!q) {
      std::string valid;
      for (const QuirkInfo& info : kQuirks) {
        valid += (valid.empty() ? "" : ", ") + std::string(info.name);
      }
      throw_body_error("unknown quirk '" + name + "' (known: " + valid + ")");
    }
    allowed.insert(*q);
  }
  return Leniency(std::move(allowed));
}

bool Leniency::accept(Quirk quirk, std::string_view where) const {
  if (!allows(quirk)) {
    return false;
  }
  const QuirkInfo& q = quirk_info(quirk);
  log::warn("lenient: accepted " + std::string(q.name) + " (made by " + std::string(q.peer) + ") in " +
            std::string(where) + "; spec: " + std::string(q.rule) + "; see docs/interop.md \"" +
            std::string(q.doc_entry) + "\"");
  return true;
}

}  // namespace fdo
