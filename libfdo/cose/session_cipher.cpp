#include "libfdo/cose/session_cipher.h"

#include <string>
#include <string_view>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/random.h"
#include "libfdo/cose/encrypt0.h"
#include "libfdo/cose/mac0.h"
#include "libfdo/crypto/aes.h"

namespace fdo::cose {
namespace {

/// The one text of every authentication failure, so the peer cannot tell which step failed
/// (FDO 1.1 §4.4).
constexpr std::string_view kDecryptFailure = "TO2 encrypted message: decryption failed";

/// CTR IV = 12-byte nonce ‖ 4-byte big-endian block counter (FDO 1.1 §3.6.5).
constexpr std::size_t kCtrNonceSize = 12;
constexpr std::uint64_t kCtrCounterLimit = std::uint64_t{1} << 32;

constexpr std::uint8_t kSaveVersion = 1;

bool is_ctr(crypto::CipherSuite suite) {
  return crypto::cipher_suite_info(suite).mode == crypto::AesMode::Ctr;
}

void put_be(Bytes& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = width; i > 0; --i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * (i - 1))));
  }
}

void append(Bytes& out, ByteView v) {
  out.insert(out.end(), v.begin(), v.end());
}

/// Reads the saved form; every shortfall is the same InternalServerError.
class SavedReader {
 public:
  explicit SavedReader(ByteView in) : m_in(in) {}
  std::uint64_t be(std::size_t width) {
    const ByteView b = take(width);
    std::uint64_t v = 0;
    for (const std::uint8_t byte : b) {
      v = (v << 8) | byte;
    }
    return v;
  }
  ByteView take(std::size_t n) {
    if (m_in.size() - m_pos < n) {
      bad();
    }
    const ByteView out = m_in.subspan(m_pos, n);
    m_pos += n;
    return out;
  }
  void expect_end() const {
    if (m_pos != m_in.size()) {
      bad();
    }
  }
  [[noreturn]] static void bad() { throw_internal("saved session cipher state does not decode"); }

 private:
  ByteView m_in;
  std::size_t m_pos = 0;
};

void check_keys(crypto::CipherSuite suite, const crypto::SessionKeys& keys) {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(suite);
  if (keys.encryption_key.size() != info.key_size || keys.mac_key.size() != info.mac_key_size) {
    throw_internal("session cipher: keys of " + std::to_string(keys.encryption_key.size()) + " + " +
                   std::to_string(keys.mac_key.size()) + " bytes do not fit " + std::string(info.name));
  }
}

}  // namespace

SessionCipher::SessionCipher(crypto::CipherSuite suite, crypto::SessionKeys keys)
    : SessionCipher(suite, std::move(keys), is_ctr(suite) ? random_bytes(kCtrNonceSize) : Bytes{}, 0) {}

SessionCipher::SessionCipher(crypto::CipherSuite suite, crypto::SessionKeys keys, Bytes ctr_nonce,
                             std::uint64_t ctr_counter)
    : m_suite(suite), m_keys(std::move(keys)), m_ctr_nonce(std::move(ctr_nonce)), m_ctr_counter(ctr_counter) {
  check_keys(m_suite, m_keys);
}

Bytes SessionCipher::encrypt(ByteView plaintext) {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(m_suite);
  switch (info.mode) {
    case crypto::AesMode::Gcm:
    case crypto::AesMode::Ccm:
      return Encrypt0::encrypt(m_suite, m_keys.encryption_key, plaintext).encode();
    case crypto::AesMode::Cbc:
      return etm_encrypt(m_suite, m_keys, plaintext, random_bytes(crypto::kAesBlockSize)).encode();
    case crypto::AesMode::Ctr: {
      const std::uint64_t blocks = (plaintext.size() + crypto::kAesBlockSize - 1) / crypto::kAesBlockSize;
      // The counter must not wrap into the nonce or repeat a keystream block.
      if (blocks > kCtrCounterLimit - m_ctr_counter) {
        throw_internal("session cipher: the AES-CTR block counter of this session is used up");
      }
      Bytes iv = m_ctr_nonce;
      put_be(iv, m_ctr_counter, 4);
      Bytes out = etm_encrypt(m_suite, m_keys, plaintext, iv).encode();
      m_ctr_counter += blocks;
      return out;
    }
  }
  throw_internal("session cipher: unknown AES mode");
}

