#include "libfdo/protocol/to2_owner.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/cose/session_cipher.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

// The voucher record of a run's GUID, decoded. A voucher we stored that no longer decodes is our fault (500).
voucher::OwnershipVoucher load_voucher(storage::Store& store, const Guid& guid, const Leniency& leniency) {
  std::optional<storage::VoucherRecord> record =
      storage::read_only(store, [&](storage::Transaction& tx) { return tx.get_voucher(guid); });
  if (!record) {
    throw Error(ErrorCode::ResourceNotFound, "TO2: this owner holds no voucher for the GUID");
  }
  try {
    return voucher::OwnershipVoucher::decode(record->voucher, leniency);
  } catch (const Error& e) {
    throw_internal(std::string("TO2: the stored voucher does not decode: ") + e.what());
  }
}

// The RendezvousInfo of a voucher header, byte for byte (credential reuse re-sends it unchanged, FDO 1.1 §5.5.7).
Bytes header_rv_info_bytes(ByteView header_bytes) {
  cbor::Reader r(header_bytes, "OVHeader");
  r.read_array("");
  r.skip("[0] OVHProtVer");
  r.skip("[1] OVGuid");
  const ByteView rv = r.read_raw("[2] OVRVInfo");
  return Bytes(rv.begin(), rv.end());
}

// Moves the owner's device status record on (docs/owner.md "Device status"); a record is made when missing.
void set_status(storage::Transaction& tx, const Guid& guid, std::int64_t now, std::string_view state,
                std::string_view step, std::string_view error = {}) {
  storage::OwnerDeviceRecord record;
  if (std::optional<storage::OwnerDeviceRecord> found = tx.get_owner_device(guid)) {
    record = std::move(*found);
  }
  record.guid = guid;
  record.state = std::string(state);
  record.step = std::string(step);
  record.error = std::string(error);
  record.updated_at = now;
  tx.put_owner_device(record);
}

std::optional<crypto::CipherSuite> cipher_suite_of(std::int64_t id, const Leniency& leniency) {
  // docs/interop.md "go-fdo-a256gcm-id": go-fdo sends 2 for A256GCM; accepted only when asked for.
  constexpr std::int64_t kGoFdoA256GcmId = 2;
  if (id == kGoFdoA256GcmId && leniency.accept(Quirk::GoFdoA256GcmId2, "TO2.HelloDevice cipherSuiteName 2")) {
    return crypto::CipherSuite::A256GCM;
  }
  return crypto::cipher_suite_from_id(id);
}

Answer encrypted(MessageType type, const Bytes& plaintext, cose::SessionCipher& cipher, To2Session& session,
                 std::function<void(storage::Transaction&)> apply = {}) {
  Answer a{type, cipher.encrypt(plaintext), std::move(apply)};
  session.cipher_state = cipher.save();
  return a;
}

}  // namespace

const serviceinfo::OwnerRegistry kNoModules;

// ---- session state ---------------------------------------------------------------------------------------------

Bytes To2Session::encode() const {
  cbor::Writer w;
  w.array(23).uint(static_cast<std::uint8_t>(next)).bstr(guid.view()).int_(started_at);
  ea_sig_info.encode(w);
  w.uint(static_cast<std::uint8_t>(kex)).int_(crypto::cipher_suite_id(cipher)).uint(num_ov_entries);
  w.bstr(entries_sent).bstr(nonce_to2_prove_dv.view()).bstr(nonce_to2_setup_dv.view());
  w.bstr(kex_state.view()).bstr(cipher_state.view()).bstr(setup_payload).boolean(reuse_offered);
  w.bstr(replacement_hmac).uint(owner_send_mtu).bstr(engine_state).boolean(done_sent);
  w.bstr(device_key).bstr(replaces).bstr(owner_key).bstr(rv_info).tstr(device_info);
  return std::move(w).take();
}

