#include "libfdo/types/sig_info.h"

#include <gtest/gtest.h>

#include "libfdo/core/hex.h"
#include "libfdo/cose/internal/test_util.h"

namespace fdo {
namespace {

using test::expect_error;

TEST(SigInfo, EncodesTheSpecExamples) {
  // FDO 1.1 §3.3: [-7, h''] encodes as 82 26 40, and [-35, h''] as 82 38 22 40.
  EXPECT_EQ(to_hex(SigInfo::for_alg(crypto::SigAlg::ES256).encode()), "822640");
  EXPECT_EQ(to_hex(SigInfo::for_alg(crypto::SigAlg::ES384).encode()), "82382240");
  EXPECT_EQ(to_hex(SigInfo::for_alg(crypto::SigAlg::RS256).encode()), "8239010040");
  EXPECT_EQ(to_hex(SigInfo::for_alg(crypto::SigAlg::RS384).encode()), "8239010140");
  EXPECT_EQ(to_hex(SigInfo::for_alg(crypto::SigAlg::PS256).encode()), "82382440");
}

TEST(SigInfo, RoundTripsAndMapsToAlgorithmsAndKeyTypes) {
  struct Row {
    crypto::SigAlg alg;
    DeviceSgType type;
    crypto::KeyType key;
  };
  const Row rows[] = {
      {crypto::SigAlg::ES256, DeviceSgType::StSecp256r1, crypto::KeyType::P256},
      {crypto::SigAlg::ES384, DeviceSgType::StSecp384r1, crypto::KeyType::P384},
      {crypto::SigAlg::RS256, DeviceSgType::StRsa2048, crypto::KeyType::Rsa2048},
      {crypto::SigAlg::RS384, DeviceSgType::StRsa3072, crypto::KeyType::Rsa3072},
      {crypto::SigAlg::PS256, DeviceSgType::Ps256, crypto::KeyType::Rsa2048},
      {crypto::SigAlg::PS384, DeviceSgType::Ps384, crypto::KeyType::Rsa3072},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(crypto::sig_alg_name(row.alg)));
    const SigInfo s = SigInfo::for_alg(row.alg);
    EXPECT_EQ(s.sg_type, row.type);
    EXPECT_TRUE(s.info.empty());
    EXPECT_EQ(SigInfo::decode(s.encode()), s);
    EXPECT_EQ(s.sig_alg(), row.alg);
    EXPECT_EQ(device_key_type_of(row.type), row.key);
  }
  EXPECT_EQ(sg_type_name(DeviceSgType::StRsa3072), "StRSA3072");
}

TEST(SigInfo, EpidDecodesButHasNoAlgorithm) {
  const SigInfo epid = SigInfo::decode(from_hex("82185a43010203"));
  EXPECT_EQ(epid.sg_type, DeviceSgType::StEpid10);
  EXPECT_EQ(to_hex(epid.info), "010203");
  EXPECT_FALSE(epid.sig_alg().has_value());
  EXPECT_FALSE(device_key_type_of(DeviceSgType::StEpid11).has_value());
  EXPECT_FALSE(sig_alg_of(DeviceSgType::Es512).has_value());
}

TEST(SigInfo, RejectsUnknownTypesAndBadShapes) {
  // An integer sgType FDO does not define: unsupported algorithm, 101 (FDO 1.1 §5.1.1.1).
  expect_error([] { (void)SigInfo::decode(from_hex("822740")); }, ErrorCode::InvalidMessageError);
  expect_error([] { (void)SigInfo::decode(from_hex("82185c40")); }, ErrorCode::InvalidMessageError);
  for (const char* hex : {"8226", "832640f6", "82266161", "82614140",
                          "822640"
                          "00",
                          "a0"}) {
    SCOPED_TRACE(hex);
    expect_error([&] { (void)SigInfo::decode(from_hex(hex)); }, ErrorCode::MessageBodyError);
  }
}

}  // namespace
}  // namespace fdo
