#include "libfdo/core/internal/expect_error.h"
#include "libfdo/messages/error_message.h"

#include <gtest/gtest.h>

#include "libfdo/core/hex.h"

namespace fdo {
namespace {

TEST(ErrorMessage, EncodesTheSpecExampleByteForByte) {
  // FDO 1.1 §5.1, in our form (docs/interop.md "errormessage-timestamp"): [101, 60, "nonce mismatch", 1713484800, 0]
  ErrorMessage m;
  m.em_error_code = 101;
  m.em_prev_msg_id = 60;
  m.em_error_str = "nonce mismatch";
  m.em_error_ts = 1713484800;
  m.em_error_cid = 0;
  EXPECT_EQ(to_hex(m.encode()), "85186518" "3c" "6e6e6f6e6365206d69736d61746368" "1a6621b400" "00");
}

TEST(ErrorMessage, DecodesEveryTimestampFormPeersSend) {
  // null (fdo-rs), bare uint (go-fdo, Java PRI), #6.0(tstr), #6.1(uint); CID null or uint.
  for (const char* hex : {"8518650a6178f600", "8518650a61781a6621b400f6", "8518650a6178c0617800",
                          "8518650a6178c11a6621b4001b0000000100000000"}) {
    const ErrorMessage m = ErrorMessage::decode(from_hex(hex));
    EXPECT_EQ(m.em_error_code, 101);
    EXPECT_EQ(m.em_prev_msg_id, 10);
  }
  EXPECT_EQ(ErrorMessage::decode(from_hex("8518650a61781a6621b400f6")).em_error_ts, 1713484800u);
}

TEST(ErrorMessage, RejectsMalformedBodies) {
  for (const char* hex : {"", "80", "a100", "8418650a617800", "8519ffff0a6178f600" "00",
                          "851a000100000a6178f600", "8518651901000a6178f600", "8518650a6178f60000"}) {
    SCOPED_TRACE(hex);
    test::expect_error([&] { (void)ErrorMessage::decode(from_hex(hex)); }, ErrorCode::MessageBodyError);
  }
}

TEST(ErrorMessage, FromErrorKeepsTheCodeAndTruncatesLongTextAtACharacterBoundary) {
  const Error e(ErrorCode::ResourceNotFound, std::string(199, 'a') + "\xC3\xA9" + "tail");
  const ErrorMessage m = ErrorMessage::from_error(e, 30, 7);
  EXPECT_EQ(m.em_error_code, 6);
  EXPECT_EQ(m.em_prev_msg_id, 30);
  EXPECT_EQ(m.em_error_str, std::string(199, 'a'));
  EXPECT_EQ(ErrorMessage::decode(m.encode()).em_error_str, m.em_error_str);
}

}  // namespace
}  // namespace fdo