To2Session To2Session::decode(ByteView state) {
  try {
    cbor::Reader r(state, "To2Session");
    r.read_array_of("", 23);
    To2Session s;
    s.next = static_cast<MessageType>(r.read_uint_max("next", 0xFF));
    s.guid = Guid::from(r.read_bstr_size("guid", Guid::kSize));
    s.started_at = r.read_int("started_at");
    s.ea_sig_info = SigInfo::decode(r, "eASigInfo");
    s.kex = static_cast<crypto::KexSuite>(r.read_uint_max("kex", 0xFF));
    const std::optional<crypto::CipherSuite> cipher = crypto::cipher_suite_from_id(r.read_int("cipher"));
    if (!cipher) {
      throw_internal("unknown cipher suite");
    }
    s.cipher = *cipher;
    s.num_ov_entries = static_cast<std::uint8_t>(r.read_uint_max("num_ov_entries", 0xFF));
    s.entries_sent = r.read_bstr("entries_sent");
    s.nonce_to2_prove_dv = Nonce::from(r.read_bstr_size("nonce_to2_prove_dv", Nonce::kSize));
    s.nonce_to2_setup_dv = Nonce::from(r.read_bstr_size("nonce_to2_setup_dv", Nonce::kSize));
    s.kex_state = SecretBytes(r.read_bstr("kex_state"));
    s.cipher_state = SecretBytes(r.read_bstr("cipher_state"));
    s.setup_payload = r.read_bstr("setup_payload");
    s.reuse_offered = r.read_bool("reuse_offered");
    s.replacement_hmac = r.read_bstr("replacement_hmac");
    s.owner_send_mtu = static_cast<std::uint16_t>(r.read_uint_max("owner_send_mtu", 0xFFFF));
    s.engine_state = r.read_bstr("engine_state");
    s.done_sent = r.read_bool("done_sent");
    s.device_key = r.read_bstr("device_key");
    s.replaces = r.read_bstr("replaces");
    s.owner_key = r.read_bstr("owner_key");
    s.rv_info = r.read_bstr("rv_info");
    s.device_info = r.read_tstr("device_info");
    r.expect_end();
    return s;
  } catch (const Error& e) {
    throw_internal(std::string("stored TO2 session does not decode: ") + e.what());
  }
}

// ---- endpoint ----------------------------------------------------------------------------------------------------

To2Owner::To2Owner(const To2OwnerPolicy& policy) : m_policy(policy) {}

Answer To2Owner::handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) {
  if (type == MessageType::To2HelloDevice) {
    return hello_device(body, state, store, ctx);
  }
  To2Session session = To2Session::decode(state);
  ctx.guid_hex = session.guid.hex();
  if (m_policy.max_run_seconds > 0 && ctx.now - session.started_at > m_policy.max_run_seconds) {
    throw_invalid("TO2: the run exceeded its time limit of " + std::to_string(m_policy.max_run_seconds) + " s");
  }
  Answer a;
  switch (type) {
    case MessageType::To2GetOVNextEntry:
      expect_next(session.next, MessageType::To2GetOVNextEntry);
      a = get_ov_next_entry(body, session, store);
      break;
    case MessageType::To2ProveDevice:
      // FDO 1.1 §5.5.6: ProveDevice comes after the entries (TO2-25: after entry 0 of 3 → 101).
      expect_next(session.next, MessageType::To2GetOVNextEntry);
      a = prove_device(body, session, store, ctx);
      break;
    case MessageType::To2DeviceServiceInfoReady:
      expect_next(session.next, type);
      a = device_service_info_ready(body, session, ctx);
      break;
    case MessageType::To2DeviceServiceInfo:
      expect_next(session.next, type);
      a = device_service_info(body, session, ctx);
      break;
    case MessageType::To2Done:
      // TO2-31: Done only after a TO2.OwnerServiceInfo with IsDone.
      if (!session.done_sent) {
        throw_invalid("TO2.Done before a TO2.OwnerServiceInfo with IsDone");
      }
      a = done(body, session, store, ctx);
      break;
    default:
      throw_invalid(std::string(message_info(type).name) + " is not a TO2 request");
  }
  state = session.encode();
  return a;
}

