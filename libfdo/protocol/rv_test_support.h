#pragma once
// Test-only helpers shared by to0_test.cpp and to1_test.cpp: a rendezvous server on a memory store behind the
// dispatcher (with a test clock), vouchers made in-test, TO0.OwnerSign bodies with mutations, the conformance
// tools' "fuzzed" mutation and scripted misbehaving peers. Not part of the library.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/cose/header.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/messages/to0.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/protocol/to0_rendezvous.h"
#include "libfdo/protocol/to1_rendezvous.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/transport/loopback_transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/voucher/voucher_test_fixture.h"

namespace fdo::protocol::testing {

/// The conformance tools' "fuzzed" mutation (docs/conformance.md): the body keeps its length, its first sixth to
/// third of the bytes are random and the rest zero; a 1-byte body becomes `00`. Seeded, so a failure replays.
inline Bytes fuzzed(ByteView body, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const std::size_t n = body.size();
  std::uniform_int_distribution<std::size_t> count(n / 6, n / 3);
  const std::size_t k = count(rng);
  Bytes out(n, 0);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t i = 0; i < k; ++i) {
    out[i] = static_cast<std::uint8_t>(byte(rng));
  }
  return out;
}

/// A COSE_Sign1 whose protected header names `header_alg` while the signature is made with `sign_alg`, to build
/// alg mismatches that Sign1::sign refuses to make.
inline Bytes sign1_with_header(const crypto::PrivateKey& key, crypto::SigAlg sign_alg, crypto::SigAlg header_alg,
                               ByteView payload) {
  const Bytes protected_bytes = cose::encode_protected_alg(static_cast<std::int64_t>(header_alg));
  const Bytes signature = key.sign(sign_alg, cose::sig_structure(protected_bytes, payload));
  cbor::Writer w;
  w.tag(18).array(4).bstr(protected_bytes).map(0).bstr(payload).bstr(signature);
  return std::move(w).take();
}

/// A COSE_Sign1's parts as written, for mutating one of them.
struct Sign1Parts {
  Bytes protected_bytes;
  Bytes payload;
  Bytes signature;
  [[nodiscard]] Bytes encode() const {
    cbor::Writer w;
    w.tag(18).array(4).bstr(protected_bytes).map(0).bstr(payload).bstr(signature);
    return std::move(w).take();
  }
  static Sign1Parts of(const cose::Sign1& s) {
    return Sign1Parts{Bytes(s.protected_bytes().begin(), s.protected_bytes().end()),
                      Bytes(s.payload().begin(), s.payload().end()), Bytes(s.signature().begin(), s.signature().end())};
  }
};

/// The owner's address used by the tests: http://127.0.0.1:8042.
inline RVTO2Addr test_to2_addr(std::uint16_t port = 8042) {
  RVTO2Addr addr;
  addr.entries.push_back(RVTO2AddrEntry{.rv_ip = IpAddress::parse("127.0.0.1"),
                                        .rv_dns = std::nullopt,
                                        .rv_port = port,
                                        .rv_protocol = TransportProtocol::Http});
  return addr;
}

/// Builds a TO0.OwnerSign body the way a (possibly misbehaving) owner would.
struct OwnerSignBuilder {
  Bytes voucher;
  const crypto::PrivateKey* signer = nullptr;
  Nonce nonce;
  std::uint32_t wait_seconds = 300;
  /// The voucher hash family: to1dTo0dHash's type.
  HashType hash_type = HashType::Sha256;
  /// The RVTO2Addr item as written.
  Bytes to2_addr = test_to2_addr().encode();
  /// Replaces the to0d bytes (then hashed and signed as given).
  std::optional<Bytes> to0d_override;
  /// Replaces to1dTo0dHash (complete Hash encoding).
  std::optional<Bytes> hash_override;
  /// Signs with this alg (default: the key's) while the header names `header_alg` when set.
  std::optional<crypto::SigAlg> header_alg;

