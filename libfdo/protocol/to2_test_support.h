#pragma once
// Test-only helpers for TO2 (to2_test.cpp, to2_conformance_test.cpp): an owner service on a memory store, the
// device's half of TO2 one message at a time (to drive the owner as a misbehaving device would), and a
// man-in-the-middle between run_to2 and a real owner that can rewrite any owner answer, the encrypted ones too.
// Not part of the library.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/cose/header.h"
#include "libfdo/cose/session_cipher.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"
#include "libfdo/messages/to2.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/protocol/rv_test_support.h"
#include "libfdo/protocol/to2_device.h"
#include "libfdo/protocol/to2_owner.h"
#include "libfdo/serviceinfo/device_engine.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/http_client.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/transport/loopback_transport.h"
#include "libfdo/voucher/header.h"

namespace fdo::protocol::testing {

/// How the test peers reach each other: in process, or over real HTTP on 127.0.0.1 (FDO 1.1 §4.3), so that the
/// conformance lines hold through the HTTP binding as a deployed owner and device meet.
enum class Wire { Loopback, Http };

/// The wire of the running test (set by the conformance fixtures; onboard() and OwnerServer read it).
inline Wire& current_wire() {
  static Wire wire = Wire::Loopback;
  return wire;
}

inline std::string wire_name(const ::testing::TestParamInfo<Wire>& info) {
  return info.param == Wire::Http ? "Http" : "Loopback";
}

/// A transport::Response from what an HTTP client read (the token out of "Authorization: Bearer <token>").
inline transport::Response response_of(const transport::ClientResponse& c) {
  transport::Response r;
  r.http_status = c.status;
  r.msg_type = c.msg_type.value_or(0);
  r.body = c.body;
  constexpr std::string_view kBearer = "Bearer ";
  if (c.authorization && c.authorization->rfind(kBearer, 0) == 0) {
    r.token = c.authorization->substr(kBearer.size());
  }
  return r;
}

/// An HTTP server on 127.0.0.1 in front of a responder, for Wire::Http.
inline std::unique_ptr<transport::HttpServer> serve_http(transport::Responder& responder) {
  transport::HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 4;
  auto server = std::make_unique<transport::HttpServer>(responder, options);
  server->start();
  return server;
}

/// An owner service on a memory store with one owner key: the current owner key of `tv`.
struct OwnerServer {
  explicit OwnerServer(const TestVoucher& tv) : owner(tv.owner) {
    policy.owner_key_for = [this](const PublicKey& key) -> const crypto::PrivateKey* {
      return key.key().same_key(owner->public_key()) ? owner : nullptr;
    };
    dispatcher.add(to2);
    add_voucher(tv.guid(), tv.bytes, tv.fx.input.device_info);
  }
  OwnerServer(const OwnerServer&) = delete;
  OwnerServer& operator=(const OwnerServer&) = delete;

  /// Imports one more voucher (as `fdo-owner vouchers import` does).
  void add_voucher(const Guid& guid, const Bytes& bytes, const std::string& device_info) {
    auto tx = store->begin();
    tx->put_voucher(storage::VoucherRecord{.guid = guid,
                                           .serial = "sn-1",
                                           .device_info = device_info,
                                           .voucher = bytes,
                                           .created_at = now,
                                           .owner_key_id = "k"});
    tx->commit();
  }
  DispatcherOptions options() {
    DispatcherOptions o;
    o.clock = [this] { return now; };
    return o;
  }
  transport::Response post(std::uint8_t type, ByteView body, std::optional<std::string> token = std::nullopt) {
    if (current_wire() == Wire::Http) {
      std::call_once(http_started, [this] { http = serve_http(dispatcher); });
      // One connection per message: the tests post from several threads and with other runs' tokens.
      transport::HttpClient client(http->url());
      const std::optional<std::string> authorization =
          token ? std::optional<std::string>(transport::bearer_value(*token)) : std::nullopt;
      return response_of(client.post(type, body, authorization));
    }
    transport::Request r;
    r.msg_type = type;
    r.body.assign(body.begin(), body.end());
    r.token = token;
    r.authorization_present = token.has_value();
    r.peer = "test";
    return dispatcher.handle(r);
  }
  std::optional<storage::VoucherRecord> voucher(const Guid& guid) {
    auto tx = store->begin();
    return tx->get_voucher(guid);
  }
  std::optional<storage::OwnerDeviceRecord> status(const Guid& guid) {
    auto tx = store->begin();
    return tx->get_owner_device(guid);
  }
  /// The owner's TO2 session behind `token`, if it is live.
  std::optional<To2Session> session(const std::string& token) {
    auto tx = store->begin();
    const std::optional<storage::Session> s = tx->get_session(token, now);
    if (!s) {
      return std::nullopt;
    }
    return To2Session::decode(s->state);
  }