void To2Owner::on_failure(MessageType type, ByteView state, const Error& error, storage::Store& store,
                          const Context& ctx) {
  // docs/owner.md "Device status": a failed run is recorded with its step and error; a HelloDevice for a GUID
  // this owner does not hold records nothing.
  std::optional<Guid> guid;
  if (!state.empty()) {
    try {
      guid = To2Session::decode(state).guid;
    } catch (const Error&) {
      return;
    }
  } else if (ctx.guid_hex.size() == 2 * Guid::kSize && error.code() != ErrorCode::ResourceNotFound &&
             error.code() != ErrorCode::MessageBodyError) {
    guid = Guid::from(from_hex(ctx.guid_hex));
  }
  if (!guid) {
    return;
  }
  const std::string text = std::string(error_code_name(error.code())) + " (" +
                           std::to_string(static_cast<int>(error.code())) + ")" +
                           (error.source() == ErrorSource::Peer ? " from the device: " : ": ") + error.what();
  try {
    auto tx = store.begin();
    if (!tx->get_voucher(*guid)) {
      return;
    }
    const MessageInfo* info = find_message(static_cast<std::uint8_t>(type));
    set_status(*tx, *guid, ctx.now, "failed",
               info != nullptr ? std::string(info->name) : "message " + std::to_string(static_cast<int>(type)), text);
    tx->commit();
  } catch (const Error& e) {
    log::error(std::string("cannot record the failed TO2 run: ") + e.what(), guid->hex());
  }
}

