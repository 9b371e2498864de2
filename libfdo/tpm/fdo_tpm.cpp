#include "libfdo/tpm/fdo_tpm.h"

#include <algorithm>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"

namespace fdo::tpm {
namespace {

constexpr std::uint64_t kProtVer = 101;
// Draft B's DCTPM magic "FDO1" (docs/tpm-credentials.md "Other layouts").
constexpr std::uint64_t kDraftBMagic = 0x46444F31;

crypto::HashAlg hash_of(crypto::KeyType curve) {
  return curve == crypto::KeyType::P384 ? crypto::HashAlg::Sha384 : crypto::HashAlg::Sha256;
}
std::size_t field_size(crypto::KeyType curve) { return curve == crypto::KeyType::P384 ? 48 : 32; }

struct Staging {
  Bytes dctpm;
  std::optional<SecretBytes> hmac_us;
  bool active = false;
};

// Staging record (docs/tpm-credentials.md): u16 length ‖ CBOR [bstr DCTPM, bstr HMAC U/S / null, bool DCActive].
Bytes encode_staging(ByteView dctpm, const std::optional<SecretBytes>& us, bool active) {
  cbor::Writer w;
  w.array(3).bstr(dctpm);
  if (us) {
    w.bstr(us->view());
  } else {
    w.null();
  }
  w.boolean(active);
  const Bytes item = std::move(w).take();
  Bytes out{static_cast<std::uint8_t>(item.size() >> 8), static_cast<std::uint8_t>(item.size() & 0xFF)};
  out.insert(out.end(), item.begin(), item.end());
  return out;
}

Staging decode_staging(ByteView item) {
  cbor::Reader r(item, "TPM staging record");
  Staging s;
  r.read_array_of("", 3);
  s.dctpm = r.read_bstr("[0] DCTPM");
  if (!r.try_read_null()) {
    s.hmac_us = SecretBytes(r.read_bstr("[1] HMAC U/S"));
  }
  s.active = r.read_bool("[2] DCActive");
  r.expect_end();
  return s;
}

Bytes journal_record(ByteView staging_item) {
  Bytes out{0x01};
  const Bytes h = crypto::hash(crypto::HashAlg::Sha256, staging_item);
  out.insert(out.end(), h.begin(), h.end());
  return out;
}

}  // namespace

// ---- DCTPM ----

Bytes DcTpm::encode() const {
  cbor::Writer w;
  w.array(7).uint(prot_ver).tstr(device_info).bstr(guid.view());
  if (rv_info.directives().empty()) {
    w.array(0);  // before DI (docs/tpm-credentials.md "Provisioning")
  } else {
    rv_info.encode(w);
  }
  if (pub_key_hash) {
    pub_key_hash->encode(w);
  } else {
    w.array(2).int_(static_cast<std::int64_t>(HashType::Sha256)).bstr({});
  }
  w.uint(device_key_type).uint(device_key_handle);
  return std::move(w).take();
}

DcTpm DcTpm::decode(ByteView index_bytes) {
  cbor::Reader outer(index_bytes, "DCTPM");
  const ByteView item = outer.read_raw("DCTPM");  // the rest of the fixed-size index is padding
  cbor::Reader r(item, "DCTPM");
  const std::size_t n = r.read_array("");
  if (n == 10 || n == 2) {
    throw_body_error(n == 10 ? "DCTPM: this TPM holds the layout of FDO-in-TPM draft B (go-fdo, magic FDO1), which "
                               "this build does not read"
                             : "DCTPM: this TPM holds the layout of the older go-fdo-client, which this build does "
                               "not read");
  }
  if (n != 7) {
    throw_body_error("DCTPM: expected the 7-element array of FDO-in-TPM §4.3, got " + std::to_string(n) + " elements");
  }
  DcTpm d;
  const std::uint64_t first = r.read_uint("[0] DCProtVer");
  if (first == kDraftBMagic || first != kProtVer) {
    throw_body_error("DCTPM: the first element is " + std::to_string(first) +
                     ", not DCProtVer 101 (another stack's layout, such as the C SDK's, which this build does not read)");
  }
  d.prot_ver = static_cast<std::uint16_t>(first);
  d.device_info = r.read_tstr("[1] DCDeviceInfo");
  d.guid = Guid::from(r.read_bstr_size("[2] DCGuid", Guid::kSize));
  const ByteView rv_raw = r.read_raw("[3] DCRVInfo");
  if (!(rv_raw.size() == 1 && rv_raw[0] == 0x80)) {  // [] before DI
    d.rv_info = RendezvousInfo::decode(rv_raw, {}, "[3] DCRVInfo");
  }
  const ByteView hash_raw = r.read_raw("[4] DCPubKeyHash");
  {
    cbor::Reader h(hash_raw, "DCPubKeyHash");
    h.read_array_of("", 2);
    static_cast<void>(h.read_int("[0] hashtype"));
    if (!h.read_bstr("[1] hash").empty()) {
      d.pub_key_hash = Hash::decode(hash_raw, "[4] DCPubKeyHash", HashKind::Digest);
    }
  }
  d.device_key_type = r.read_uint_max("[5] DeviceKeyType", 2);
  d.device_key_handle = static_cast<std::uint32_t>(r.read_uint_max("[6] DeviceKeyHandle", 0xFFFFFFFF));
  r.expect_end();
  return d;
}

bool DcTpm::has_credential() const {
  return std::any_of(guid.view().begin(), guid.view().end(), [](std::uint8_t b) { return b != 0; });
}

// ---- FdoTpm ----

FdoTpm::FdoTpm(Tpm& tpm) : m_tpm(tpm) {
  if (m_tpm.nv_public(handle::kJournal)) {
    if (const std::string done = recover(); !done.empty()) {
      log::info("TPM: " + done);
    }
  }
}

bool FdoTpm::provisioned() {
  return m_tpm.nv_public(handle::kDcTpm) && m_tpm.nv_public(handle::kHmacUs) && m_tpm.read_public(handle::kHmacKey) &&
         m_tpm.read_public(handle::kDeviceKey);
}

void FdoTpm::provision(const ProvisionOptions& options) {
  if (options.curve != crypto::KeyType::P256 && options.curve != crypto::KeyType::P384) {
    throw_internal("TPM: the device key in a TPM is ECC P-256 or P-384 (FDO-in-TPM Table 10), not " +
                   std::string(crypto::key_type_name(options.curve)));
  }
  for (const std::uint32_t h : {handle::kDcActive, handle::kDcTpm, handle::kDcOv, handle::kHmacUs, handle::kDeviceKeyUs,
                                handle::kCertificate, handle::kJournal, handle::kStaging}) {
    if (m_tpm.nv_public(h)) {
      throw_internal("TPM: NV index " + handle_text(h) +
                     " is already defined: this TPM already holds FDO state (fdo-tpm-provisioner show; clear)");
    }
  }
  for (const std::uint32_t h : {handle::kDeviceKey, handle::kHmacKey}) {
    if (m_tpm.read_public(h)) {
      throw_internal("TPM: persistent handle " + handle_text(h) +
                     " is already in use: this TPM already holds FDO state (fdo-tpm-provisioner show; clear)");
    }
  }
  forget_keys();
  // Every FDO handle was free (checked above): on a failure half-way, remove what this call made.
  try {
    provision_fresh(options);
  } catch (const Error& e) {
    try {
      remove_rd_state();
    } catch (const Error&) {
    }
    throw Error(e.code(), std::string(e.what()) + "; nothing of the partial provisioning was kept");
  }
}

void FdoTpm::provision_fresh(const ProvisionOptions& options) {
  const crypto::HashAlg alg = hash_of(options.curve);
  const Bytes device_us = random_bytes(2 * field_size(options.curve));
  const SecretBytes hmac_us(random_bytes(crypto::digest_size(alg)));
  // FDO-in-TPM Table 4: the U/S lengths tell the curve (64/96) and the hash (32/48).
  // The device key's U/S never changes (the key is FDO's permanent identity): written once, then write-locked for
  // good (WRITEDEFINE), the "read-only part write-locked" of FDO-in-TPM §4.
  m_tpm.nv_define(handle::kDeviceKeyUs, static_cast<std::uint16_t>(device_us.size()),
                  kFdoNvAttributes | nv_attr::kWriteDefine);
  m_tpm.nv_write(handle::kDeviceKeyUs, device_us);
  m_tpm.nv_write_lock(handle::kDeviceKeyUs);
  m_tpm.nv_define(handle::kHmacUs, static_cast<std::uint16_t>(hmac_us.size()), kFdoNvAttributes);
  m_tpm.nv_write(handle::kHmacUs, hmac_us.view());
  m_tpm.nv_define(handle::kDcActive, 1, kFdoNvAttributes);
  m_tpm.nv_define(handle::kDcTpm, kDcTpmSize, kFdoNvAttributes);
  m_tpm.nv_define(handle::kJournal, kJournalSize, kFdoNvAttributes);
  m_tpm.nv_define(handle::kStaging, kStagingSize, kFdoNvAttributes);
  // The policy names the U/S index, whose Name changes when it is first written and when it is locked: compute it
  // after both.
  m_tpm.create_persistent_ecc(handle::kDeviceKey, options.curve, device_us,
                              m_tpm.us_policy_digest(handle::kDeviceKeyUs, alg));
  m_tpm.create_persistent_hmac(handle::kHmacKey, alg, hmac_us.view(), m_tpm.us_policy_digest(handle::kHmacUs, alg));
  m_tpm.nv_write(handle::kDcActive, Bytes{0x00});
  DcTpm empty;
  empty.device_info = options.device_info;
  Bytes dctpm = empty.encode();
  dctpm.resize(kDcTpmSize, 0);
  m_tpm.nv_write(handle::kDcTpm, dctpm);
  m_tpm.nv_write(handle::kJournal, Bytes(kJournalSize, 0));
  m_tpm.nv_write(handle::kStaging, Bytes(kStagingSize, 0));
}

void FdoTpm::remove_rd_state() {
  forget_keys();
  m_tpm.evict(handle::kDeviceKey);
  m_tpm.evict(handle::kHmacKey);
  for (const std::uint32_t h : {handle::kDcActive, handle::kDcTpm, handle::kDcOv, handle::kHmacUs, handle::kDeviceKeyUs,
                                handle::kCertificate, handle::kJournal, handle::kStaging}) {
    m_tpm.nv_undefine(h);
  }
}

void FdoTpm::clear() {
  remove_rd_state();
  m_tpm.evict(handle::kAttestKey);
  for (const std::uint32_t app : m_tpm.handles(handle::kAppKeyFirst, handle::kAppKeyCount)) {
    m_tpm.evict(app);
  }
  m_tpm.nv_undefine(handle::kAkCert);
}

const ObjectPublic* FdoTpm::device_key() {
  if (!m_device_key) {
    m_device_key = m_tpm.read_public(handle::kDeviceKey);
  }
  return m_device_key ? &*m_device_key : nullptr;
}

const ObjectPublic* FdoTpm::hmac_key() {
  if (!m_hmac_key) {
    m_hmac_key = m_tpm.read_public(handle::kHmacKey);
  }
  return m_hmac_key ? &*m_hmac_key : nullptr;
}

void FdoTpm::forget_keys() {
  m_device_key.reset();
  m_hmac_key.reset();
}

KeyAuth FdoTpm::device_key_auth() {
  const ObjectPublic* pub = device_key();
  if (!pub) {
    throw_internal("TPM: no device key at " + handle_text(handle::kDeviceKey) + " (fdo-tpm-provisioner provision)");
  }
  if (pub->user_with_auth()) {
    return KeyAuth{};
  }
  return KeyAuth{.policy_index = handle::kDeviceKeyUs, .policy_hash = pub->name_alg};
}

KeyAuth FdoTpm::hmac_key_auth() {
  const ObjectPublic* pub = hmac_key();
  if (!pub) {
    throw_internal("TPM: no HMAC key at " + handle_text(handle::kHmacKey) + " (fdo-tpm-provisioner provision)");
  }
  if (pub->user_with_auth()) {
    return KeyAuth{};
  }
  return KeyAuth{.policy_index = handle::kHmacUs, .policy_hash = pub->name_alg};
}

crypto::KeyType FdoTpm::key_type() {
  const ObjectPublic* pub = device_key();
  if (!pub || pub->kind != ObjectPublic::Kind::Ecc || !pub->curve) {
    throw_internal("TPM: no ECC P-256/P-384 device key at " + handle_text(handle::kDeviceKey));
  }
  return *pub->curve;
}

crypto::PublicKey FdoTpm::public_key() {
  const ObjectPublic* pub = device_key();
  if (!pub || pub->kind != ObjectPublic::Kind::Ecc || !pub->curve) {
    throw_internal("TPM: no ECC P-256/P-384 device key at " + handle_text(handle::kDeviceKey));
  }
  return crypto::PublicKey::from_ec_point(*pub->curve, pub->x, pub->y);
}

crypto::HashAlg FdoTpm::hmac_alg() {
  const ObjectPublic* pub = hmac_key();
  if (!pub || pub->kind != ObjectPublic::Kind::KeyedHash || !pub->scheme_hash) {
    throw_internal("TPM: no HMAC-SHA256/384 key at " + handle_text(handle::kHmacKey));
  }
  return *pub->scheme_hash;
}

Bytes FdoTpm::sign(ByteView message) {
  const crypto::KeyType curve = key_type();
  const Bytes digest = crypto::hash(hash_of(curve), message);
  return m_tpm.sign_digest(handle::kDeviceKey, device_key_auth(), digest, field_size(curve));
}

Bytes FdoTpm::hmac(crypto::HashAlg alg, ByteView data) {
  if (alg != hmac_alg()) {
    throw_internal("TPM: the HMAC key is HMAC-" + std::string(alg == crypto::HashAlg::Sha384 ? "SHA256" : "SHA384") +
                   ", not the algorithm asked for");
  }
  return m_tpm.hmac(handle::kHmacKey, hmac_key_auth(), data);
}

SecretBytes FdoTpm::new_hmac_us() { return SecretBytes(random_bytes(crypto::digest_size(hmac_alg()))); }

Bytes FdoTpm::hmac_with_us(ByteView us, crypto::HashAlg alg, ByteView data) {
  if (alg != hmac_alg()) {
    throw_internal("TPM: the next HMAC key has the current key's algorithm, not the one asked for");
  }
  // The U/S index's Name does not depend on its contents, so the policy is the same for the next key.
  const KeyAuth auth{.policy_index = handle::kHmacUs, .policy_hash = alg};
  return m_tpm.hmac_transient(alg, us, m_tpm.us_policy_digest(handle::kHmacUs, alg), auth, data);
}

std::optional<DeviceCredential> FdoTpm::load() {
  if (!m_tpm.nv_public(handle::kDcTpm)) {
    return std::nullopt;
  }
  const DcTpm d = DcTpm::decode(m_tpm.nv_read(handle::kDcTpm, kDcTpmSize));
  if (!d.has_credential()) {
    return std::nullopt;
  }
  if (!d.pub_key_hash) {
    throw_body_error("DCTPM: a GUID but no DCPubKeyHash");
  }
  if (d.device_key_type != 0 || d.device_key_handle != handle::kDeviceKey) {
    throw_internal("DCTPM: the device key is an IDevID/LDevID or at " + handle_text(d.device_key_handle) +
                   ", which this build does not use (it uses the FDO key at " + handle_text(handle::kDeviceKey) + ")");
  }
  DeviceCredential c;
  const Bytes active = m_tpm.nv_read(handle::kDcActive, 1);
  c.dc_active = !active.empty() && active[0] == 0x01;
  c.dc_prot_ver = d.prot_ver;
  c.dc_device_info = d.device_info;
  c.dc_guid = d.guid;
  c.dc_rv_info = d.rv_info;
  c.dc_pub_key_hash = *d.pub_key_hash;
  c.key_type = key_type();
  c.storage = CredentialStorage::Tpm;
  c.tpm = TpmKeyRef{.device_key_handle = handle::kDeviceKey, .hmac_key_handle = handle::kHmacKey};
  return c;
}

void FdoTpm::commit(const DeviceCredential& credential, const std::optional<SecretBytes>& new_hmac_us) {
  if (credential.storage != CredentialStorage::Tpm) {
    throw_internal("TPM: only a TPM credential can be stored in the TPM");
  }
  DcTpm d;
  d.prot_ver = credential.dc_prot_ver;
  d.device_info = credential.dc_device_info;
  d.guid = credential.dc_guid;
  d.rv_info = credential.dc_rv_info;
  d.pub_key_hash = credential.dc_pub_key_hash;
  const Bytes dctpm = d.encode();
  if (dctpm.size() > kDcTpmSize) {
    throw_internal("TPM: the credential's DCTPM is " + std::to_string(dctpm.size()) + " bytes, more than the " +
                   std::to_string(kDcTpmSize) + " of its NV index (RendezvousInfo or DeviceInfo too long)");
  }
  const Bytes staging = encode_staging(dctpm, new_hmac_us, credential.dc_active);
  if (staging.size() > kStagingSize) {
    throw_internal("TPM: the staging record does not fit its NV index");
  }
  auto step = [this](std::string_view name) {
    if (on_commit_step) {
      on_commit_step(name);
    }
  };
  // Our two indices, when another tool provisioned the RD ones.
  if (!m_tpm.nv_public(handle::kJournal)) {
    m_tpm.nv_define(handle::kJournal, kJournalSize, kFdoNvAttributes);
    m_tpm.nv_write(handle::kJournal, Bytes(kJournalSize, 0));
  }
  if (!m_tpm.nv_public(handle::kStaging)) {
    m_tpm.nv_define(handle::kStaging, kStagingSize, kFdoNvAttributes);
  }
  // docs/tpm-credentials.md "Atomic replacement": 1 staging, 2 journal, 3 apply, 4 clear the journal.
  step("staging");
  m_tpm.nv_write(handle::kStaging, staging);
  step("journal");
  m_tpm.nv_write(handle::kJournal, journal_record(ByteView(staging).subspan(2)));
  apply(ByteView(staging).subspan(2));
  step("done");
  m_tpm.nv_write(handle::kJournal, Bytes(kJournalSize, 0));
}

void FdoTpm::apply(ByteView staging_item) {
  const Staging s = decode_staging(staging_item);
  auto step = [this](std::string_view name) {
    if (on_commit_step) {
      on_commit_step(name);
    }
  };
  // Every sub-step is idempotent, so a replay after a crash in the middle converges.
  step("dctpm");
  Bytes padded = s.dctpm;
  padded.resize(kDcTpmSize, 0);
  m_tpm.nv_write(handle::kDcTpm, padded);
  if (s.hmac_us) {
    step("hmac-us");
    m_tpm.nv_write(handle::kHmacUs, s.hmac_us->view());
  }
  step("active");
  m_tpm.nv_write(handle::kDcActive, Bytes{static_cast<std::uint8_t>(s.active ? 0x01 : 0x00)});
  if (s.hmac_us) {
    step("hmac-key");
    const crypto::HashAlg alg = s.hmac_us->size() == 48 ? crypto::HashAlg::Sha384 : crypto::HashAlg::Sha256;
    const Bytes policy = m_tpm.us_policy_digest(handle::kHmacUs, alg);
    const Bytes name = m_tpm.hmac_key_name(alg, s.hmac_us->view(), policy);
    const std::optional<ObjectPublic> current = m_tpm.read_public(handle::kHmacKey);
    if (!current || current->name != name) {
      forget_keys();
      m_tpm.create_persistent_hmac(handle::kHmacKey, alg, s.hmac_us->view(), policy);
    }
  }
}

std::string FdoTpm::recover() {
  const Bytes journal = m_tpm.nv_read(handle::kJournal, kJournalSize);
  if (journal.empty() || journal[0] != 0x01) {
    return "";
  }
  const Bytes head = m_tpm.nv_read(handle::kStaging, 2);
  const std::size_t len = (static_cast<std::size_t>(head[0]) << 8) | head[1];
  bool complete = false;
  Bytes item;
  if (len > 0 && len + 2 <= kStagingSize) {
    item = m_tpm.nv_read(handle::kStaging, static_cast<std::uint16_t>(len), 2);
    complete = journal_record(item) == journal;
  }
  std::string what;
  if (complete) {
    apply(item);
    what = "finished an interrupted credential replacement from the TPM journal";
  } else {
    what = "dropped a torn TPM journal record: the previous credential stands";
  }
  m_tpm.nv_write(handle::kJournal, Bytes(kJournalSize, 0));
  return what;
}

// ---- status ----

bool TpmStatus::provisioned() const {
  for (const Index& i : indices) {
    if (i.handle == handle::kDcTpm && i.nv) {
      return true;
    }
  }
  return false;
}

TpmStatus FdoTpm::status() {
  TpmStatus s;
  s.tpm = m_tpm.describe() + " at " + m_tpm.tcti();
  const std::pair<std::uint32_t, const char*> indices[] = {
      {handle::kDcActive, "DCActive"},        {handle::kDcTpm, "DCTPM"},
      {handle::kDcOv, "DCOV"},                {handle::kHmacUs, "HMAC U/S"},
      {handle::kDeviceKeyUs, "Device Key U/S"}, {handle::kCertificate, "FDO Certificate"},
      {handle::kJournal, "journal (ours)"},   {handle::kStaging, "staging (ours)"},
      {handle::kAkCert, "AK certificate (ours)"}};
  for (const auto& [h, name] : indices) {
    s.indices.push_back({.handle = h, .name = name, .nv = m_tpm.nv_public(h)});
  }
  s.keys.push_back({.handle = handle::kDeviceKey, .name = "FDO device key", .pub = m_tpm.read_public(handle::kDeviceKey)});
  s.keys.push_back({.handle = handle::kHmacKey, .name = "FDO HMAC key", .pub = m_tpm.read_public(handle::kHmacKey)});
  s.keys.push_back(
      {.handle = handle::kAttestKey, .name = "attestation key (ours)", .pub = m_tpm.read_public(handle::kAttestKey)});
  for (const std::uint32_t app : m_tpm.handles(handle::kAppKeyFirst, handle::kAppKeyCount)) {
    s.keys.push_back({.handle = app, .name = "application key (AsymKey)", .pub = m_tpm.read_public(app)});
  }
  if (m_tpm.nv_public(handle::kDcActive)) {
    const Bytes a = m_tpm.nv_read(handle::kDcActive, 1);
    s.active = !a.empty() && a[0] == 0x01;
  }
  if (m_tpm.nv_public(handle::kDcTpm)) {
    try {
      s.dctpm = DcTpm::decode(m_tpm.nv_read(handle::kDcTpm, kDcTpmSize));
    } catch (const Error& e) {
      s.dctpm_error = e.what();
    }
  }
  if (const auto nv = m_tpm.nv_public(handle::kHmacUs)) {
    s.hmac_us_size = nv->size;
  }
  if (const auto nv = m_tpm.nv_public(handle::kDeviceKeyUs)) {
    s.device_key_us_size = nv->size;
  }
  if (s.keys[0].pub && s.keys[0].pub->curve) {
    s.device_key_pem = crypto::PublicKey::from_ec_point(*s.keys[0].pub->curve, s.keys[0].pub->x, s.keys[0].pub->y)
                           .to_pem();
  }
  if (m_tpm.nv_public(handle::kJournal)) {
    const Bytes j = m_tpm.nv_read(handle::kJournal, kJournalSize);
    s.journal = !j.empty() && j[0] == 0x01 ? "pending" : "clear";
  }
  return s;
}

void TpmStatus::to_json(JsonWriter& out) const {
  out.begin_object();
  out.key("tpm").string(tpm);
  out.key("provisioned").boolean(provisioned());
  out.key("nv_indices").begin_array();
  for (const Index& i : indices) {
    out.begin_object().key("handle").string(handle_text(i.handle)).key("name").string(i.name);
    out.key("present").boolean(i.nv.has_value());
    if (i.nv) {
      out.key("size").uinteger(i.nv->size).key("attributes").string(handle_text(i.nv->attributes));
      out.key("attribute_names").string(nv_attributes_text(i.nv->attributes));
    }
    out.end_object();
  }
  out.end_array();
  out.key("keys").begin_array();
  for (const Key& k : keys) {
    out.begin_object().key("handle").string(handle_text(k.handle)).key("name").string(k.name);
    out.key("present").boolean(k.pub.has_value());
    if (k.pub) {
      out.key("attributes").string(handle_text(k.pub->attributes));
      out.key("attribute_names").string(object_attributes_text(k.pub->attributes));
      out.key("authorisation").string(k.pub->user_with_auth() ? "password" : "policy (FDO-in-TPM Table 12)");
      if (k.pub->curve) {
        out.key("curve").string(crypto::key_type_name(*k.pub->curve));
      }
      if (k.pub->scheme_hash) {
        out.key("hash").string(k.pub->scheme_hash == crypto::HashAlg::Sha384 ? "sha384" : "sha256");
      }
    }
    out.end_object();
  }
  out.end_array();
  if (active) {
    out.key("active").boolean(*active);
  }
  if (dctpm) {
    out.key("dctpm").begin_object();
    out.key("layout").string("FDO-in-TPM RD 2023-10-10");
    out.key("protocol_version").uinteger(dctpm->prot_ver);
    out.key("device_info").string(dctpm->device_info);
    out.key("guid").string(dctpm->guid.hex());
    out.key("has_credential").boolean(dctpm->has_credential());
    out.key("rendezvous_info");
    dctpm->rv_info.to_json(out, false);
    if (dctpm->pub_key_hash) {
      out.key("manufacturer_key_hash").begin_object();
      out.key("alg").string(hash_type_name(dctpm->pub_key_hash->type())).key("hex").string(dctpm->pub_key_hash->hex());
      out.end_object();
    }
    out.key("device_key_type").uinteger(dctpm->device_key_type);
    out.key("device_key_handle").string(handle_text(dctpm->device_key_handle));
    out.end_object();
  } else if (!dctpm_error.empty()) {
    out.key("dctpm_error").string(dctpm_error);
  }
  if (hmac_us_size) {
    out.key("hmac_us_bytes").uinteger(*hmac_us_size);
  }
  if (device_key_us_size) {
    out.key("device_key_us_bytes").uinteger(*device_key_us_size);
  }
  if (!device_key_pem.empty()) {
    out.key("device_public_key_pem").string(device_key_pem);
  }
  if (!journal.empty()) {
    out.key("journal").string(journal);
  }
  out.end_object();
}

std::string TpmStatus::text() const {
  std::string out = "TPM: " + tpm + "\n";
  if (!provisioned()) {
    out += "FDO: not provisioned (no DCTPM at " + handle_text(handle::kDcTpm) + ")\n";
  }
  for (const Index& i : indices) {
    out += "  NV " + handle_text(i.handle) + " " + i.name + ": ";
    out += i.nv ? std::to_string(i.nv->size) + " bytes, " + nv_attributes_text(i.nv->attributes) + " (" +
                      handle_text(i.nv->attributes) + ")"
                : std::string("absent");
    out += "\n";
  }
  for (const Key& k : keys) {
    out += "  key " + handle_text(k.handle) + " " + k.name + ": ";
    if (k.pub) {
      out += (k.pub->curve ? std::string(crypto::key_type_name(*k.pub->curve)) + ", " : std::string());
      out += object_attributes_text(k.pub->attributes) + (k.pub->user_with_auth() ? ", password" : ", policy");
    } else {
      out += "absent";
    }
    out += "\n";
  }
  if (active) {
    out += std::string("  DCActive: ") + (*active ? "true" : "false") + "\n";
  }
  if (dctpm) {
    out += "  DCTPM: GUID " + (dctpm->has_credential() ? dctpm->guid.hex() : std::string("none yet (before DI)")) +
           ", device info '" + dctpm->device_info + "'\n";
  } else if (!dctpm_error.empty()) {
    out += "  DCTPM: " + dctpm_error + "\n";
  }
  if (!journal.empty()) {
    out += "  journal: " + journal + "\n";
  }
  if (!device_key_pem.empty()) {
    out += device_key_pem;
  }
  return out;
}

}  // namespace fdo::tpm
