#include "libfdo/tpm/tpm_attest.h"

#include <algorithm>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::tpm {
namespace {

using serviceinfo::bstr_value;
using serviceinfo::make_kv;

constexpr std::size_t kNonceSize = 32;

// Device error codes (docs/service-info.md "TPM-Attest").
constexpr std::int64_t kBadRequest = 1;
constexpr std::int64_t kUnsupported = 3;
constexpr std::int64_t kTpmFailed = 4;

void send_error(serviceinfo::Outbox& out, std::int64_t code, const std::string& text) {
  cbor::Writer w;
  w.array(2).int_(code).tstr(text);
  out.send("error", std::move(w).take());
}

unsigned parse_pcr(const std::string& text, std::string_view what) {
  try {
    std::size_t used = 0;
    const unsigned long v = std::stoul(text, &used);
    if (used == text.size() && v < 24) {
      return static_cast<unsigned>(v);
    }
  } catch (const std::exception&) {
  }
  throw_body_error("TPM-Attest: " + std::string(what) + " '" + text + "' is not a PCR number 0-23");
}

// A file a plan parameter names, relative to the plan's directory; Error(MessageBodyError) when it is missing.
Bytes read_plan_file(const std::filesystem::path& plan_dir, const std::string& file, std::string_view param) {
  std::filesystem::path path(file);
  if (path.is_relative()) {
    path = plan_dir / path;
  }
  std::optional<Bytes> data = read_file_if_exists(path);
  if (!data) {
    throw_body_error("TPM-Attest: " + std::string(param) + " " + path.string() + " does not exist");
  }
  return std::move(*data);
}

std::string pcr_list(const std::vector<unsigned>& pcrs) {
  std::string out;
  for (const unsigned p : pcrs) {
    out += (out.empty() ? "" : ",") + std::to_string(p);
  }
  return out;
}

}  // namespace

// ---- Device ----

void TpmAttestDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  if (message == "quote-req") {
    quote(value, out);
    return;
  }
  if (message == "verdict") {
    cbor::Reader r(value, "TPM-Attest:verdict");
    const std::size_t n = r.read_array("");
    const std::uint64_t plan = n >= 1 ? r.read_uint_max("[0] plan", 2) : 0;
    const std::string reason = n >= 2 ? r.read_tstr("[1] reason") : std::string();
    const std::string text = plan == 0 ? "normal" : (plan == 1 ? "quarantine" : "rejected");
    // The device's management agent starts dormant unless the verdict says normal (docs/tpm-credentials.md "Attestation").
    std::filesystem::create_directories(m_verdict_file.parent_path());
    write_file_atomic(m_verdict_file, to_bytes(text + (reason.empty() ? "" : ": " + reason) + "\n"), 0644);
    const std::string line = "TPM-Attest: the owner's verdict is " + text + (reason.empty() ? "" : " (" + reason + ")");
    if (plan == 0) {
      log::info(line);
    } else {
      log::warn(line);
    }
    return;
  }
  send_error(out, kBadRequest, "unknown message " + std::string(message));
}

