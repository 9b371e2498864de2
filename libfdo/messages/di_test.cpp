#include "libfdo/messages/di.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/voucher/create.h"

namespace fdo::di {
namespace {

// Runs `f`, which must throw fdo::Error with `code` and a message containing `text`.
void expect_error(const std::function<void()>& f, ErrorCode code, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "no error, expected code " << static_cast<int>(code) << " with '" << text << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// An MfgInfo array with `count` elements: the 5 mandatory ones with small values, then 1-byte bstrs.
Bytes mfg_info_array(std::size_t count, std::uint64_t key_type = 10, std::uint64_t key_enc = 1) {
  cbor::Writer w;
  w.array(count);
  const std::vector<std::function<void()>> items = {
      [&] { w.uint(key_type); }, [&] { w.uint(key_enc); },  [&] { w.tstr("SN1"); },
      [&] { w.tstr("Model"); },  [&] { w.bstr(Bytes{0x30}); },
  };
  for (std::size_t i = 0; i < count; ++i) {
    if (i < items.size()) {
      items[i]();
    } else {
      w.bstr(Bytes{static_cast<std::uint8_t>(i)});
    }
  }
  return std::move(w).take();
}

TEST(DiMfgInfo, EncodesTheFiveElementFormByteForByte) {
  MfgInfo m;
  m.key_type = PkType::Secp384r1;
  m.key_enc = PkEnc::X509;
  m.serial_no = "abc";
  m.device_info = "M";
  m.cert_info = {0x30, 0x00};
  // [11, 1, "abc", "M", h'3000']
  EXPECT_EQ(to_hex(m.encode()), "850b0163616263614d423000");
  const MfgInfo back = MfgInfo::decode(m.encode());
  EXPECT_EQ(back.key_type, PkType::Secp384r1);
  EXPECT_EQ(back.serial_no, "abc");
  EXPECT_EQ(back.device_info, "M");
  EXPECT_EQ(back.cert_info, (Bytes{0x30, 0x00}));
  EXPECT_FALSE(back.mac_addresses.has_value());
}

TEST(DiMfgInfo, AcceptsFiveSixAndNineElementsAndRoundTrips) {
  // DI-04 positive half: the go-fdo (5), C SDK toolkit (6) and CSE (9) forms.
  for (const std::size_t count : {5u, 6u, 7u, 8u, 9u}) {
    const Bytes in = mfg_info_array(count);
    const MfgInfo m = MfgInfo::decode(in);
    EXPECT_EQ(m.serial_no, "SN1");
    EXPECT_EQ(m.mac_addresses.has_value(), count >= 6);
    EXPECT_EQ(m.maroe_prefix.has_value(), count == 9);
    EXPECT_EQ(m.encode(), in) << count;
  }
}

TEST(DiMfgInfo, RejectsFourAndTenElementsAndTheFdoRsTextFormWith100) {
  // DI-04 and DI-03.
  expect_error([] { MfgInfo::decode(mfg_info_array(4)); }, ErrorCode::MessageBodyError, "5 to 9 elements, got 4");
  expect_error([] { MfgInfo::decode(mfg_info_array(10)); }, ErrorCode::MessageBodyError, "5 to 9 elements, got 10");
  expect_error([] { MfgInfo::decode(cbor::encode_tstr("serial-1234")); }, ErrorCode::MessageBodyError, "fdo-rs");
  expect_error([] { MfgInfo::decode(Bytes{}); }, ErrorCode::MessageBodyError, "DeviceMfgInfo");
}

TEST(DiMfgInfo, RejectsUnknownKeyTypeAndEpidEncodingWith101) {
  // DI-05: 7 is not a pkType; keyEnc 0 is EPID Crypto.
  expect_error([] { MfgInfo::decode(mfg_info_array(5, 7, 1)); }, ErrorCode::InvalidMessageError,
               "[0] keyType: 7 is not a pkType");
  expect_error([] { MfgInfo::decode(mfg_info_array(5, 10, 0)); }, ErrorCode::InvalidMessageError,
               "[1] keyEnc: 0 (Crypto, EPID)");
  expect_error([] { MfgInfo::decode(mfg_info_array(5, 10, 4)); }, ErrorCode::InvalidMessageError,
               "[1] keyEnc: 4 is not a pkEnc");
  for (const std::uint64_t t : {1u, 5u, 6u, 10u, 11u}) {
    EXPECT_NO_THROW(MfgInfo::decode(mfg_info_array(5, t, 1))) << t;
  }
}

TEST(DiMfgInfo, StructuralErrorsWinOverValueErrors) {
  Bytes in = mfg_info_array(5, 7, 0);
  in.push_back(0x00);  // trailing byte
  expect_error([&] { MfgInfo::decode(in); }, ErrorCode::MessageBodyError, "trailing");
  cbor::Writer w;
  w.array(5).uint(10).uint(1).uint(5).tstr("M").bstr(Bytes{0x30});  // serialNo not a tstr
  expect_error([&] { MfgInfo::decode(std::move(w).take()); }, ErrorCode::MessageBodyError, "[2] serialNo");
}

TEST(DiMfgInfo, RefusesToEncodeAGapInTheOptionalElements) {
  MfgInfo m;
  m.on_die_cert_chain = Bytes{1};
  expect_error([&] { static_cast<void>(m.encode()); }, ErrorCode::InternalServerError, "optional element");
}

TEST(DiAppStart, RoundTripsAndMatchesTheSpecShape) {
  const AppStart m{Bytes{0x01, 0x02, 0x03}};
  EXPECT_EQ(to_hex(m.encode()), "8143010203");
  EXPECT_EQ(AppStart::decode(m.encode()).device_mfg_info, m.device_mfg_info);
}

TEST(DiAppStart, RejectsMalformedBodiesWith100) {
  // DI-01, DI-02, go-fdo's [null], and other shapes.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ff", "DI.AppStart"},         {"a10000", "DI.AppStart"},       {"814100" "00", "trailing"},
      {"81f6", "got null"},          {"80", "DI.AppStart"},           {"8263616263", "DI.AppStart"},
      {"824100" "4100", "DI.AppStart"}, {"", "DI.AppStart"},
  };
  // Not a structured binding: clang 14 cannot capture one in a lambda (the ASan pass builds with clang).
  for (const auto& c : cases) {
    const std::string& hex = c.first;
    expect_error([&] { AppStart::decode(from_hex(hex)); }, ErrorCode::MessageBodyError, c.second);
  }
}

// A canonical header as our manufacturer makes it (P-256 device, P-256 manufacturer key).
Bytes sample_header() {
  const crypto::PrivateKey ca = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::PrivateKey device = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::PrivateKey mfg = crypto::PrivateKey::generate(crypto::KeyType::P256);
  const crypto::Certificate ca_cert = crypto::make_self_signed(
      ca, {.common_name = "CA", .organization = "test", .validity_days = 3650, .is_ca = true});
  const crypto::Certificate leaf = crypto::issue_certificate(
      ca, ca_cert, device.public_key(),
      {.common_name = "d", .organization = "test", .validity_days = 3650, .is_ca = false});
  const voucher::HeaderInput input{.guid = Guid::from(Bytes(16, 0xAB)),
                                   .rv_info = RendezvousInfo::from_urls("http://127.0.0.1:8041"),
                                   .device_info = "Model",
                                   .manufacturer_key = PublicKey::from_key(mfg.public_key()),
                                   .dev_cert_chain = {leaf.der(), ca_cert.der()}};
  return voucher::make_header(input).header_bytes;
}

TEST(DiSetCredentials, RoundTripsAndReadsTheHeader) {
  const SetCredentials m{sample_header()};
  const Bytes body = m.encode();
  EXPECT_EQ(body[0], 0x81);
  const SetCredentials back = SetCredentials::decode(body);
  EXPECT_EQ(back.ov_header, m.ov_header);
  EXPECT_EQ(back.encode(), body);
  const voucher::OVHeader h = back.header();
  EXPECT_EQ(h.ov_guid, Guid::from(Bytes(16, 0xAB)));
  EXPECT_EQ(h.ov_device_info, "Model");
}

TEST(DiSetCredentials, KeepsNonCanonicalHeaderBytesAsReceived) {
  // DEV-32: the GUID bstr head 50 rewritten as 58 10 (a 1-byte length where none is needed).
  const Bytes canonical = sample_header();
  ASSERT_EQ(canonical[3], 0x50);
  Bytes odd(canonical.begin(), canonical.begin() + 3);
  odd.push_back(0x58);
  odd.push_back(0x10);
  odd.insert(odd.end(), canonical.begin() + 4, canonical.end());
  const SetCredentials back = SetCredentials::decode(SetCredentials{odd}.encode());
  EXPECT_EQ(back.ov_header, odd);
  EXPECT_EQ(back.header().ov_guid, Guid::from(Bytes(16, 0xAB)));
}

TEST(DiSetCredentials, RejectsTheBareHeaderArrayAndEmptyBstrWith100) {
  // DEV-31: fdo-rs sends the OVHeader array itself.
  const Bytes header = sample_header();
  expect_error([&] { SetCredentials::decode(header); }, ErrorCode::MessageBodyError, "fdo-rs");
  expect_error([] { SetCredentials::decode(from_hex("8140")); }, ErrorCode::MessageBodyError, "empty bstr");
  expect_error([] { SetCredentials::decode(from_hex("80")); }, ErrorCode::MessageBodyError, "array of 0");
}

TEST(DiSetCredentials, HeaderWithProtocolVersion100Is101AndBrokenHeadersAre100) {
  // DEV-30: OVHProtVer 100 (the rest unchanged: 18 65 → 18 64).
  Bytes header = sample_header();
  ASSERT_EQ(header[1], 0x18);
  ASSERT_EQ(header[2], 0x65);
  header[2] = 0x64;
  expect_error([&] { static_cast<void>(SetCredentials{header}.header()); }, ErrorCode::InvalidMessageError,
               "OVHProtVer: expected 101, got 100");
  expect_error([] { static_cast<void>(SetCredentials{from_hex("8518650000")}.header()); },
               ErrorCode::MessageBodyError, "OVHeader");
  expect_error([] { static_cast<void>(SetCredentials{from_hex("a0")}.header()); }, ErrorCode::MessageBodyError,
               "OVHeader");
}

TEST(DiSetHMAC, RoundTripsBothHmacTypes) {
  const SetHMAC m256{HMac(HashType::HmacSha256, Bytes(32, 0x11))};
  EXPECT_EQ(to_hex(m256.encode()), "81820558" "20" + std::string(64, '1'));
  EXPECT_EQ(SetHMAC::decode(m256.encode()).hmac, m256.hmac);
  const SetHMAC m384{HMac(HashType::HmacSha384, Bytes(48, 0x22))};
  EXPECT_EQ(SetHMAC::decode(m384.encode()).encode(), m384.encode());
}

TEST(DiSetHMAC, RejectsDigestsAndWrongLengthsWith100) {
  // DI-08: a SHA-256 Hash (-16); HMAC-SHA256 with 31 bytes; HMAC-SHA384 with 32 bytes.
  const auto body = [](std::int64_t type, std::size_t size) {
    cbor::Writer w;
    w.array(1).array(2).int_(type).bstr(Bytes(size, 0x33));
    return std::move(w).take();
  };
  expect_error([&] { SetHMAC::decode(body(-16, 32)); }, ErrorCode::MessageBodyError, "[0] HMac[0] hashtype");
  expect_error([&] { SetHMAC::decode(body(5, 31)); }, ErrorCode::MessageBodyError, "[0] HMac[1] hash");
  expect_error([&] { SetHMAC::decode(body(6, 32)); }, ErrorCode::MessageBodyError, "[0] HMac[1] hash");
  expect_error([] { SetHMAC::decode(from_hex("80")); }, ErrorCode::MessageBodyError, "DI.SetHMAC");
}

TEST(DiDone, IsExactlyTheEmptyArray) {
  EXPECT_EQ(to_hex(Done{}.encode()), "80");
  EXPECT_NO_THROW(Done::decode(from_hex("80")));
  // DEV-31: 81 00 instead of 80.
  for (const char* hex : {"8100", "8000", "a0", "f6", ""}) {
    expect_error([&] { Done::decode(from_hex(hex)); }, ErrorCode::MessageBodyError, "DI.Done");
  }
}

TEST(DiMessages, NumbersAndNamesAreTheSpecs) {
  static_assert(AppStart::kType == MessageType::DiAppStart && static_cast<int>(AppStart::kType) == 10);
  static_assert(SetCredentials::kType == MessageType::DiSetCredentials && static_cast<int>(SetCredentials::kType) == 11);
  static_assert(SetHMAC::kType == MessageType::DiSetHMAC && static_cast<int>(SetHMAC::kType) == 12);
  static_assert(Done::kType == MessageType::DiDone && static_cast<int>(Done::kType) == 13);
  EXPECT_EQ(AppStart::kName, message_name(AppStart::kType));
  EXPECT_EQ(SetCredentials::kName, message_name(SetCredentials::kType));
  EXPECT_EQ(SetHMAC::kName, message_name(SetHMAC::kType));
  EXPECT_EQ(Done::kName, message_name(Done::kType));
}

}  // namespace
}  // namespace fdo::di
