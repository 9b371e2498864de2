// DI end to end over the loopback transport (di_device against di_manufacturer), the conformance lines
// DI-01..DI-12 at the dispatcher, and DEV-30..DEV-32 against a scripted misbehaving manufacturer.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "libfdo/core/internal/expect_error.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/messages/di.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/protocol/di_device.h"
#include "libfdo/protocol/di_manufacturer.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/loopback_transport.h"
#include "libfdo/voucher/create.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::protocol {
namespace {

// Keys from libfdo/testdata/voucher/ (see its README): no RSA key generation in unit tests.
crypto::PrivateKey test_key(const std::string& name) {
  return crypto::PrivateKey::from_pem(
      to_string(read_file(std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/voucher/" + name + ".pem")));
}

// A device attestation key of each type: EC device keys, and the RSA owner1 keys standing in for RSA devices.
crypto::PrivateKey device_key(crypto::KeyType type) {
  switch (type) {
    case crypto::KeyType::P256: return test_key("device-p256");
    case crypto::KeyType::P384: return test_key("device-p384");
    case crypto::KeyType::Rsa2048: return test_key("owner1-rsa2048");
    case crypto::KeyType::Rsa3072: return test_key("owner1-rsa3072");
  }
  throw_internal("unknown key type");
}

ManufacturerKeys manufacturer_keys() {
  ManufacturerKeys keys{.signing_keys = {},
                        .default_key_type = crypto::KeyType::P256,
                        .device_ca_key = test_key("device-ca-p256"),
                        .device_ca_chain = {}};
  for (const char* type : {"p256", "p384", "rsa2048", "rsa3072"}) {
    keys.signing_keys.push_back(ManufacturerKey{test_key(std::string("manufacturer-") + type), {}});
  }
  keys.device_ca_chain.push_back(crypto::make_self_signed(
      keys.device_ca_key,
      {.common_name = "Test Device CA", .organization = "fdo-cpp tests", .validity_days = 3650, .is_ca = true}));
  return keys;
}

constexpr std::string_view kRvUrl = "http://127.0.0.1:8041";

DiManufacturerOptions manufacturer_options() {
  DiManufacturerOptions o;
  o.rv_info = RendezvousInfo::from_urls(kRvUrl);
  return o;
}

DiDeviceOptions device_options(std::string serial = "SN-0001") {
  DiDeviceOptions o;
  o.serial_no = std::move(serial);
  o.device_info = "TestModel";
  return o;
}

// A DI server: memory store, dispatcher with a test clock, the DI endpoint.
struct Server {
  explicit Server(DiManufacturerOptions options = manufacturer_options(),
                  std::shared_ptr<storage::Store> shared_store = nullptr)
      : store(shared_store ? std::move(shared_store) : std::shared_ptr<storage::Store>(storage::make_memory_store())),
        endpoint(manufacturer_keys(), std::move(options)),
        dispatcher(*store, options_with_clock()) {
    dispatcher.add(endpoint);
  }

  // POSTs a raw body the way the HTTP server would (binding checks included).
  transport::Response post(std::uint8_t type, Bytes body, std::optional<std::string> token = std::nullopt) {
    transport::InboundMessage m;
    m.msg_type = type;
    m.headers = {{"Content-Type", "application/cbor"}};
    if (token) {
      m.headers.emplace_back("Authorization", transport::bearer_value(*token));
    }
    m.body_too_large = body.size() > transport::kMaxBody;
    if (!m.body_too_large) {
      m.body = std::move(body);
    }
    m.peer = "test";
    return transport::serve_message(dispatcher, m, transport::kMaxBody);
  }

  std::vector<storage::VoucherRecord> vouchers() {
    auto tx = store->begin();
    return tx->list_vouchers();
  }

  DispatcherOptions options_with_clock() {
    DispatcherOptions o;
    o.session_ttl = 300;
    o.clock = [this] { return now; };
    return o;
  }

  std::int64_t now = 1'700'000'000;
  std::shared_ptr<storage::Store> store;
  DiManufacturer endpoint;
  Dispatcher dispatcher;
};

// The ErrorMessage of a rejected request, after checking the transport form of an FDO error.
ErrorMessage error_of(const transport::Response& r) {
  EXPECT_EQ(r.msg_type, 255);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_FALSE(r.token.has_value()) << "no Authorization on errors";
  return ErrorMessage::decode(r.body);
}

void expect_error(const transport::Response& r, std::uint16_t code, std::uint8_t prev) {
  const ErrorMessage em = error_of(r);
  EXPECT_EQ(em.em_error_code, code) << em.describe();
  EXPECT_EQ(em.em_prev_msg_id, prev) << em.describe();
}

// A DI.AppStart body with a raw MfgInfo (keyType and keyEnc as numbers) and a CSR for `key`.
Bytes app_start_body(std::uint64_t key_type, std::uint64_t key_enc, const Bytes& csr, std::string serial = "SN-1",
                     std::string model = "TestModel", std::size_t elements = 5) {
  cbor::Writer w;
  w.array(elements).uint(key_type).uint(key_enc).tstr(serial).tstr(model).bstr(csr);
  for (std::size_t i = 5; i < elements; ++i) {
    w.bstr(Bytes{});
  }
  return di::AppStart{std::move(w).take()}.encode();
}

Bytes valid_app_start(const crypto::PrivateKey& key, std::string serial = "SN-1") {
  return app_start_body(static_cast<std::uint64_t>(default_pk_type(key.public_key())), 1,
                        crypto::make_csr(key, serial), serial);
}

Bytes set_hmac_body(std::int64_t type, std::size_t size) {
  cbor::Writer w;
  w.array(1).array(2).int_(type).bstr(Bytes(size, 0x42));
  return std::move(w).take();
}

// ---- Whole DI, every key type ----

class DiEveryKeyType : public ::testing::TestWithParam<crypto::KeyType> {};

TEST_P(DiEveryKeyType, DeviceAndManufacturerAgreeAndTheVoucherVerifiesWithTheDeviceSecret) {
  Server server;
  transport::LoopbackTransport loop(server.dispatcher);
  const SoftwareDeviceIdentity device = SoftwareDeviceIdentity::from_key(device_key(GetParam()));
  DiResult result = run_di(loop, device_options(), device.signer(), device.hmac());
  const DeviceCredential cred = device.credential(std::move(result));

  const crypto::HashAlg family = crypto::hash_family(GetParam());
  EXPECT_EQ(cred.dc_hmac_secret.size(), crypto::digest_size(family));
  EXPECT_EQ(cred.key_type, GetParam());
  EXPECT_TRUE(cred.dc_active);
  EXPECT_EQ(cred.dc_prot_ver, 101);
  EXPECT_EQ(cred.dc_device_info, "TestModel");
  EXPECT_EQ(cred.dc_rv_info, RendezvousInfo::from_urls(kRvUrl));
  EXPECT_EQ(cred.dc_pub_key_hash.type(), hash_type_for(family));

  const std::vector<storage::VoucherRecord> stored = server.vouchers();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].guid, cred.dc_guid);
  EXPECT_EQ(stored[0].serial, "SN-0001");
  EXPECT_EQ(stored[0].device_info, "TestModel");
  EXPECT_EQ(stored[0].created_at, server.now);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(stored[0].voucher);
  EXPECT_EQ(ov.header().ov_guid, cred.dc_guid);
  EXPECT_EQ(ov.header_hmac().type(), hmac_type_for(family));
  EXPECT_EQ(ov.entries().size(), 0u);
  // The manufacturer holds a key of every type: OVPubKey has the device's type.
  EXPECT_EQ(ov.header().ov_pub_key.key().type(), GetParam());

  voucher::VerifyOptions options;
  options.hmac_secret = cred.dc_hmac_secret.clone();
  options.manufacturer_key_hash = cred.dc_pub_key_hash;
  options.allow_zero_entries = true;
  options.check_dev_cert_chain_signatures = true;
  const voucher::VerifyReport report = voucher::verify(stored[0].voucher, options);
  EXPECT_TRUE(report.valid) << report.to_text();
  ASSERT_NE(report.find(voucher::check::kHeaderHmac), nullptr);
  EXPECT_TRUE(report.find(voucher::check::kHeaderHmac)->ok);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, DiEveryKeyType,
                         ::testing::Values(crypto::KeyType::P256, crypto::KeyType::P384, crypto::KeyType::Rsa2048,
                                           crypto::KeyType::Rsa3072),
                         [](const ::testing::TestParamInfo<crypto::KeyType>& p) {
                           return std::string(crypto::key_type_name(p.param));
                         });

TEST(DiManufacturer, ExtendsTheVoucherToTheFirstOwnerWithAKeyOfItsType) {
  DiManufacturerOptions options = manufacturer_options();
  const crypto::PrivateKey owner = test_key("owner2-p256");
  options.first_owner = owner.public_key();
  Server server(std::move(options));
  transport::LoopbackTransport loop(server.dispatcher);
  // A P-384 device: the manufacturer still signs with its P-256 key so the voucher keeps one key type.
  const SoftwareDeviceIdentity device = SoftwareDeviceIdentity::from_key(device_key(crypto::KeyType::P384));
  const DeviceCredential cred = device.credential(run_di(loop, device_options(), device.signer(), device.hmac()));
  const std::vector<storage::VoucherRecord> stored = server.vouchers();
  ASSERT_EQ(stored.size(), 1u);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(stored[0].voucher);
  ASSERT_EQ(ov.entries().size(), 1u);
  EXPECT_TRUE(ov.owner_key().key().same_key(owner.public_key()));
  EXPECT_EQ(ov.header().ov_pub_key.key().type(), crypto::KeyType::P256);
  EXPECT_EQ(stored[0].owner_key_id, to_hex(crypto::hash(crypto::HashAlg::Sha256, ov.owner_key().raw())));
  voucher::VerifyOptions vo;
  vo.hmac_secret = cred.dc_hmac_secret.clone();
  vo.manufacturer_key_hash = cred.dc_pub_key_hash;
  const voucher::VerifyReport report = voucher::verify(stored[0].voucher, vo);
  EXPECT_TRUE(report.valid) << report.to_text();
}

TEST(DiManufacturer, RefusesAFirstOwnerWhoseKeyTypeItDoesNotHold) {
  ManufacturerKeys keys = manufacturer_keys();
  keys.signing_keys.erase(keys.signing_keys.begin() + 1);  // drop the P-384 key
  DiManufacturerOptions options = manufacturer_options();
  options.first_owner = test_key("owner2-p384").public_key();
  const std::string what =
      test::expect_error([&] { DiManufacturer(std::move(keys), std::move(options)); }, ErrorCode::InternalServerError);
  EXPECT_NE(what.find("no manufacturer key of type"), std::string::npos) << what;
}

TEST(DiManufacturer, FallsBackToTheDefaultKeyWhenItHoldsNoKeyOfTheDeviceType) {
  ManufacturerKeys keys = manufacturer_keys();
  keys.signing_keys.erase(keys.signing_keys.begin() + 1);  // no P-384 manufacturer key
  auto store = storage::make_memory_store();
  DiManufacturer endpoint(std::move(keys), manufacturer_options());
  Dispatcher dispatcher(*store);
  dispatcher.add(endpoint);
  transport::LoopbackTransport loop(dispatcher);
  const SoftwareDeviceIdentity device = SoftwareDeviceIdentity::from_key(device_key(crypto::KeyType::P384));
  const DiResult result = run_di(loop, device_options(), device.signer(), device.hmac());
  EXPECT_EQ(result.manufacturer_key, "SECP256R1 X509 (p256)");
  // The hash family is still the device's: HMAC-SHA384, SHA-384 DCPubKeyHash.
  EXPECT_EQ(result.credential.dc_pub_key_hash.type(), HashType::Sha384);
}

TEST(DiManufacturer, EncodesOVPubKeyAsAskedByKeyEnc) {
  Server server;
  const crypto::PrivateKey key = device_key(crypto::KeyType::P256);
  const transport::Response r = server.post(10, app_start_body(10, 3, crypto::make_csr(key, "SN-1")));
  ASSERT_EQ(r.msg_type, 11);
  const voucher::OVHeader header = di::SetCredentials::decode(r.body).header();
  EXPECT_EQ(header.ov_pub_key.pk_enc(), PkEnc::CoseKey);
  // X5CHAIN needs a manufacturer certificate, which this server does not have.
  expect_error(server.post(10, app_start_body(10, 2, crypto::make_csr(key, "SN-1"))), 101, 10);
  // COSEKEY cannot carry an RSA manufacturer key.
  const crypto::PrivateKey rsa = device_key(crypto::KeyType::Rsa2048);
  expect_error(server.post(10, app_start_body(1, 3, crypto::make_csr(rsa, "SN-1"))), 101, 10);
}

TEST(DiManufacturer, HeaderCarriesTheConfiguredFieldsAndTheChainHashOverTheDer) {
  // DI-13 at the dispatcher: OVHProtVer 101, 16-byte GUID, configured RVInfo, OVDeviceInfo = deviceInfo,
  // OVDevCertChainHash over the concatenated DER of the chain stored in the voucher.
  Server server;
  const crypto::PrivateKey key = device_key(crypto::KeyType::P256);
  const transport::Response r11 = server.post(10, valid_app_start(key));
  ASSERT_EQ(r11.msg_type, 11);
  ASSERT_TRUE(r11.token);
  const di::SetCredentials creds = di::SetCredentials::decode(r11.body);
  const voucher::OVHeader header = creds.header();
  EXPECT_EQ(header.ovh_prot_ver, 101);
  EXPECT_EQ(header.ov_rv_info, RendezvousInfo::from_urls(kRvUrl));
  EXPECT_EQ(header.ov_device_info, "TestModel");
  EXPECT_EQ(header.encode(), creds.ov_header) << "the manufacturer's header is canonical";
  const SecretBytes secret(Bytes(32, 7));
  const HMac mac = voucher::header_hmac(crypto::HashAlg::Sha256, secret, creds.ov_header);
  const transport::Response r13 = server.post(12, di::SetHMAC{mac}.encode(), r11.token);
  ASSERT_EQ(r13.msg_type, 13);
  EXPECT_EQ(to_hex(r13.body), "80");
  EXPECT_EQ(r13.token, r11.token);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(server.vouchers().at(0).voucher);
  ASSERT_TRUE(ov.dev_cert_chain().has_value());
  ASSERT_EQ(ov.dev_cert_chain()->size(), 2u);
  EXPECT_TRUE(header.ov_dev_cert_chain_hash->matches(concat(ov.dev_cert_chain()->at(0), ov.dev_cert_chain()->at(1))));
  EXPECT_TRUE(equal(ov.header_bytes(), creds.ov_header));
  EXPECT_EQ(ov.header_hmac(), mac);
  const crypto::Certificate leaf = crypto::Certificate::from_der(ov.dev_cert_chain()->at(0));
  EXPECT_TRUE(leaf.public_key().same_key(key.public_key()));
  EXPECT_NE(leaf.subject().find("SN-1"), std::string::npos);
}

TEST(DiManufacturer, ARestartBetweenMessagesDoesNotBreakTheRun) {
  // Sessions live in the store: a new endpoint and dispatcher on the same store finish the run.
  std::shared_ptr<storage::Store> store = storage::make_memory_store();
  std::optional<std::string> token;
  Bytes header;
  {
    Server first(manufacturer_options(), store);
    const transport::Response r = first.post(10, valid_app_start(device_key(crypto::KeyType::P256)));
    ASSERT_EQ(r.msg_type, 11);
    token = r.token;
    header = di::SetCredentials::decode(r.body).ov_header;
  }
  Server second(manufacturer_options(), store);
  const SecretBytes secret(Bytes(32, 9));
  const transport::Response r = second.post(
      12, di::SetHMAC{voucher::header_hmac(crypto::HashAlg::Sha256, secret, header)}.encode(), token);
  EXPECT_EQ(r.msg_type, 13);
  EXPECT_EQ(second.vouchers().size(), 1u);
}

TEST(DiManufacturer, PolicyRefusesBadSerialsAndDeviceInfoWith101) {
  Server server;
  const crypto::PrivateKey key = device_key(crypto::KeyType::P256);
  const Bytes csr = crypto::make_csr(key, "x");
  expect_error(server.post(10, app_start_body(10, 1, csr, "SN 1")), 101, 10);  // space
  expect_error(server.post(10, app_start_body(10, 1, csr, "")), 101, 10);
  expect_error(server.post(10, app_start_body(10, 1, csr, "SN-1", "")), 101, 10);
  expect_error(server.post(10, app_start_body(10, 1, csr, "SN-1", std::string(129, 'a'))), 101, 10);
  expect_error(server.post(10, app_start_body(10, 1, csr, "SN-1", "caf\xC3\xA9")), 101, 10);
  EXPECT_TRUE(server.vouchers().empty());
}

TEST(DeviceInfoPolicy, ParsesCharacterClassesAndRanges) {
  const DeviceInfoPolicy p("a-c_-", 4);
  EXPECT_FALSE(p.problem("f", "ab_-").has_value());
  EXPECT_TRUE(p.problem("f", "abd").has_value());
  EXPECT_TRUE(p.problem("f", "abcab").has_value());
  EXPECT_NE(p.problem("serialNo", "").value().find("serialNo is empty"), std::string::npos);
  EXPECT_FALSE(DeviceInfoPolicy("-a", 8).problem("f", "-a-").has_value());
  EXPECT_THROW(DeviceInfoPolicy("z-a", 8), Error);
  EXPECT_THROW(DeviceInfoPolicy("", 8), Error);
  EXPECT_THROW(DeviceInfoPolicy("a\tb", 8), Error);
  EXPECT_FALSE(DeviceInfoPolicy().problem("f", "Model_1.2:x-y").has_value());
}

TEST(DiSession, RoundTripsAndRefusesForeignState) {
  DiSession s;
  s.guid = Guid::from(Bytes(16, 3));
  s.serial = "S";
  s.device_info = "D";
  s.header = {0x86};
  s.dev_cert_chain = {{1, 2}, {3}};
  s.hmac_type = HashType::HmacSha384;
  s.manufacturer_key = crypto::KeyType::Rsa3072;
  const DiSession back = DiSession::decode(s.encode());
  EXPECT_EQ(back.encode(), s.encode());
  EXPECT_EQ(back.manufacturer_key, crypto::KeyType::Rsa3072);
  try {
    DiSession::decode(from_hex("80"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InternalServerError);
  }
}

// ---- DI-01..DI-12 at the dispatcher ----

TEST(DiConformance, DI01_NonCborAppStartIs100WithoutToken) {
  Server server;
  expect_error(server.post(10, {0xFF}), 100, 10);
  EXPECT_TRUE(server.vouchers().empty());
}

TEST(DiConformance, DI02_MapBodyAndTrailingByteAre100) {
  Server server;
  expect_error(server.post(10, from_hex("a10000")), 100, 10);
  Bytes body = valid_app_start(device_key(crypto::KeyType::P256));
  body.push_back(0x00);
  expect_error(server.post(10, body), 100, 10);
}

TEST(DiConformance, DI03_TextMfgInfoIs100) {
  Server server;
  expect_error(server.post(10, di::AppStart{cbor::encode_tstr("SN-1")}.encode()), 100, 10);
}

TEST(DiConformance, DI04_FourAndTenElementsAre100AndFiveSixNineAreAccepted) {
  Server server;
  const crypto::PrivateKey key = device_key(crypto::KeyType::P256);
  const Bytes csr = crypto::make_csr(key, "SN-1");
  cbor::Writer four;
  four.array(4).uint(10).uint(1).tstr("SN-1").tstr("TestModel");
  expect_error(server.post(10, di::AppStart{std::move(four).take()}.encode()), 100, 10);
  expect_error(server.post(10, app_start_body(10, 1, csr, "SN-1", "TestModel", 10)), 100, 10);
  for (const std::size_t n : {5u, 6u, 9u}) {
    EXPECT_EQ(server.post(10, app_start_body(10, 1, csr, "SN-1", "TestModel", n)).msg_type, 11) << n;
  }
}

TEST(DiConformance, DI05_UnknownKeyTypeAndEpidEncodingAre101) {
  Server server;
  const Bytes csr = crypto::make_csr(device_key(crypto::KeyType::P256), "SN-1");
  expect_error(server.post(10, app_start_body(7, 1, csr)), 101, 10);
  expect_error(server.post(10, app_start_body(10, 0, csr)), 101, 10);
}

TEST(DiConformance, DI06_CsrWithAFlippedSignatureBitIs101AndNothingIsStored) {
  Server server;
  Bytes csr = crypto::make_csr(device_key(crypto::KeyType::P256), "SN-1");
  csr.back() ^= 0x01;  // the last byte is inside the signature
  expect_error(server.post(10, app_start_body(10, 1, csr)), 101, 10);
  EXPECT_TRUE(server.vouchers().empty());
}

TEST(DiConformance, DI07_P384CsrWithKeyTypeSecp256r1Is101) {
  Server server;
  expect_error(server.post(10, app_start_body(10, 1, crypto::make_csr(device_key(crypto::KeyType::P384), "SN-1"))),
               101, 10);
}

TEST(DiConformance, DI08_SetHmacWithADigestOrWrongLengthIs100) {
  Server server;
  const crypto::PrivateKey key = device_key(crypto::KeyType::P256);
  for (const auto& [type, size, code] :
       {std::tuple{-16, 32u, 100}, std::tuple{5, 31u, 100}, std::tuple{6, 32u, 100}}) {
    const transport::Response r11 = server.post(10, valid_app_start(key));
    ASSERT_EQ(r11.msg_type, 11);
    expect_error(server.post(12, set_hmac_body(type, size), r11.token), static_cast<std::uint16_t>(code), 12);
    // The session is gone after the error.
    expect_error(server.post(12, set_hmac_body(5, 32), r11.token), 1, 12);
  }
  EXPECT_TRUE(server.vouchers().empty());
}

TEST(DiConformance, SetHmacOfTheOtherFamilyIsAcceptedAndRecorded) {
  // FDO 1.1 §5.2.3 asks only for hashtype 5 or 6 with the matching length: a P-256 device that sends
  // HMAC-SHA384 (as devices of other stacks may) gets DI.Done, and the voucher records its HMAC.
  Server server;
  const transport::Response r11 = server.post(10, valid_app_start(device_key(crypto::KeyType::P256)));
  ASSERT_EQ(r11.msg_type, 11);
  const Bytes header = di::SetCredentials::decode(r11.body).ov_header;
  const SecretBytes secret(Bytes(48, 7));
  const Hash mac = voucher::header_hmac(crypto::HashAlg::Sha384, secret, header);
  ASSERT_EQ(server.post(12, di::SetHMAC{mac}.encode(), r11.token).msg_type, 13);
  ASSERT_EQ(server.vouchers().size(), 1u);
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(server.vouchers().front().voucher);
  EXPECT_EQ(ov.header_hmac(), mac);
}

TEST(DiConformance, DI09_SetHmacReplayedAfterDoneIs1AndOneVoucherRemains) {
  Server server;
  const transport::Response r11 = server.post(10, valid_app_start(device_key(crypto::KeyType::P256)));
  ASSERT_EQ(server.post(12, set_hmac_body(5, 32), r11.token).msg_type, 13);
  expect_error(server.post(12, set_hmac_body(5, 32), r11.token), 1, 12);
  EXPECT_EQ(server.vouchers().size(), 1u);
}

TEST(DiConformance, DI10_SetHmacWithoutOrWithAMadeUpTokenIs1AndServerTypesAre100) {
  Server server;
  expect_error(server.post(12, set_hmac_body(5, 32)), 1, 12);
  expect_error(server.post(12, set_hmac_body(5, 32), std::string("bWFkZS11cA")), 1, 12);
  expect_error(server.post(11, from_hex("8140")), 100, 11);
  expect_error(server.post(13, from_hex("80")), 100, 13);
  EXPECT_TRUE(server.vouchers().empty());
}

TEST(DiConformance, DI11_DeviceErrorAfterSetCredentialsEndsTheRun) {
  Server server;
  const transport::Response r11 = server.post(10, valid_app_start(device_key(crypto::KeyType::P256)));
  ErrorMessage em;
  em.em_error_code = 101;
  em.em_prev_msg_id = 11;
  const transport::Response ack = server.post(255, em.encode(), r11.token);
  EXPECT_EQ(ack.http_status, 200);
  EXPECT_TRUE(ack.body.empty());
  expect_error(server.post(12, set_hmac_body(5, 32), r11.token), 1, 12);
  EXPECT_TRUE(server.vouchers().empty());
}

TEST(DiConformance, DI12_OversizeAppStartIs100WithoutSession) {
  Server server;
  const transport::Response r = server.post(10, Bytes(65536, 0x00));
  expect_error(r, 100, 10);
  EXPECT_FALSE(r.token.has_value());
  EXPECT_TRUE(server.vouchers().empty());
}

// ---- DEV-30..DEV-32: the device against a scripted manufacturer ----

// A DI server that answers 10 and 12 with scripted bodies and records what the device sent.
class ScriptedManufacturer final : public transport::Responder {
 public:
  std::function<transport::Response(const Bytes& app_start)> on_app_start;
  std::function<transport::Response(const Bytes& set_hmac)> on_set_hmac = [](const Bytes&) {
    return ok(MessageType::DiDone, di::Done{}.encode());
  };
  std::vector<std::uint8_t> received;
  std::optional<ErrorMessage> device_error;

  static transport::Response ok(MessageType type, Bytes body) {
    return transport::Response{static_cast<std::uint8_t>(type), std::move(body), std::string("c2NyaXB0ZWQ"), 200};
  }

  transport::Response handle(const transport::Request& request) override {
    received.push_back(request.msg_type);
    if (request.msg_type == 255) {
      device_error = ErrorMessage::decode(request.body);
      return transport::Response{255, {}, std::nullopt, 200};
    }
    return request.msg_type == 10 ? on_app_start(request.body) : on_set_hmac(request.body);
  }
  transport::Response reject(std::uint8_t, std::optional<std::string>, ErrorCode code, std::string_view) override {
    ErrorMessage em;
    em.em_error_code = static_cast<std::uint16_t>(code);
    return transport::Response{255, em.encode(), std::nullopt, 500};
  }
};

// A header as a real manufacturer would make it for the device key in `app_start`.
Bytes header_for(const Bytes& app_start) {
  const di::MfgInfo info = di::MfgInfo::decode(di::AppStart::decode(app_start).device_mfg_info);
  const crypto::PrivateKey ca = test_key("device-ca-p256");
  const crypto::Certificate ca_cert = crypto::make_self_signed(
      ca, {.common_name = "CA", .organization = "t", .validity_days = 10, .is_ca = true});
  const crypto::Certificate leaf = crypto::issue_certificate(
      ca, ca_cert, crypto::parse_csr(info.cert_info).public_key,
      {.common_name = info.serial_no, .organization = "t", .validity_days = 10, .is_ca = false});
  return voucher::make_header({.guid = Guid::from(Bytes(16, 0x5C)),
                               .rv_info = RendezvousInfo::from_urls(kRvUrl),
                               .device_info = info.device_info,
                               .manufacturer_key = PublicKey::from_key(test_key("manufacturer-p256").public_key()),
                               .dev_cert_chain = {leaf.der(), ca_cert.der()}})
      .header_bytes;
}

// Runs DI against `server`; returns the error the device threw (nullopt on success).
std::optional<Error> run_against(ScriptedManufacturer& server, std::optional<DiResult>* result = nullptr,
                                 const SoftwareDeviceIdentity* identity = nullptr) {
  transport::LoopbackTransport loop(server);
  const SoftwareDeviceIdentity own = SoftwareDeviceIdentity::from_key(device_key(crypto::KeyType::P256));
  const SoftwareDeviceIdentity& device = identity != nullptr ? *identity : own;
  try {
    DiResult r = run_di(loop, device_options(), device.signer(), device.hmac());
    if (result != nullptr) {
      result->emplace(std::move(r));
    }
    return std::nullopt;
  } catch (const Error& e) {
    return e;
  }
}

TEST(DiDevice, DEV30_HeaderWithProtocolVersion100AbortsWith101) {
  ScriptedManufacturer server;
  server.on_app_start = [](const Bytes& body) {
    Bytes header = header_for(body);
    header[2] = 0x64;  // 18 65 → 18 64
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, di::SetCredentials{header}.encode());
  };
  const std::optional<Error> e = run_against(server);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), ErrorCode::InvalidMessageError);
  EXPECT_EQ(server.received, (std::vector<std::uint8_t>{10, 255})) << "no SetHMAC, then our 255";
  ASSERT_TRUE(server.device_error);
  EXPECT_EQ(server.device_error->em_error_code, 101);
  EXPECT_EQ(server.device_error->em_prev_msg_id, 11);
}

