#include "libfdo/core/guid_text.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/core/error.h"

namespace fdo {
namespace {

// The GUID of the fdo-rs interop voucher, as our tools print it and as fdo-rs prints it.
constexpr std::string_view kHex = "ac00da6107e8405eacc494aef3f68966";
constexpr std::string_view kUuid = "ac00da61-07e8-405e-acc4-94aef3f68966";

TEST(GuidText, HexAndDashedUuidFormsNameTheSameBytes) {
  const Guid from_hex_form = parse_guid(kHex);
  EXPECT_EQ(from_hex_form.hex(), kHex);
  EXPECT_EQ(parse_guid(kUuid), from_hex_form);
  EXPECT_EQ(parse_guid("AC00DA61-07E8-405E-ACC4-94AEF3F68966"), from_hex_form);
  EXPECT_EQ(guid_uuid_text(from_hex_form), kUuid);
}

TEST(GuidText, RejectsOtherShapesNamingTheText) {
  for (const std::string bad : {"", "ac00da6107e8405eacc494aef3f6896", "ac00da6107e8405eacc494aef3f689666",
                                "ac00da61-07e8405e-acc4-94aef3f68966-", "ac00da6107e8-405e-acc4-94aef3f68966",
                                "zc00da61-07e8-405e-acc4-94aef3f68966", "{ac00da61-07e8-405e-acc4-94aef3f68966}",
                                "ac00da61-07e8-405e-acc4+94aef3f68966"}) {
    try {
      static_cast<void>(parse_guid(bad));
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::MessageBodyError);
      EXPECT_EQ(std::string(e.what()).rfind("GUID '" + bad + "': expected 32 hex digits or 8-4-4-4-12", 0), 0u)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace fdo