  const crypto::PrivateKey* owner;
  std::int64_t now = 1'700'000'000;
  std::unique_ptr<storage::Store> store = storage::make_memory_store();
  To2OwnerPolicy policy;
  To2Owner to2{policy};
  Dispatcher dispatcher{*store, options()};
  /// The dispatcher over HTTP, started on the first post under Wire::Http.
  std::unique_ptr<transport::HttpServer> http;
  std::once_flag http_started;
};

/// The devmod values the test devices send.
inline serviceinfo::DevmodInfo test_devmod() {
  return serviceinfo::DevmodInfo{.os = "Linux",
                                 .arch = "x86_64",
                                 .version = "test",
                                 .device = "model-t",
                                 .sn = "sn-1",
                                 .pathsep = "/",
                                 .sep = ":",
                                 .nl = "\n",
                                 .tmp = "/tmp",
                                 .dir = "/opt",
                                 .progenv = "bin",
                                 .bin = "x86_64",
                                 .mudurl = "",
                                 .nummodules = 0,
                                 .modules = {}};
}

/// run_to2 over a loopback transport to `responder`, with the test devmod and no poll delay; the device signs with
/// `device_alg` (default: its key's default_sig_alg).
inline To2Result onboard(transport::Responder& responder, const DeviceCredential& credential,
                         To2DeviceOptions options = {}, std::optional<crypto::SigAlg> device_alg = std::nullopt) {
  const SoftwareSigner signer(credential.private_key(), device_alg);
  const SoftwareHmac hmac(credential.dc_hmac_secret.clone());
  options.devmod = test_devmod();
  options.sleep = [](std::chrono::milliseconds) {};
  if (current_wire() == Wire::Http) {
    const std::unique_ptr<transport::HttpServer> server = serve_http(responder);
    transport::HttpTransport http(server->url());
    return run_to2(http, credential, signer, hmac, std::move(options));
  }
  transport::LoopbackTransport loopback(responder);
  return run_to2(loopback, credential, signer, hmac, std::move(options));
}
inline To2Result onboard(OwnerServer& server, const DeviceCredential& credential, To2DeviceOptions options = {},
                         std::optional<crypto::SigAlg> device_alg = std::nullopt) {
  return onboard(server.dispatcher, credential, std::move(options), device_alg);
}

/// A COSE_Sign1 written field by field (unprotected map included), for mutating one field.
struct Sign1Fields {
  Bytes protected_bytes;
  cose::HeaderMap unprotected;
  Bytes payload;
  Bytes signature;
  static Sign1Fields of(ByteView encoded) {
    const cose::Sign1 s = cose::Sign1::decode(encoded);
    return Sign1Fields{Bytes(s.protected_bytes().begin(), s.protected_bytes().end()), s.unprotected(),
                       Bytes(s.payload().begin(), s.payload().end()),
                       Bytes(s.signature().begin(), s.signature().end())};
  }
  [[nodiscard]] Bytes encode() const {
    cbor::Writer w;
    w.tag(18).array(4).bstr(protected_bytes);
    cose::write_header_map(w, unprotected);
    w.bstr(payload).bstr(signature);
    return std::move(w).take();
  }
  /// Re-signs the (changed) payload with `key` under the protected header as it is.
  void resign(const crypto::PrivateKey& key, crypto::SigAlg alg) {
    signature = key.sign(alg, cose::sig_structure(protected_bytes, payload));
  }
};

/// `n` random bytes from `seed`.
inline Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (std::uint8_t& b : out) {
    b = static_cast<std::uint8_t>(rng());
  }
  return out;
}

