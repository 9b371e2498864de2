#include "libfdo/fsim/asym_key.h"

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/fsim/device_io.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

constexpr std::string_view kGen = "gen";
constexpr std::string_view kCsr = "csr";
constexpr std::string_view kCert = "cert";
constexpr std::string_view kChain = "chain";
constexpr std::string_view kStatus = "status";

std::string key(std::string_view message) { return serviceinfo::make_key(kAsymKey, message); }

void send_status(serviceinfo::Outbox& out, std::uint64_t slot, AsymKeyStatus code, const std::string& text = {}) {
  cbor::Writer w;
  w.array(text.empty() ? 2 : 3).uint(slot).int_(static_cast<std::int64_t>(code));
  if (!text.empty()) {
    w.tstr(text);
  }
  if (code != AsymKeyStatus::Installed) {
    log::warn("AsymKey: slot " + std::to_string(slot) + ": code " + std::to_string(static_cast<int>(code)) + ": " +
              text);
  }
  out.send(kStatus, std::move(w).take());
}

/// Reads the optional trailing `part, parts` of a message with `base` items; (0, 1) when absent.
std::pair<std::uint64_t, std::uint64_t> read_part(cbor::Reader& r, std::size_t n, std::size_t base) {
  if (n == base) {
    return {0, 1};
  }
  if (n != base + 2) {
    throw_body_error("expected " + std::to_string(base) + " or " + std::to_string(base + 2) + " items, got " +
                     std::to_string(n));
  }
  const std::uint64_t part = r.read_uint("part");
  const std::uint64_t parts = r.read_uint("parts");
  return {part, parts};
}

/// The certificate bytes of `cert`: a bstr, or (lenient, logged) a tstr holding base64 or PEM.
Bytes read_cert_bytes(cbor::Reader& r) {
  if (r.peek_type() != cbor::MajorType::Text) {
    return r.read_bstr("x509");
  }
  const std::string text = r.read_tstr("x509");
  log::warn("AsymKey:cert as text (base64 or PEM) accepted; it should be a bstr of DER");
  if (text.find("-----BEGIN") != std::string::npos) {
    const std::vector<crypto::Certificate> certs = crypto::Certificate::from_pem_all(text);
    if (certs.empty()) {
      throw_body_error("AsymKey:cert: no CERTIFICATE block");
    }
    return certs.front().der();
  }
  return base64_decode(text);
}

/// Appends the KVs carrying `object` for `message`: `prefix` items, then the bstr, then `part, parts` when split.
void add_parts(serviceinfo::ServiceInfo& kvs, std::string_view message, const std::vector<std::uint64_t>& prefix,
               ByteView object) {
  const std::vector<Bytes> parts = split_parts(object);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    cbor::Writer w;
    w.array(prefix.size() + (parts.size() == 1 ? 1 : 3));
    for (const std::uint64_t v : prefix) {
      w.uint(v);
    }
    w.bstr(parts[i]);
    if (parts.size() > 1) {
      w.uint(i).uint(parts.size());
    }
    kvs.push_back(serviceinfo::make_kv(kAsymKey, message, std::move(w).take()));
  }
}

}  // namespace

void AsymKeyDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  if (message == kGen) {
    gen(value, out);
  } else if (message == kChain) {
    chain(value, out);
  } else if (message == kCert) {
    cert(value, out);
  } else {
    send_status(out, 0, AsymKeyStatus::BadRequest, "unknown message " + std::string(message));
  }
}