// FDO 1.1 §5.5.1-§5.5.2: TO2.HelloDevice (60) → TO2.ProveOVHdr (61).
Answer To2Owner::hello_device(ByteView body, Bytes& state, storage::Store& store, Context& ctx) {
  const to2::HelloDevice hello = to2::HelloDevice::decode(body);  // check 1: 100
  ctx.guid_hex = hello.guid.hex();

  // Check 2: a voucher with 1..255 entries whose owner key this owner holds, else 6.
  const voucher::OwnershipVoucher ov = load_voucher(store, hello.guid, m_policy.leniency);
  if (ov.entries().empty() || ov.entries().size() > 255) {
    throw Error(ErrorCode::ResourceNotFound,
                "TO2.HelloDevice: the voucher has " + std::to_string(ov.entries().size()) + " entries (1..255 needed)");
  }
  const crypto::PrivateKey* owner_key = m_policy.owner_key_for ? m_policy.owner_key_for(ov.owner_key()) : nullptr;
  if (owner_key == nullptr) {
    throw Error(ErrorCode::ResourceNotFound, "TO2.HelloDevice: the voucher is not extended to a key this owner holds");
  }
  if (!ov.dev_cert_chain() || ov.dev_cert_chain()->empty()) {
    throw Error(ErrorCode::ResourceNotFound, "TO2.HelloDevice: the voucher has no device certificate");
  }
  // Only the leaf key is needed (for the EAT at TO2.ProveDevice): the chain was checked at import.
  const crypto::PublicKey device_key = crypto::Certificate::public_key_of(ov.dev_cert_chain()->front());

  // Check 3: eASigInfo suits OVDevCertChain[0], Info empty → 101.
  check_ea_sig_info(hello.ea_sig_info, device_key, to2::HelloDevice::kName);

  // Check 4: the key exchange fits the owner key and the policy; the cipher suite is known and allowed → 101.
  const std::optional<crypto::KexSuite> kex = crypto::parse_kex_suite(hello.kex_suite_name);
  if (!kex || (!m_policy.kex_suites.empty() && !m_policy.kex_suites.contains(*kex))) {
    throw_invalid("TO2.HelloDevice: key exchange \"" + hello.kex_suite_name + "\" is not supported by this owner");
  }
  if (!crypto::kex_suits_owner_key(*kex, owner_key->public_key())) {
    throw_invalid("TO2.HelloDevice: " + hello.kex_suite_name + " needs an RSA owner key of its size");
  }
  const std::optional<crypto::CipherSuite> cipher = cipher_suite_of(hello.cipher_suite_name, m_policy.leniency);
  if (!cipher || (!m_policy.cipher_suites.empty() && !m_policy.cipher_suites.contains(*cipher))) {
    throw_invalid("TO2.HelloDevice: cipher suite " + std::to_string(hello.cipher_suite_name) +
                  " is not supported by this owner");
  }

  const crypto::KexOwner exchange = crypto::KexOwner::start(*kex);
  To2Session session;
  session.next = MessageType::To2GetOVNextEntry;
  session.guid = hello.guid;
  session.started_at = ctx.now;
  session.ea_sig_info = hello.ea_sig_info;
  session.kex = *kex;
  session.cipher = *cipher;
  session.num_ov_entries = static_cast<std::uint8_t>(ov.entries().size());
  session.entries_sent.assign(ov.entries().size(), 0);
  session.nonce_to2_prove_dv = Nonce::random();
  session.kex_state = exchange.save();
  session.device_key = device_key.spki_der();
  session.owner_key = ov.owner_key().encode();
  session.rv_info = header_rv_info_bytes(ov.header_bytes());
  session.device_info = ov.header().ov_device_info;
  const std::optional<storage::OwnerDeviceRecord> status =
      storage::read_only(store, [&](storage::Transaction& tx) { return tx.get_owner_device(hello.guid); });
  if (status && status->replaces.size() == 2 * Guid::kSize) {
    session.replaces = from_hex(status->replaces);
  }

  // FDO 1.1 §5.5.2; docs/interop.md "hello-device-hash": helloDeviceHash uses the family of OVHeaderHMac, over the
  // exact bytes received.
  const HashType hash_type = hash_type_for(ov.hash_family());
  const to2::ProveOVHdrPayload payload{
      .ov_header = Bytes(ov.header_bytes().begin(), ov.header_bytes().end()),
      .num_ov_entries = session.num_ov_entries,
      .hmac = ov.header_hmac(),
      .nonce_to2_prove_ov = hello.nonce_to2_prove_ov,
      .eb_sig_info = SigInfo{.sg_type = hello.ea_sig_info.sg_type, .info = {}},
      .xa_key_exchange = exchange.xa(),
      .hello_device_hash = Hash::compute(hash_type, body),
      .max_owner_message_size = m_policy.max_owner_message_size,
  };
  const to2::ProveOVHdr prove = to2::ProveOVHdr::sign(*owner_key, ov.owner_key().sig_alg(), payload,
                                                      session.nonce_to2_prove_dv, ov.owner_key());
  state = session.encode();
  const Guid guid = hello.guid;
  const std::int64_t now = ctx.now;
  return answer<to2::HelloDevice>(prove, [guid, now](storage::Transaction& tx) {
    set_status(tx, guid, now, "onboarding", "TO2.HelloDevice");
  });
}