/// Where an EncryptedMessage (FDO 1.1 §4.4) is corrupted: a byte of the ciphertext (GCM/CCM) or of the Mac0 payload
/// (CTR/CBC), of the IV (GCM/CCM), of the Mac0 tag (CTR/CBC), or the whole message fuzzed.
enum class Corrupt { Ciphertext, Iv, Tag, Whole };

/// The EncryptedMessage with one corruption; `seed` picks the byte (and the fuzz).
inline Bytes corrupt_wrapper(ByteView message, Corrupt where, std::uint32_t seed) {
  if (where == Corrupt::Whole) {
    return fuzzed(message, seed);
  }
  cbor::Reader r(message, "EncryptedMessage");
  const std::uint64_t tag = r.read_tag("tag");
  const std::size_t n = r.read_array("");
  const Bytes prot = r.read_bstr("protected");
  cose::HeaderMap unprotected = cose::read_header_map(r, "unprotected");
  Bytes third = r.read_bstr("ciphertext or payload");
  Bytes mac_tag;
  if (n == 4) {
    mac_tag = r.read_bstr("tag");
  }
  auto flip = [seed](Bytes& b, std::size_t from) {
    if (b.size() > from) {
      b[from + seed % (b.size() - from)] ^= 0x01;
    }
  };
  switch (where) {
    case Corrupt::Ciphertext: flip(third, 0); break;
    case Corrupt::Iv: flip(unprotected.at(cose::kLabelIv), 1); break;  // past the bstr head
    case Corrupt::Tag: flip(mac_tag, 0); break;
    case Corrupt::Whole: break;
  }
  cbor::Writer w;
  w.tag(tag).array(n).bstr(prot);
  cose::write_header_map(w, unprotected);
  w.bstr(third);
  if (n == 4) {
    w.bstr(mac_tag);
  }
  return std::move(w).take();
}

/// The corruptions that apply to a cipher suite's wrapper (GCM/CCM: Encrypt0; CTR/CBC: Mac0 over Encrypt0).
inline std::vector<Corrupt> corruptions_for(crypto::CipherSuite suite) {
  const bool etm = suite == crypto::CipherSuite::Aes128CtrHmacSha256 ||
                   suite == crypto::CipherSuite::Aes128CbcHmacSha256 ||
                   suite == crypto::CipherSuite::Aes256CtrHmacSha384 ||
                   suite == crypto::CipherSuite::Aes256CbcHmacSha384;
  if (etm) {
    return {Corrupt::Ciphertext, Corrupt::Tag, Corrupt::Whole};
  }
  return {Corrupt::Ciphertext, Corrupt::Iv, Corrupt::Whole};
}

/// Throws (failing the test) unless `r` is message `type`.
inline const transport::Response& require(const transport::Response& r, std::uint8_t type) {
  if (r.msg_type != type) {
    std::string what = "expected message " + std::to_string(type) + ", got " + std::to_string(r.msg_type);
    if (r.msg_type == 255) {
      const ErrorMessage em = ErrorMessage::decode(r.body);
      what += " with code " + std::to_string(em.em_error_code) + " (" + em.em_error_str + ")";
    }
    throw std::runtime_error(what);
  }
  return r;
}