TEST(DiDevice, DEV31_BareHeaderArrayAbortsWith100) {
  ScriptedManufacturer server;
  server.on_app_start = [](const Bytes& body) {
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, header_for(body));
  };
  const std::optional<Error> e = run_against(server);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), ErrorCode::MessageBodyError);
  EXPECT_EQ(server.received, (std::vector<std::uint8_t>{10, 255}));
  EXPECT_EQ(server.device_error->em_error_code, 100);
}

TEST(DiDevice, DEV31_DoneWithABodyAbortsWith100) {
  ScriptedManufacturer server;
  server.on_app_start = [](const Bytes& body) {
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, di::SetCredentials{header_for(body)}.encode());
  };
  server.on_set_hmac = [](const Bytes&) { return ScriptedManufacturer::ok(MessageType::DiDone, from_hex("8100")); };
  const std::optional<Error> e = run_against(server);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), ErrorCode::MessageBodyError);
  EXPECT_EQ(server.received, (std::vector<std::uint8_t>{10, 12, 255}));
  EXPECT_EQ(server.device_error->em_prev_msg_id, 13);
}

TEST(DiDevice, DEV32_TheHmacCoversNonCanonicalHeaderBytesAsReceived) {
  const SoftwareDeviceIdentity device = SoftwareDeviceIdentity::from_key(device_key(crypto::KeyType::P256));
  Bytes sent_header;
  ScriptedManufacturer server;
  server.on_app_start = [&](const Bytes& body) {
    const Bytes canonical = header_for(body);
    // The GUID's bstr head 50 written as 58 10: a 1-byte length where the head alone would do.
    sent_header.assign(canonical.begin(), canonical.begin() + 3);
    sent_header.push_back(0x58);
    sent_header.push_back(0x10);
    sent_header.insert(sent_header.end(), canonical.begin() + 4, canonical.end());
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, di::SetCredentials{sent_header}.encode());
  };
  std::optional<HMac> received;
  server.on_set_hmac = [&](const Bytes& body) {
    received = di::SetHMAC::decode(body).hmac;
    return ScriptedManufacturer::ok(MessageType::DiDone, di::Done{}.encode());
  };
  std::optional<DiResult> result;
  ASSERT_FALSE(run_against(server, &result, &device).has_value());
  const DeviceCredential cred = device.credential(std::move(*result));
  ASSERT_TRUE(received.has_value());
  EXPECT_TRUE(received->verify_hmac(cred.dc_hmac_secret, sent_header));
  EXPECT_EQ(cred.dc_guid, Guid::from(Bytes(16, 0x5C)));
}

