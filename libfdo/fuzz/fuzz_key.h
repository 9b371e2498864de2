#pragma once
// The fixed P-256 key, nonce and GUID of the fuzz targets that verify signatures (eat_verify, cose_sign1) and of
// make_fuzz_seeds, which signs their valid seeds with it. A throwaway test key, made for this purpose only; it
// guards nothing.

#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/crypto/keys.h"

namespace fdo::fuzz {

inline constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgiVXcjePuj1s2tl8F\n"
    "8kugEZv18R4+cvHsyxCOCRoaorOhRANCAASp/2XRR0RNomgO3gogjYxxPOST6Pq/\n"
    "VuZ3J7wGHYGu5itZyv5aWymdNeQh+CInmAObLHSVcKXYqsM21fX159Su\n"
    "-----END PRIVATE KEY-----\n";

/// The fixed private key (make_fuzz_seeds only).
inline const crypto::PrivateKey& private_key() {
  static const crypto::PrivateKey key = crypto::PrivateKey::from_pem(kKeyPem);
  return key;
}

/// The fixed key's public half, which the targets verify with.
inline const crypto::PublicKey& public_key() {
  static const crypto::PublicKey key = private_key().public_key();
  return key;
}

/// The nonce and GUID an EAT seed carries and eat_verify expects.
inline Nonce nonce() { return Nonce::from(Bytes(16, 0x11)); }
inline Guid guid() { return Guid::from(Bytes(16, 0x22)); }

}  // namespace fdo::fuzz
