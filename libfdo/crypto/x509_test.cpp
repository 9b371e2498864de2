#include "libfdo/crypto/x509.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/internal/test_util.h"

namespace fdo::crypto {
namespace {

// Parameters of a certificate to make.
CertificateProfile profile(const std::string& common_name, const std::string& organization = "", bool is_ca = false) {
  CertificateProfile p;
  p.common_name = common_name;
  p.organization = organization;
  p.is_ca = is_ca;
  return p;
}

// A small PKI: root CA → intermediate CA → device leaf, all P-256 (fast to generate).
struct Pki {
  PrivateKey root_key = PrivateKey::generate(KeyType::P256);
  PrivateKey intermediate_key = PrivateKey::generate(KeyType::P256);
  PrivateKey leaf_key = PrivateKey::generate(KeyType::P256);
  Certificate root = make_self_signed(root_key, profile("Test Root", "Example"));
  Certificate intermediate =
      issue_certificate(root_key, root, intermediate_key.public_key(), profile("Test Device CA", "", true));
  Certificate leaf = issue_certificate(intermediate_key, intermediate, leaf_key.public_key(), profile("device-1"));
};

const Pki& pki() {
  static const Pki instance;
  return instance;
}

bool contains(ByteView haystack, ByteView needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

// The serial number of a certificate made by issue_certificate / make_self_signed: it follows the
// version field "a0 03 02 01 02" as "02 10 <16 bytes>".
Bytes serial_of(const Certificate& cert) {
  const Bytes der = cert.der();
  const Bytes marker = from_hex("a003020102");
  const auto it = std::search(der.begin(), der.end(), marker.begin(), marker.end());
  EXPECT_NE(it, der.end());
  const std::size_t at = static_cast<std::size_t>(it - der.begin()) + marker.size();
  EXPECT_EQ(der.at(at), 0x02);
  EXPECT_EQ(der.at(at + 1), 0x10);
  return Bytes(der.begin() + static_cast<std::ptrdiff_t>(at + 2), der.begin() + static_cast<std::ptrdiff_t>(at + 18));
}

std::string with_crlf(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out += '\r';
    }
    out += c;
  }
  return out;
}

// ---- Certificates ----

TEST(Certificate, SelfSignedCaHasNamesExtensionsAndKey) {
  const Certificate& root = pki().root;
  EXPECT_EQ(root.subject(), "CN=Test Root,O=Example");
  EXPECT_EQ(root.issuer(), root.subject());
  EXPECT_TRUE(root.is_signed_by(root));
  EXPECT_TRUE(root.public_key().same_key(pki().root_key.public_key()));
  const Bytes der = root.der();
  // basicConstraints critical CA:TRUE; keyUsage critical keyCertSign | cRLSign.
  EXPECT_TRUE(contains(der, from_hex("0603551d130101ff040530030101ff")));
  EXPECT_TRUE(contains(der, from_hex("0603551d0f0101ff040403020106")));
  // subjectKeyIdentifier and authorityKeyIdentifier present.
  EXPECT_TRUE(contains(der, from_hex("0603551d0e")));
  EXPECT_TRUE(contains(der, from_hex("0603551d23")));
}

TEST(Certificate, LeafHasDigitalSignatureAndCaFalse) {
  const Certificate& leaf = pki().leaf;
  EXPECT_EQ(leaf.subject(), "CN=device-1");
  EXPECT_EQ(leaf.issuer(), "CN=Test Device CA");
  const Bytes der = leaf.der();
  EXPECT_TRUE(contains(der, from_hex("0603551d130101ff04023000")));      // CA:FALSE
  EXPECT_TRUE(contains(der, from_hex("0603551d0f0101ff040403020780")));  // digitalSignature
  EXPECT_TRUE(leaf.public_key().same_key(pki().leaf_key.public_key()));
}

TEST(Certificate, NamesKeepUtf8) {
  const PrivateKey key = PrivateKey::generate(KeyType::P256);
  const Certificate cert = make_self_signed(key, profile("Ger\xc3\xa4t-1", "Beispiel, AG"));
  // RFC 2253 escapes the comma; the UTF-8 bytes of "ä" are kept, not escaped as \C3\A4.
  EXPECT_EQ(cert.subject(), "CN=Ger\xc3\xa4t-1,O=Beispiel\\, AG");
}

TEST(Certificate, SerialsAreRandomPositive128Bit) {
  const Bytes a = serial_of(pki().leaf);
  const Bytes b = serial_of(pki().intermediate);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_LT(a[0], 0x80);
  EXPECT_LT(b[0], 0x80);
  EXPECT_NE(a, b);
}

TEST(Certificate, DerAndPemRoundTrip) {
  const Certificate& leaf = pki().leaf;
  const Bytes der = leaf.der();
  EXPECT_EQ(Certificate::from_der(der).der(), der);
  const std::vector<Certificate> back = Certificate::from_pem_all(leaf.to_pem());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].der(), der);
  EXPECT_TRUE(PublicKey::from_pem(leaf.to_pem()).same_key(pki().leaf_key.public_key()));
}