// FDO 1.1 §5.5.4-§5.5.5: TO2.GetOVNextEntry (62) → TO2.OVNextEntry (63), the entry's stored bytes.
Answer To2Owner::get_ov_next_entry(ByteView body, To2Session& session, storage::Store& store) {
  const to2::GetOVNextEntry request = to2::GetOVNextEntry::decode(body);
  // TO2-04, TO2-26: strict `<` (docs/interop.md "ov-next-entry-bound").
  if (request.ov_entry_num >= session.num_ov_entries) {
    throw_invalid("TO2.GetOVNextEntry: entry " + std::to_string(request.ov_entry_num) + " of a voucher with " +
                  std::to_string(session.num_ov_entries) + " entries");
  }
  std::optional<storage::VoucherRecord> record =
      storage::read_only(store, [&](storage::Transaction& tx) { return tx.get_voucher(session.guid); });
  if (!record) {
    throw Error(ErrorCode::ResourceNotFound, "TO2.GetOVNextEntry: the voucher is gone");
  }
  const voucher::RawVoucher raw = voucher::RawVoucher::split(record->voucher);
  if (raw.entries.size() != session.num_ov_entries) {
    throw_internal("TO2.GetOVNextEntry: the voucher changed during the run");
  }
  session.entries_sent.at(request.ov_entry_num) = 1;
  const ByteView entry = raw.entries[request.ov_entry_num];
  return answer<to2::GetOVNextEntry>(
      to2::OVNextEntry{.ov_entry_num = request.ov_entry_num, .ov_entry = Bytes(entry.begin(), entry.end())});
}

// FDO 1.1 §5.5.6-§5.5.7: TO2.ProveDevice (64) → TO2.SetupDevice (65), the first encrypted message.
Answer To2Owner::prove_device(ByteView body, To2Session& session, storage::Store& store, Context& ctx) {
  for (std::size_t i = 0; i < session.entries_sent.size(); ++i) {
    if (session.entries_sent[i] == 0) {
      throw_invalid("TO2.ProveDevice before voucher entry " + std::to_string(i) + " was sent");
    }
  }
  const to2::ProveDevice prove = to2::ProveDevice::decode(body, m_policy.leniency);  // check 2: 100
  // Checks 3-5: signature with OVDevCertChain[0] and the alg of eASigInfo, nonce, UEID → 101.
  const crypto::PublicKey device_key = crypto::PublicKey::from_spki_der(session.device_key);
  const EatPayload claims = verify_eat(
      prove.eat, device_key,
      EatExpectation{.nonce = session.nonce_to2_prove_dv, .guid = session.guid, .alg = session.ea_sig_info.sig_alg()},
      m_policy.leniency);
  if (!claims.fdo) {
    throw_body_error("TO2.ProveDevice: the EAT has no EAT-FDO claim (-257) with xBKeyExchange");
  }
  const Bytes xb = to2::decode_eat_fdo_claim(*claims.fdo);

  // Check 6: complete the key exchange (101 for a bad xB) and derive the session keys (FDO 1.1 §3.6.4).
  // The voucher must still be held (not exported meanwhile); what this step needs of it was kept at HelloDevice, so it
  // is not decoded again.
  if (!storage::read_only(store, [&](storage::Transaction& tx) { return tx.get_voucher(session.guid).has_value(); })) {
    throw Error(ErrorCode::ResourceNotFound, "TO2.ProveDevice: the voucher is gone");
  }
  const PublicKey voucher_owner = PublicKey::decode(session.owner_key, m_policy.leniency, "stored owner key");
  const crypto::PrivateKey* owner_key = m_policy.owner_key_for ? m_policy.owner_key_for(voucher_owner) : nullptr;
  if (owner_key == nullptr) {
    throw Error(ErrorCode::ResourceNotFound, "TO2.ProveDevice: the owner key of the voucher is gone");
  }
  const crypto::KexSecret secret = crypto::KexOwner::restore(session.kex_state.view()).finish(xb, owner_key);
  cose::SessionCipher cipher(session.cipher, crypto::derive_session_keys(session.cipher, secret.shse.view(),
                                                                         secret.context_rand));
  session.kex_state = SecretBytes();
  session.nonce_to2_setup_dv = prove.euph_nonce;

  // FDO 1.1 §5.5.7: reuse re-sends the GUID, RendezvousInfo and owner key unchanged; replacement picks a new GUID
  // and (optionally) new rendezvous info. Owner2Key stays this owner's key, so the owner signs with it.
  const DevicePlan plan = m_policy.plan_for ? m_policy.plan_for(session.guid, session.device_info) : DevicePlan{};
  session.reuse_offered = plan.reuse;
  Bytes rv_bytes = session.rv_info;
  if (!session.reuse_offered && plan.rendezvous_info) {
    rv_bytes = plan.rendezvous_info->encode();
  }
  // The ServiceInfo engine starts here, with the plan of this moment; TO2-30: it refuses a 68 larger than the
  // maxDeviceServiceInfoSz announced in 67 (101).
  const serviceinfo::OwnerEngine engine(plan.service_info, m_policy.modules != nullptr ? *m_policy.modules : kNoModules,
                                        serviceinfo::OwnerOptions{.receive_mtu = m_policy.max_device_service_info_sz,
                                                                  .max_rounds = serviceinfo::kMaxRounds});
  session.engine_state = engine.save();
  const to2::SetupDevicePayload setup{
      .rendezvous_info = RendezvousInfo::decode(rv_bytes, m_policy.leniency),
      .rendezvous_info_bytes = rv_bytes,
      .guid = session.reuse_offered ? session.guid : Guid::random(),
      .nonce_to2_setup_dv = session.nonce_to2_setup_dv,
      .owner2_key = voucher_owner,
  };
  session.setup_payload = setup.encode();
  session.next = MessageType::To2DeviceServiceInfoReady;
  const to2::SetupDevice message = to2::SetupDevice::sign(*owner_key, voucher_owner.sig_alg(), setup);
  const Guid guid = session.guid;
  const std::int64_t now = ctx.now;
  const Bytes replaces = session.replaces;
  return encrypted(MessageType::To2SetupDevice, message.encode(), cipher, session,
                   [guid, now, replaces](storage::Transaction& tx) {
                     // The device proved it holds the credential of a replacement voucher: the voucher it replaced
                     // is done with.
                     if (replaces.size() == Guid::kSize) {
                       tx.erase_voucher(Guid::from(replaces));
                       if (std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(guid)) {
                         r->replaces.clear();
                         tx.put_owner_device(*r);
                       }
                     }
                     // A replacement made at an earlier TO2.Done whose TO2.Done2 was lost (docs/owner.md "Crash
                     // safety"): the device still proves itself under this GUID, so that voucher will never be used.
                     if (std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(guid);
                         r && r->new_guid.size() == 2 * Guid::kSize) {
                       const Guid unused = Guid::from(from_hex(r->new_guid));
                       const std::optional<storage::OwnerDeviceRecord> u = tx.get_owner_device(unused);
                       if (unused != guid && u && u->replaces == guid.hex()) {
                         tx.erase_voucher(unused);
                         tx.erase_owner_device(unused);
                         r->new_guid.clear();
                         tx.put_owner_device(*r);
                       }
                     }
                     set_status(tx, guid, now, "onboarding", "TO2.ProveDevice");
                   });
}