void AsymKeyDevice::gen(ByteView value, serviceinfo::Outbox& out) {
  std::uint64_t slot = 0;
  std::string curve;
  std::string subject;
  try {
    cbor::Reader r(value, key(kGen));
    const std::size_t n = r.read_array("gen");
    if (n != 2 && n != 3) {
      throw_body_error(key(kGen) + ": expected [slot, curve, ? subject], got " + std::to_string(n) + " items");
    }
    slot = r.read_uint("slot");
    curve = r.read_tstr("curve");
    if (n == 3) {
      subject = r.read_tstr("subject");
    }
    r.expect_end();
  } catch (const Error& e) {
    send_status(out, slot, AsymKeyStatus::BadRequest, e.what());
    return;
  }
  if (slot > kMaxAsymKeySlot) {
    send_status(out, slot, AsymKeyStatus::BadRequest, "slot above " + std::to_string(kMaxAsymKeySlot));
    return;
  }
  const std::optional<crypto::KeyType> type = parse_curve(curve);
  if (!type) {
    send_status(out, slot, AsymKeyStatus::UnsupportedCurve, "unsupported curve " + curve);
    return;
  }
  std::string cn = "fdo-device-slot-" + std::to_string(slot);
  if (!subject.empty()) {
    cn = common_name_of(subject);
    if (cn.empty()) {
      send_status(out, slot, AsymKeyStatus::BadRequest, "subject has no CN");
      return;
    }
  }
  // The slot's files must stay inside the root (a symlinked asymkey/ could point elsewhere): checked before any key.
  try {
    (void)path_in_root(m_context, slot_dir(slot) + "/key.pem");
  } catch (const Error& e) {
    send_status(out, slot, AsymKeyStatus::Storage, e.what());
    return;
  }
  std::unique_ptr<PendingAppKey> made;
  Bytes csr;
  try {
    made = app_keys_of(m_context).generate(*type);
    csr = made->csr(cn);
  } catch (const Error& e) {
    send_status(out, slot, AsymKeyStatus::KeyGenFailed, e.what());
    return;
  }
  // A new gen for a slot replaces its pending key; the installed one stays until a certificate comes.
  m_pending.erase(slot);
  m_pending.emplace(slot, Pending{.key = std::move(made), .chain = {}, .chain_total = 0, .chain_part = {},
                                  .cert_part = {}});
  const std::vector<Bytes> parts = split_parts(csr);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    cbor::Writer w;
    w.array(parts.size() == 1 ? 3 : 5).uint(slot).tstr(curve).bstr(parts[i]);
    if (parts.size() > 1) {
      w.uint(i).uint(parts.size());
    }
    out.send(kCsr, std::move(w).take());
  }
  log::info("AsymKey: slot " + std::to_string(slot) + ": " + curve + " key made (" + app_keys_of(m_context).where() +
            "), CSR sent (" +
            std::to_string(csr.size()) + " bytes)");
}

AsymKeyDevice::Pending* AsymKeyDevice::read_part_for(std::string_view message, ByteView value, std::size_t fields,
                                                     X509Part& got, serviceinfo::Outbox& out) {
  try {
    cbor::Reader r(value, key(message));
    const std::size_t n = r.read_array(message);
    got.slot = r.read_uint("slot");
    for (std::size_t i = 0; i < fields; ++i) {
      got.fields.push_back(r.read_uint(i == 0 ? "index" : "total"));
    }
    got.data = message == kCert ? read_cert_bytes(r) : r.read_bstr("x509");
    got.part = read_part(r, n, fields + 2);
    r.expect_end();
  } catch (const Error& e) {
    send_status(out, got.slot, AsymKeyStatus::BadRequest, e.what());
    return nullptr;
  }
  const auto it = m_pending.find(got.slot);
  if (it == m_pending.end()) {
    send_status(out, got.slot, AsymKeyStatus::NoPendingKey, std::string(message) + " for a slot without a pending key");
    return nullptr;
  }
  return &it->second;
}

void AsymKeyDevice::chain(ByteView value, serviceinfo::Outbox& out) {
  X509Part got;
  Pending* const p = read_part_for(kChain, value, 2, got, out);
  if (p == nullptr) {
    return;
  }
  const std::uint64_t index = got.fields[0];
  const std::uint64_t total = got.fields[1];
  if (total == 0 || index >= total || (p->chain_total != 0 && total != p->chain_total) ||
      !p->chain_part.add(got.part.first, got.part.second, got.data)) {
    send_status(out, got.slot, AsymKeyStatus::ChainInvalid, "chain part out of order");
    p->chain.clear();
    return;
  }
  p->chain_total = total;
  if (p->chain_part.complete()) {
    try {
      p->chain.insert_or_assign(index, crypto::Certificate::from_der(p->chain_part.data()));
    } catch (const Error& e) {
      send_status(out, got.slot, AsymKeyStatus::ChainInvalid, e.what());
    }
    p->chain_part.reset();
  }
}