  [[nodiscard]] Bytes to0d_bytes() const {
    if (to0d_override) {
      return *to0d_override;
    }
    return to0::To0d{.ownership_voucher = voucher, .wait_seconds = wait_seconds, .nonce_to0_sign = nonce}.encode();
  }
  [[nodiscard]] Bytes payload() const {
    cbor::Writer w;
    w.array(2).raw(to2_addr).raw(hash_override ? *hash_override : Hash::compute(hash_type, to0d_bytes()).encode());
    return std::move(w).take();
  }
  [[nodiscard]] Bytes to1d() const {
    const crypto::SigAlg alg = crypto::default_sig_alg(signer->type());
    if (header_alg) {
      return sign1_with_header(*signer, alg, *header_alg, payload());
    }
    return cose::Sign1::sign(*signer, alg, payload()).encode();
  }
  /// [bstr(to0d), to1d], with an optional replacement of the to1d bytes.
  [[nodiscard]] Bytes body(std::optional<Bytes> to1d_bytes = std::nullopt) const {
    cbor::Writer w;
    w.array(2).bstr(to0d_bytes()).raw(to1d_bytes ? *to1d_bytes : to1d());
    return std::move(w).take();
  }
};

/// A rendezvous server (TO0 and TO1 endpoints) on a memory store, driven message by message or through a
/// loopback transport; the clock is `now`.
struct RvServer {
  /// A server with `p` (default: open, at most 3600 s per registration).
  explicit RvServer(RendezvousPolicy p = default_policy()) : policy(std::move(p)) {
    dispatcher.add(to0);
    dispatcher.add(to1);
  }
  static RendezvousPolicy default_policy() {
    RendezvousPolicy p;
    p.max_wait_seconds = 3600;
    return p;
  }

  std::int64_t now = 1'700'000'000;
  RendezvousPolicy policy;
  std::unique_ptr<storage::Store> store = storage::make_memory_store();
  RendezvousLimits limits{policy, *store};
  To0Rendezvous to0{policy};
  To1Rendezvous to1{policy};
  Dispatcher dispatcher{*store, make_options()};

  DispatcherOptions make_options() {
    DispatcherOptions o;
    o.session_ttl = 300;
    o.clock = [this] { return now; };
    o.admit = [this](const Context& ctx, MessageType type) { return limits.admit(ctx, type); };
    o.max_live_sessions = policy.max_live_sessions;
    return o;
  }
  RvServer(const RvServer&) = delete;
  RvServer& operator=(const RvServer&) = delete;

  transport::Response post(std::uint8_t type, ByteView body, std::optional<std::string> token = std::nullopt,
                           std::string peer = "test") {
    transport::Request r;
    r.msg_type = type;
    r.body.assign(body.begin(), body.end());
    r.token = token;
    r.authorization_present = token.has_value();
    r.peer = std::move(peer);
    return dispatcher.handle(r);
  }
  std::optional<storage::RvRegistration> registration(const Guid& guid) {
    auto tx = store->begin();
    return tx->get_rv_registration(guid, now);
  }
};

/// The ErrorMessage of an error answer, after checking the answer's form ("→ N" in the checklist).
inline ErrorMessage error_of(const transport::Response& r) {
  EXPECT_EQ(r.msg_type, 255);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_FALSE(r.token.has_value());
  return ErrorMessage::decode(r.body);
}

/// The error code of an answer that must be an ErrorMessage answering `prev`.
inline int code_of(const transport::Response& r, std::uint8_t prev) {
  if (r.msg_type != 255) {
    ADD_FAILURE() << "expected an ErrorMessage, got message type " << int{r.msg_type};
    return -1;
  }
  const ErrorMessage em = error_of(r);
  EXPECT_EQ(em.em_prev_msg_id, prev);
  return em.em_error_code;
}