/// The device's half of TO2 against an OwnerServer, one message at a time, as a device would run it: each step
/// can be given another body, and the plaintexts of 66-70 are encrypted with the session keys the device derived
/// (FDO 1.1 §3.6.4, §4.4).
class DeviceSteps {
  OwnerServer& m_server;

 public:
  DeviceSteps(OwnerServer& server, const TestVoucher& tv, crypto::KexSuite kex = crypto::KexSuite::Ecdh256,
              crypto::CipherSuite suite = crypto::CipherSuite::A128GCM)
      : m_server(server),
        credential(credential_for(tv)),
        signer(credential.private_key()),
        hmac(credential.dc_hmac_secret.clone()),
        kex_suite(kex),
        cipher_suite(suite) {}

  /// The TO2.HelloDevice this device sends.
  [[nodiscard]] Bytes hello_body() {
    return to2::HelloDevice{.max_device_message_size = 0,
                            .guid = credential.dc_guid,
                            .nonce_to2_prove_ov = nonce_prove_ov,
                            .kex_suite_name = std::string(crypto::kex_suite_name(kex_suite)),
                            .cipher_suite_name = crypto::cipher_suite_id(cipher_suite),
                            .ea_sig_info = SigInfo::for_alg(signer.sig_alg())}
        .encode();
  }
  /// 60 → 61: keeps the token and the decoded TO2.ProveOVHdr.
  transport::Response hello(std::optional<Bytes> body = std::nullopt) {
    hello_bytes = body ? *body : hello_body();
    transport::Response r = m_server.post(60, hello_bytes);
    if (r.msg_type == 61) {
      token = r.token.value_or("");
      prove = to2::ProveOVHdr::decode(r.body);
    }
    return r;
  }
  /// 62 → 63 for entry `i` (or `body`).
  transport::Response entry(std::uint8_t i, std::optional<Bytes> body = std::nullopt) {
    return post(62, body ? *body : to2::GetOVNextEntry{.ov_entry_num = i}.encode());
  }
  /// Every entry, in order; returns the 63 bodies.
  std::vector<Bytes> entries() {
    std::vector<Bytes> out;
    for (std::uint8_t i = 0; i < prove->payload.num_ov_entries; ++i) {
      out.push_back(require(entry(i), 63).body);
    }
    return out;
  }
  /// The device's key exchange against the owner's xA (FDO 1.1 §3.6), once.
  const crypto::DeviceKex& device_kex() {
    if (!m_kex) {
      m_kex = crypto::device_kex(kex_suite, prove->payload.xa_key_exchange, prove->cuph_owner_pub_key.key());
    }
    return *m_kex;
  }
  /// The unprotected header of the EAT: EUPHNonce = NonceTO2SetupDv.
  [[nodiscard]] cose::HeaderMap eat_unprotected() const {
    cbor::Writer w;
    w.bstr(nonce_setup.view());
    cose::HeaderMap map;
    map[to2::kEuphNonce] = std::move(w).take();
    return map;
  }
  /// The TO2.ProveDevice EAT with the given nonce, GUID and signer (defaults: the valid ones).
  Bytes prove_device_body(std::optional<Nonce> nonce = std::nullopt, std::optional<Guid> guid = std::nullopt,
                          const DeviceSigner* with = nullptr, std::optional<Bytes> xb = std::nullopt) {
    const Bytes claim = to2::encode_eat_fdo_claim(xb ? *xb : device_kex().xb);
    return make_eat(with != nullptr ? *with : signer, nonce.value_or(prove->cuph_nonce),
                    guid.value_or(credential.dc_guid), claim, eat_unprotected())
        .encode();
  }
  /// 64 → 65: on a 65, opens the tunnel with the derived keys and decodes TO2.SetupDevice.
  transport::Response prove_device(std::optional<Bytes> body = std::nullopt) {
    const Bytes b = body ? *body : prove_device_body();
    transport::Response r = post(64, b);
    if (r.msg_type == 65) {
      const crypto::DeviceKex& k = device_kex();
      cipher.emplace(cipher_suite,
                     crypto::derive_session_keys(cipher_suite, k.secret.shse.view(), k.secret.context_rand));
      setup_bytes = cipher->decrypt(r.body);
      setup = to2::SetupDevice::decode(setup_bytes);
    }
    return r;
  }
  /// Whether the owner's TO2.SetupDevice offers credential reuse (FDO 1.1 §5.5.7).
  [[nodiscard]] bool reuse_offered() const {
    return to2::offers_reuse(setup->payload, credential.dc_guid, credential.dc_rv_info, prove->cuph_owner_pub_key);
  }
  /// The valid TO2.DeviceServiceInfoReady plaintext: the replacement header's HMAC (null for reuse), 1300.
  [[nodiscard]] Bytes ready_plain() const {
    to2::DeviceServiceInfoReady ready{.replacement_hmac = std::nullopt, .max_owner_service_info_sz = 1300};
    if (!reuse_offered()) {
      const voucher::OVHeader header = voucher::OVHeader::decode(prove->payload.ov_header);
      const HashType type = prove->payload.hmac.type();
      ready.replacement_hmac =
          Hash(type, hmac.hmac(hash_alg_of(type), to2::replacement_header(header, setup->payload)));
    }
    return ready.encode();
  }
  /// Encrypts `plaintext` and posts it as `type`.
  transport::Response send(std::uint8_t type, ByteView plaintext) { return post(type, cipher->encrypt(plaintext)); }
  /// Posts `body` as it is, with the run's token.
  transport::Response post(std::uint8_t type, ByteView body) { return m_server.post(type, body, token); }
  /// The plaintext of an encrypted answer.
  [[nodiscard]] Bytes open(const transport::Response& r) const { return cipher->decrypt(r.body); }

