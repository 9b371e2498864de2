#include "libfdo/cose/cose_key.h"

#include <string>
#include <string_view>

#include "libfdo/core/error.h"

namespace fdo::cose {
namespace {

std::size_t field_size(CoseCurve curve) {
  return curve == CoseCurve::P256 ? 32 : 48;
}

crypto::KeyType key_type_of(CoseCurve curve) {
  return curve == CoseCurve::P256 ? crypto::KeyType::P256 : crypto::KeyType::P384;
}

// RFC 9053 §7.1.1: "the leading zero octets MUST be preserved"; docs/interop.md "cose-key-coordinates" names
// the peers that do not.
ByteView checked_coordinate(cbor::Reader& in, std::string_view name, ByteView value, std::size_t size,
                            const Leniency& leniency) {
  if (value.size() == size) {
    return value;
  }
  const bool short_form = !value.empty() && value.size() < size;
  const bool sign_byte = value.size() == size + 1 && value[0] == 0x00;
  const std::string what = std::string(name) + " of " + std::to_string(value.size()) + " bytes";
  if ((short_form || sign_byte) && leniency.accept(Quirk::CoseKeyCoordinateLength, what)) {
    return sign_byte ? value.subspan(1) : value;
  }
  in.fail(name, "expected bstr of " + std::to_string(size) + " bytes, got " + std::to_string(value.size()));
}

}  // namespace

std::optional<CoseCurve> cose_curve_for(crypto::KeyType type) {
  switch (type) {
    case crypto::KeyType::P256:
      return CoseCurve::P256;
    case crypto::KeyType::P384:
      return CoseCurve::P384;
    case crypto::KeyType::Rsa2048:
    case crypto::KeyType::Rsa3072:
      return std::nullopt;
  }
  return std::nullopt;
}

void write_cose_key(cbor::Writer& out, const crypto::PublicKey& key) {
  const std::optional<CoseCurve> curve = cose_curve_for(key.type());
  if (!curve) {
    throw_internal("COSE_Key: FDO defines COSEKEY for EC keys only, got " +
                   std::string(crypto::key_type_name(key.type())));
  }
  // Keys 1, -1, -2, -3 encode as 01, 20, 21, 22: already in deterministic order.
  out.map(4)
      .int_(kKeyLabelKty)
      .int_(kKtyEc2)
      .int_(kKeyLabelCrv)
      .int_(static_cast<std::int64_t>(*curve))
      .int_(kKeyLabelX)
      .bstr(key.ec_x())
      .int_(kKeyLabelY)
      .bstr(key.ec_y());
}

Bytes encode_cose_key(const crypto::PublicKey& key) {
  cbor::Writer w;
  write_cose_key(w, key);
  return std::move(w).take();
}

crypto::PublicKey read_cose_key(cbor::Reader& in, const Leniency& leniency) {
  const std::size_t count = in.read_map("COSE_Key");
  std::optional<std::int64_t> kty;
  std::optional<std::int64_t> crv;
  std::optional<Bytes> x;
  std::optional<Bytes> y;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t label = in.read_int("COSE_Key label");
    const bool seen = (label == kKeyLabelKty && kty) || (label == kKeyLabelCrv && crv) || (label == kKeyLabelX && x) ||
                      (label == kKeyLabelY && y);
    if (seen) {
      in.fail("COSE_Key", "duplicate label " + std::to_string(label));
    }
    switch (label) {
      case kKeyLabelKty:
        kty = in.read_int("COSE_Key kty (1)");
        break;
      case kKeyLabelCrv:
        crv = in.read_int("COSE_Key crv (-1)");
        break;
      case kKeyLabelX:
        x = in.read_bstr("COSE_Key x (-2)");
        break;
      case kKeyLabelY:
        y = in.read_bstr("COSE_Key y (-3)");
        break;
      default:
        in.fail("COSE_Key", "unexpected label " + std::to_string(label) + " (FDO uses kty, crv, x, y)");
    }
  }
  if (kty && *kty != kKtyEc2) {
    in.fail("COSE_Key kty (1)", "expected 2 (EC2), got " + std::to_string(*kty));
  }
  if (!crv || !x || !y) {
    in.fail("COSE_Key", "missing crv (-1), x (-2) or y (-3)");
  }
  if (*crv != static_cast<std::int64_t>(CoseCurve::P256) && *crv != static_cast<std::int64_t>(CoseCurve::P384)) {
    in.fail("COSE_Key crv (-1)", "expected 1 (P-256) or 2 (P-384), got " + std::to_string(*crv));
  }
  const auto curve = static_cast<CoseCurve>(*crv);
  const std::size_t size = field_size(curve);
  const ByteView xv = checked_coordinate(in, "COSE_Key x (-2)", *x, size, leniency);
  const ByteView yv = checked_coordinate(in, "COSE_Key y (-3)", *y, size, leniency);
  return crypto::PublicKey::from_ec_point(key_type_of(curve), xv, yv);
}

crypto::PublicKey decode_cose_key(ByteView in, const Leniency& leniency) {
  cbor::Reader r(in, "COSE_Key");
  crypto::PublicKey key = read_cose_key(r, leniency);
  r.expect_end();
  return key;
}

}  // namespace fdo::cose