/// A voucher made in-test: our manufacturer's fresh voucher, extended along `owners` (each signing the next),
/// with the GUID and RendezvousInfo given.
struct TestVoucher {
  voucher::testing::Fixture fx;
  Bytes bytes;
  /// The current owner's private key.
  const crypto::PrivateKey* owner = nullptr;
  [[nodiscard]] Guid guid() const { return fx.input.guid; }
  [[nodiscard]] HashType hash_type() const {
    return hash_type_for(voucher::OwnershipVoucher::decode(bytes).hash_family());
  }
};

/// A voucher for the keys of `profile`, extended `entries` times through the fixture's manufacturer → owner1 →
/// owner2 → … keys.
inline std::unique_ptr<TestVoucher> make_test_voucher(const voucher::testing::Profile& profile, std::size_t entries,
                                                      const Guid& guid,
                                                      const std::string& rv_urls = "http://127.0.0.1:8040") {
  auto tv = std::make_unique<TestVoucher>(TestVoucher{voucher::testing::Fixture(profile), {}, nullptr});
  tv->fx.input.guid = guid;
  tv->fx.input.rv_info = RendezvousInfo::from_urls(rv_urls);
  tv->bytes = tv->fx.extended(entries).encode();
  tv->owner = &tv->fx.owner_after(entries);
  return tv;
}

/// A voucher for a device of `device_type` ("p256", "p384", "rsa2048", "rsa3072"), with owner keys of `owner_type`
/// (their default pkType), extended `entries` times.
inline std::unique_ptr<TestVoucher> make_test_voucher(const std::string& device_type, const std::string& owner_type,
                                                      std::size_t entries, const Guid& guid,
                                                      const std::string& rv_urls = "http://127.0.0.1:8040") {
  return make_test_voucher(voucher::testing::profile(owner_type, device_type), entries, guid, rv_urls);
}

/// The device's credential for a test voucher (File storage, the fixture's device key and HMAC secret).
inline DeviceCredential credential_for(const TestVoucher& tv) {
  DeviceCredential c;
  c.dc_hmac_secret = tv.fx.secret();
  c.dc_device_info = tv.fx.input.device_info;
  c.dc_guid = tv.fx.input.guid;
  c.dc_rv_info = tv.fx.input.rv_info;
  c.dc_pub_key_hash = Hash::compute(HashType::Sha256, tv.fx.input.manufacturer_key.raw());
  c.key_type = tv.fx.device.type();
  c.device_key_pkcs8 = tv.fx.device.to_pkcs8_der();
  return c;
}

/// A scripted peer for device-side tests: answers each request type with a scripted body (or ErrorMessage), and
/// records every message it receives, including the device's 255.
class ScriptedResponder final : public transport::Responder {
 public:
  /// The answer to request `type`: the response type and body.
  std::map<std::uint8_t, std::pair<std::uint8_t, Bytes>> script;
  /// Every request received: type and body.
  std::vector<std::pair<std::uint8_t, Bytes>> received;

  transport::Response handle(const transport::Request& request) override {
    received.emplace_back(request.msg_type, request.body);
    if (request.msg_type == 255) {
      return transport::Response{255, {}, std::nullopt, 200};
    }
    const auto it = script.find(request.msg_type);
    if (it == script.end()) {
      return reject(request.msg_type, std::nullopt, ErrorCode::MessageBodyError, "not scripted");
    }
    const bool error = it->second.first == 255;
    return transport::Response{it->second.first, it->second.second,
                               error ? std::nullopt : std::optional<std::string>("scripted-token"), error ? 500 : 200};
  }
  transport::Response reject(std::uint8_t msg_type, std::optional<std::string>, ErrorCode code,
                             std::string_view reason) override {
    const ErrorMessage em = ErrorMessage::from_error(Error(code, std::string(reason)), msg_type, 1);
    return transport::Response{255, em.encode(), std::nullopt, 500};
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
};

}  // namespace fdo::protocol::testing