TEST(DiDevice, ServerErrorEndsTheRunWithoutOurErrorMessage) {
  ScriptedManufacturer server;
  server.on_app_start = [](const Bytes&) {
    ErrorMessage em;
    em.em_error_code = 101;
    em.em_prev_msg_id = 10;
    return transport::Response{255, em.encode(), std::nullopt, 500};
  };
  const std::optional<Error> e = run_against(server);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), ErrorCode::InvalidMessageError);
  EXPECT_EQ(server.received, (std::vector<std::uint8_t>{10})) << "never a 255 back (DEV-47)";
}

TEST(DiDevice, WrongResponseTypeAbortsWith100) {
  ScriptedManufacturer server;
  server.on_app_start = [](const Bytes&) { return ScriptedManufacturer::ok(MessageType::DiDone, from_hex("80")); };
  const std::optional<Error> e = run_against(server);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), ErrorCode::MessageBodyError);
  EXPECT_EQ(server.received, (std::vector<std::uint8_t>{10, 255}));
}

TEST(DiDevice, SendsTheFiveElementMfgInfoWithACsrForItsKey) {
  const SoftwareDeviceIdentity device = SoftwareDeviceIdentity::from_key(device_key(crypto::KeyType::Rsa3072));
  ScriptedManufacturer server;
  std::optional<di::MfgInfo> info;
  server.on_app_start = [&](const Bytes& body) {
    const Bytes content = di::AppStart::decode(body).device_mfg_info;
    info = di::MfgInfo::decode(content);
    EXPECT_EQ(content[0], 0x85);
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, di::SetCredentials{header_for(body)}.encode());
  };
  std::optional<HMac> received;
  server.on_set_hmac = [&](const Bytes& body) {
    received = di::SetHMAC::decode(body).hmac;
    return ScriptedManufacturer::ok(MessageType::DiDone, di::Done{}.encode());
  };
  std::optional<DiResult> result;
  ASSERT_FALSE(run_against(server, &result, &device).has_value());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->key_type, PkType::RsaPkcs);
  EXPECT_EQ(info->key_enc, PkEnc::X509);
  EXPECT_EQ(info->serial_no, "SN-0001");
  const crypto::CertificateRequest csr = crypto::parse_csr(info->cert_info);
  EXPECT_TRUE(csr.signature_valid);
  EXPECT_TRUE(csr.public_key.same_key(device.signer().public_key()));
  // RSA-3072: the SHA-384 family (docs/voucher.md "Which hash algorithm").
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(received->type(), HashType::HmacSha384);
  EXPECT_EQ(device.credential(std::move(*result)).dc_hmac_secret.size(), 48u);
}