Bytes SessionCipher::decrypt(ByteView message, const Leniency& leniency) const {
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(m_suite);
  const std::int64_t suite_id = crypto::cipher_suite_id(m_suite);
  if (crypto::is_aead(m_suite)) {
    // EMBlock: one COSE_Encrypt0, else 100.
    const Encrypt0 em = Encrypt0::decode(message, "TO2 EncryptedMessage", leniency);
    if (em.alg() != suite_id) {
      throw_invalid("TO2 EncryptedMessage: alg " + std::to_string(em.alg()) + " is not the negotiated cipher suite " +
                    std::string(info.name));
    }
    if (em.iv().size() != info.iv_size) {
      throw_body_error("TO2 EncryptedMessage: IV of " + std::to_string(em.iv().size()) + " bytes, " +
                       std::string(info.name) + " uses " + std::to_string(info.iv_size));
    }
    try {
      return em.decrypt(m_suite, m_keys.encryption_key);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::InvalidMessageError) {
        throw;
      }
      throw_invalid(std::string(kDecryptFailure));
    }
  }
  // ETMOuterBlock: one COSE_Mac0, else 100; its alg must be the suite's HMAC.
  const Mac0 outer = Mac0::decode(message, "TO2 EncryptedMessage", leniency);
  const std::int64_t mac_alg = *info.etm_mac == crypto::HashAlg::Sha384 ? static_cast<std::int64_t>(MacAlg::HmacSha384)
                                                                        : static_cast<std::int64_t>(MacAlg::HmacSha256);
  if (outer.alg() != mac_alg) {
    throw_invalid("TO2 EncryptedMessage: COSE_Mac0 alg " + std::to_string(outer.alg()) + " is not the HMAC of " +
                  std::string(info.name));
  }
  // etm_decrypt checks the MAC first, then the inner block (100), its alg and IV, then decrypts.
  try {
    return etm_decrypt(outer, m_suite, m_keys);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::InvalidMessageError) {
      throw;
    }
    throw_invalid(std::string(kDecryptFailure));
  }
}

// Saved form: version (1) ‖ suite id (8 bytes BE, two's complement) ‖ u16 len ‖ SEVK or SEK ‖ u16 len ‖ SVK ‖
// u8 len ‖ CTR nonce ‖ CTR counter (8 bytes BE).
SecretBytes SessionCipher::save() const {
  const ByteView key = m_keys.encryption_key.view();
  const ByteView mac = m_keys.mac_key.view();
  Bytes out;
  // Reserved up front so that no reallocation leaves a copy of a key behind.
  out.reserve(1 + 8 + 2 + key.size() + 2 + mac.size() + 1 + m_ctr_nonce.size() + 8);
  out.push_back(kSaveVersion);
  put_be(out, static_cast<std::uint64_t>(crypto::cipher_suite_id(m_suite)), 8);
  put_be(out, key.size(), 2);
  append(out, key);
  put_be(out, mac.size(), 2);
  append(out, mac);
  put_be(out, m_ctr_nonce.size(), 1);
  append(out, m_ctr_nonce);
  put_be(out, m_ctr_counter, 8);
  return SecretBytes(std::move(out));
}

SessionCipher SessionCipher::restore(ByteView saved) {
  SavedReader r(saved);
  if (r.be(1) != kSaveVersion) {
    SavedReader::bad();
  }
  const std::optional<crypto::CipherSuite> suite = crypto::cipher_suite_from_id(static_cast<std::int64_t>(r.be(8)));
  if (!suite) {
    SavedReader::bad();
  }
  crypto::SessionKeys keys;
  keys.encryption_key = SecretBytes(r.take(r.be(2)));
  keys.mac_key = SecretBytes(r.take(r.be(2)));
  const ByteView nonce = r.take(r.be(1));
  const std::uint64_t counter = r.be(8);
  r.expect_end();
  const crypto::CipherSuiteInfo& info = crypto::cipher_suite_info(*suite);
  const std::size_t nonce_size = is_ctr(*suite) ? kCtrNonceSize : 0;
  if (keys.encryption_key.size() != info.key_size || keys.mac_key.size() != info.mac_key_size ||
      nonce.size() != nonce_size || counter > (is_ctr(*suite) ? kCtrCounterLimit : 0)) {
    SavedReader::bad();
  }
  return SessionCipher(*suite, std::move(keys), Bytes(nonce.begin(), nonce.end()), counter);
}

}  // namespace fdo::cose