void TpmAttestDevice::quote(ByteView value, serviceinfo::Outbox& out) {
  Bytes nonce;
  std::vector<unsigned> pcrs;
  try {
    cbor::Reader r(value, "TPM-Attest:quote-req");
    r.read_array_of("", 2);
    nonce = r.read_bstr("[0] nonce");
    const std::size_t banks = r.read_array("[1] banks");
    for (std::size_t b = 0; b < banks; ++b) {
      r.read_array_of("[1][] bank", 2);
      const std::uint64_t alg = r.read_uint("hashAlg");
      const std::size_t count = r.read_array("pcrs");
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t pcr = r.read_uint("pcr");
        if (alg != kAlgSha256 || pcr > 23) {
          send_error(out, kUnsupported, "only PCRs 0-23 of the SHA-256 bank (0x000B) are quoted");
          return;
        }
        pcrs.push_back(static_cast<unsigned>(pcr));
      }
    }
    r.expect_end();
  } catch (const Error& e) {
    send_error(out, kBadRequest, e.what());
    return;
  }
  if (nonce.empty() || nonce.size() > 64 || pcrs.empty()) {
    send_error(out, kBadRequest, "quote-req needs a 1-64 byte nonce and at least one PCR");
    return;
  }
  std::sort(pcrs.begin(), pcrs.end());
  pcrs.erase(std::unique(pcrs.begin(), pcrs.end()), pcrs.end());
  try {
    m_tpm.ensure_attestation_key(kAttestKeyHandle);
    const Quote q = m_tpm.quote(kAttestKeyHandle, KeyAuth{}, nonce, pcrs, 32);
    const std::vector<Bytes> values = m_tpm.pcr_read(pcrs);
    out.send("ak-pub", bstr_value(m_tpm.marshalled_public(kAttestKeyHandle)));
    if (const std::optional<Bytes> cert = load_ak_certificate(m_tpm)) {
      cbor::Writer c;
      c.array(3).uint(0).uint(1).bstr(*cert);
      out.send("ak-cert", std::move(c).take());
    }
    cbor::Writer w;
    w.array(3).bstr(q.attest).bstr(q.signature_tpm).array(pcrs.size());
    for (std::size_t i = 0; i < pcrs.size(); ++i) {
      w.array(3).uint(kAlgSha256).uint(pcrs[i]).bstr(values[i]);
    }
    out.send("quote", std::move(w).take());
    log::info("TPM-Attest: quoted PCRs " + pcr_list(pcrs) + " of the SHA-256 bank");
  } catch (const Error& e) {
    send_error(out, kTpmFailed, e.what());
  }
}

// ---- Owner ----

TpmAttestOwner::TpmAttestOwner(ByteView params, const std::filesystem::path& plan_dir) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kTpmAttest, params);
  p.expect_only({"pcrs", "expect", "trusted-ak", "ak-ca", "quarantine", "timeout", "required"});
  for (const std::string& pcr : p.list("pcrs")) {
    m_pcrs.push_back(parse_pcr(pcr, "pcrs"));
  }
  if (m_pcrs.empty()) {
    m_pcrs = {0, 1, 2, 3, 4, 5, 6, 7};
  }
  for (const std::string& e : p.list("expect")) {
    const std::size_t eq = e.find('=');
    if (eq == std::string::npos) {
      throw_body_error("TPM-Attest: expect '" + e + "' is not PCR=HEX");
    }
    const unsigned pcr = parse_pcr(e.substr(0, eq), "expect");
    Bytes value;
    try {
      value = from_hex(e.substr(eq + 1));
    } catch (const Error&) {
    }
    if (value.size() != 32) {
      throw_body_error("TPM-Attest: expect '" + e + "' needs 64 hex digits (a SHA-256 PCR value)");
    }
    if (std::find(m_pcrs.begin(), m_pcrs.end(), pcr) == m_pcrs.end()) {
      m_pcrs.push_back(pcr);
    }
    m_expect.emplace_back(pcr, std::move(value));
  }
  std::sort(m_pcrs.begin(), m_pcrs.end());
  m_pcrs.erase(std::unique(m_pcrs.begin(), m_pcrs.end()), m_pcrs.end());
  for (const std::string& file : p.list("trusted-ak")) {
    m_trusted_ak.push_back(
        crypto::PublicKey::from_pem(to_string(read_plan_file(plan_dir, file, "trusted-ak"))).spki_der());
  }
  for (const std::string& file : p.list("ak-ca")) {
    std::vector<crypto::Certificate> certs =
        crypto::Certificate::from_pem_all(to_string(read_plan_file(plan_dir, file, "ak-ca")));
    if (certs.empty()) {
      throw_body_error("TPM-Attest: ak-ca " + file + " holds no certificate");
    }
    m_ak_ca.insert(m_ak_ca.end(), certs.begin(), certs.end());
  }
  m_quarantine = p.list("quarantine");
  m_deadline = fsim::transfer::OwnerDeadline(p.integer("timeout", fsim::transfer::kDefaultTimeout, 0, 86400));
  m_required = p.flag("required", true);
}