// FDO 1.1 §5.5.8-§5.5.9: TO2.DeviceServiceInfoReady (66) → TO2.OwnerServiceInfoReady (67).
Answer To2Owner::device_service_info_ready(ByteView body, To2Session& session, Context& ctx) {
  cose::SessionCipher cipher = cose::SessionCipher::restore(session.cipher_state.view());
  const to2::DeviceServiceInfoReady ready =
      to2::DeviceServiceInfoReady::decode(cipher.decrypt(body, m_policy.leniency));
  if (!ready.replacement_hmac && !session.reuse_offered) {
    // TO2-28 (docs/interop.md "null-replacement-hmac"): null accepts a reuse the owner did not offer.
    throw_invalid("TO2.DeviceServiceInfoReady: ReplacementHMac is null but the owner offered no credential reuse");
  }
  if (ready.replacement_hmac && session.reuse_offered) {
    log::info("TO2.DeviceServiceInfoReady: the device declined credential reuse and sent a ReplacementHMac",
              ctx.guid_hex);
  }
  session.replacement_hmac = ready.replacement_hmac ? ready.replacement_hmac->encode() : Bytes{};
  // docs/service-info.md "MTU and packing": null means 1300; smaller values count as 1300.
  const std::uint16_t wanted = ready.max_owner_service_info_sz.value_or(to2::kDefaultMessageSize);
  session.owner_send_mtu = std::max(wanted, to2::kDefaultMessageSize);
  if (wanted < to2::kDefaultMessageSize) {
    log::info("TO2: the device's maxOwnerServiceInfoSz " + std::to_string(wanted) + " counts as 1300", ctx.guid_hex);
  }
  session.next = MessageType::To2DeviceServiceInfo;
  const to2::OwnerServiceInfoReady reply{.max_device_service_info_sz = m_policy.max_device_service_info_sz};
  return encrypted(MessageType::To2OwnerServiceInfoReady, reply.encode(), cipher, session);
}

