#pragma once
// FDO cipher suites and the TO2 session key derivation (FDO 1.1 §3.6.4, §3.6.5): NIST SP 800-108
// counter-mode KDF with HMAC-SHA256/384, and the split into SEVK or SEK and SVK.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/aes.h"
#include "libfdo/crypto/hash.h"

namespace fdo::crypto {

/// cipherSuiteName of TO2.HelloDevice (FDO 1.1 §3.6.5). Values are the wire ids: COSE ids for GCM
/// and CCM (RFC 9053), FDO's own negative ids for the encrypt-then-MAC suites (FDO 1.1 Appendix E).
enum class CipherSuite : std::int64_t {
  A128GCM = 1,
  A256GCM = 3,
  AesCcm16_128_128 = 30,
  AesCcm16_128_256 = 31,
  AesCcm64_128_128 = 32,
  AesCcm64_128_256 = 33,
  Aes128CbcHmacSha256 = -17760703,
  Aes128CtrHmacSha256 = -17760704,
  Aes256CbcHmacSha384 = -17760705,
  Aes256CtrHmacSha384 = -17760706,
};

/// Everything FDO fixes about one cipher suite (FDO 1.1 §3.6.5 table).
struct CipherSuiteInfo {
  CipherSuite suite;
  /// The spec's name ("A128GCM", "AES-CCM-64-128-128", "AES128/CTR/HMAC-SHA256", ...).
  std::string_view name;
  AesMode mode;
  /// SEVK (AEAD suites) or SEK size in bytes.
  std::size_t key_size;
  /// SVK size in bytes; 0 for the AEAD suites.
  std::size_t mac_key_size;
  /// PRF of the session KDF (FDO 1.1 §3.6.4).
  HashAlg kdf_prf;
  /// L, the KDF output length in bits: 8 * (key_size + mac_key_size).
  std::size_t kdf_bits;
  /// Nonce / IV size in bytes carried in COSE header 5.
  std::size_t iv_size;
  /// AEAD tag or ETM HMAC output size in bytes.
  std::size_t tag_size;
  /// The ETM HMAC (COSE_Mac0 alg 5 or 6); nullopt for the AEAD suites.
  std::optional<HashAlg> etm_mac;
};

/// The suite with wire id `id`; nullopt for ids FDO does not define (including go-fdo's 2).
std::optional<CipherSuite> cipher_suite_from_id(std::int64_t id);
/// The wire id of a suite.
std::int64_t cipher_suite_id(CipherSuite suite);
/// The spec's name of a suite (FDO 1.1 §3.6.5).
std::string_view cipher_suite_name(CipherSuite suite);
/// Parses a spec name (exact, case-sensitive); nullopt for anything else.
std::optional<CipherSuite> parse_cipher_suite(std::string_view name);
/// The fixed parameters of a suite.
const CipherSuiteInfo& cipher_suite_info(CipherSuite suite);
/// True for the GCM and CCM suites (one COSE_Encrypt0, FDO 1.1 §4.4); false for CTR/CBC + HMAC.
bool is_aead(CipherSuite suite);

/// The FDO session KDF, FDO 1.1 §3.6.4: NIST SP 800-108 counter mode, PRF = HMAC(`prf`) keyed with
/// ShSe, 8-bit counter before the fixed input, for i = 1..ceil(L/h):
///   K(i) = HMAC(ShSe, [i]_1 ‖ "FIDO-KDF" ‖ 0x00 ‖ "AutomaticOnboardTunnel" ‖ ContextRand ‖ [L]_2)
/// Returns the leftmost L bits (L / 8 bytes). `l_bits` must be a positive multiple of 8 needing at
/// most 255 blocks, and `shse` must not be empty; otherwise Error(InternalServerError).
SecretBytes session_kdf(HashAlg prf, ByteView shse, ByteView context_rand, std::size_t l_bits);

/// The TO2 session keys (FDO 1.1 §3.6.4).
struct SessionKeys {
  /// SEVK for the AEAD suites, SEK for the CTR/CBC suites.
  SecretBytes encryption_key;
  /// SVK for the CTR/CBC suites; empty for the AEAD suites.
  SecretBytes mac_key;
};

/// Runs session_kdf with the suite's PRF and L and splits the output: the whole output is SEVK for
/// AEAD suites; otherwise SEK = the first key_size bytes, SVK = the rest (FDO 1.1 §3.6.4; SEK
/// first: docs/interop.md "ctr-cbc-key-split"). `shse` and `context_rand` as FDO 1.1 §3.6.
SessionKeys derive_session_keys(CipherSuite suite, ByteView shse, ByteView context_rand);

}  // namespace fdo::crypto
