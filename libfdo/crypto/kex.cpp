#include "libfdo/crypto/kex.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/dh.h"

namespace fdo::crypto {
namespace {

enum class KexKind { Ecdh, Dh, Asym };

/// The fixed parameters of one suite (FDO 1.1 §3.6).
struct SuiteParams {
  KexSuite suite;
  std::string_view name;
  KexKind kind;
  /// ECDH: the curve; ASYMKEX: the owner key it needs.
  KeyType key_type;
  DhGroup group;
  /// OwnerRandom and DeviceRandom size; 0 for DH.
  std::size_t random_size;
};

constexpr std::array<SuiteParams, 6> kSuites = {{
    {KexSuite::Ecdh256, "ECDH256", KexKind::Ecdh, KeyType::P256, DhGroup::Modp2048, 16},
    {KexSuite::Ecdh384, "ECDH384", KexKind::Ecdh, KeyType::P384, DhGroup::Modp2048, 48},
    {KexSuite::DhKexId14, "DHKEXid14", KexKind::Dh, KeyType::Rsa2048, DhGroup::Modp2048, 0},
    {KexSuite::DhKexId15, "DHKEXid15", KexKind::Dh, KeyType::Rsa3072, DhGroup::Modp3072, 0},
    {KexSuite::AsymKex2048, "ASYMKEX2048", KexKind::Asym, KeyType::Rsa2048, DhGroup::Modp2048, 32},
    {KexSuite::AsymKex3072, "ASYMKEX3072", KexKind::Asym, KeyType::Rsa3072, DhGroup::Modp3072, 96},
}};

const SuiteParams& params(KexSuite suite) {
  for (const SuiteParams& p : kSuites) {
    if (p.suite == suite) {
      return p;
    }
  }
  throw_internal("key exchange: unknown suite " + std::to_string(static_cast<int>(suite)));
}

std::size_t field_size(KeyType curve) {
  return curve == KeyType::P256 ? 32 : 48;
}

/// The field prime p of P-256 / P-384 (FIPS 186-4 §D.1.2.3, §D.1.2.4), big-endian.
ByteView field_prime(KeyType curve) {
  static const Bytes p256 = from_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  static const Bytes p384 =
      from_hex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff");
  return curve == KeyType::P256 ? p256 : p384;
}

/// `n` CSPRNG bytes whose first byte is not zero (docs/interop.md "owner-random-nonzero").
Bytes owner_random(std::size_t n) {
  Bytes out = random_bytes(n);
  while (out[0] == 0) {
    fill_random(std::span<std::uint8_t>(out.data(), 1));
  }
  return out;
}

void put_u16(Bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void append(Bytes& out, ByteView v) {
  out.insert(out.end(), v.begin(), v.end());
}

/// A cursor over `u16 BE len ‖ value` fields; `fail` is called on any shortfall.
class FieldReader {
 public:
  explicit FieldReader(ByteView in) : m_in(in) {}
  /// The next field, or nullopt if the input is too short for it.
  std::optional<ByteView> next() {
    if (m_in.size() - m_pos < 2) {
      return std::nullopt;
    }
    const std::size_t len = (std::size_t{m_in[m_pos]} << 8) | m_in[m_pos + 1];
    m_pos += 2;
    if (m_in.size() - m_pos < len) {
      return std::nullopt;
    }
    const ByteView out = m_in.subspan(m_pos, len);
    m_pos += len;
    return out;
  }
  [[nodiscard]] bool at_end() const { return m_pos == m_in.size(); }

 private:
  ByteView m_in;
  std::size_t m_pos = 0;
};

// ---- ECDH256 / ECDH384 ----

/// One side's ECDH parameter: the peer's ephemeral public key and random.
struct EcdhParam {
  PublicKey key;
  Bytes random;
};

/// A coordinate read as an unsigned integer of any length (go-fdo, fdo-rs and the C SDK write the minimal
/// form; docs/interop.md "shared-secret-leading-zeros"), left-padded to the field size and below p.
Bytes read_coordinate(ByteView v, KeyType curve, std::string_view what) {
  const std::size_t fs = field_size(curve);
  const auto first = std::find_if(v.begin(), v.end(), [](std::uint8_t b) { return b != 0; });
  const ByteView value(first, v.end());
  if (value.size() > fs) {
    throw_invalid(std::string(what) + ": coordinate of " + std::to_string(value.size()) + " bytes exceeds the " +
                  std::to_string(fs) + "-byte field");
  }
  Bytes out(fs - value.size(), 0);
  append(out, value);
  const ByteView p = field_prime(curve);
  if (!std::lexicographical_compare(out.begin(), out.end(), p.begin(), p.end())) {
    throw_invalid(std::string(what) + ": coordinate is not below the field prime");
  }
  return out;
}

/// Parses len(X) ‖ X ‖ len(Y) ‖ Y ‖ len(R) ‖ R (FDO 1.1 §3.6; docs/interop.md "ecdh-param-layout"): the
/// three lengths fill the input exactly, R has the suite's size, and (X, Y) is a point on the curve.
EcdhParam read_ecdh_param(ByteView in, const SuiteParams& suite, std::string_view what) {
  FieldReader r(in);
  const std::optional<ByteView> x = r.next();
  const std::optional<ByteView> y = r.next();
  const std::optional<ByteView> random = r.next();
  if (!x || !y || !random || !r.at_end()) {
    throw_invalid(std::string(what) + ": " + std::string(suite.name) +
                  " parameter is not len(X) X len(Y) Y len(R) R filling " + std::to_string(in.size()) + " bytes");
  }
  if (random->size() != suite.random_size) {
    throw_invalid(std::string(what) + ": random of " + std::to_string(random->size()) + " bytes, " +
                  std::string(suite.name) + " uses " + std::to_string(suite.random_size));
  }
  const Bytes px = read_coordinate(*x, suite.key_type, what);
  const Bytes py = read_coordinate(*y, suite.key_type, what);
  try {
    return EcdhParam{PublicKey::from_ec_point(suite.key_type, px, py), Bytes(random->begin(), random->end())};
  } catch (const Error&) {
    throw_invalid(std::string(what) + ": not a point on " + std::string(key_type_name(suite.key_type)));
  }
}

/// Our ECDH parameter, X and Y at the fixed field width (docs/interop.md "shared-secret-leading-zeros").
Bytes write_ecdh_param(const PublicKey& key, ByteView random) {
  const Bytes x = key.ec_x();
  const Bytes y = key.ec_y();
  Bytes out;
  out.reserve(6 + x.size() + y.size() + random.size());
  put_u16(out, x.size());
  append(out, x);
  put_u16(out, y.size());
  append(out, y);
  put_u16(out, random.size());
  append(out, random);
  return out;
}

/// ShSe = Shx ‖ DeviceRandom ‖ OwnerRandom (FDO 1.1 §3.6; docs/interop.md "ecdh-param-layout").
KexSecret ecdh_secret(const SecretBytes& shx, ByteView device_random, ByteView owner_random_bytes) {
  Bytes shse;
  shse.reserve(shx.size() + device_random.size() + owner_random_bytes.size());
  append(shse, shx.view());
  append(shse, device_random);
  append(shse, owner_random_bytes);
  return KexSecret{SecretBytes(std::move(shse)), {}};
}

// ---- DHKEXid14 / DHKEXid15 ----

/// ShSe = peer^own mod p, |p| bytes. The peer value is an unsigned integer of any length up to |p| + 1
/// (docs/interop.md "shared-secret-leading-zeros"); anything else is 101 here.
KexSecret dh_secret(const DhKeyPair& own, ByteView peer, std::string_view what) {
  const std::size_t limit = dh_prime_size(own.group()) + 1;
  if (peer.size() > limit) {
    throw_invalid(std::string(what) + ": DH value of " + std::to_string(peer.size()) + " bytes is longer than " +
                  std::to_string(limit));
  }
  try {
    return KexSecret{own.compute(peer), {}};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InternalServerError) {
      throw;
    }
    throw_invalid(std::string(what) + ": " + e.what());
  }
}

/// A fresh DH private exponent of dh_private_bits(group) bits, at least 2.
SecretBytes dh_exponent(DhGroup group) {
  for (;;) {
    SecretBytes e(random_bytes(dh_private_bits(group) / 8));
    const ByteView v = e.view();
    const bool small = std::all_of(v.begin(), v.end() - 1, [](std::uint8_t b) { return b == 0; }) && v.back() < 2;
    if (!small) {
      return e;
    }
  }
}

// ---- ASYMKEX2048 / ASYMKEX3072 ----

/// One text for every failure to recover DeviceRandom, so the peer cannot tell which step failed
/// (FDO 1.1 §3.6).
constexpr std::string_view kAsymFailure = "TO2.ProveDevice xBKeyExchange: ASYMKEX decryption failed";

// ---- Saved owner state ----

constexpr std::uint8_t kSaveVersion = 2;

}  // namespace

std::string_view kex_suite_name(KexSuite suite) {
  return params(suite).name;
}

std::optional<KexSuite> parse_kex_suite(std::string_view name) {
  for (const SuiteParams& p : kSuites) {
    if (p.name == name) {
      return p.suite;
    }
  }
  return std::nullopt;
}

bool kex_suits_owner_key(KexSuite suite, const PublicKey& owner_key) {
  const SuiteParams& p = params(suite);
  return p.kind != KexKind::Asym || owner_key.type() == p.key_type;
}

// ---- KexOwner ----

struct KexOwner::Impl {
  KexSuite suite;
  /// ECDH: the ephemeral key.
  std::optional<PrivateKey> ec_key;
  /// DH: the private exponent (saved) and the key pair made from it.
  SecretBytes dh_exponent;
  std::optional<DhKeyPair> dh;
  /// ECDH and ASYMKEX: OwnerRandom.
  Bytes owner_random;
};

KexOwner::KexOwner(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
KexOwner::KexOwner(KexOwner&&) noexcept = default;
KexOwner& KexOwner::operator=(KexOwner&&) noexcept = default;
KexOwner::~KexOwner() = default;

KexOwner KexOwner::start(KexSuite suite) {
  const SuiteParams& p = params(suite);
  auto impl = std::make_unique<Impl>();
  impl->suite = suite;
  switch (p.kind) {
    case KexKind::Ecdh:
      impl->ec_key.emplace(PrivateKey::generate(p.key_type));
      impl->owner_random = owner_random(p.random_size);
      break;
    case KexKind::Dh:
      impl->dh_exponent = dh_exponent(p.group);
      impl->dh.emplace(DhKeyPair::from_private_exponent(p.group, impl->dh_exponent.view()));
      break;
    case KexKind::Asym:
      impl->owner_random = owner_random(p.random_size);
      break;
  }
  return KexOwner(std::move(impl));
}

KexSuite KexOwner::suite() const {
  return m_impl->suite;
}

Bytes KexOwner::xa() const {
  const SuiteParams& p = params(m_impl->suite);
  switch (p.kind) {
    case KexKind::Ecdh:
      return write_ecdh_param(m_impl->ec_key->public_key(), m_impl->owner_random);
    case KexKind::Dh:
      return m_impl->dh->public_value();
    case KexKind::Asym:
      return m_impl->owner_random;
  }
  throw_internal("key exchange: unknown suite kind");
}

// Saved form: version (1) ‖ suite index ‖ u16 len ‖ private state ‖ u16 len ‖ OwnerRandom, where the
// private state is the ECDH key pair as scalar ‖ X ‖ Y (PrivateKey::ec_key_pair_bytes: rebuilt without OpenSSL's
// decoder framework, which cost a sixth of the owner's CPU per P-256 onboarding, docs/performance.md), the DH
// exponent, or empty for ASYMKEX.
SecretBytes KexOwner::save() const {
  const SuiteParams& p = params(m_impl->suite);
  SecretBytes key_bytes;
  ByteView priv;
  if (p.kind == KexKind::Ecdh) {
    key_bytes = m_impl->ec_key->ec_key_pair_bytes();
    priv = key_bytes.view();
  } else if (p.kind == KexKind::Dh) {
    priv = m_impl->dh_exponent.view();
  }
  Bytes out;
  // Reserved up front so that no reallocation leaves a copy of the key behind.
  out.reserve(6 + priv.size() + m_impl->owner_random.size());
  out.push_back(kSaveVersion);
  out.push_back(static_cast<std::uint8_t>(m_impl->suite));
  put_u16(out, priv.size());
  append(out, priv);
  put_u16(out, m_impl->owner_random.size());
  append(out, m_impl->owner_random);
  return SecretBytes(std::move(out));
}

KexOwner KexOwner::restore(ByteView saved) {
  static constexpr std::string_view kBad = "saved key-exchange state does not decode";
  if (saved.size() < 2 || saved[0] != kSaveVersion || saved[1] >= kSuites.size()) {
    throw_internal(std::string(kBad));
  }
  const SuiteParams& p = kSuites[saved[1]];
  FieldReader r(saved.subspan(2));
  const std::optional<ByteView> priv = r.next();
  const std::optional<ByteView> random = r.next();
  if (!priv || !random || !r.at_end() || random->size() != p.random_size) {
    throw_internal(std::string(kBad));
  }
  auto impl = std::make_unique<Impl>();
  impl->suite = p.suite;
  impl->owner_random.assign(random->begin(), random->end());
  try {
    switch (p.kind) {
      case KexKind::Ecdh:
        impl->ec_key.emplace(PrivateKey::from_ec_key_pair_bytes(p.key_type, *priv));
        break;
      case KexKind::Dh:
        impl->dh_exponent = SecretBytes(*priv);
        impl->dh.emplace(DhKeyPair::from_private_exponent(p.group, impl->dh_exponent.view()));
        break;
      case KexKind::Asym:
        if (!priv->empty()) {
          throw_internal(std::string(kBad));
        }
        break;
    }
  } catch (const Error&) {
    throw_internal(std::string(kBad));
  }
  return KexOwner(std::move(impl));
}

// TO2.ProveDevice (64): the owner completes the exchange with xBKeyExchange.
KexSecret KexOwner::finish(ByteView xb, const PrivateKey* owner_key) const {
  static constexpr std::string_view kWhat = "TO2.ProveDevice xBKeyExchange";
  const SuiteParams& p = params(m_impl->suite);
  switch (p.kind) {
    case KexKind::Ecdh: {
      const EcdhParam device = read_ecdh_param(xb, p, kWhat);
      const SecretBytes shx = m_impl->ec_key->ecdh(device.key);
      return ecdh_secret(shx, device.random, m_impl->owner_random);
    }
    case KexKind::Dh:
      return dh_secret(*m_impl->dh, xb, kWhat);
    case KexKind::Asym: {
      if (owner_key == nullptr || owner_key->type() != p.key_type) {
        throw_internal(std::string(p.name) + " needs the owner's " + std::string(key_type_name(p.key_type)) +
                       " private key");
      }
      SecretBytes device_random;
      try {
        device_random = owner_key->rsa_oaep_decrypt(xb);
      } catch (const Error&) {
        throw_invalid(std::string(kAsymFailure));
      }
      if (device_random.size() != p.random_size) {
        throw_invalid(std::string(kAsymFailure));
      }
      return KexSecret{std::move(device_random), m_impl->owner_random};
    }
  }
  throw_internal("key exchange: unknown suite kind");
}

// ---- Device side ----

// TO2.ProveOVHdr (61) → TO2.ProveDevice (64): the device answers xAKeyExchange with xBKeyExchange.
DeviceKex device_kex(KexSuite suite, ByteView xa, const PublicKey& owner_key) {
  static constexpr std::string_view kWhat = "TO2.ProveOVHdr xAKeyExchange";
  const SuiteParams& p = params(suite);
  switch (p.kind) {
    case KexKind::Ecdh: {
      const EcdhParam owner = read_ecdh_param(xa, p, kWhat);
      const PrivateKey own = PrivateKey::generate(p.key_type);
      const Bytes device_random = random_bytes(p.random_size);
      const SecretBytes shx = own.ecdh(owner.key);
      return DeviceKex{write_ecdh_param(own.public_key(), device_random),
                       ecdh_secret(shx, device_random, owner.random)};
    }
    case KexKind::Dh: {
      const DhKeyPair own = DhKeyPair::generate(p.group);
      KexSecret secret = dh_secret(own, xa, kWhat);
      return DeviceKex{own.public_value(), std::move(secret)};
    }
    case KexKind::Asym: {
      if (xa.size() != p.random_size) {
        throw_invalid(std::string(kWhat) + ": OwnerRandom of " + std::to_string(xa.size()) + " bytes, " +
                      std::string(p.name) + " uses " + std::to_string(p.random_size));
      }
      if (!kex_suits_owner_key(suite, owner_key)) {
        throw_invalid(std::string(p.name) + " needs an " + std::string(key_type_name(p.key_type)) +
                      " owner key, the owner key is " + std::string(key_type_name(owner_key.type())));
      }
      SecretBytes device_random(random_bytes(p.random_size));
      Bytes xb = rsa_oaep_encrypt(owner_key, device_random.view());
      return DeviceKex{std::move(xb), KexSecret{std::move(device_random), Bytes(xa.begin(), xa.end())}};
    }
  }
  throw_internal("key exchange: unknown suite kind");
}

}  // namespace fdo::crypto