// FDO 1.1 §5.5.10-§5.5.11: TO2.DeviceServiceInfo (68) → TO2.OwnerServiceInfo (69), the ServiceInfo loop.
Answer To2Owner::device_service_info(ByteView body, To2Session& session, Context& ctx) {
  cose::SessionCipher cipher = cose::SessionCipher::restore(session.cipher_state.view());
  const to2::DeviceServiceInfo request = to2::DeviceServiceInfo::decode(cipher.decrypt(body, m_policy.leniency));
  serviceinfo::OwnerEngine engine = serviceinfo::OwnerEngine::restore(
      session.engine_state, m_policy.modules != nullptr ? *m_policy.modules : kNoModules);
  const serviceinfo::OwnerReply reply =
      engine.on_device_message(request.is_more_service_info, request.service_info, session.owner_send_mtu);
  session.engine_state = engine.save();
  session.done_sent = reply.is_done;
  const to2::OwnerServiceInfo response{
      .is_more_service_info = reply.is_more, .is_done = reply.is_done, .service_info = reply.kvs};
  const Guid guid = session.guid;
  const std::int64_t now = ctx.now;
  std::function<void(storage::Transaction&)> apply;
  if (reply.is_done) {
    const serviceinfo::DevmodInfo& d = engine.devmod();
    std::string modules;
    std::string lines;
    for (const serviceinfo::ModuleOutcome& m : engine.outcomes()) {
      modules += ", " + m.module + " " + std::string(serviceinfo::module_state_name(m.state));
      // docs/owner.md "Device status": one line per module, what it did or why it failed.
      lines += (lines.empty() ? "" : "\n") + m.module + ": " + std::string(serviceinfo::module_state_name(m.state)) +
               (m.summary.empty() ? "" : ": " + m.summary) + (m.error.empty() ? "" : ": " + m.error);
    }
    log::info("TO2 ServiceInfo done: devmod " + d.os + " " + d.arch + " \"" + d.version + "\" model \"" + d.device +
                  "\", " + std::to_string(d.modules.size()) + " module(s) on the device" + modules,
              ctx.guid_hex);
    apply = [guid, now, lines](storage::Transaction& tx) {
      set_status(tx, guid, now, "onboarding", "TO2.OwnerServiceInfo");
      if (std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(guid)) {
        r->modules = lines;
        tx.put_owner_device(*r);
      }
    };
  }
  return encrypted(MessageType::To2OwnerServiceInfo, response.encode(), cipher, session, std::move(apply));
}