void AsymKeyDevice::cert(ByteView value, serviceinfo::Outbox& out) {
  X509Part got;
  Pending* const found = read_part_for(kCert, value, 0, got, out);
  if (found == nullptr) {
    return;
  }
  Pending& p = *found;
  const std::uint64_t slot = got.slot;
  if (!p.cert_part.add(got.part.first, got.part.second, got.data)) {
    send_status(out, slot, AsymKeyStatus::BadRequest, "certificate part out of order");
    return;
  }
  if (!p.cert_part.complete()) {
    return;
  }
  std::optional<crypto::Certificate> leaf;
  try {
    leaf = crypto::Certificate::from_der(p.cert_part.data());
  } catch (const Error& e) {
    p.cert_part.reset();
    send_status(out, slot, AsymKeyStatus::BadRequest, e.what());
    return;
  }
  p.cert_part.reset();
  if (!leaf->public_key().same_key(p.key->public_key())) {
    send_status(out, slot, AsymKeyStatus::CertMismatch, "the certificate is not for this slot's key");
    return;
  }
  // The chain, issuer of the leaf first: every link signed by the next (the device has no trust anchor to end on).
  std::vector<crypto::Certificate> chain;
  if (p.chain_total != 0) {
    if (p.chain.size() != p.chain_total) {
      send_status(out, slot, AsymKeyStatus::ChainInvalid,
                  "chain has " + std::to_string(p.chain.size()) + " of " + std::to_string(p.chain_total));
      return;
    }
    for (const auto& [index, c] : p.chain) {
      chain.push_back(c);
    }
    const crypto::Certificate* child = &*leaf;
    for (const crypto::Certificate& c : chain) {
      if (!child->is_signed_by(c)) {
        send_status(out, slot, AsymKeyStatus::ChainInvalid, "chain link to " + c.subject() + " does not verify");
        return;
      }
      child = &c;
    }
  }
  try {
    const StoredKey stored = p.key->install(slot);
    std::optional<StoredKey> replaced;
    try {
      replaced = store_enrolled(m_context, slot_dir(slot), stored, *leaf, chain);
    } catch (const Error&) {
      p.key->discard();
      throw;
    }
    if (replaced) {
      app_keys_of(m_context).release(*replaced);
    }
  } catch (const Error& e) {
    send_status(out, slot, AsymKeyStatus::Storage, e.what());
    return;
  }
  log::info("AsymKey: slot " + std::to_string(slot) + ": certificate installed (" + leaf->subject() + ")");
  m_pending.erase(slot);
  send_status(out, slot, AsymKeyStatus::Installed);
}

void AsymKeyDevice::on_end(bool success) {
  if (!m_pending.empty()) {
    log::info("AsymKey: " + std::to_string(m_pending.size()) + " pending key(s) without certificate discarded" +
              (success ? "" : " (TO2 failed)"));
  }
  m_pending.clear();
}

AsymKeyOwner::AsymKeyOwner(ByteView params, const OwnerContext& context) : m_context(context) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kAsymKey, params);
  p.expect_only({"slot", "curve", "subject", "send_chain", "sign_command", "validity_days", "sign_timeout", "timeout"});
  m_slot = static_cast<std::uint64_t>(p.integer("slot", 0, 0, static_cast<std::int64_t>(kMaxAsymKeySlot)));
  const std::string curve = p.get("curve", "secp256r1");
  const std::optional<crypto::KeyType> type = parse_curve(curve);
  if (!type) {
    throw_body_error("AsymKey: unknown curve " + curve + " (secp256r1, secp384r1, rsa2048, rsa3072)");
  }
  m_curve = *type;
  m_subject = p.get("subject", "");
  if (!m_subject.empty() && common_name_of(m_subject).empty()) {
    throw_body_error("AsymKey: subject " + m_subject + " has no CN");
  }
  m_send_chain = p.flag("send_chain", true);
  m_signer = CsrSigner::from_params(p, context);
  m_deadline = transfer::OwnerDeadline(p.integer("timeout", transfer::kDefaultTimeout, 0, transfer::kMaxTimeout));
}

void AsymKeyOwner::fail_wait(std::string_view awaited) {
  m_error = "no " + std::string(awaited) + " from the device " + m_deadline.within();
  m_stage = Stage::Done;
  throw_internal("AsymKey: slot " + std::to_string(m_slot) + ": " + m_error);
}

void AsymKeyOwner::on_csr(ByteView value) {
  cbor::Reader r(value, key(kCsr));
  const std::size_t n = r.read_array("csr");
  const std::uint64_t slot = r.read_uint("slot");
  const std::string curve = r.read_tstr("curve");
  const Bytes data = r.read_bstr("pkcs10");
  const auto [part, parts] = read_part(r, n, 3);
  r.expect_end();
  if (m_stage != Stage::AwaitCsr || slot != m_slot) {
    throw_invalid(key(kCsr) + ": unexpected CSR for slot " + std::to_string(slot));
  }
  if (!m_csr.add(part, parts, data)) {
    throw_invalid(key(kCsr) + ": part " + std::to_string(part) + " of " + std::to_string(parts) + " out of order");
  }
  if (!m_csr.complete()) {
    return;
  }
  const Issued issued = sign_csr(m_signer, m_context, m_csr.data(), m_curve);
  m_csr.reset();
  if (!issued.leaf) {
    // The device gets no certificate; its pending key is discarded at the end of TO2.
    m_error = issued.error;
    m_stage = Stage::Done;
    log::warn("AsymKey: slot " + std::to_string(m_slot) + ": " + issued.error);
    return;
  }
  m_issued = issued.leaf->der();
  m_issued_subject = issued.leaf->subject();
  m_out.clear();
  if (m_send_chain) {
    for (std::size_t i = 0; i < issued.chain.size(); ++i) {
      add_parts(m_out, kChain, {m_slot, i, issued.chain.size()}, issued.chain[i].der());
    }
  }
  add_parts(m_out, kCert, {m_slot}, m_issued);
  m_stage = Stage::SendCert;
}