void TpmAttestOwner::on_message(std::string_view message, ByteView value) {
  if (m_step != Step::Waiting) {
    log::warn("TPM-Attest: " + std::string(message) + " from the device while no quote is awaited: ignored");
    return;
  }
  if (message == "ak-pub") {
    m_ak_pub = serviceinfo::read_bstr_value(value, "TPM-Attest:ak-pub");
  } else if (message == "ak-cert") {
    cbor::Reader r(value, "TPM-Attest:ak-cert");
    r.read_array_of("", 3);
    const std::uint64_t index = r.read_uint("[0] index");
    static_cast<void>(r.read_uint("[1] total"));
    Bytes der = r.read_bstr("[2] x509");
    r.expect_end();
    if (index == 0) {
      m_ak_cert = std::move(der);  // the AK's own certificate; the chain above it is the plan's ak-ca
    }
  } else if (message == "quote") {
    check_quote(value);
  } else if (message == "error") {
    cbor::Reader r(value, "TPM-Attest:error");
    const std::size_t n = r.read_array("");
    const std::int64_t code = n >= 1 ? r.read_int("[0] code") : 0;
    const std::string text = n >= 2 ? r.read_tstr("[1] text") : std::string();
    m_reason = "the device could not quote (code " + std::to_string(code) + ": " + text + ")";
    m_step = Step::Failed;
  } else {
    log::warn("TPM-Attest: unknown device message " + std::string(message) + ": ignored");
  }
}

void TpmAttestOwner::decide(Verdict verdict, std::string reason) {
  m_verdict = verdict;
  m_reason = std::move(reason);
  m_step = Step::Verdict;
}

// docs/service-info.md "TPM-Attest": the owner's checks, in order.
void TpmAttestOwner::check_quote(ByteView value) {
  cbor::Reader r(value, "TPM-Attest:quote");
  r.read_array_of("", 3);
  const Bytes attest = r.read_bstr("[0] attest");
  const Bytes sig = r.read_bstr("[1] sig");
  const std::size_t n = r.read_array("[2] values");
  std::vector<std::pair<unsigned, Bytes>> values;
  for (std::size_t i = 0; i < n; ++i) {
    r.read_array_of("[2][] value", 3);
    const std::uint64_t alg = r.read_uint("hashAlg");
    const std::uint64_t pcr = r.read_uint_max("pcr", 23);
    Bytes v = r.read_bstr("value");
    if (alg != kAlgSha256 || v.size() != 32) {
      decide(Verdict::Rejected, "a PCR value that is not of the SHA-256 bank");
      return;
    }
    values.emplace_back(static_cast<unsigned>(pcr), std::move(v));
  }
  r.expect_end();
  m_values.clear();
  for (const auto& [pcr, v] : values) {
    m_values += (m_values.empty() ? "" : ", ") + std::to_string(pcr) + "=" + to_hex(v).substr(0, 16) + "…";
  }
  // 1. The AK: a restricted TPM signing key, and one of the trusted keys when the plan names any.
  if (m_ak_pub.empty()) {
    decide(Verdict::Rejected, "no ak-pub before the quote");
    return;
  }
  const ObjectPublic ak = decode_public(m_ak_pub);
  constexpr std::uint32_t kAkAttributes = obj_attr::kFixedTpm | obj_attr::kFixedParent |
                                          obj_attr::kSensitiveDataOrigin | obj_attr::kRestricted | obj_attr::kSign;
  if (ak.kind != ObjectPublic::Kind::Ecc || ak.curve != crypto::KeyType::P256 ||
      (ak.attributes & kAkAttributes) != kAkAttributes || (ak.attributes & obj_attr::kDecrypt) != 0) {
    decide(Verdict::Rejected, "the attestation key is not a restricted, fixed ECC P-256 TPM signing key");
    return;
  }
  const crypto::PublicKey ak_key = crypto::PublicKey::from_ec_point(crypto::KeyType::P256, ak.x, ak.y);
  if (!m_trusted_ak.empty() &&
      std::find(m_trusted_ak.begin(), m_trusted_ak.end(), ak_key.spki_der()) == m_trusted_ak.end()) {
    decide(Verdict::Rejected, "the attestation key is not one of the plan's trusted-ak keys");
    return;
  }
  if (!m_ak_ca.empty()) {
    if (m_ak_cert.empty()) {
      decide(Verdict::Rejected, "the attestation key came without the certificate the plan's ak-ca requires");
      return;
    }
    std::optional<crypto::Certificate> cert;
    try {
      cert = crypto::Certificate::from_der(m_ak_cert);
    } catch (const Error&) {
      decide(Verdict::Rejected, "the attestation key's certificate does not parse");
      return;
    }
    if (!cert->public_key().same_key(ak_key)) {
      decide(Verdict::Rejected, "the certificate sent is not for the attestation key");
      return;
    }
    const crypto::ChainResult chain = crypto::verify_chain({*cert}, m_ak_ca);
    if (!chain.ok) {
      decide(Verdict::Rejected, "the attestation key's certificate does not chain to the plan's ak-ca: " + chain.detail);
      return;
    }
    m_ak_subject = cert->subject();
  }
  // 2-4. A quote made by a TPM, for our nonce, over the PCRs we asked for.
  const AttestQuote q = decode_quote(attest);
  if (q.magic != kTpmGenerated || q.type != kStAttestQuote) {
    decide(Verdict::Rejected, "the attestation is not a TPM-generated quote");
    return;
  }
  if (q.extra_data != m_nonce) {
    decide(Verdict::Rejected, "the quote is not for this run's nonce");
    return;
  }
  std::vector<unsigned> reported;
  for (const auto& [pcr, v] : values) {
    reported.push_back(pcr);
  }
  if (q.bank != kAlgSha256 || q.pcrs != m_pcrs || reported != m_pcrs) {
    decide(Verdict::Rejected, "the quote covers PCRs " + pcr_list(q.pcrs) + ", not the requested " + pcr_list(m_pcrs));
    return;
  }
  // 5. The digest of the reported values is the quoted one.
  Bytes concatenated;
  for (const auto& [pcr, v] : values) {
    concatenated.insert(concatenated.end(), v.begin(), v.end());
  }
  if (crypto::hash(crypto::HashAlg::Sha256, concatenated) != q.pcr_digest) {
    decide(Verdict::Rejected, "the reported PCR values do not match the quoted digest");
    return;
  }
  // 6. The AK signed it (ECDSA-SHA256 over the marshalled TPMS_ATTEST).
  if (!ak_key.verify(crypto::SigAlg::ES256, attest, decode_ecdsa_signature(sig, 32))) {
    decide(Verdict::Rejected, "the quote's signature does not verify with the attestation key");
    return;
  }
  // 7. The policy.
  for (const auto& entry : m_expect) {
    const unsigned pcr = entry.first;  // clang 14 cannot capture a structured binding in a lambda
    const Bytes& expected = entry.second;
    const auto it = std::find_if(values.begin(), values.end(), [pcr](const auto& v) { return v.first == pcr; });
    if (it->second != expected) {
      decide(Verdict::Quarantine, "PCR " + std::to_string(pcr) + " is " + to_hex(it->second) + ", expected " +
                                      to_hex(expected));
      return;
    }
  }
  decide(Verdict::Normal, m_expect.empty() ? "no PCR policy: values recorded" : "PCRs match the policy");
}

