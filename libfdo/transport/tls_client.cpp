#include "libfdo/transport/internal/tls_client.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <exception>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/pem.h"
#include "libfdo/core/log.h"

namespace fdo::transport::internal {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return "unknown OpenSSL error";
  }
  std::array<char, 256> text{};
  ERR_error_string_n(e, text.data(), text.size());
  return text.data();
}

// The BIO reads `data` in place: it must outlive the BIO.
BioPtr memory_bio(const void* data, std::size_t size) {
  BioPtr bio(BIO_new_mem_buf(data, static_cast<int>(size)));
  if (!bio) {
    throw_internal("TLS: out of memory");
  }
  return bio;
}

// The CERTIFICATE blocks of `pem` (core/pem.h, the tree's one PEM reader), leaf first.
std::vector<X509Ptr> read_chain(const std::string& pem) {
  std::vector<X509Ptr> chain;
  for (const pem::Block& block : pem::read_blocks(pem)) {
    if (block.label != "CERTIFICATE") {
      continue;
    }
    const Bytes der = block.decode();
    const unsigned char* p = der.data();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != der.data() + der.size()) {
      throw_internal("TLS client certificate: the PEM block at line " + std::to_string(block.line) +
                     " is not one DER certificate: " + openssl_error());
    }
    chain.push_back(std::move(cert));
  }
  if (chain.empty()) {
    throw_internal("TLS client certificate: no PEM certificate in the chain");
  }
  return chain;
}

const EVP_MD* pin_digest(CertPin::Alg alg) { return alg == CertPin::Alg::Sha384 ? EVP_sha384() : EVP_sha256(); }

bool matches(X509* cert, const CertPin& pin) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(cert, pin_digest(pin.alg), md.data(), &len) != 1) {
    return false;
  }
  return pin.digest.size() == len && std::equal(pin.digest.begin(), pin.digest.end(), md.begin());
}

// FDO 1.1 §3.7 RVSvCertHash / RVClCertHash (docs/security.md "TLS"): replaces OpenSSL's chain verification for a
// pinned server. The leaf must hash to RVSvCertHash; some CA certificate the server presents must hash to
// RVClCertHash, and the leaf must verify up to it. A pin replaces the CA file and the host name check.
int verify_pins(X509_STORE_CTX* ctx, void* arg) {
  auto* state = static_cast<TlsClientState*>(arg);
  const HttpClientOptions& o = state->options;
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  STACK_OF(X509)* presented = X509_STORE_CTX_get0_untrusted(ctx);
  auto refuse = [&](std::string why) {
    state->pin_failure = std::move(why);
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
    return 0;
  };
  if (leaf == nullptr) {
    return refuse("the server presented no certificate");
  }
  if (o.server_cert_pin && !matches(leaf, *o.server_cert_pin)) {
    return refuse("the server certificate does not match its pin (RVSvCertHash)");
  }
  if (o.ca_cert_pin) {
    X509* anchor = nullptr;
    const int n = presented == nullptr ? 0 : sk_X509_num(presented);
    for (int i = 0; i < n && anchor == nullptr; ++i) {
      X509* c = sk_X509_value(presented, i);
      if (X509_cmp(c, leaf) != 0 && matches(c, *o.ca_cert_pin)) {
        anchor = c;
      }
    }
    if (anchor == nullptr) {
      return refuse("no CA certificate the server presented matches its pin (RVClCertHash)");
    }
    const StorePtr store(X509_STORE_new());
    const StoreCtxPtr check(X509_STORE_CTX_new());
    if (!store || !check || X509_STORE_add_cert(store.get(), anchor) != 1 ||
        X509_STORE_CTX_init(check.get(), store.get(), leaf, presented) != 1) {
      return refuse("cannot check the chain: " + openssl_error());
    }
    if (X509_verify_cert(check.get()) != 1) {
      return refuse(std::string("the server certificate does not verify up to the pinned CA (RVClCertHash): ") +
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(check.get())));
    }
  }
  X509_STORE_CTX_set_error(ctx, X509_V_OK);
  return 1;
}

// A key that stays in hardware, seen by OpenSSL as an EC key whose signing calls TlsClientIdentity::sign_digest.
// OpenSSL 3 signs with such a "foreign" legacy key through EC_KEY_METHOD (deprecated in 3.0, kept for exactly
// this: keys in engines and tokens); the alternative is a whole provider.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

int state_index() {
  static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

ECDSA_SIG* hardware_sign_sig(const unsigned char* digest, int digest_len, const BIGNUM* /*kinv*/,
                             const BIGNUM* /*r*/, EC_KEY* key) {
  const auto* state = static_cast<const TlsClientState*>(EC_KEY_get_ex_data(key, state_index()));
  if (state == nullptr || !state->options.identity || !state->options.identity->sign_digest || digest_len < 0) {
    return nullptr;
  }
  try {
    const Bytes rs = state->options.identity->sign_digest(ByteView(digest, static_cast<std::size_t>(digest_len)));
    if (rs.empty() || rs.size() % 2 != 0) {
      log::error("TLS: the hardware key gave a signature of " + std::to_string(rs.size()) + " bytes");
      return nullptr;
    }
    const int half = static_cast<int>(rs.size() / 2);
    BIGNUM* r = BN_bin2bn(rs.data(), half, nullptr);
    BIGNUM* s = BN_bin2bn(rs.data() + half, half, nullptr);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return nullptr;
    }
    return sig;
  } catch (const std::exception& e) {
    log::error(std::string("TLS: the hardware key cannot sign: ") + e.what());
    return nullptr;
  }
}

