#include "libfdo/protocol/to2_device.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/cose/session_cipher.h"
#include "libfdo/messages/to2.h"
#include "libfdo/protocol/client_run.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/voucher/entry.h"
#include "libfdo/voucher/header.h"

namespace fdo::protocol {
namespace {

void say(const To2DeviceOptions& options, const std::string& line) {
  if (options.progress) {
    options.progress(line);
  }
}

// The verification state of FDO 1.1 §5.5.3 (docs/voucher.md "Verification by the device"): the key the next
// entry must be signed with and the hashes it must carry.
struct EntryCheck {
  PublicKey prev_key;
  PublicKey ov_pub_key;
  Bytes header_and_hmac;  // OVHeader bytes ‖ CBOR(HMac): what entry 0's OVEHashPrevEntry covers
  Bytes guid_and_info;    // Guid ‖ DeviceInfo: what every OVEHashHdrInfo covers
  std::optional<HashType> hash_type;
  Bytes prev_entry;  // the previous entry's bytes (empty before entry 0)
};

// FDO 1.1 §5.5.5 (docs/protocols/to2.md "GetOVNextEntry"); each failure is 101.
void check_entry(EntryCheck& check, std::uint8_t index, ByteView entry_bytes, const Leniency& leniency) {
  const std::string where = "TO2.OVNextEntry entry " + std::to_string(index);
  std::optional<voucher::OVEntry> entry;
  try {
    entry = voucher::OVEntry::decode(entry_bytes, index, leniency);
  } catch (const Error& e) {
    throw_invalid(where + ": " + e.what());
  }
  const voucher::OVEntryPayload& p = entry->payload;
  if (!check.prev_key.suits(entry->sign1.alg()) || !entry->sign1.verify(check.prev_key.key())) {
    throw_invalid(where + ": the signature does not verify with the previous owner key");
  }
  const HashType type = p.ove_hash_prev_entry.type();
  if (!check.hash_type) {
    check.hash_type = type;
  }
  if (type != *check.hash_type || p.ove_hash_hdr_info.type() != *check.hash_type) {
    throw_invalid(where + ": its hashtypes differ from entry 0's");
  }
  const Hash expected_prev =
      Hash::compute(type, index == 0 ? ByteView(check.header_and_hmac) : ByteView(check.prev_entry));
  if (!constant_time_equal(expected_prev.value(), p.ove_hash_prev_entry.value())) {
    throw_invalid(where + ": OVEHashPrevEntry does not match " +
                  (index == 0 ? std::string("the header") : "entry " + std::to_string(index - 1)));
  }
  if (!constant_time_equal(Hash::compute(type, check.guid_and_info).value(), p.ove_hash_hdr_info.value())) {
    throw_invalid(where + ": OVEHashHdrInfo is not the hash of GUID and DeviceInfo");
  }
  if (!p.ove_pub_key.same_type_as(check.ov_pub_key)) {
    throw_invalid(where + ": OVEPubKey is not of the manufacturer key's type");
  }
  check.prev_key = p.ove_pub_key;
  check.prev_entry.assign(entry_bytes.begin(), entry_bytes.end());
}

DeviceCredential copy_of(const DeviceCredential& credential) {
  const SecretBytes encoded = credential.encode();
  return DeviceCredential::decode(encoded.view());
}

}  // namespace

SuitePair default_suites(crypto::KeyType device_key) {
  switch (device_key) {
    case crypto::KeyType::P384:
    case crypto::KeyType::Rsa3072: return {crypto::KexSuite::Ecdh384, crypto::CipherSuite::A256GCM};
    default: return {crypto::KexSuite::Ecdh256, crypto::CipherSuite::A128GCM};
  }
}

To2Result run_to2(transport::MessageTransport& transport, const DeviceCredential& credential,
                  const DeviceSigner& signer, const DeviceHmac& hmac, To2DeviceOptions options) {
  const SuitePair defaults = default_suites(signer.key_type());
  const SuitePair suites{options.kex.value_or(defaults.kex), options.cipher.value_or(defaults.cipher)};
  serviceinfo::DeviceEngine engine(std::move(options.modules), options.devmod,
                                   serviceinfo::DeviceOptions{.strict = options.strict_modules,
                                                              .receive_mtu = options.max_owner_service_info_sz,
                                                              .max_rounds = serviceinfo::kMaxRounds});
  ClientRun run(transport);
  bool success = false;
  try {
    To2Result result = run.run([&] {
      // ---- TO2.HelloDevice (60) → TO2.ProveOVHdr (61), FDO 1.1 §5.5.1-§5.5.3
      const to2::HelloDevice hello{.max_device_message_size = options.max_device_message_size,
                                   .guid = credential.dc_guid,
                                   .nonce_to2_prove_ov = Nonce::random(),
                                   .kex_suite_name = std::string(crypto::kex_suite_name(suites.kex)),
                                   .cipher_suite_name = crypto::cipher_suite_id(suites.cipher),
                                   .ea_sig_info = SigInfo::for_alg(signer.sig_alg())};
      const Bytes hello_bytes = hello.encode();
      const to2::ProveOVHdr prove = to2::ProveOVHdr::decode(
          run.exchange(MessageType::To2HelloDevice, hello_bytes, MessageType::To2ProveOVHdr), options.leniency);
      // DEV-12 (FDO 1.1 §4.3): the answer to the run's first message carries the run's token; without one the
      // device stops before TO2.GetOVNextEntry.
      if (const auto* http = dynamic_cast<const transport::RunTransport*>(&transport);
          http != nullptr && !http->authorization()) {
        throw_body_error("TO2.ProveOVHdr came without an Authorization token");
      }
      const to2::ProveOVHdrPayload& p = prove.payload;
      // Checks 2-4: signature with the CUPHOwnerPubKey hint, nonce, helloDeviceHash over the bytes we sent.
      if (!prove.cuph_owner_pub_key.suits(prove.sign1.alg()) || !prove.sign1.verify(prove.cuph_owner_pub_key.key())) {
        throw_invalid("TO2.ProveOVHdr: the signature does not verify with CUPHOwnerPubKey");
      }
      if (p.nonce_to2_prove_ov != hello.nonce_to2_prove_ov) {
        throw_invalid("TO2.ProveOVHdr: NonceTO2ProveOV is not the nonce of TO2.HelloDevice");
      }
      // DEV-08: SHA-256 (fdo-rs, the conformance tools) or the family of the header HMAC (ours, Java PRI); another
      // hashtype is refused even when it hashes the right bytes.
      const HashType hmac_family = p.hmac.type() == HashType::HmacSha384 ? HashType::Sha384 : HashType::Sha256;
      if (p.hello_device_hash.type() != HashType::Sha256 && p.hello_device_hash.type() != hmac_family) {
        throw_invalid("TO2.ProveOVHdr: helloDeviceHash is neither SHA-256 nor the family of the header HMAC");
      }
      if (!p.hello_device_hash.matches(hello_bytes)) {
        throw_invalid("TO2.ProveOVHdr: helloDeviceHash is not the hash of TO2.HelloDevice");
      }
      // Checks 5-10: the header is ours (HMAC, manufacturer key hash, GUID), eBSigInfo and NumOVEntries.
      const voucher::OVHeader header = voucher::OVHeader::decode(p.ov_header, options.leniency);
      const Bytes our_hmac = hmac.hmac(hash_alg_of(p.hmac.type()), p.ov_header);
      if (!constant_time_equal(our_hmac, p.hmac.value())) {
        throw_invalid("TO2.ProveOVHdr: the header HMAC does not match this device's secret");
      }
      if (!credential.dc_pub_key_hash.matches(header.ov_pub_key.raw())) {
        throw_invalid("TO2.ProveOVHdr: OVPubKey does not hash to this device's DCPubKeyHash");
      }
      if (header.ov_guid != credential.dc_guid) {
        throw_invalid("TO2.ProveOVHdr: OVGuid is not this device's GUID");
      }
      if (p.eb_sig_info != SigInfo::for_alg(signer.sig_alg())) {
        throw_invalid("TO2.ProveOVHdr: eBSigInfo is not [our sgType, h'']");
      }
      if (p.num_ov_entries == 0) {
        throw_invalid("TO2.ProveOVHdr: NumOVEntries is 0");  // docs/protocols/to2.md: never 0
      }
      say(options, "TO2.ProveOVHdr: owner key " + prove.cuph_owner_pub_key.describe() + ", " +
                       std::to_string(p.num_ov_entries) + " voucher entries");

      // ---- TO2.GetOVNextEntry (62) → TO2.OVNextEntry (63) per entry, FDO 1.1 §5.5.4-§5.5.5
      Bytes header_and_hmac = p.ov_header;
      const Bytes hmac_cbor = p.hmac.encode();
      header_and_hmac.insert(header_and_hmac.end(), hmac_cbor.begin(), hmac_cbor.end());
      Bytes guid_and_info(header.ov_guid.view().begin(), header.ov_guid.view().end());
      guid_and_info.insert(guid_and_info.end(), header.ov_device_info.begin(), header.ov_device_info.end());
      EntryCheck check{.prev_key = header.ov_pub_key,
                       .ov_pub_key = header.ov_pub_key,
                       .header_and_hmac = std::move(header_and_hmac),
                       .guid_and_info = std::move(guid_and_info),
                       .hash_type = std::nullopt,
                       .prev_entry = {}};
      for (std::uint8_t i = 0; i < p.num_ov_entries; ++i) {
        const auto entry = run.exchange<to2::OVNextEntry>(to2::GetOVNextEntry{.ov_entry_num = i});
        if (entry.ov_entry_num != i) {
          throw_invalid("TO2.OVNextEntry: entry " + std::to_string(entry.ov_entry_num) + " where " +
                        std::to_string(i) + " was asked for");
        }
        check_entry(check, i, entry.ov_entry, options.leniency);
      }
      // FDO 1.1 §5.5.5: the last entry's key is the owner key of TO2.ProveOVHdr (byte-equal, else key-equal).
      if (!(check.prev_key == prove.cuph_owner_pub_key) && !check.prev_key.same_key(prove.cuph_owner_pub_key)) {
        throw_invalid("TO2.OVNextEntry: the last entry's key is not CUPHOwnerPubKey");
      }
      // Check 11 (FDO 1.1 §5.5.3): the to1d from TO1 is signed by this owner.
      if (options.to1d) {
        const cose::Sign1 to1d = cose::Sign1::decode(*options.to1d, "to1d", options.leniency);
        if (!prove.cuph_owner_pub_key.suits(to1d.alg()) || !to1d.verify(prove.cuph_owner_pub_key.key())) {
          throw_invalid("TO2: the to1d from TO1 is not signed by the owner of the voucher");
        }
      }
      say(options, "TO2.OVNextEntry: the voucher's " + std::to_string(p.num_ov_entries) +
                       " entries verify and end in the owner key");

      // ---- TO2.ProveDevice (64) → TO2.SetupDevice (65), FDO 1.1 §5.5.6-§5.5.7
      const crypto::DeviceKex kex = crypto::device_kex(suites.kex, p.xa_key_exchange, prove.cuph_owner_pub_key.key());
      cose::SessionCipher cipher(suites.cipher, crypto::derive_session_keys(suites.cipher, kex.secret.shse.view(),
                                                                            kex.secret.context_rand));
      const Nonce nonce_setup = Nonce::random();
      cose::HeaderMap unprotected;
      {
        cbor::Writer w;
        w.bstr(nonce_setup.view());
        unprotected[to2::kEuphNonce] = std::move(w).take();
      }
      const cose::Sign1 eat = make_eat(signer, prove.cuph_nonce, credential.dc_guid,
                                       to2::encode_eat_fdo_claim(kex.xb), unprotected);
      const Bytes setup_body =
          cipher.decrypt(run.exchange(MessageType::To2ProveDevice, eat.encode(), MessageType::To2SetupDevice),
                         options.leniency);
      if (options.trace != nullptr) {
        options.trace->write("received", static_cast<std::uint8_t>(MessageType::To2SetupDevice), setup_body, true);
      }
      const to2::SetupDevice setup = to2::SetupDevice::decode(setup_body, options.leniency);
      if (setup.payload.nonce_to2_setup_dv != nonce_setup) {
        throw_invalid("TO2.SetupDevice: NonceTO2SetupDv is not the nonce of TO2.ProveDevice");
      }
      if (!setup.payload.owner2_key.suits(setup.sign1.alg()) || !setup.sign1.verify(setup.payload.owner2_key.key())) {
        throw_invalid("TO2.SetupDevice: the signature does not verify with Owner2Key");
      }
      const bool reuse = to2::offers_reuse(setup.payload, credential.dc_guid, credential.dc_rv_info,
                                           prove.cuph_owner_pub_key);
      if (reuse && !options.allow_reuse) {
        throw Error(ErrorCode::CredReuseError, "TO2.SetupDevice: the owner offers credential reuse, which this "
                                               "device does not accept");
      }
      say(options, std::string("TO2.SetupDevice: ") +
                       (reuse ? "credential reuse" : "new GUID " + setup.payload.guid.hex()) + ", tunnel " +
                       std::string(crypto::kex_suite_name(suites.kex)) + " + " +
                       std::string(crypto::cipher_suite_name(suites.cipher)));

      // ---- TO2.DeviceServiceInfoReady (66) → TO2.OwnerServiceInfoReady (67), FDO 1.1 §5.5.8-§5.5.9
      to2::DeviceServiceInfoReady ready{.replacement_hmac = std::nullopt,
                                        .max_owner_service_info_sz = options.max_owner_service_info_sz};
      if (!reuse) {
        // The replacement header's HMAC with the family of the current header HMAC, under the next secret when the
        // device renews it, else the current one.
        const Bytes new_header = to2::replacement_header(header, setup.payload);
        const DeviceHmac& next = options.replacement_hmac != nullptr ? *options.replacement_hmac : hmac;
        ready.replacement_hmac = Hash(p.hmac.type(), next.hmac(hash_alg_of(p.hmac.type()), new_header));
      }
      auto send = [&](MessageType type, const Bytes& plaintext, MessageType expected) {
        if (options.trace != nullptr) {
          options.trace->write("sent", static_cast<std::uint8_t>(type), plaintext, true);
        }
        Bytes reply = cipher.decrypt(run.exchange(type, cipher.encrypt(plaintext), expected), options.leniency);
        if (options.trace != nullptr) {
          options.trace->write("received", static_cast<std::uint8_t>(expected), reply, true);
        }
        return reply;
      };
      const to2::OwnerServiceInfoReady owner_ready = to2::OwnerServiceInfoReady::decode(
          send(MessageType::To2DeviceServiceInfoReady, ready.encode(), MessageType::To2OwnerServiceInfoReady));
      const std::uint16_t send_mtu =
          std::max(owner_ready.max_device_service_info_sz.value_or(to2::kDefaultMessageSize), to2::kDefaultMessageSize);

      // ---- TO2.DeviceServiceInfo (68) → TO2.OwnerServiceInfo (69) until IsDone, FDO 1.1 §5.5.10-§5.5.11
      while (true) {
        const serviceinfo::DeviceSend out = engine.next_message(send_mtu);
        const to2::DeviceServiceInfo request{.is_more_service_info = out.is_more, .service_info = out.kvs};
        const Bytes reply_bytes =
            send(MessageType::To2DeviceServiceInfo, request.encode(), MessageType::To2OwnerServiceInfo);
        const to2::OwnerServiceInfo reply = to2::OwnerServiceInfo::decode(reply_bytes);
        if (reply.is_done && reply.is_more_service_info) {
          throw_invalid("TO2.OwnerServiceInfo: IsMoreServiceInfo and IsDone both set");
        }
        engine.on_owner_message(reply.is_more_service_info, reply.is_done, reply.service_info);
        if (reply.is_done) {
          break;
        }
        if (engine.should_wait()) {
          if (options.sleep) {
            options.sleep(serviceinfo::kPollDelay);
          } else {
            std::this_thread::sleep_for(serviceinfo::kPollDelay);
          }
        }
      }
      say(options, "TO2.OwnerServiceInfo: ServiceInfo done");

      // ---- TO2.Done (70) → TO2.Done2 (71), FDO 1.1 §5.5.12-§5.5.13
      const to2::Done2 done2 = to2::Done2::decode(
          send(MessageType::To2Done, to2::Done{.nonce_to2_prove_dv = prove.cuph_nonce}.encode(), MessageType::To2Done2));
      if (done2.nonce_to2_setup_dv != nonce_setup) {
        throw_invalid("TO2.Done2: NonceTO2SetupDv is not the nonce of TO2.ProveDevice");
      }

      // FDO 1.1 §5.5.13: the new credential (committed by the caller, after this verified Done2).
      DeviceCredential next = copy_of(credential);
      if (!reuse) {
        next.dc_guid = setup.payload.guid;
        next.dc_rv_info = setup.payload.rendezvous_info;
        next.dc_pub_key_hash = Hash::compute(credential.dc_pub_key_hash.type(), setup.payload.owner2_key.raw());
        next.dc_active = false;
      }
      return To2Result{.credential = std::move(next), .reused = reuse, .suites = suites, .modules = {}};
    });
    success = true;
    engine.finish(true);
    result.modules = engine.report();
    return result;
  } catch (...) {
    if (!success) {
      engine.finish(false);
    }
    throw;
  }
}

}  // namespace fdo::protocol