  /// 66 → 67.
  transport::Response ready(std::optional<Bytes> plaintext = std::nullopt) {
    return send(66, plaintext ? *plaintext : ready_plain());
  }
  /// 68 → 69 with one body.
  transport::Response service_info(const to2::DeviceServiceInfo& m) { return send(68, m.encode()); }
  /// The ServiceInfo loop as our device runs it, devmod first, until IsDone; returns how many 69s came.
  int service_info_loop() {
    serviceinfo::DeviceEngine engine({}, test_devmod());
    for (int n = 1; n < 1000; ++n) {
      const serviceinfo::DeviceSend out = engine.next_message(1300);
      const transport::Response r =
          service_info(to2::DeviceServiceInfo{.is_more_service_info = out.is_more, .service_info = out.kvs});
      const to2::OwnerServiceInfo reply = to2::OwnerServiceInfo::decode(open(require(r, 69)));
      engine.on_owner_message(reply.is_more_service_info, reply.is_done, reply.service_info);
      if (reply.is_done) {
        engine.finish(true);
        return n;
      }
    }
    throw std::runtime_error("the owner never sent IsDone");
  }
  /// 70 → 71.
  transport::Response done(std::optional<Bytes> plaintext = std::nullopt) {
    return send(70, plaintext ? *plaintext : to2::Done{.nonce_to2_prove_dv = prove->cuph_nonce}.encode());
  }

  /// Runs the device up to the message named: every earlier step valid.
  void to_prove_device() {
    require(hello(), 61);
    entries();
  }
  void to_ready() {
    to_prove_device();
    require(prove_device(), 65);
  }
  void to_service_info() {
    to_ready();
    require(ready(), 67);
  }
  void to_done() {
    to_service_info();
    service_info_loop();
  }

