#include "libfdo/types/sig_info.h"

#include <string>
#include <utility>

#include "libfdo/core/error.h"

namespace fdo {
namespace {

std::optional<DeviceSgType> sg_type_from(std::int64_t v) {
  switch (v) {
    case -7:
      return DeviceSgType::StSecp256r1;
    case -35:
      return DeviceSgType::StSecp384r1;
    case -36:
      return DeviceSgType::Es512;
    case -37:
      return DeviceSgType::Ps256;
    case -38:
      return DeviceSgType::Ps384;
    case -257:
      return DeviceSgType::StRsa2048;
    case -258:
      return DeviceSgType::StRsa3072;
    case 90:
      return DeviceSgType::StEpid10;
    case 91:
      return DeviceSgType::StEpid11;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string_view sg_type_name(DeviceSgType type) {
  switch (type) {
    case DeviceSgType::StSecp256r1:
      return "StSECP256R1";
    case DeviceSgType::StSecp384r1:
      return "StSECP384R1";
    case DeviceSgType::Es512:
      return "ES512";
    case DeviceSgType::Ps256:
      return "PS256";
    case DeviceSgType::Ps384:
      return "PS384";
    case DeviceSgType::StRsa2048:
      return "StRSA2048";
    case DeviceSgType::StRsa3072:
      return "StRSA3072";
    case DeviceSgType::StEpid10:
      return "StEPID10";
    case DeviceSgType::StEpid11:
      return "StEPID11";
  }
  return "?";
}

std::optional<crypto::SigAlg> sig_alg_of(DeviceSgType type) {
  switch (type) {
    case DeviceSgType::StSecp256r1:
      return crypto::SigAlg::ES256;
    case DeviceSgType::StSecp384r1:
      return crypto::SigAlg::ES384;
    case DeviceSgType::Ps256:
      return crypto::SigAlg::PS256;
    case DeviceSgType::Ps384:
      return crypto::SigAlg::PS384;
    case DeviceSgType::StRsa2048:
      return crypto::SigAlg::RS256;
    case DeviceSgType::StRsa3072:
      return crypto::SigAlg::RS384;
    case DeviceSgType::Es512:
    case DeviceSgType::StEpid10:
    case DeviceSgType::StEpid11:
      return std::nullopt;
  }
  return std::nullopt;
}

DeviceSgType sg_type_for(crypto::SigAlg alg) {
  // The sgTypes of signature algorithms are the COSE ids themselves (FDO 1.1 §3.3).
  return static_cast<DeviceSgType>(static_cast<int>(alg));
}

std::optional<crypto::KeyType> device_key_type_of(DeviceSgType type) {
  switch (type) {
    case DeviceSgType::StSecp256r1:
      return crypto::KeyType::P256;
    case DeviceSgType::StSecp384r1:
      return crypto::KeyType::P384;
    case DeviceSgType::StRsa2048:
    case DeviceSgType::Ps256:
      return crypto::KeyType::Rsa2048;
    case DeviceSgType::StRsa3072:
    case DeviceSgType::Ps384:
      return crypto::KeyType::Rsa3072;
    case DeviceSgType::Es512:
    case DeviceSgType::StEpid10:
    case DeviceSgType::StEpid11:
      return std::nullopt;
  }
  return std::nullopt;
}

SigInfo SigInfo::for_alg(crypto::SigAlg alg) {
  return SigInfo{.sg_type = sg_type_for(alg), .info = {}};
}

SigInfo SigInfo::decode(cbor::Reader& in, std::string_view field) {
  const std::string f(field);
  in.read_array_of(f, 2);
  const std::int64_t value = in.read_int(f + "[0] sgType");
  const std::optional<DeviceSgType> type = sg_type_from(value);
  if (!type) {
    throw_invalid((f.empty() ? std::string("SigInfo") : f) + "[0] sgType: unsupported signature type " +
                  std::to_string(value));
  }
  Bytes info = in.read_bstr(f + "[1] Info");
  return SigInfo{.sg_type = *type, .info = std::move(info)};
}

SigInfo SigInfo::decode(ByteView in, std::string_view field) {
  cbor::Reader r(in, field);
  SigInfo out = decode(r, "");
  r.expect_end();
  return out;
}

void SigInfo::encode(cbor::Writer& out) const {
  out.array(2).int_(static_cast<std::int64_t>(sg_type)).bstr(info);
}

Bytes SigInfo::encode() const {
  cbor::Writer w;
  encode(w);
  return std::move(w).take();
}

}  // namespace fdo
