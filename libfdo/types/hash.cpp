#include "libfdo/types/hash.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

namespace fdo {

std::optional<HashType> hash_type_from_id(std::int64_t id) {
  switch (id) {
    case static_cast<std::int64_t>(HashType::Sha256):
      return HashType::Sha256;
    case static_cast<std::int64_t>(HashType::Sha384):
      return HashType::Sha384;
    case static_cast<std::int64_t>(HashType::HmacSha256):
      return HashType::HmacSha256;
    case static_cast<std::int64_t>(HashType::HmacSha384):
      return HashType::HmacSha384;
    default:
      return std::nullopt;
  }
}

std::size_t hash_type_size(HashType type) {
  return crypto::digest_size(hash_alg_of(type));
}

bool is_hmac(HashType type) {
  return type == HashType::HmacSha256 || type == HashType::HmacSha384;
}

crypto::HashAlg hash_alg_of(HashType type) {
  return (type == HashType::Sha384 || type == HashType::HmacSha384) ? crypto::HashAlg::Sha384 : crypto::HashAlg::Sha256;
}

std::string_view hash_type_name(HashType type) {
  switch (type) {
    case HashType::Sha256:
      return "SHA256";
    case HashType::Sha384:
      return "SHA384";
    case HashType::HmacSha256:
      return "HMAC-SHA256";
    case HashType::HmacSha384:
      return "HMAC-SHA384";
  }
  return "?";
}

HashType hash_type_for(crypto::HashAlg alg) {
  return alg == crypto::HashAlg::Sha384 ? HashType::Sha384 : HashType::Sha256;
}

HashType hmac_type_for(crypto::HashAlg alg) {
  return alg == crypto::HashAlg::Sha384 ? HashType::HmacSha384 : HashType::HmacSha256;
}

Hash::Hash() : m_type(HashType::Sha256), m_value(32, 0) {}

Hash::Hash(HashType type, Bytes value) : m_type(type), m_value(std::move(value)) {
  if (m_value.size() != hash_type_size(type)) {
    throw_body_error("Hash: " + std::string(hash_type_name(type)) + " needs " + std::to_string(hash_type_size(type)) +
                     " bytes, got " + std::to_string(m_value.size()));
  }
}

Hash Hash::compute(HashType type, ByteView data) {
  if (is_hmac(type)) {
    throw_internal("Hash::compute: " + std::string(hash_type_name(type)) + " needs a key");
  }
  return Hash(type, crypto::hash(hash_alg_of(type), data));
}

Hash Hash::compute_hmac(HashType type, const SecretBytes& key, ByteView data) {
  if (!is_hmac(type)) {
    throw_internal("Hash::compute_hmac: " + std::string(hash_type_name(type)) + " is not an HMAC");
  }
  return Hash(type, crypto::hmac(hash_alg_of(type), key.view(), data));
}

Hash Hash::decode(cbor::Reader& in, std::string_view field, HashKind kind) {
  const std::string f(field);
  in.read_array_of(f, 2);
  const std::int64_t id = in.read_int(f + "[0] hashtype");
  const std::optional<HashType> type = hash_type_from_id(id);
  // docs/interop.md "hashtype-strict": any other hashtype, or a length that does not fit it, is 100.
  if (!type) {
    in.fail(f + "[0] hashtype", "expected -16, -43, 5 or 6, got " + std::to_string(id));
  }
  if (kind == HashKind::Digest && is_hmac(*type)) {
    in.fail(f + "[0] hashtype", "expected SHA256 (-16) or SHA384 (-43), got " + std::to_string(id));
  }
  if (kind == HashKind::Hmac && !is_hmac(*type)) {
    in.fail(f + "[0] hashtype", "expected HMAC-SHA256 (5) or HMAC-SHA384 (6), got " + std::to_string(id));
  }
  Bytes value = in.read_bstr_size(f + "[1] hash", hash_type_size(*type));
  return Hash(*type, std::move(value));
}

Hash Hash::decode(ByteView in, std::string_view field, HashKind kind) {
  cbor::Reader r(in, field);
  Hash out = decode(r, "", kind);
  r.expect_end();
  return out;
}

void Hash::encode(cbor::Writer& out) const {
  out.array(2).int_(static_cast<std::int64_t>(m_type)).bstr(m_value);
}

Bytes Hash::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

std::string Hash::hex() const {
  return to_hex(m_value);
}

bool Hash::matches(ByteView data) const {
  if (is_hmac(m_type)) {
    return false;
  }
  return constant_time_equal(crypto::hash(hash_alg_of(m_type), data), m_value);
}

bool Hash::verify_hmac(const SecretBytes& key, ByteView data) const {
  if (!is_hmac(m_type)) {
    return false;
  }
  return constant_time_equal(crypto::hmac(hash_alg_of(m_type), key.view(), data), m_value);
}

bool Hash::operator==(const Hash& other) const {
  return m_type == other.m_type && constant_time_equal(m_value, other.m_value);
}

}  // namespace fdo
