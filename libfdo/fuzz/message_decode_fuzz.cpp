// Fuzz target: every message decoder of DI, TO0, TO1, TO2 and ErrorMessage (libfdo/messages, FDO 1.1 §5.1-§5.5). The
// first input byte is the message type (10-13, 20-23, 30-33, 60-71, 255; other values exercise every decoder), the rest
// the body. A decoder may throw only fdo::Error; what decodes must encode, and that encoding must decode again
// (docs/style.md §3). Anything else, any crash and any sanitizer report is a finding.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "libfdo/core/error.h"
#include "libfdo/core/quirks.h"
#include "libfdo/messages/di.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/messages/to0.h"
#include "libfdo/messages/to1.h"
#include "libfdo/messages/to2.h"

namespace {

// Decodes `body` as M; if that works, the re-encoding must decode too.
template <typename M, typename... Args>
void round_trip(fdo::ByteView body, const Args&... args) {
  try {
    const M decoded = M::decode(body, args...);
    const fdo::Bytes again = decoded.encode();
    try {
      (void)M::decode(again, args...);
    } catch (const fdo::Error&) {
      std::abort();  // our own encoding of a decoded message does not decode: a finding
    }
  } catch (const fdo::Error&) {
  }
}

void decode_as(std::uint8_t type, fdo::ByteView body, const fdo::Leniency& lenient) {
  switch (type) {
    case 10:
      round_trip<fdo::di::AppStart>(body);
      try {
        (void)fdo::di::MfgInfo::decode(body);
      } catch (const fdo::Error&) {
      }
      break;
    case 11:
      round_trip<fdo::di::SetCredentials>(body);
      try {
        (void)fdo::di::SetCredentials::decode(body).header(lenient);
      } catch (const fdo::Error&) {
      }
      break;
    case 12:
      round_trip<fdo::di::SetHMAC>(body);
      break;
    case 13:
      round_trip<fdo::di::Done>(body);
      break;
    case 20:
      round_trip<fdo::to0::Hello>(body);
      break;
    case 21:
      round_trip<fdo::to0::HelloAck>(body);
      break;
    case 22:
      round_trip<fdo::to0::OwnerSign>(body);
      try {
        (void)fdo::to0::OwnerSign::decode(body, lenient);
      } catch (const fdo::Error&) {
      }
      break;
    case 23:
      round_trip<fdo::to0::AcceptOwner>(body);
      break;
    case 30:
      round_trip<fdo::to1::HelloRV>(body);
      break;
    case 31:
      round_trip<fdo::to1::HelloRVAck>(body);
      break;
    case 32:
      round_trip<fdo::to1::ProveToRV>(body);
      try {
        (void)fdo::to1::ProveToRV::decode(body, lenient);
      } catch (const fdo::Error&) {
      }
      break;
    case 33:
      round_trip<fdo::to1::RVRedirect>(body);
      try {
        (void)fdo::to1::RVRedirect::from_stored(body, lenient);
      } catch (const fdo::Error&) {
      }
      break;
    case 60: round_trip<fdo::to2::HelloDevice>(body); break;
    case 61:
      round_trip<fdo::to2::ProveOVHdr>(body);
      round_trip<fdo::to2::ProveOVHdr>(body, lenient);
      break;
    case 62: round_trip<fdo::to2::GetOVNextEntry>(body); break;
    case 63: round_trip<fdo::to2::OVNextEntry>(body); break;
    case 64:
      round_trip<fdo::to2::ProveDevice>(body);
      try {
        (void)fdo::to2::decode_eat_fdo_claim(body);
      } catch (const fdo::Error&) {
      }
      break;
    case 65:
      round_trip<fdo::to2::SetupDevice>(body);
      round_trip<fdo::to2::SetupDevice>(body, lenient);
      break;
    case 66: round_trip<fdo::to2::DeviceServiceInfoReady>(body); break;
    case 67: round_trip<fdo::to2::OwnerServiceInfoReady>(body); break;
    case 68: round_trip<fdo::to2::DeviceServiceInfo>(body); break;
    case 69: round_trip<fdo::to2::OwnerServiceInfo>(body); break;
    case 70: round_trip<fdo::to2::Done>(body); break;
    case 71: round_trip<fdo::to2::Done2>(body); break;
    case 255:
      round_trip<fdo::ErrorMessage>(body);
      try {
        (void)fdo::ErrorMessage::decode(body).describe();
      } catch (const fdo::Error&) {
      }
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 64 * 1024;  // msglen is a uint16, FDO 1.1 §3.2
  if (size == 0 || size > kMaxInput + 1) {
    return 0;
  }
  static const fdo::Leniency lenient(std::set<fdo::Quirk>{
      fdo::Quirk::UntaggedCose, fdo::Quirk::BareTo0d, fdo::Quirk::LegacyCertChainHash, fdo::Quirk::BareOveExtraMap,
      fdo::Quirk::BareRvValues, fdo::Quirk::CoseKeyCoordinateLength});
  const fdo::ByteView body(data + 1, size - 1);
  static constexpr std::uint8_t kTypes[] = {10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33,
                                            60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 255};
  if (const std::uint8_t type = data[0]; std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes)) {
    decode_as(type, body, lenient);
  } else {
    for (const std::uint8_t t : kTypes) {
      decode_as(t, body, lenient);
    }
  }
  return 0;
}