serviceinfo::Produced TpmAttestOwner::produce(std::size_t budget) {
  (void)budget;
  serviceinfo::Produced out;
  switch (m_step) {
    case Step::Start: {
      m_nonce = random_bytes(kNonceSize);
      cbor::Writer w;
      w.array(2).bstr(m_nonce).array(1).array(2).uint(kAlgSha256).array(m_pcrs.size());
      for (const unsigned pcr : m_pcrs) {
        w.uint(pcr);
      }
      out.kvs.push_back(make_kv(kTpmAttest, "quote-req", std::move(w).take()));
      m_deadline.start();
      m_step = Step::Waiting;
      return out;
    }
    case Step::Waiting:
      // docs/service-info.md "Owner deadlines".
      if (m_deadline.expired()) {
        m_step = Step::Failed;
        m_reason = "no quote from the device " + m_deadline.within();
        return produce(budget);
      }
      return out;  // waiting for the device
    case Step::Verdict: {
      cbor::Writer w;
      w.array(2).uint(static_cast<std::uint8_t>(m_verdict)).tstr(m_reason);
      out.kvs.push_back(make_kv(kTpmAttest, "verdict", std::move(w).take()));
      m_step = Step::VerdictSent;
      if (m_verdict == Verdict::Rejected) {
        return out;  // the run ends at the next 68, once the device has the verdict
      }
      out.done = true;
      if (m_verdict == Verdict::Quarantine) {
        out.quarantine = m_quarantine;
      }
      return out;
    }
    case Step::VerdictSent:
      throw_invalid("TPM-Attest: rejected: " + m_reason);
    case Step::Failed:
      if (m_required) {
        throw_internal("TPM-Attest: " + m_reason);
      }
      log::warn("TPM-Attest: " + m_reason + " (optional module: onboarding goes on)");
      out.done = true;
      return out;
  }
  return out;
}