// FDO 1.1 §5.5.12-§5.5.13: TO2.Done (70) → TO2.Done2 (71); the replacement voucher is stored here.
Answer To2Owner::done(ByteView body, To2Session& session, storage::Store& store, Context& ctx) {
  cose::SessionCipher cipher = cose::SessionCipher::restore(session.cipher_state.view());
  const to2::Done request = to2::Done::decode(cipher.decrypt(body, m_policy.leniency));
  if (request.nonce_to2_prove_dv != session.nonce_to2_prove_dv) {
    throw_invalid("TO2.Done: the nonce is not the NonceTO2ProveDv of TO2.ProveOVHdr");  // TO2-20
  }
  const Guid old_guid = session.guid;
  const std::int64_t now = ctx.now;
  // A device that TPM-Attest quarantined is onboarded all the same, with only the quarantine plan
  // (docs/owner.md "Device status").
  const bool quarantined =
      !session.engine_state.empty() && serviceinfo::OwnerEngine::quarantined_in(session.engine_state);
  const std::string final_state = quarantined ? "quarantined" : "onboarded";
  std::function<void(storage::Transaction&)> apply;
  if (session.replacement_hmac.empty()) {
    // Credential reuse: the voucher stays as it is (FDO 1.1 §5.5.8).
    apply = [old_guid, now, final_state](storage::Transaction& tx) {
      set_status(tx, old_guid, now, final_state, "TO2.Done2");
      if (std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(old_guid)) {
        ++r->onboard_count;
        r->new_guid.clear();
        tx.put_owner_device(*r);
      }
    };
  } else {
    // FDO 1.1 §5.5.8 (docs/voucher.md "Replacement voucher"): [101, bstr(OVHeader'), ReplacementHMac, same
    // OVDevCertChain, []], extended once to this owner's own key so that the device can onboard again. The old
    // voucher is kept until the device shows up under the new GUID, so a Done2 that never arrives loses nothing.
    const voucher::OwnershipVoucher ov = load_voucher(store, old_guid, m_policy.leniency);
    const crypto::PrivateKey* owner_key = m_policy.owner_key_for ? m_policy.owner_key_for(ov.owner_key()) : nullptr;
    if (owner_key == nullptr) {
      throw Error(ErrorCode::ResourceNotFound, "TO2.Done: the owner key of the voucher is gone");
    }
    const to2::SetupDevicePayload setup = to2::SetupDevicePayload::decode(session.setup_payload, m_policy.leniency);
    const Bytes header = to2::replacement_header(ov.header(), setup);
    const Hash hmac = Hash::decode(session.replacement_hmac, "ReplacementHMac", HashKind::Hmac);
    const voucher::OwnershipVoucher fresh =
        voucher::OwnershipVoucher::from_parts(header, hmac, ov.dev_cert_chain().value_or(std::vector<Bytes>{}));
    const voucher::OwnershipVoucher extended = voucher::extend(
        fresh, *owner_key, voucher::next_owner_key(fresh, owner_key->public_key()));
    storage::VoucherRecord record{.guid = setup.guid,
                                  .serial = {},
                                  .device_info = ov.header().ov_device_info,
                                  .voucher = extended.encode(),
                                  .created_at = now,
                                  .owner_key_id = {}};
    const Guid new_guid = setup.guid;
    apply = [record = std::move(record), old_guid, new_guid, now, final_state](storage::Transaction& tx) {
      storage::VoucherRecord stored = record;
      if (std::optional<storage::VoucherRecord> old = tx.get_voucher(old_guid)) {
        stored.serial = old->serial;
        stored.owner_key_id = old->owner_key_id;
      }
      tx.put_voucher(stored);
      set_status(tx, old_guid, now, final_state, "TO2.Done2");
      if (std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(old_guid)) {
        ++r->onboard_count;
        r->new_guid = new_guid.hex();
        tx.put_owner_device(*r);
      }
      set_status(tx, new_guid, now, "imported", "replacement voucher of " + old_guid.hex());
      if (std::optional<storage::OwnerDeviceRecord> r = tx.get_owner_device(new_guid)) {
        r->replaces = old_guid.hex();
        tx.put_owner_device(*r);
      }
    };
  }
  const to2::Done2 reply{.nonce_to2_setup_dv = session.nonce_to2_setup_dv};
  return encrypted(MessageType::To2Done2, reply.encode(), cipher, session, std::move(apply));
}

}  // namespace fdo::protocol