int hardware_sign(int /*type*/, const unsigned char* digest, int digest_len, unsigned char* out, unsigned int* out_len,
                  const BIGNUM* kinv, const BIGNUM* r, EC_KEY* key) {
  ECDSA_SIG* sig = hardware_sign_sig(digest, digest_len, kinv, r, key);
  if (sig == nullptr) {
    return 0;
  }
  unsigned char* p = out;
  const int n = i2d_ECDSA_SIG(sig, &p);
  ECDSA_SIG_free(sig);
  if (n <= 0) {
    return 0;
  }
  *out_len = static_cast<unsigned int>(n);
  return 1;
}

/// The leaf's public key, signing through `state`; also says which hash the curve signs with.
PkeyPtr hardware_key(X509* leaf, TlsClientState& state, std::string& sigalgs) {
  EVP_PKEY* pub = X509_get0_pubkey(leaf);
  if (pub == nullptr || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC) {
    throw_internal("TLS client certificate: a hardware key must be an EC key (P-256 or P-384)");
  }
  const int bits = EVP_PKEY_get_bits(pub);
  if (bits != 256 && bits != 384) {
    throw_internal("TLS client certificate: a hardware key must be P-256 or P-384, not " + std::to_string(bits) +
                   " bits");
  }
  // The TPM signs a digest of its curve's size: only the matching ECDSA hash is offered in the handshake.
  sigalgs = bits == 256 ? "ECDSA+SHA256" : "ECDSA+SHA384";
  EC_KEY_METHOD* method = EC_KEY_METHOD_new(EC_KEY_get_default_method());
  if (method == nullptr) {
    throw_internal("TLS: out of memory");
  }
  state.key_method = std::shared_ptr<void>(method, [](void* m) { EC_KEY_METHOD_free(static_cast<EC_KEY_METHOD*>(m)); });
  EC_KEY_METHOD_set_sign(method, hardware_sign, nullptr, hardware_sign_sig);
  EC_KEY* ec = EVP_PKEY_get1_EC_KEY(pub);
  if (ec == nullptr || EC_KEY_set_method(ec, method) != 1 || EC_KEY_set_ex_data(ec, state_index(), &state) != 1) {
    EC_KEY_free(ec);
    throw_internal("TLS: cannot set up the hardware key: " + openssl_error());
  }
  PkeyPtr key(EVP_PKEY_new());
  if (!key || EVP_PKEY_assign_EC_KEY(key.get(), ec) != 1) {
    EC_KEY_free(ec);
    throw_internal("TLS: cannot set up the hardware key: " + openssl_error());
  }
  return key;
}

#pragma GCC diagnostic pop

void use_identity(SSL_CTX* ctx, TlsClientState& state) {
  const TlsClientIdentity& id = *state.options.identity;
  std::vector<X509Ptr> chain = read_chain(id.cert_chain_pem);
  PkeyPtr key;
  std::string sigalgs;
  if (id.sign_digest) {
    key = hardware_key(chain.front().get(), state, sigalgs);
  } else {
    const BioPtr bio = memory_bio(id.key_pem.view().data(), id.key_pem.size());
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
      throw_internal("TLS client key: not a PEM private key: " + openssl_error());
    }
  }
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    throw_internal("TLS client certificate: the key does not match the certificate: " + openssl_error());
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      throw_internal("TLS client certificate chain: " + openssl_error());
    }
  }
  if (!sigalgs.empty() && SSL_CTX_set1_client_sigalgs_list(ctx, sigalgs.c_str()) != 1) {
    throw_internal("TLS: cannot restrict the client signature algorithms: " + openssl_error());
  }
}

}  // namespace

std::unique_ptr<httplib::SSLClient> make_tls_client(const std::string& host, int port, TlsClientState& state) {
  auto tls = std::make_unique<httplib::SSLClient>(host, port);
  if (!tls->is_valid()) {
    throw_internal("transport: cannot set up TLS for " + host + ":" + std::to_string(port));
  }
  const HttpClientOptions& o = state.options;
  SSL_CTX* ctx = tls->ssl_context();
  if (o.server_cert_pin || o.ca_cert_pin) {
    // The pins are the trust: OpenSSL's own chain check and cpp-httplib's host name check step aside.
    tls->enable_server_certificate_verification(false);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, verify_pins, &state);
  } else {
    if (!o.ca_file.empty()) {
      tls->set_ca_cert_path(o.ca_file);
    }
    // docs/interop.md "http-limits": TLS is verified normally, with an explicit insecure switch for labs.
    tls->enable_server_certificate_verification(!o.insecure_tls);
  }
  if (o.identity) {
    use_identity(ctx, state);
  }
  return tls;
}

std::string tls_failure(const TlsClientState& state, const std::string& fallback) {
  return state.pin_failure.empty() ? fallback : "TLS handshake failed: " + state.pin_failure;
}

}  // namespace fdo::transport::internal