// ---- Conformance lines whose first tests above leave a part unchecked ----

// The number of sessions in `store`: counted by purging them all in a transaction that is then rolled back.
std::size_t session_count(storage::Store& store) {
  auto tx = store.begin();
  return tx->purge_expired_sessions(std::numeric_limits<std::int64_t>::max());
}

TEST(DiConformance, DI12_OversizeAppStartOpensNoSession) {
  Server server;
  expect_error(server.post(10, Bytes(65536, 0x00)), 100, 10);
  EXPECT_EQ(session_count(*server.store), 0u);
  // A valid AppStart does open one: the count above can see sessions.
  ASSERT_EQ(server.post(10, valid_app_start(device_key(crypto::KeyType::P256))).msg_type, 11);
  EXPECT_EQ(session_count(*server.store), 1u);
}

TEST(DiDevice, DEV32_TheHmacCoversATwoByteLengthHeadAsReceived) {
  const SoftwareDeviceIdentity device = SoftwareDeviceIdentity::from_key(device_key(crypto::KeyType::P256));
  Bytes sent_header;
  ScriptedManufacturer server;
  server.on_app_start = [&](const Bytes& body) {
    const Bytes canonical = header_for(body);
    // 86 18 65 50 <GUID>: the GUID's bstr head 50 written as 59 00 10, a 2-byte length where the head alone fits.
    EXPECT_EQ(canonical[3], 0x50);
    sent_header.assign(canonical.begin(), canonical.begin() + 3);
    append(sent_header, Bytes{0x59, 0x00, 0x10});
    sent_header.insert(sent_header.end(), canonical.begin() + 4, canonical.end());
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, di::SetCredentials{sent_header}.encode());
  };
  std::optional<HMac> received;
  server.on_set_hmac = [&](const Bytes& body) {
    received = di::SetHMAC::decode(body).hmac;
    return ScriptedManufacturer::ok(MessageType::DiDone, di::Done{}.encode());
  };
  std::optional<DiResult> result;
  ASSERT_FALSE(run_against(server, &result, &device).has_value());
  const DeviceCredential cred = device.credential(std::move(*result));
  ASSERT_TRUE(received.has_value());
  EXPECT_TRUE(received->verify_hmac(cred.dc_hmac_secret, sent_header));
  // Not the HMAC of a re-encoding: the canonical header gives another value.
  Bytes canonical = sent_header;
  canonical.erase(canonical.begin() + 3, canonical.begin() + 6);
  canonical.insert(canonical.begin() + 3, 0x50);
  EXPECT_FALSE(received->verify_hmac(cred.dc_hmac_secret, canonical));
  EXPECT_EQ(cred.dc_guid, Guid::from(Bytes(16, 0x5C)));
}

TEST(DiDevice, DEV47_ServerErrorAfterSetCredentialsIsNotAnsweredWithA255) {
  // After DI.SetCredentials the device has a run it could end with a 255; the server's 255 has ended it.
  ScriptedManufacturer server;
  server.on_app_start = [](const Bytes& body) {
    return ScriptedManufacturer::ok(MessageType::DiSetCredentials, di::SetCredentials{header_for(body)}.encode());
  };
  server.on_set_hmac = [](const Bytes&) {
    ErrorMessage em;
    em.em_error_code = 100;
    em.em_prev_msg_id = 12;
    return transport::Response{255, em.encode(), std::nullopt, 500};
  };
  const std::optional<Error> e = run_against(server);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), ErrorCode::MessageBodyError);
  EXPECT_EQ(server.received, (std::vector<std::uint8_t>{10, 12})) << "no 255 back";
  EXPECT_FALSE(server.device_error.has_value());
}

}  // namespace
}  // namespace fdo::protocol