Bytes TpmAttestOwner::save() const {
  cbor::Writer w;
  w.array(9).uint(static_cast<std::uint8_t>(m_step)).bstr(m_nonce).bstr(m_ak_pub).int_(m_deadline.saved());
  w.uint(static_cast<std::uint8_t>(m_verdict)).tstr(m_reason).tstr(m_values).bstr(m_ak_cert).tstr(m_ak_subject);
  return std::move(w).take();
}

void TpmAttestOwner::restore(ByteView state) {
  cbor::Reader r(state, "TPM-Attest state");
  r.read_array_of("", 9);
  m_step = static_cast<Step>(r.read_uint_max("step", static_cast<std::uint8_t>(Step::Failed)));
  m_nonce = r.read_bstr("nonce");
  m_ak_pub = r.read_bstr("ak_pub");
  m_deadline.restore(r.read_int("deadline"));
  const std::uint64_t verdict = r.read_uint_max("verdict", 255);
  m_verdict = verdict > 2 ? Verdict::None : static_cast<Verdict>(verdict);
  m_reason = r.read_tstr("reason");
  m_values = r.read_tstr("values");
  m_ak_cert = r.read_bstr("ak_cert");
  m_ak_subject = r.read_tstr("ak_subject");
  r.expect_end();
}

std::string TpmAttestOwner::summary() const {
  switch (m_verdict) {
    case Verdict::Normal:
      return "verdict normal: " + m_reason + " (PCRs " + m_values + ")" +
             (m_ak_subject.empty() ? std::string() : "; AK certified as " + m_ak_subject);
    case Verdict::Quarantine:
      return "verdict quarantine: " + m_reason;
    case Verdict::Rejected:
      return "verdict rejected: " + m_reason;
    case Verdict::None:
      break;
  }
  return m_step == Step::Failed ? m_reason : std::string();
}

void store_ak_certificate(Tpm& tpm, ByteView certificate) {
  const ObjectPublic ak = tpm.ensure_attestation_key(kAttestKeyHandle);
  const crypto::Certificate cert = crypto::Certificate::from_der(certificate);
  if (!ak.curve || !cert.public_key().same_key(crypto::PublicKey::from_ec_point(*ak.curve, ak.x, ak.y))) {
    throw_internal("TPM: the certificate is not for this TPM's attestation key at " + handle_text(kAttestKeyHandle));
  }
  if (certificate.size() > 2048) {
    throw_internal("TPM: an AK certificate of " + std::to_string(certificate.size()) + " bytes does not fit an index");
  }
  tpm.nv_undefine(kAkCertIndex);
  tpm.nv_define(kAkCertIndex, static_cast<std::uint16_t>(certificate.size()),
                nv_attr::kOwnerWrite | nv_attr::kAuthWrite | nv_attr::kOwnerRead | nv_attr::kAuthRead |
                    nv_attr::kNoDa);
  tpm.nv_write(kAkCertIndex, certificate);
}

std::optional<Bytes> load_ak_certificate(Tpm& tpm) {
  const std::optional<NvPublic> nv = tpm.nv_public(kAkCertIndex);
  if (!nv || !nv->written()) {
    return std::nullopt;
  }
  return tpm.nv_read(kAkCertIndex, nv->size);
}

void register_tpm_attest_owner(serviceinfo::OwnerRegistry& registry, std::filesystem::path plan_dir) {
  registry.add(std::string(kTpmAttest), [plan_dir = std::move(plan_dir)](ByteView params) {
    return std::make_unique<TpmAttestOwner>(params, plan_dir);
  });
}

void register_tpm_attest_device(serviceinfo::DeviceRegistry& registry, Tpm& tpm, std::filesystem::path verdict_file) {
  registry.add(std::string(kTpmAttest), [&tpm, verdict_file = std::move(verdict_file)] {
    return std::make_unique<TpmAttestDevice>(tpm, verdict_file);
  });
}

}  // namespace fdo::tpm