TEST(Certificate, FromPemAllKeepsOrderSkipsOtherBlocksAndToleratesCrlf) {
  const std::string text = "chain for device-1\n" + pki().leaf.to_pem() + pki().leaf_key.public_key().to_pem() +
                           pki().intermediate.to_pem() + pki().root.to_pem();
  const std::vector<Certificate> certs = Certificate::from_pem_all(with_crlf(text));
  ASSERT_EQ(certs.size(), 3u);
  EXPECT_EQ(certs[0].der(), pki().leaf.der());
  EXPECT_EQ(certs[1].der(), pki().intermediate.der());
  EXPECT_EQ(certs[2].der(), pki().root.der());
  EXPECT_TRUE(Certificate::from_pem_all(pki().leaf_key.public_key().to_pem()).empty());
}

TEST(Certificate, RejectsMalformedDer) {
  const Bytes der = pki().leaf.der();
  test::expect_error([&] { Certificate::from_der(concat(der, Bytes{0x00})); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { Certificate::from_der(ByteView(der).first(der.size() - 1)); }, ErrorCode::MessageBodyError);
  test::expect_error([] { Certificate::from_der({}); }, ErrorCode::MessageBodyError);
  test::expect_error(
      [] { Certificate::from_pem_all("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"); },
      ErrorCode::MessageBodyError);
}

TEST(Certificate, PublicKeyOfAnUnsupportedTypeIsABodyError) {
  // A P-521 certificate parses, but its key is not one FDO uses.
  const std::vector<Certificate> certs = Certificate::from_pem_all(test::read_testdata("p521_cert.pem"));
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].subject(), "CN=p521-ca");
  EXPECT_TRUE(verify_chain(certs).ok);
  test::expect_error([&] { static_cast<void>(certs[0].public_key()); }, ErrorCode::MessageBodyError);
  test::expect_error([] { PublicKey::from_pem(test::read_testdata("p521_cert.pem")); }, ErrorCode::MessageBodyError);
}

TEST(Certificate, PublicKeyOfReadsTheSameKeyAsAFullParse) {
  const PrivateKey rsa_key = PrivateKey::from_pem(test::read_testdata("rsa3072.pem"));
  const PrivateKey p384_key = PrivateKey::generate(KeyType::P384);
  const std::vector<Certificate> certs = {
      pki().leaf,
      pki().root,
      issue_certificate(pki().root_key, pki().root, p384_key.public_key(), profile("device-384")),
      issue_certificate(pki().root_key, pki().root, rsa_key.public_key(), profile("device-rsa")),
  };
  for (const Certificate& cert : certs) {
    const PublicKey key = Certificate::public_key_of(cert.der());
    EXPECT_TRUE(key.same_key(Certificate::from_der(cert.der()).public_key())) << cert.subject();
    EXPECT_EQ(key.type(), cert.public_key().type());
  }
  EXPECT_EQ(Certificate::public_key_of(certs[2].der()).type(), KeyType::P384);
  EXPECT_EQ(Certificate::public_key_of(certs[3].der()).type(), KeyType::Rsa3072);
}

