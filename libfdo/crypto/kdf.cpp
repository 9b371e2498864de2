#include "libfdo/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <string>

#include "libfdo/core/error.h"
#include "libfdo/crypto/internal/ossl.h"

namespace fdo::crypto {
namespace {

using internal::EvpMacCtxPtr;
using internal::EvpMacPtr;

// FDO 1.1 §3.6.5. SVK sizes 32 / 64 are what Java PRI, go-fdo and the conformance tools use.
constexpr std::array<CipherSuiteInfo, 10> kSuites{{
    {CipherSuite::A128GCM, "A128GCM", AesMode::Gcm, 16, 0, HashAlg::Sha256, 128, 12, 16, std::nullopt},
    {CipherSuite::A256GCM, "A256GCM", AesMode::Gcm, 32, 0, HashAlg::Sha256, 256, 12, 16, std::nullopt},
    {CipherSuite::AesCcm16_128_128, "AES-CCM-16-128-128", AesMode::Ccm, 16, 0, HashAlg::Sha256, 128, 13, 16,
     std::nullopt},
    {CipherSuite::AesCcm16_128_256, "AES-CCM-16-128-256", AesMode::Ccm, 32, 0, HashAlg::Sha256, 256, 13, 16,
     std::nullopt},
    {CipherSuite::AesCcm64_128_128, "AES-CCM-64-128-128", AesMode::Ccm, 16, 0, HashAlg::Sha256, 128, 7, 16,
     std::nullopt},
    {CipherSuite::AesCcm64_128_256, "AES-CCM-64-128-256", AesMode::Ccm, 32, 0, HashAlg::Sha256, 256, 7, 16,
     std::nullopt},
    {CipherSuite::Aes128CbcHmacSha256, "AES128/CBC/HMAC-SHA256", AesMode::Cbc, 16, 32, HashAlg::Sha256, 384, 16, 32,
     HashAlg::Sha256},
    {CipherSuite::Aes128CtrHmacSha256, "AES128/CTR/HMAC-SHA256", AesMode::Ctr, 16, 32, HashAlg::Sha256, 384, 16, 32,
     HashAlg::Sha256},
    {CipherSuite::Aes256CbcHmacSha384, "AES256/CBC/HMAC-SHA384", AesMode::Cbc, 32, 64, HashAlg::Sha384, 768, 16, 48,
     HashAlg::Sha384},
    {CipherSuite::Aes256CtrHmacSha384, "AES256/CTR/HMAC-SHA384", AesMode::Ctr, 32, 64, HashAlg::Sha384, 768, 16, 48,
     HashAlg::Sha384},
}};

constexpr bool table_consistent() {
  for (const CipherSuiteInfo& s : kSuites) {
    if (s.kdf_bits != 8 * (s.key_size + s.mac_key_size)) {
      return false;
    }
    if ((s.mac_key_size == 0) != !s.etm_mac.has_value()) {
      return false;
    }
  }
  return true;
}
static_assert(table_consistent(), "cipher suite table: L must cover the keys; ETM suites need a MAC");

// The fixed parts of the KDF input (FDO 1.1 §3.6.4): Label "FIDO-KDF", separator 0x00, and the
// start of Context. ASCII, no terminators.
constexpr std::string_view kLabel = "FIDO-KDF";
constexpr std::string_view kContextPrefix = "AutomaticOnboardTunnel";

const char* digest_name(HashAlg alg) { return alg == HashAlg::Sha256 ? "SHA256" : "SHA384"; }

/// Wipes a buffer of key material when it goes out of scope, also on an exception.
class WipeOnExit {
 public:
  explicit WipeOnExit(Bytes& buffer) : m_buffer(buffer) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() { OPENSSL_cleanse(m_buffer.data(), m_buffer.size()); }