  DeviceCredential credential;
  SoftwareSigner signer;
  SoftwareHmac hmac;
  crypto::KexSuite kex_suite;
  crypto::CipherSuite cipher_suite;
  Nonce nonce_prove_ov = Nonce::random();
  Nonce nonce_setup = Nonce::random();
  std::string token;
  Bytes hello_bytes;
  std::optional<to2::ProveOVHdr> prove;
  std::optional<cose::SessionCipher> cipher;
  Bytes setup_bytes;
  std::optional<to2::SetupDevice> setup;

 private:
  std::optional<crypto::DeviceKex> m_kex;
};

/// A man in the middle between a device and a real owner: forwards every message and rewrites the owner's answers
/// of chosen types. For the encrypted answers (65-71) it uses the owner's own session keys, read from the owner's
/// store, so a test can change a plaintext and have it encrypted correctly. Records what the device sent.
class To2Mitm final : public transport::Responder {
 public:
  explicit To2Mitm(OwnerServer& owner) : m_owner(owner) {}

  /// Rewrites the plaintext of the owner's answer of a type (decrypted first for 65-71, encrypted again after).
  std::map<std::uint8_t, std::function<void(Bytes&)>> plain;
  /// Rewrites the owner's answer of a type as it goes on the wire (after `plain`).
  std::map<std::uint8_t, std::function<void(transport::Response&)>> wire;
  /// Every request of the device: type and body as sent.
  std::vector<std::pair<std::uint8_t, Bytes>> received;
  /// The plaintexts of the device's encrypted requests (66-70), in order.
  std::vector<std::pair<std::uint8_t, Bytes>> opened;
  /// The index in `received` of the request whose answer was rewritten first.
  std::optional<std::size_t> mutated_at;

  transport::Response handle(const transport::Request& request) override {
    received.emplace_back(request.msg_type, request.body);
    if (request.token) {
      refresh(*request.token);
    }
    if (request.msg_type >= 66 && request.msg_type <= 70 && m_cipher_state) {
      try {
        opened.emplace_back(request.msg_type, cose::SessionCipher::restore(m_cipher_state->view()).decrypt(request.body));
      } catch (const Error&) {
        opened.emplace_back(request.msg_type, Bytes{});
      }
    }
    transport::Response r = m_owner.dispatcher.handle(request);
    if (r.token) {
      refresh(*r.token);
    }
    if (r.msg_type == 255) {
      return r;
    }
    bool mutated = false;
    if (const auto p = plain.find(r.msg_type); p != plain.end()) {
      const bool encrypted = r.msg_type >= 65 && r.msg_type <= 71;
      // Only an answer the hook changed counts as mutated (a hook may leave some answers of its type alone).
      if (encrypted) {
        cose::SessionCipher c = cose::SessionCipher::restore(m_cipher_state->view());
        Bytes body = c.decrypt(r.body);
        const Bytes before = body;
        p->second(body);
        mutated = body != before;
        r.body = c.encrypt(body);
      } else {
        const Bytes before = r.body;
        p->second(r.body);
        mutated = r.body != before;
      }
    }
    if (const auto w = wire.find(r.msg_type); w != wire.end()) {
      w->second(r);
      mutated = true;
    }
    if (mutated && !mutated_at) {
      mutated_at = received.size() - 1;
    }
    return r;
  }
  transport::Response reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                             std::string_view reason) override {
    return m_owner.dispatcher.reject(msg_type, std::move(token), code, reason);
  }

  /// The ErrorMessage the device sent, if any.
  [[nodiscard]] std::optional<ErrorMessage> device_error() const {
    for (const auto& [type, body] : received) {
      if (type == 255) {
        return ErrorMessage::decode(body);
      }
    }
    return std::nullopt;
  }

 private:
  void refresh(const std::string& token) {
    if (std::optional<To2Session> s = m_owner.session(token); s && !s->cipher_state.empty()) {
      m_cipher_state = s->cipher_state.clone();
    }
  }

  OwnerServer& m_owner;
  std::optional<SecretBytes> m_cipher_state;
};

}  // namespace fdo::protocol::testing