TEST(Certificate, PublicKeyOfRefusesWhatAFullParseRefuses) {
  const Bytes der = pki().leaf.der();
  // Trailing bytes, a cut certificate, nothing: the walk gives up and the full parse names the error.
  test::expect_error([&] { Certificate::public_key_of(concat(der, Bytes{0x00})); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { Certificate::public_key_of(ByteView(der).first(der.size() - 1)); },
                     ErrorCode::MessageBodyError);
  test::expect_error([] { Certificate::public_key_of({}); }, ErrorCode::MessageBodyError);
  test::expect_error([] { Certificate::public_key_of(from_hex("3003020100")); }, ErrorCode::MessageBodyError);
  // A point moved off the curve inside an otherwise well-formed certificate.
  Bytes bad = der;
  const Bytes point = pki().leaf_key.public_key().spki_der();
  const auto at = std::search(bad.begin(), bad.end(), point.begin(), point.end());
  ASSERT_NE(at, bad.end());
  *(at + static_cast<std::ptrdiff_t>(point.size()) - 1) ^= 0x01;
  test::expect_error([&] { Certificate::public_key_of(bad); }, ErrorCode::MessageBodyError);
  // A P-521 key (not an FDO type) is refused as public_key() refuses it.
  const std::vector<Certificate> p521 = Certificate::from_pem_all(test::read_testdata("p521_cert.pem"));
  ASSERT_EQ(p521.size(), 1u);
  test::expect_error([&] { Certificate::public_key_of(p521[0].der()); }, ErrorCode::MessageBodyError);
}

TEST(Certificate, AnIssuedCertificateIsTheOneItsDerParsesTo) {
  const PrivateKey key = PrivateKey::generate(KeyType::P256);
  const Certificate issued = issue_certificate(pki().intermediate_key, pki().intermediate, key.public_key(),
                                               profile("device-2"));
  const Certificate parsed = Certificate::from_der(issued.der());
  EXPECT_EQ(parsed.der(), issued.der());
  EXPECT_EQ(parsed.subject(), issued.subject());
  EXPECT_EQ(parsed.issuer(), issued.issuer());
  EXPECT_TRUE(issued.public_key().same_key(key.public_key()));
  EXPECT_TRUE(issued.is_signed_by(pki().intermediate));
  EXPECT_TRUE(parsed.is_signed_by(pki().intermediate));
  EXPECT_TRUE(verify_chain({issued, pki().intermediate, pki().root}).ok);
}

TEST(Certificate, IssuesWithRsaCaForEcLeaf) {
  const PrivateKey rsa_ca_key = PrivateKey::from_pem(test::read_testdata("rsa3072.pem"));
  const Certificate rsa_ca = make_self_signed(rsa_ca_key, profile("RSA Manufacturer CA"));
  const PrivateKey device = PrivateKey::generate(KeyType::P384);
  const Certificate leaf = issue_certificate(rsa_ca_key, rsa_ca, device.public_key(), profile("device-384"));
  EXPECT_TRUE(leaf.is_signed_by(rsa_ca));
  EXPECT_TRUE(verify_chain({leaf, rsa_ca}).ok);
  EXPECT_EQ(leaf.public_key().type(), KeyType::P384);
}

TEST(Certificate, IssueRefusesACaKeyThatDoesNotMatch) {
  test::expect_error([] { issue_certificate(pki().leaf_key, pki().root, pki().leaf_key.public_key(), profile("x")); },
                     ErrorCode::InternalServerError);
  test::expect_error([] { make_self_signed(pki().leaf_key, profile("")); }, ErrorCode::InternalServerError);
}

// ---- Chains ----

TEST(VerifyChain, AcceptsRootIntermediateLeaf) {
  const Pki& p = pki();
  EXPECT_TRUE(verify_chain({p.leaf, p.intermediate, p.root}).ok);
  EXPECT_TRUE(verify_chain({p.leaf, p.intermediate}, {p.root}).ok);
  EXPECT_TRUE(verify_chain({p.leaf, p.intermediate, p.root}, {p.root}).ok);
  EXPECT_TRUE(verify_chain({p.leaf, p.intermediate, p.root}, {}, /*check_time=*/true).ok);
  EXPECT_TRUE(p.leaf.is_signed_by(p.intermediate));
  EXPECT_FALSE(p.leaf.is_signed_by(p.root));
}

TEST(VerifyChain, NamesTheIndexOfAWrongIssuer) {
  const Pki& p = pki();
  const PrivateKey other_key = PrivateKey::generate(KeyType::P256);
  const Certificate other_ca = make_self_signed(other_key, profile("Other CA"));
  const ChainResult wrong_leaf_issuer = verify_chain({p.leaf, other_ca});
  EXPECT_FALSE(wrong_leaf_issuer.ok);
  EXPECT_NE(wrong_leaf_issuer.detail.find("chain[0] (CN=device-1)"), std::string::npos) << wrong_leaf_issuer.detail;

  const ChainResult wrong_intermediate_issuer = verify_chain({p.leaf, p.intermediate, other_ca});
  EXPECT_FALSE(wrong_intermediate_issuer.ok);
  EXPECT_NE(wrong_intermediate_issuer.detail.find("chain[1]"), std::string::npos) << wrong_intermediate_issuer.detail;

  // Same subject name as the real root, different key: names chain, signature does not.
  const Certificate impostor = make_self_signed(other_key, profile("Test Root", "Example"));
  const ChainResult forged = verify_chain({p.leaf, p.intermediate, impostor});
  EXPECT_FALSE(forged.ok);
  EXPECT_NE(forged.detail.find("chain[1]"), std::string::npos) << forged.detail;
}

TEST(VerifyChain, RequiresATrustedOrSelfSignedEnd) {
  const Pki& p = pki();
  const ChainResult not_self_signed = verify_chain({p.leaf, p.intermediate});
  EXPECT_FALSE(not_self_signed.ok);
  EXPECT_NE(not_self_signed.detail.find("chain[1]"), std::string::npos) << not_self_signed.detail;

  const PrivateKey other_key = PrivateKey::generate(KeyType::P256);
  const Certificate other_root = make_self_signed(other_key, profile("Other Root"));
  const ChainResult untrusted = verify_chain({p.leaf, p.intermediate, p.root}, {other_root});
  EXPECT_FALSE(untrusted.ok);
  EXPECT_NE(untrusted.detail.find("chain[2]"), std::string::npos) << untrusted.detail;

  EXPECT_FALSE(verify_chain({}).ok);
}

TEST(VerifyChain, RefusesALeafAsIssuer) {
  const Pki& p = pki();
  // A certificate issued by the leaf's key under the leaf's name: the leaf is not a CA.
  const PrivateKey child_key = PrivateKey::generate(KeyType::P256);
  const Certificate child = issue_certificate(p.leaf_key, p.leaf, child_key.public_key(), profile("child"));
  const ChainResult result = verify_chain({child, p.leaf, p.intermediate, p.root});
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("chain[1] (CN=device-1): not a CA"), std::string::npos) << result.detail;
}