 private:
  Bytes& m_buffer;
};

ByteView as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

}  // namespace

std::optional<CipherSuite> cipher_suite_from_id(std::int64_t id) {
  for (const CipherSuiteInfo& s : kSuites) {
    if (static_cast<std::int64_t>(s.suite) == id) {
      return s.suite;
    }
  }
  return std::nullopt;
}

std::int64_t cipher_suite_id(CipherSuite suite) { return static_cast<std::int64_t>(suite); }

std::string_view cipher_suite_name(CipherSuite suite) { return cipher_suite_info(suite).name; }

std::optional<CipherSuite> parse_cipher_suite(std::string_view name) {
  for (const CipherSuiteInfo& s : kSuites) {
    if (s.name == name) {
      return s.suite;
    }
  }
  return std::nullopt;
}

const CipherSuiteInfo& cipher_suite_info(CipherSuite suite) {
  for (const CipherSuiteInfo& s : kSuites) {
    if (s.suite == suite) {
      return s;
    }
  }
  throw_internal("unknown cipher suite id " + std::to_string(static_cast<std::int64_t>(suite)));
}

bool is_aead(CipherSuite suite) { return !cipher_suite_info(suite).etm_mac.has_value(); }

SecretBytes session_kdf(HashAlg prf, ByteView shse, ByteView context_rand, std::size_t l_bits) {
  if (shse.empty()) {
    throw_internal("session KDF: ShSe is empty");
  }
  const std::size_t h_bits = prf == HashAlg::Sha256 ? 256 : 384;
  const std::size_t blocks = (l_bits + h_bits - 1) / h_bits;
  // [L]_2 holds L and [i]_1 holds the block number, so both are bounded.
  if (l_bits == 0 || l_bits % 8 != 0 || l_bits > 0xFFFF || blocks > 0xFF) {
    throw_internal("session KDF: unsupported output length of " + std::to_string(l_bits) + " bits");
  }

  const EvpMacPtr mac(internal::check_ptr(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "EVP_MAC_fetch(HMAC)"));
  const EvpMacCtxPtr ctx(internal::check_ptr(EVP_MAC_CTX_new(mac.get()), "EVP_MAC_CTX_new"));
  std::string digest = digest_name(prf);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_end(),
  };

  const std::uint8_t l_be[2] = {static_cast<std::uint8_t>(l_bits >> 8), static_cast<std::uint8_t>(l_bits & 0xFF)};
  const std::uint8_t separator = 0x00;
  Bytes out(blocks * (h_bits / 8));
  const WipeOnExit wipe_out(out);
  for (std::size_t i = 1; i <= blocks; ++i) {
    const std::uint8_t counter = static_cast<std::uint8_t>(i);
    internal::check(EVP_MAC_init(ctx.get(), shse.data(), shse.size(), params), "EVP_MAC_init");
    // K(i) = HMAC(ShSe, [i]_1 ‖ "FIDO-KDF" ‖ 0x00 ‖ "AutomaticOnboardTunnel" ‖ ContextRand ‖ [L]_2)
    const ByteView pieces[] = {
        ByteView(&counter, 1), as_bytes(kLabel), ByteView(&separator, 1), as_bytes(kContextPrefix),
        context_rand,          ByteView(l_be, 2),
    };
    for (const ByteView piece : pieces) {
      if (!piece.empty()) {
        internal::check(EVP_MAC_update(ctx.get(), piece.data(), piece.size()), "EVP_MAC_update");
      }
    }
    std::size_t written = 0;
    std::uint8_t* const block = out.data() + (i - 1) * (h_bits / 8);
    internal::check(EVP_MAC_final(ctx.get(), block, &written, h_bits / 8), "EVP_MAC_final");
    if (written != h_bits / 8) {
      throw_internal("session KDF: HMAC returned " + std::to_string(written) + " bytes");
    }
  }
  // The leftmost L bits.
  return SecretBytes(ByteView(out).first(l_bits / 8));
}

SessionKeys derive_session_keys(CipherSuite suite, ByteView shse, ByteView context_rand) {
  const CipherSuiteInfo& info = cipher_suite_info(suite);
  const SecretBytes km = session_kdf(info.kdf_prf, shse, context_rand, info.kdf_bits);
  SessionKeys keys;
  keys.encryption_key = SecretBytes(km.view().first(info.key_size));
  if (info.mac_key_size > 0) {
    keys.mac_key = SecretBytes(km.view().subspan(info.key_size, info.mac_key_size));
  }
  return keys;
}

}  // namespace fdo::crypto