void AsymKeyOwner::on_message(std::string_view message, ByteView value) {
  if (message == kCsr) {
    on_csr(value);
    return;
  }
  if (message == kStatus) {
    cbor::Reader r(value, key(kStatus));
    const std::size_t n = r.read_array("status");
    if (n != 2 && n != 3) {
      throw_body_error(key(kStatus) + ": expected [slot, code, ? text], got " + std::to_string(n) + " items");
    }
    const std::uint64_t slot = r.read_uint("slot");
    m_code = r.read_int("code");
    const std::string text = n == 3 ? r.read_tstr("text") : std::string();
    r.expect_end();
    if (m_code != 0) {
      m_error = "device status " + std::to_string(m_code) + " for slot " + std::to_string(slot) +
                (text.empty() ? "" : ": " + text);
      log::warn("AsymKey: " + m_error);
    }
    m_stage = Stage::Done;
    return;
  }
  log::warn("AsymKey: unexpected device message " + std::string(message) + " ignored");
}

serviceinfo::Produced AsymKeyOwner::produce(std::size_t budget) {
  (void)budget;  // every KV is at most kMaxPart bytes of payload: it fits a 1300-byte 69
  serviceinfo::Produced out;
  if (m_stage == Stage::Gen) {
    cbor::Writer w;
    w.array(m_subject.empty() ? 2 : 3).uint(m_slot).tstr(curve_name(m_curve));
    if (!m_subject.empty()) {
      w.tstr(m_subject);
    }
    out.kvs.push_back(serviceinfo::make_kv(kAsymKey, kGen, std::move(w).take()));
    m_stage = Stage::AwaitCsr;
    m_deadline.start();
  } else if (m_stage == Stage::SendCert) {
    out.kvs = std::move(m_out);
    m_out.clear();
    m_stage = Stage::AwaitStatus;
    m_deadline.start();
  } else if (m_stage == Stage::AwaitCsr && m_deadline.expired()) {
    fail_wait("csr");
  } else if (m_stage == Stage::AwaitStatus && m_deadline.expired()) {
    fail_wait("status");
  }
  out.done = m_stage == Stage::Done;
  return out;
}

// State = [stage, deadline_ms, csr, next, parts, [* [key, value]], issued, subject, code, error]
Bytes AsymKeyOwner::save() const {
  cbor::Writer w;
  w.array(10)
      .uint(static_cast<std::uint8_t>(m_stage))
      .int_(m_deadline.saved())
      .bstr(m_csr.data())
      .uint(m_csr.next())
      .uint(m_csr.parts());
  w.array(m_out.size());
  for (const serviceinfo::ServiceInfoKv& kv : m_out) {
    w.array(2).tstr(kv.key).bstr(kv.value);
  }
  w.bstr(m_issued).tstr(m_issued_subject).int_(m_code).tstr(m_error);
  return std::move(w).take();
}

void AsymKeyOwner::restore(ByteView state) {
  cbor::Reader r(state, "AsymKey state");
  r.read_array_of("", 10);
  m_stage = static_cast<Stage>(r.read_uint_max("stage", static_cast<std::uint64_t>(Stage::Done)));
  m_deadline.restore(r.read_int("deadline"));
  Bytes csr = r.read_bstr("csr");
  const std::uint64_t next = r.read_uint("next");
  const std::uint64_t parts = r.read_uint("parts");
  m_csr = PartCollector(std::move(csr), next, parts);
  const std::size_t n = r.read_array("out");
  m_out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    r.read_array_of("kv", 2);
    std::string k = r.read_tstr("key");
    m_out.push_back(serviceinfo::ServiceInfoKv{.key = std::move(k), .value = r.read_bstr("value")});
  }
  m_issued = r.read_bstr("issued");
  m_issued_subject = r.read_tstr("subject");
  m_code = r.read_int("code");
  m_error = r.read_tstr("error");
  r.expect_end();
}

std::string AsymKeyOwner::summary() const {
  const std::string slot = "slot " + std::to_string(m_slot);
  if (!m_error.empty()) {
    return slot + ": " + m_error;
  }
  if (m_code == 0) {
    return slot + " certificate installed (" + m_issued_subject + ")";
  }
  if (!m_issued.empty()) {
    return slot + " certificate issued, awaiting the device";
  }
  return {};
}

}  // namespace fdo::fsim