// ---- CSR ----

TEST(Csr, RoundTripsForEveryKeyType) {
  const PrivateKey rsa2048 = PrivateKey::from_pem(test::read_testdata("rsa2048.pem"));
  const PrivateKey rsa3072 = PrivateKey::from_pem(test::read_testdata("rsa3072.pem"));
  const PrivateKey p384 = PrivateKey::generate(KeyType::P384);
  for (const PrivateKey* key : {&pki().leaf_key, &p384, &rsa2048, &rsa3072}) {
    SCOPED_TRACE(std::string(key_type_name(key->type())));
    const CertificateRequest csr = parse_csr(make_csr(*key, "device-1"));
    EXPECT_EQ(csr.subject, "CN=device-1");
    EXPECT_TRUE(csr.signature_valid);
    EXPECT_TRUE(csr.public_key.same_key(key->public_key()));
  }
}

TEST(Csr, ReportsABrokenSignature) {
  const Bytes der = make_csr(pki().leaf_key, "device-1");
  // The last byte is inside the signature value.
  Bytes bad_signature = der;
  bad_signature.back() ^= 0x01;
  const CertificateRequest a = parse_csr(bad_signature);
  EXPECT_FALSE(a.signature_valid);
  EXPECT_TRUE(a.public_key.same_key(pki().leaf_key.public_key()));
  // A flipped bit in the signed subject name ("device-1" → "device-0").
  Bytes bad_subject = der;
  const Bytes name = to_bytes("device-1");
  const auto it = std::search(bad_subject.begin(), bad_subject.end(), name.begin(), name.end());
  ASSERT_NE(it, bad_subject.end());
  *(it + 7) ^= 0x01;
  const CertificateRequest b = parse_csr(bad_subject);
  EXPECT_EQ(b.subject, "CN=device-0");
  EXPECT_FALSE(b.signature_valid);
}

TEST(Csr, RejectsMalformedAndUnsupportedRequests) {
  const Bytes der = make_csr(pki().leaf_key, "device-1");
  test::expect_error([&] { parse_csr(concat(der, Bytes{0x00})); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { parse_csr(ByteView(der).first(20)); }, ErrorCode::MessageBodyError);
  test::expect_error([] { parse_csr(pki().leaf.der()); }, ErrorCode::MessageBodyError);
  for (const test::Record& r : test::read_records("unsupported_keys.txt")) {
    if (r.contains("csr")) {
      SCOPED_TRACE(r.at("name"));
      const std::string what =
          test::expect_error([&] { parse_csr(test::hex_field(r, "csr")); }, ErrorCode::MessageBodyError);
      EXPECT_NE(what.find(r.at("reason")), std::string::npos) << what;
    }
  }
}

TEST(Csr, IssuedCertificateCarriesTheRequestedKey) {
  const PrivateKey device = PrivateKey::generate(KeyType::P256);
  const CertificateRequest csr = parse_csr(make_csr(device, "device-42"));
  ASSERT_TRUE(csr.signature_valid);
  const Certificate cert =
      issue_certificate(pki().intermediate_key, pki().intermediate, csr.public_key, profile("device-42"));
  EXPECT_TRUE(cert.public_key().same_key(device.public_key()));
  EXPECT_TRUE(verify_chain({cert, pki().intermediate, pki().root}).ok);
}

}  // namespace
}  // namespace fdo::crypto
