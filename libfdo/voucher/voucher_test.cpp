// Voucher model, create, extend and verify (FDO 1.1 §3.4.2), with one mutation per verification check
// (conformance checklist OV-01..OV-15, OV-18, OV-19).

#include "libfdo/core/internal/expect_error.h"
#include "libfdo/voucher/voucher.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/header.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher_test_fixture.h"

namespace fdo::voucher {
namespace {

using testing::Fixture;
using testing::Profile;

VerifyOptions with_secret(const Fixture& f) {
  VerifyOptions options;
  options.hmac_secret = f.secret();
  return options;
}

std::vector<std::string> failed(const VerifyReport& report) {
  std::vector<std::string> out;
  for (const Check& c : report.checks) {
    if (!c.ok) {
      out.push_back(c.name + (c.entry ? " " + std::to_string(*c.entry) : ""));
    }
  }
  return out;
}

/// The header bytes of `f`'s voucher with OVHeader fields replaced by raw encodings.
struct HeaderParts {
  Bytes version = cbor::encode_uint(kOVProtVer);
  Bytes guid;
  Bytes rv;
  Bytes device_info;
  Bytes pub_key;
  Bytes chain_hash;

  static HeaderParts of(const OVHeader& h) {
    HeaderParts p;
    p.guid = cbor::encode_bstr(h.ov_guid.view());
    p.rv = h.ov_rv_info.encode();
    p.device_info = cbor::encode_tstr(h.ov_device_info);
    p.pub_key = h.ov_pub_key.encode();
    p.chain_hash = h.ov_dev_cert_chain_hash->encode();
    return p;
  }
  [[nodiscard]] Bytes encode() const {
    cbor::Writer w;
    w.array(6).raw(version).raw(guid).raw(rv).raw(device_info).raw(pub_key).raw(chain_hash);
    return std::move(w).take();
  }
};

/// A voucher whose header is `header_bytes`, with a correct HMAC and one correct entry: only the header's own
/// problem can fail.
Bytes remade_with_header(const Fixture& f, ByteView header_bytes) {
  const HMac hmac = f.hmac_over(header_bytes, crypto::HashAlg::Sha256);
  const Bytes hmac_item = hmac.encode();
  const Hash prev = Hash::compute(HashType::Sha256, concat(header_bytes, hmac_item));
  const Hash hdr = Hash::compute(HashType::Sha256, concat(f.input.guid.view(), to_bytes(f.input.device_info)));
  const OVEntryPayload payload{.ove_hash_prev_entry = prev, .ove_hash_hdr_info = hdr, .ove_extra = std::nullopt,
                               .ove_pub_key = f.wire_key(1)};
  const Bytes entry = testing::signed_entry(f.owners[0], crypto::SigAlg::ES256, payload.encode());
  return testing::raw_voucher(kOVProtVer, header_bytes, hmac_item, testing::chain_item(f.chain), {entry});
}

// ---- create, extend, verify ----

struct ChainCase {
  const char* name;
  Profile profile;
  crypto::SigAlg alg;
  HashType entry_hash;
};

class VoucherChains : public ::testing::TestWithParam<ChainCase> {};

TEST_P(VoucherChains, CreateExtendTwiceVerifiesWithEveryCheck) {
  const ChainCase& c = GetParam();
  const Fixture f(c.profile);
  const OwnershipVoucher ov = f.extended(2);
  ASSERT_EQ(ov.entries().size(), 2u);
  EXPECT_EQ(ov.entry_hash_type(), c.entry_hash);
  for (const OVEntry& e : ov.entries()) {
    EXPECT_EQ(e.sign1.alg(), c.alg);
    EXPECT_FALSE(e.payload.ove_extra.has_value());
  }
  EXPECT_EQ(ov.owner_key(), f.wire_key(2));

  VerifyOptions options = with_secret(f);
  options.manufacturer_key_hash = Hash::compute(c.entry_hash, ov.header().ov_pub_key.raw());
  options.check_dev_cert_chain_signatures = true;
  const VerifyReport report = verify(ov.encode(), options);
  EXPECT_TRUE(report.valid) << report.to_text();
  for (const std::string_view name :
       {check::kProtocolVersion, check::kStructure, check::kHeader, check::kHeaderHmacFormat, check::kHeaderHmac,
        check::kDevCertChain, check::kDevCertChainHash, check::kDevCertChainSignatures, check::kManufacturerKeyHash,
        check::kEntriesCount}) {
    EXPECT_NE(report.find(name), nullptr) << name;
  }
  for (std::size_t i = 0; i < 2; ++i) {
    for (const std::string_view name : {check::kEntryStructure, check::kEntrySignature, check::kEntryHashLink,
                                        check::kEntryHdrInfoHash, check::kEntryKeyType}) {
      EXPECT_NE(report.find(name, i), nullptr) << name << " " << i;
    }
  }
}

// A manufacturer chain for owners[0]'s key: a leaf issued by `ca_key`'s self-signed CA, leaf first.
std::vector<crypto::Certificate> manufacturer_chain(const Fixture& f, const crypto::PrivateKey& ca_key,
                                                    const crypto::PrivateKey& listed_ca_key) {
  const crypto::CertificateProfile ca_profile{.common_name = "Test Manufacturer CA", .organization = "fdo-cpp tests",
                                              .validity_days = 3650, .is_ca = true};
  const crypto::Certificate ca = crypto::make_self_signed(ca_key, ca_profile);
  const crypto::Certificate leaf = crypto::issue_certificate(
      ca_key, ca, f.owners[0].public_key(),
      crypto::CertificateProfile{.common_name = "manufacturer", .organization = "fdo-cpp tests", .validity_days = 3650});
  return {leaf, crypto::make_self_signed(listed_ca_key, ca_profile)};
}

TEST(VoucherVerify, X5ChainManufacturerKeyIsChainVerifiedAsItsOwnCheck) {
  // FDO 1.1 §3.4.2, full verification step 6: an X5CHAIN OVPubKey's chain must verify.
  const crypto::PrivateKey ca_key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::PrivateKey other_ca_key = crypto::PrivateKey::generate(crypto::KeyType::P256);
  for (const bool good : {true, false}) {
    SCOPED_TRACE(good ? "chain verifies" : "leaf not signed by the listed CA");
    Fixture f;
    f.input.manufacturer_key = PublicKey::from_chain(manufacturer_chain(f, ca_key, good ? ca_key : other_ca_key));
    const OwnershipVoucher ov = extend(f.fresh(), f.owners[0], f.wire_key(1));
    const VerifyReport report = verify(ov.encode(), {});
    const Check* chain = report.find(check::kManufacturerKeyChain);
    ASSERT_NE(chain, nullptr) << report.to_text();
    EXPECT_EQ(chain->ok, good) << chain->detail;
    EXPECT_EQ(report.valid, good) << report.to_text();
    if (!good) {
      EXPECT_EQ(report.first_failure()->name, check::kManufacturerKeyChain);
    }
  }
  // An X509 OVPubKey has no chain: no such check.
  const Fixture plain;
  EXPECT_EQ(verify(extend(plain.fresh(), plain.owners[0], plain.wire_key(1)).encode(), {}).find(
                check::kManufacturerKeyChain),
            nullptr);
}

TEST_P(VoucherChains, EncodeReproducesTheDecodedBytes) {
  const Fixture f(GetParam().profile);
  const Bytes bytes = f.extended(2).encode();
  EXPECT_EQ(OwnershipVoucher::decode(bytes).encode(), bytes);
}

INSTANTIATE_TEST_SUITE_P(
    OwnerKeys, VoucherChains,
    ::testing::Values(ChainCase{"P256", Profile{}, crypto::SigAlg::ES256, HashType::Sha256},
                      ChainCase{"P384", testing::profile("p384", "p384"), crypto::SigAlg::ES384,
                                HashType::Sha384},
                      ChainCase{"RSA2048", testing::profile("rsa2048"), crypto::SigAlg::RS256, HashType::Sha256},
                      ChainCase{"RSA3072", testing::profile("rsa3072", "p384"),
                                crypto::SigAlg::RS384, HashType::Sha384},
                      ChainCase{"RSAPSS2048", testing::profile("rsa2048", "p256", PkType::RsaPss),
                                crypto::SigAlg::PS256, HashType::Sha256},
                      ChainCase{"RSAPSS3072",
                                testing::profile("rsa3072", "p384", PkType::RsaPss),
                                crypto::SigAlg::PS384, HashType::Sha384},
                      ChainCase{"P256CoseKey", testing::profile("p256", "p256", std::nullopt, PkEnc::CoseKey), crypto::SigAlg::ES256,
                                HashType::Sha256}),
    [](const ::testing::TestParamInfo<ChainCase>& param) { return std::string(param.param.name); });

TEST(VoucherCreate, HeaderIsCanonicalAndHashesTheConcatenatedDer) {
  const Fixture f;
  const CreatedHeader header = make_header(f.input);
  EXPECT_EQ(header.hash_family, crypto::HashAlg::Sha256);
  const OVHeader decoded = OVHeader::decode(header.header_bytes);
  EXPECT_EQ(decoded.encode(), header.header_bytes);
  EXPECT_EQ(decoded.ov_guid, f.input.guid);
  EXPECT_EQ(decoded.ov_device_info, "TestDevice");
  EXPECT_EQ(decoded.ov_pub_key, f.input.manufacturer_key);
  ASSERT_TRUE(decoded.ov_dev_cert_chain_hash.has_value());
  EXPECT_EQ(*decoded.ov_dev_cert_chain_hash, Hash::compute(HashType::Sha256, concat(f.chain[0], f.chain[1])));
  // FDO 1.1 §3.4.2: the header starts 86 18 65 50 <16-byte GUID>.
  EXPECT_EQ(to_hex(ByteView(header.header_bytes).first(4)), "86186550");
}

TEST(VoucherCreate, FreshVoucherHasTheSpecLayout) {
  const Fixture f;
  const OwnershipVoucher ov = f.fresh();
  const Bytes bytes = ov.encode();
  // 85 18 65 59 <len> …: array(5), 101, bstr header.
  EXPECT_EQ(to_hex(ByteView(bytes).first(3)), "851865");
  EXPECT_TRUE(ov.entries().empty());
  EXPECT_EQ(ov.owner_key(), f.input.manufacturer_key);
  EXPECT_EQ(ov.header_hmac().type(), HashType::HmacSha256);
  EXPECT_EQ(bytes.back(), 0x80);  // OVEntryArray: []
}

TEST(VoucherCreate, HashFamilyFollowsTheDeviceKey) {
  EXPECT_EQ(voucher_hash_family(testing::test_key("device-p256").public_key()), crypto::HashAlg::Sha256);
  EXPECT_EQ(voucher_hash_family(testing::test_key("device-p384").public_key()), crypto::HashAlg::Sha384);
  EXPECT_EQ(voucher_hash_family(testing::test_key("owner1-rsa2048").public_key()), crypto::HashAlg::Sha256);
  EXPECT_EQ(voucher_hash_family(testing::test_key("owner1-rsa3072").public_key()), crypto::HashAlg::Sha384);
  // A P-384 device with a P-256 manufacturer: everything SHA-384 (docs/voucher.md "Which hash algorithm").
  const Fixture f(testing::profile("p256", "p384"));
  const OwnershipVoucher ov = f.extended(1);
  EXPECT_EQ(ov.header_hmac().type(), HashType::HmacSha384);
  EXPECT_EQ(ov.header().ov_dev_cert_chain_hash->type(), HashType::Sha384);
  EXPECT_EQ(ov.entries()[0].payload.ove_hash_prev_entry.type(), HashType::Sha384);
  EXPECT_EQ(ov.entries()[0].sign1.alg(), crypto::SigAlg::ES256);
  EXPECT_TRUE(verify(ov.encode(), with_secret(f)).valid);
}

TEST(VoucherCreate, RefusesAnEmptyChainOrDeviceInfo) {
  Fixture f;
  HeaderInput input = f.input;
  input.dev_cert_chain.clear();
  test::expect_error([&] { (void)make_header(input); }, ErrorCode::MessageBodyError);
  input = f.input;
  input.device_info.clear();
  test::expect_error([&] { (void)make_header(input); }, ErrorCode::MessageBodyError);
}

TEST(VoucherModel, ExactBytesSurviveNonCanonicalFraming) {
  const Fixture f;
  const Bytes canonical = f.extended(1).encode();
  // Outer head 0x85 written as 0x98 0x05 (a valid but non-shortest head): decode, then encode the same bytes.
  Bytes odd = {0x98, 0x05};
  odd.insert(odd.end(), canonical.begin() + 1, canonical.end());
  const OwnershipVoucher ov = OwnershipVoucher::decode(odd);
  EXPECT_EQ(ov.encode(), odd);
  // Appending an entry keeps the received framing of everything before it.
  const OwnershipVoucher longer = extend(ov, f.owners[1], f.wire_key(2));
  const Bytes out = longer.encode();
  EXPECT_EQ(to_hex(ByteView(out).first(2)), "9805");
  EXPECT_TRUE(verify(out).valid) << verify(out).to_text();
}

TEST(VoucherModel, OwnerKeyIsTheLastEntryKeyOrOVPubKey) {
  const Fixture f;
  EXPECT_EQ(f.fresh().owner_key(), f.wire_key(0));
  EXPECT_EQ(f.extended(1).owner_key(), f.wire_key(1));
  EXPECT_EQ(f.extended(2).owner_key(), f.wire_key(2));
  EXPECT_EQ(f.extended(3).owner_key(), f.wire_key(0));
}

TEST(VoucherModel, HashInputsAreTheReceivedBytes) {
  const Fixture f;
  const OwnershipVoucher ov = f.extended(2);
  EXPECT_EQ(ov.prev_entry_hash(0, HashType::Sha256),
            Hash::compute(HashType::Sha256, concat(ov.header_bytes(), ov.header_hmac_bytes())));
  EXPECT_EQ(ov.prev_entry_hash(2, HashType::Sha256), Hash::compute(HashType::Sha256, ov.entries()[1].bytes));
  EXPECT_EQ(ov.entries()[1].payload.ove_hash_prev_entry, ov.prev_entry_hash(1, HashType::Sha256));
  // The entry starts with tag 18 and the ES256 protected header: D2 84 43 A1 01 26 A0.
  EXPECT_EQ(to_hex(ByteView(ov.entries()[0].bytes).first(7)), "d28443a10126a0");
  test::expect_error([&] { (void)ov.prev_entry_hash(3, HashType::Sha256); }, ErrorCode::InternalServerError);
}

TEST(VoucherModel, DecodeRefusesTrailingBytesAndWrongShapes) {
  const Fixture f;
  Bytes bytes = f.extended(1).encode();
  bytes.push_back(0x00);
  for (const Bytes& bad : {bytes, Bytes{0x80}, Bytes{}}) {
    SCOPED_TRACE(to_hex(ByteView(bad).first(std::min<std::size_t>(bad.size(), 4))));
    test::expect_error([&] { (void)OwnershipVoucher::decode(bad); }, ErrorCode::MessageBodyError);
  }
}

// ---- extend ----

TEST(VoucherExtend, RefusesAKeyThatIsNotTheCurrentOwner) {
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  try {
    static_cast<void>(extend(ov, f.owners[0], f.wire_key(2)));
    ADD_FAILURE() << "extended with the previous owner's key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidMessageError);
    EXPECT_NE(std::string(e.what()).find("not the current owner key"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(static_cast<void>(extend(ov, f.owners[1], f.wire_key(2))));
}

TEST(VoucherExtend, RefusesANextOwnerOfAnotherType) {
  const Fixture f;
  const OwnershipVoucher ov = f.fresh();
  const PublicKey p384 = PublicKey::from_key(testing::test_key("owner1-p384").public_key());
  test::expect_error([&] { (void)extend(ov, f.owners[0], p384); }, ErrorCode::InvalidMessageError);
  test::expect_error([&] { (void)next_owner_key(ov, p384.key()); }, ErrorCode::InvalidMessageError);
  // Same key but another pkEnc is fine; another pkType is not.
  const PublicKey as_cose = PublicKey::from_key(f.owners[1].public_key(), PkEnc::CoseKey);
  EXPECT_NO_THROW(static_cast<void>(extend(ov, f.owners[0], as_cose)));
}

TEST(VoucherExtend, RsaPkTypeMustMatchToo) {
  const Fixture f(testing::profile("rsa2048", "p256", PkType::RsaPss));
  const OwnershipVoucher ov = f.fresh();
  const PublicKey pkcs = PublicKey::from_key(f.owners[1].public_key(), PkEnc::X509, PkType::RsaPkcs);
  EXPECT_THROW(static_cast<void>(extend(ov, f.owners[0], pkcs)), Error);
  EXPECT_EQ(next_owner_key(ov, f.owners[1].public_key()).pk_type(), PkType::RsaPss);
}

TEST(VoucherExtend, NextOwnerKeyCopiesTheEncodingOfOVPubKey) {
  const Fixture x509;
  EXPECT_EQ(next_owner_key(x509.fresh(), x509.owners[1].public_key()).pk_enc(), PkEnc::X509);
  const Fixture cose(testing::profile("p256", "p256", std::nullopt, PkEnc::CoseKey));
  EXPECT_EQ(next_owner_key(cose.fresh(), cose.owners[1].public_key()).pk_enc(), PkEnc::CoseKey);
  // The key extended to is exactly the given one, byte for byte.
  const PublicKey next = next_owner_key(x509.fresh(), x509.owners[1].public_key());
  EXPECT_TRUE(equal(extend(x509.fresh(), x509.owners[0], next).owner_key().raw(), next.raw()));
}

TEST(VoucherExtend, X5ChainNextOwnerOnlyWhenAllowed) {
  const Fixture f;
  const crypto::Certificate cert = crypto::make_self_signed(
      f.owners[1], crypto::CertificateProfile{.common_name = "owner1", .organization = "", .validity_days = 365,
                                              .is_ca = false});
  const OwnershipVoucher ov = f.fresh();
  EXPECT_EQ(next_owner_key(ov, f.owners[1].public_key(), {cert}, false).pk_enc(), PkEnc::X509);
  const PublicKey chain_key = next_owner_key(ov, f.owners[1].public_key(), {cert}, true);
  EXPECT_EQ(chain_key.pk_enc(), PkEnc::X5Chain);
  EXPECT_THROW(static_cast<void>(extend(ov, f.owners[0], chain_key)), Error);
  const OwnershipVoucher extended = extend(ov, f.owners[0], chain_key, ExtendOptions{.extra = std::nullopt,
                                                                                       .allow_x5chain = true,
                                                                                       .leniency = {}});
  EXPECT_TRUE(verify(extended.encode()).valid);
  // A chain whose leaf is someone else's key is refused.
  EXPECT_THROW(static_cast<void>(next_owner_key(ov, f.owners[2].public_key(), {cert}, true)), Error);
}

TEST(VoucherExtend, WritesNullOrAWrappedExtraMap) {
  const Fixture f;
  const OwnershipVoucher plain = f.extended(1);
  // Payload: 84 <Hash> <Hash> F6 <PublicKey>.
  cbor::Reader r(plain.entries()[0].sign1.payload());
  r.read_array_of("", 4);
  r.skip("");
  r.skip("");
  EXPECT_TRUE(r.peek_null());

  const OVEExtraInfo extra = {{-65537, Bytes{0x01}}, {1, Bytes{0x02, 0x03}}};
  const OwnershipVoucher with_extra =
      extend(f.fresh(), f.owners[0], f.wire_key(1), ExtendOptions{.extra = extra, .allow_x5chain = false, .leniency = {}});
  ASSERT_TRUE(with_extra.entries()[0].payload.ove_extra.has_value());
  EXPECT_EQ(*with_extra.entries()[0].payload.ove_extra, extra);
  cbor::Reader r2(with_extra.entries()[0].sign1.payload());
  r2.read_array_of("", 4);
  r2.skip("");
  r2.skip("");
  EXPECT_EQ(decode_ove_extra_info(r2.read_bstr_view("")), extra);
  EXPECT_TRUE(verify(with_extra.encode()).valid);
  // Deterministic order: 1 before -65537.
  EXPECT_EQ(to_hex(encode_ove_extra_info(extra)), "a2014202033a000100004101");
}

TEST(VoucherExtend, AcceptsGoFdoEmptyMapAndLenientBareMap) {
  const Fixture f;
  const OwnershipVoucher ov = f.fresh();
  const HashType t = HashType::Sha256;
  auto payload_with_extra = [&](ByteView extra_item) {
    cbor::Writer w;
    w.array(4);
    ov.prev_entry_hash(0, t).encode(w);
    ov.hdr_info_hash(t).encode(w);
    w.raw(extra_item);
    f.wire_key(1).encode(w);
    return std::move(w).take();
  };
  const Bytes go_fdo = testing::signed_entry(f.owners[0], crypto::SigAlg::ES256, payload_with_extra(Bytes{0x41, 0xA0}));
  EXPECT_TRUE(verify(ov.with_entry(go_fdo).encode()).valid);

  const Bytes bare = testing::signed_entry(f.owners[0], crypto::SigAlg::ES256,
                                           payload_with_extra(Bytes{0xA1, 0x01, 0x41, 0x07}));
  EXPECT_THROW(static_cast<void>(ov.with_entry(bare)), Error);
  const Leniency lenient({Quirk::BareOveExtraMap});
  const OwnershipVoucher decoded = ov.with_entry(bare, lenient);
  EXPECT_EQ(decoded.entries()[0].payload.ove_extra, (OVEExtraInfo{{1, Bytes{0x07}}}));
  const Bytes bytes = decoded.encode();
  EXPECT_FALSE(verify(bytes).valid);
  VerifyOptions options;
  options.leniency = lenient;
  EXPECT_TRUE(verify(bytes, options).valid);
  // A bstr that does not hold a map int → bstr is refused.
  const Bytes junk = testing::signed_entry(f.owners[0], crypto::SigAlg::ES256,
                                           payload_with_extra(Bytes{0x42, 0x61, 0x62}));
  EXPECT_FALSE(verify(testing::raw_voucher(101, ov.header_bytes(), ov.header_hmac_bytes(),
                                           testing::chain_item(f.chain), {junk}))
                   .valid);
}

TEST(VoucherExtend, RefusesThe256thEntry) {
  const Fixture f;
  OwnershipVoucher ov = f.fresh();
  const PublicKey self = f.wire_key(0);
  for (std::size_t i = 0; i < kMaxEntries; ++i) {
    ov = extend(ov, f.owners[0], self);
  }
  EXPECT_TRUE(verify(ov.encode()).valid);
  EXPECT_THROW(static_cast<void>(extend(ov, f.owners[0], self)), Error);
}

// ---- one mutation per check ----

TEST(VoucherVerify, ZeroEntriesFailEntriesCountUnlessAllowed) {  // OV-10
  const Fixture f;
  const Bytes bytes = f.fresh().encode();
  const VerifyReport strict = verify(bytes, with_secret(f));
  EXPECT_EQ(failed(strict), std::vector<std::string>{"entries count"}) << strict.to_text();
  VerifyOptions options = with_secret(f);
  options.allow_zero_entries = true;
  EXPECT_TRUE(verify(bytes, options).valid);
}

TEST(VoucherVerify, ReportsProtocolVersion) {  // OV-08
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  for (const std::uint64_t version : {100u, 105u, 10000u}) {
    const Bytes bytes = testing::raw_voucher(version, ov.header_bytes(), ov.header_hmac_bytes(),
                                             testing::chain_item(f.chain), testing::entry_bytes(ov));
    const VerifyReport report = verify(bytes, with_secret(f));
    ASSERT_EQ(report.checks.size(), 1u);
    EXPECT_EQ(report.checks[0].name, check::kProtocolVersion);
    EXPECT_NE(report.checks[0].detail.find("protocol version " + std::to_string(version)), std::string::npos);
    EXPECT_THROW(static_cast<void>(OwnershipVoucher::decode(bytes)), Error);
  }
}

TEST(VoucherVerify, ReportsBrokenStructure) {
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  // OVHeaderTag as a bare array instead of a bstr, with OVProtVer 101.
  cbor::Writer w;
  w.array(5).uint(101).raw(ov.header_bytes()).raw(ov.header_hmac_bytes()).raw(testing::chain_item(f.chain)).array(0);
  const VerifyReport report = verify(w.bytes());
  EXPECT_EQ(failed(report), std::vector<std::string>{"voucher structure"}) << report.to_text();
}

TEST(VoucherVerify, ReportsBadHeaderFields) {  // OV-01..OV-04
  const Fixture f;
  const HeaderParts good = HeaderParts::of(f.fresh().header());
  ASSERT_TRUE(verify(remade_with_header(f, good.encode()), with_secret(f)).valid);

  std::vector<std::pair<std::string, HeaderParts>> cases;
  HeaderParts p = good;
  p.version = cbor::encode_uint(105);
  cases.emplace_back("OVHProtVer 105", p);
  p = good;
  p.rv = Bytes{0x80};
  cases.emplace_back("empty RVInfo", p);
  p = good;
  p.device_info = cbor::encode_tstr("");
  cases.emplace_back("empty device info", p);
  p = good;
  p.guid = cbor::encode_bstr(Bytes(15, 1));
  cases.emplace_back("15-byte GUID", p);
  p = good;
  {
    cbor::Writer key;
    key.array(3).uint(10).uint(1).bstr(Bytes(91, 0x42));
    p.pub_key = std::move(key).take();
  }
  cases.emplace_back("OVPubKey random body", p);
  p = good;
  {
    cbor::Writer key;
    key.array(3).uint(11).uint(1).bstr(f.owners[0].public_key().spki_der());
    p.pub_key = std::move(key).take();
  }
  cases.emplace_back("OVPubKey pkType 11 on a P-256 key", p);
  p = good;
  {
    cbor::Writer key;
    key.array(3).uint(10).uint(3).bstr(f.owners[0].public_key().spki_der());
    p.pub_key = std::move(key).take();
  }
  cases.emplace_back("OVPubKey pkEnc COSEKEY with a DER body", p);
  p = good;
  {
    cbor::Writer key;
    key.array(3).uint(10).uint(0).bstr(f.owners[0].public_key().spki_der());
    p.pub_key = std::move(key).take();
  }
  cases.emplace_back("OVPubKey pkEnc Crypto", p);
  for (const auto& [what, parts] : cases) {
    const VerifyReport report = verify(remade_with_header(f, parts.encode()), with_secret(f));
    EXPECT_FALSE(report.valid) << what;
    ASSERT_NE(report.first_failure(), nullptr) << what;
    EXPECT_EQ(report.first_failure()->name, check::kHeader) << what << "\n" << report.to_text();
    EXPECT_EQ(report.checks.back().name, check::kHeader) << what << ": header failures stop the walk";
  }
}

TEST(VoucherVerify, ReportsBadCertChainHash) {  // OV-05
  const Fixture f;
  HeaderParts p = HeaderParts::of(f.fresh().header());
  p.chain_hash = Hash(HashType::Sha256, Bytes(32, 0x77)).encode();
  VerifyReport report = verify(remade_with_header(f, p.encode()), with_secret(f));
  EXPECT_EQ(failed(report), std::vector<std::string>{"device cert chain hash"}) << report.to_text();
  // The hashtype is honoured as labelled (docs/interop.md "hash-algorithm-choice"): SHA384 of the right bytes
  // passes, of other bytes fails.
  p.chain_hash = Hash::compute(HashType::Sha384, concat(f.chain[0], f.chain[1])).encode();
  EXPECT_TRUE(verify(remade_with_header(f, p.encode()), with_secret(f)).valid);
  p.chain_hash = Hash(HashType::Sha384, Bytes(48, 0x77)).encode();
  report = verify(remade_with_header(f, p.encode()), with_secret(f));
  EXPECT_EQ(failed(report), std::vector<std::string>{"device cert chain hash"}) << report.to_text();
  // A null hash (EPID) is refused.
  p.chain_hash = Bytes{0xF6};
  report = verify(remade_with_header(f, p.encode()), with_secret(f));
  EXPECT_EQ(failed(report), std::vector<std::string>{"device cert chain hash"}) << report.to_text();
}

TEST(VoucherVerify, ReportsTheLegacyCertChainHashAndAcceptsItLeniently) {  // docs/interop.md "legacy-cert-chain-hash"
  const Fixture f;
  HeaderParts p = HeaderParts::of(f.fresh().header());
  p.chain_hash = Hash::compute(HashType::Sha256, testing::chain_item(f.chain)).encode();
  const Bytes bytes = remade_with_header(f, p.encode());
  const VerifyReport strict = verify(bytes, with_secret(f));
  EXPECT_EQ(failed(strict), std::vector<std::string>{"device cert chain hash"});
  EXPECT_NE(strict.find(check::kDevCertChainHash)->detail.find("legacy"), std::string::npos);
  VerifyOptions options = with_secret(f);
  options.leniency = Leniency({Quirk::LegacyCertChainHash});
  EXPECT_TRUE(verify(bytes, options).valid);
}

TEST(VoucherVerify, ReportsFuzzedHeaderBytes) {  // OV-06
  const Fixture f;
  const OwnershipVoucher ov = f.extended(2);
  Bytes header(ov.header_bytes().begin(), ov.header_bytes().end());
  header[8] ^= 0x01;  // inside the GUID: still decodes
  const Bytes bytes = testing::raw_voucher(101, header, ov.header_hmac_bytes(), testing::chain_item(f.chain),
                                           testing::entry_bytes(ov));
  const VerifyReport report = verify(bytes, with_secret(f));
  EXPECT_EQ(failed(report), (std::vector<std::string>{"header HMAC", "entry hash link 0", "entry hdrinfo hash 0",
                                                      "entry hdrinfo hash 1"}))
      << report.to_text();
  // Without the secret the entry-0 hash still catches it.
  EXPECT_FALSE(verify(bytes).valid);
}

TEST(VoucherVerify, ReportsABadHeaderHmac) {  // OV-07, OV-18
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  const auto with_hmac = [&](ByteView hmac_item) {
    return testing::raw_voucher(101, ov.header_bytes(), hmac_item, testing::chain_item(f.chain),
                                testing::entry_bytes(ov));
  };
  // Random bytes of the right type: entry 0's hash catches it even without the secret.
  VerifyReport report = verify(with_hmac(Hash(HashType::HmacSha256, Bytes(32, 0x11)).encode()));
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry hash link 0"}) << report.to_text();
  // Another type.
  report = verify(with_hmac(Hash(HashType::HmacSha384, Bytes(48, 0x11)).encode()));
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry hash link 0"}) << report.to_text();
  // OV-18: type 5 with 48 bytes.
  cbor::Writer w;
  w.array(2).int_(5).bstr(Bytes(48, 0x11));
  report = verify(with_hmac(w.bytes()), with_secret(f));
  EXPECT_EQ(failed(report), (std::vector<std::string>{"header HMAC format", "header HMAC", "entry hash link 0"}))
      << report.to_text();
  // A SHA type where an HMAC belongs.
  report = verify(with_hmac(Hash(HashType::Sha256, Bytes(32, 0x11)).encode()));
  EXPECT_EQ(report.first_failure()->name, check::kHeaderHmacFormat);
}

TEST(VoucherVerify, WrongHmacSecretFailsHeaderHmac) {  // OV-19
  const Fixture f;
  VerifyOptions options;
  options.hmac_secret = SecretBytes(Bytes(32, 0x5B));
  const VerifyReport report = verify(f.extended(1).encode(), options);
  EXPECT_EQ(failed(report), std::vector<std::string>{"header HMAC"}) << report.to_text();
  EXPECT_EQ(report.first_failure()->name, "header HMAC");
}

TEST(VoucherVerify, ReportsBadDeviceChains) {  // OV-07 (swap), OV-09
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  const auto with_chain = [&](ByteView chain) {
    return testing::raw_voucher(101, ov.header_bytes(), ov.header_hmac_bytes(), chain, testing::entry_bytes(ov));
  };
  VerifyReport report = verify(with_chain(testing::chain_item({f.chain[1], f.chain[0]})));
  EXPECT_EQ(failed(report), std::vector<std::string>{"device cert chain hash"}) << report.to_text();

  Bytes fuzzed = f.chain[1];
  fuzzed[fuzzed.size() / 2] ^= 0xFF;
  fuzzed.resize(fuzzed.size() - 7);
  report = verify(with_chain(testing::chain_item({f.chain[0], f.chain[1], fuzzed})));
  EXPECT_EQ(report.first_failure()->name, check::kDevCertChain) << report.to_text();

  report = verify(with_chain(Bytes{0x80}));
  EXPECT_EQ(report.first_failure()->name, check::kDevCertChain) << report.to_text();
  report = verify(with_chain(Bytes{0xF6}));
  EXPECT_EQ(report.first_failure()->name, check::kDevCertChain) << report.to_text();
  // A single bstr (RFC 9360) is accepted, and hashes the same.
  report = verify(with_chain(cbor::encode_bstr(f.chain[0])));
  EXPECT_EQ(failed(report), std::vector<std::string>{"device cert chain hash"}) << report.to_text();
}

TEST(VoucherVerify, ChecksTheDeviceChainSignaturesWhenAsked) {
  const Fixture f;
  const Fixture other(testing::profile("p256", "p384"));
  const OwnershipVoucher ov = f.extended(1);
  VerifyOptions options;
  options.check_dev_cert_chain_signatures = true;
  EXPECT_TRUE(verify(ov.encode(), options).valid);
  // The leaf with another CA's certificate: linked by nothing.
  HeaderParts p = HeaderParts::of(ov.header());
  const std::vector<Bytes> mixed = {f.chain[0], other.chain[1]};
  p.chain_hash = Hash::compute(HashType::Sha256, concat(mixed[0], mixed[1])).encode();
  const Bytes remade = remade_with_header(f, p.encode());
  const RawVoucher raw = RawVoucher::split(remade);
  const Bytes bytes = testing::raw_voucher(101, raw.header_bytes, raw.header_hmac, testing::chain_item(mixed),
                                           {Bytes(raw.entries[0].begin(), raw.entries[0].end())});
  const VerifyReport report = verify(bytes, options);
  EXPECT_EQ(failed(report), std::vector<std::string>{"device cert chain signatures"}) << report.to_text();
}

TEST(VoucherVerify, ChecksTheManufacturerKeyHash) {
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  VerifyOptions options;
  options.manufacturer_key_hash = Hash::compute(HashType::Sha256, ov.header().ov_pub_key.raw());
  EXPECT_TRUE(verify(ov.encode(), options).valid);
  options.manufacturer_key_hash = Hash::compute(HashType::Sha256, f.wire_key(1).raw());
  const VerifyReport report = verify(ov.encode(), options);
  EXPECT_EQ(failed(report), std::vector<std::string>{"manufacturer key hash"});
}

/// Builds a 3-entry P-256 chain by hand, breaking entry `broken` with `breaker`.
struct HandChain {
  const Fixture& f;
  OwnershipVoucher base = f.fresh();

  Bytes build(std::size_t broken, const std::function<void(OVEntryPayload&)>& breaker,
              std::optional<PublicKey> broken_key = std::nullopt,
              std::optional<std::reference_wrapper<const crypto::PrivateKey>> signer_after = std::nullopt) const {
    std::vector<Bytes> entries;
    Bytes prev_input = concat(base.header_bytes(), base.header_hmac_bytes());
    const Hash hdr = base.hdr_info_hash(HashType::Sha256);
    const crypto::PrivateKey* signer = &f.owners[0];
    for (std::size_t i = 0; i < 3; ++i) {
      const crypto::SigAlg alg = crypto::default_sig_alg(signer->type());
      OVEntryPayload payload{.ove_hash_prev_entry = Hash::compute(HashType::Sha256, prev_input),
                             .ove_hash_hdr_info = hdr,
                             .ove_extra = std::nullopt,
                             .ove_pub_key = (i == broken && broken_key) ? *broken_key : f.wire_key((i + 1) % 3)};
      if (i == broken) {
        breaker(payload);
      }
      entries.push_back(testing::signed_entry(*signer, alg, payload.encode()));
      prev_input = entries.back();
      signer = &f.owners[(i + 1) % 3];
      if (i == broken && signer_after) {
        signer = &signer_after->get();
      }
    }
    return testing::raw_voucher(101, base.header_bytes(), base.header_hmac_bytes(), testing::chain_item(f.chain),
                                entries);
  }
};

TEST(VoucherVerify, HandChainWithoutBreakageIsValid) {
  const Fixture f;
  const HandChain chain{f};
  const Bytes bytes = chain.build(99, [](OVEntryPayload&) {});
  EXPECT_TRUE(verify(bytes, with_secret(f)).valid) << verify(bytes).to_text();
  // Same payloads as extend() writes (the signatures differ: ECDSA is randomised).
  EXPECT_EQ(OwnershipVoucher::decode(bytes).entries()[0].sign1.payload().size(),
            f.extended(1).entries()[0].sign1.payload().size());
  EXPECT_TRUE(equal(OwnershipVoucher::decode(bytes).entries()[0].sign1.payload(),
                    f.extended(1).entries()[0].sign1.payload()));
}

TEST(VoucherVerify, ReportsABadHdrInfoHash) {  // OV-11
  const Fixture f;
  const Bytes bytes = HandChain{f}.build(1, [](OVEntryPayload& p) {
    p.ove_hash_hdr_info = Hash(HashType::Sha256, Bytes(32, 0x33));
  });
  const VerifyReport report = verify(bytes, with_secret(f));
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry hdrinfo hash 1"}) << report.to_text();
}

TEST(VoucherVerify, ReportsABadPrevHash) {  // OV-12
  const Fixture f;
  const Bytes bytes = HandChain{f}.build(2, [](OVEntryPayload& p) {
    p.ove_hash_prev_entry = Hash(HashType::Sha256, Bytes(32, 0x33));
  });
  const VerifyReport report = verify(bytes, with_secret(f));
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry hash link 2"}) << report.to_text();
}

TEST(VoucherVerify, ReportsAMixOfHashTypes) {
  const Fixture f;
  const OwnershipVoucher base = f.fresh();
  const Bytes bytes = HandChain{f}.build(1, [&](OVEntryPayload& p) {
    p.ove_hash_hdr_info = base.hdr_info_hash(HashType::Sha384);
  });
  const VerifyReport report = verify(bytes);
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry hdrinfo hash 1"}) << report.to_text();
  EXPECT_NE(report.find(check::kEntryHdrInfoHash, 1)->detail.find("SHA384"), std::string::npos);
}

TEST(VoucherVerify, ReportsANextOwnerKeyOfAnotherType) {  // OV-13
  const Fixture f;
  const crypto::PrivateKey p384 = testing::test_key("owner1-p384");
  const Bytes bytes =
      HandChain{f}.build(1, [](OVEntryPayload&) {}, PublicKey::from_key(p384.public_key()), std::cref(p384));
  const VerifyReport report = verify(bytes, with_secret(f));
  // The P-384 key signs entry 2 correctly with ES384; only the key-type rule fails.
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry key type 1"}) << report.to_text();
  EXPECT_TRUE(report.find(check::kEntrySignature, 2)->ok);
}

TEST(VoucherVerify, ReportsABadSignature) {  // OV-14
  const Fixture f;
  OwnershipVoucher ov = f.extended(3);
  std::vector<Bytes> entries = testing::entry_bytes(ov);
  entries[1][entries[1].size() - 5] ^= 0x01;  // inside the signature
  // The entries after it link to the changed bytes, as a forger would have to.
  const Bytes bytes = testing::raw_voucher(101, ov.header_bytes(), ov.header_hmac_bytes(),
                                           testing::chain_item(f.chain), entries);
  const VerifyReport report = verify(bytes, with_secret(f));
  EXPECT_EQ(failed(report), (std::vector<std::string>{"entry signature 1", "entry hash link 2"})) << report.to_text();
}

TEST(VoucherVerify, ReportsASignatureAlgUnsuitedToTheKey) {
  const Fixture f;
  const OwnershipVoucher base = f.fresh();
  const OVEntryPayload payload{.ove_hash_prev_entry = base.prev_entry_hash(0, HashType::Sha256),
                               .ove_hash_hdr_info = base.hdr_info_hash(HashType::Sha256),
                               .ove_extra = std::nullopt,
                               .ove_pub_key = f.wire_key(1)};
  const crypto::PrivateKey p384 = testing::test_key("owner1-p384");
  const Bytes entry = testing::signed_entry(p384, crypto::SigAlg::ES384, payload.encode());
  const VerifyReport report = verify(base.with_entry(entry).encode());
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry signature 0"}) << report.to_text();
  EXPECT_NE(report.find(check::kEntrySignature, 0)->detail.find("does not suit"), std::string::npos);
}

TEST(VoucherVerify, ReportsAMutatedNextOwnerKey) {  // OV-15
  const Fixture f;
  cbor::Writer random_body;
  random_body.array(3).uint(10).uint(1).bstr(Bytes(91, 0x42));
  const Bytes bad_key = std::move(random_body).take();
  const OwnershipVoucher base = f.fresh();
  cbor::Writer payload;
  payload.array(4);
  base.prev_entry_hash(0, HashType::Sha256).encode(payload);
  base.hdr_info_hash(HashType::Sha256).encode(payload);
  payload.null().raw(bad_key);
  const Bytes entry = testing::signed_entry(f.owners[0], crypto::SigAlg::ES256, payload.bytes());
  const Bytes bytes = testing::raw_voucher(101, base.header_bytes(), base.header_hmac_bytes(),
                                           testing::chain_item(f.chain), {entry});
  const VerifyReport report = verify(bytes);
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry structure 0"}) << report.to_text();
  EXPECT_EQ(report.checks.back().name, check::kEntryStructure) << "an entry that does not decode stops the walk";
}

TEST(VoucherVerify, ReportsANonEmptyUnprotectedMap) {  // OV-18
  const Fixture f;
  const OwnershipVoucher ov = f.extended(1);
  const cose::Sign1& s = ov.entries()[0].sign1;
  cbor::Writer w;
  w.tag(18).array(4).bstr(s.protected_bytes()).map(1).uint(4).bstr(Bytes{0x00}).bstr(s.payload()).bstr(s.signature());
  const Bytes bytes = testing::raw_voucher(101, ov.header_bytes(), ov.header_hmac_bytes(),
                                           testing::chain_item(f.chain), {w.bytes()});
  const VerifyReport report = verify(bytes);
  EXPECT_EQ(failed(report), std::vector<std::string>{"entry structure 0"}) << report.to_text();
}

TEST(VoucherVerify, UntaggedEntryOnlyUnderTheQuirk) {  // docs/interop.md "untagged-cose"
  const Fixture f;
  const OwnershipVoucher ov = f.extended(2);
  std::vector<Bytes> entries = testing::entry_bytes(ov);
  ASSERT_EQ(entries[1][0], 0xD2);
  entries[1].erase(entries[1].begin());
  const Bytes bytes = testing::raw_voucher(101, ov.header_bytes(), ov.header_hmac_bytes(),
                                           testing::chain_item(f.chain), entries);
  EXPECT_EQ(failed(verify(bytes)), std::vector<std::string>{"entry structure 1"});
  VerifyOptions options;
  options.leniency = Leniency({Quirk::UntaggedCose});
  EXPECT_TRUE(verify(bytes, options).valid);
}

TEST(VoucherVerify, ReportTextAndJsonNameTheFailure) {
  const Fixture f;
  VerifyOptions options;
  options.hmac_secret = SecretBytes(Bytes(32, 0x00));
  const VerifyReport report = verify(f.extended(1).encode(), options);
  EXPECT_NE(report.to_text().find("FAIL  header HMAC: "), std::string::npos) << report.to_text();
  JsonWriter j;
  report.to_json(j);
  const std::string json = j.str();
  EXPECT_EQ(json.rfind("{\"valid\":false,\"checks\":[{\"name\":\"protocol version\",\"entry\":null,\"ok\":true,", 0), 0u)
      << json;
  EXPECT_NE(json.find("{\"name\":\"entry signature\",\"entry\":0,\"ok\":true,"), std::string::npos) << json;
}

}  // namespace
}  // namespace fdo::voucher
