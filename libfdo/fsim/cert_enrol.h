#pragma once
// What AsymKey and fdo.csr share (docs/service-info.md "AsymKey", "fdo.csr"): the owner's signing of a device CSR
// (the device-application CA of OwnerContext, or an external command), the device's storage of a key and its
// certificates under the device root, cutting objects into <= 1 KiB parts, and PKCS#7 certs-only (RFC 2315 §9.1,
// RFC 5652 §5, as EST's application/pkcs7-mime certs-only, RFC 7030 §4.1.3).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {

/// Largest object part in one KV of our modules (docs/service-info.md "AsymKey").
inline constexpr std::size_t kMaxPart = 1024;

/// How the owner signs CSRs; from the plan parameters `sign_command` (argv) and `validity_days`.
struct CsrSigner {
  /// Reads and checks the parameters at plan load: without sign_command the OwnerContext must have a CA key and
  /// certificate; a sign_command path with a '/' (relative to the plan directory) must be an executable file.
  /// Error(MessageBodyError) naming the module otherwise.
  static CsrSigner from_params(const serviceinfo::ModuleParams& params, const OwnerContext& context);

  std::vector<std::string> sign_command;
  int validity_days = 365;
  std::chrono::seconds timeout{60};
};

/// The result of signing one CSR: a leaf and its chain (issuer first), or why not.
struct Issued {
  std::optional<crypto::Certificate> leaf;
  std::vector<crypto::Certificate> chain;
  std::string error;
  /// The CSR itself was bad (does not parse, signature wrong, wrong key type), not the signer.
  bool bad_request = false;
};

/// Verifies `csr_der` (PKCS#10, RFC 2986: its self-signature proves possession of the key) and, if `want` is given,
/// its key type; then signs it with the CA of `context` or `signer.sign_command` (CSR DER on stdin, certificate PEM
/// or DER on stdout; more PEM certificates are the chain). The leaf must carry the CSR's key. Never throws for the
/// CSR's or the signer's failure.
Issued sign_csr(const CsrSigner& signer, const OwnerContext& context, ByteView csr_der,
                std::optional<crypto::KeyType> want = std::nullopt);

/// The common name in an RFC 2253 / RFC 4514 subject ("CN=dev-1,O=x" → "dev-1"); empty when there is none.
std::string common_name_of(std::string_view subject);

/// AsymKey's curve names ("secp256r1", "secp384r1", "rsa2048", "rsa3072"); nullopt for others.
std::optional<crypto::KeyType> parse_curve(std::string_view name);
std::string_view curve_name(crypto::KeyType type);

/// `object` cut into parts of at most kMaxPart bytes (one part for a small object, none for an empty one).
std::vector<Bytes> split_parts(ByteView object);

/// Collects indexed parts `part` of `parts` in order; complete() once the last arrived.
class PartCollector {
 public:
  PartCollector() = default;
  /// Continues a saved collector (owner state).
  PartCollector(Bytes data, std::uint64_t next, std::uint64_t parts)
      : m_data(std::move(data)), m_next(next), m_parts(parts) {}
  [[nodiscard]] std::uint64_t next() const { return m_next; }
  [[nodiscard]] std::uint64_t parts() const { return m_parts; }
  /// Adds one part; false (and a reset) for a part out of order or a changed total.
  bool add(std::uint64_t part, std::uint64_t parts, ByteView data);
  [[nodiscard]] bool complete() const { return m_parts != 0 && m_next == m_parts; }
  [[nodiscard]] const Bytes& data() const { return m_data; }
  void reset() { *this = PartCollector(); }

 private:
  Bytes m_data;
  std::uint64_t m_next = 0;
  std::uint64_t m_parts = 0;
};

/// A DER PKCS#7 SignedData "certs-only" (no content, no signers) holding `certs`.
Bytes pkcs7_certs_only(const std::vector<crypto::Certificate>& certs);
/// The certificates of a PKCS#7 certs-only structure; Error(MessageBodyError) if it is not one.
std::vector<crypto::Certificate> parse_pkcs7_certs(ByteView der);

/// Stores an enrolled key under the device root: `dir`/key.pem (0600, PKCS#8) or key.tpm (app_key.h), `dir`/cert.pem
/// (the leaf) and, when `chain` is not empty, `dir`/chain.pem, as one unit: they are written into a new generation
/// directory and `dir`, a symlink to it, is switched with one rename (other files of the slot move along).
/// Returns the key file of the generation it replaced, if any. Error(InvalidMessageError) when `dir` leads outside
/// the root, Error(InternalServerError) when a write fails.
std::optional<StoredKey> store_enrolled(const DeviceContext& context, std::string_view dir, const StoredKey& key,
                                        const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& chain);

/// The factory of `context` (software when it names none).
AppKeyFactory& app_keys_of(const DeviceContext& context);

}  // namespace fdo::fsim
