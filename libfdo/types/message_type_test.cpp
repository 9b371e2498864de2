#include "libfdo/types/message_type.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <set>

namespace fdo {
namespace {

TEST(MessageType, NumbersAndNamesAreTheSpecs) {
  // FDO 1.1 §5.1-§5.5: every message, its number and its name.
  struct Row {
    int number;
    const char* name;
  };
  const Row rows[] = {
      {10, "DI.AppStart"},
      {11, "DI.SetCredentials"},
      {12, "DI.SetHMAC"},
      {13, "DI.Done"},
      {20, "TO0.Hello"},
      {21, "TO0.HelloAck"},
      {22, "TO0.OwnerSign"},
      {23, "TO0.AcceptOwner"},
      {30, "TO1.HelloRV"},
      {31, "TO1.HelloRVAck"},
      {32, "TO1.ProveToRV"},
      {33, "TO1.RVRedirect"},
      {60, "TO2.HelloDevice"},
      {61, "TO2.ProveOVHdr"},
      {62, "TO2.GetOVNextEntry"},
      {63, "TO2.OVNextEntry"},
      {64, "TO2.ProveDevice"},
      {65, "TO2.SetupDevice"},
      {66, "TO2.DeviceServiceInfoReady"},
      {67, "TO2.OwnerServiceInfoReady"},
      {68, "TO2.DeviceServiceInfo"},
      {69, "TO2.OwnerServiceInfo"},
      {70, "TO2.Done"},
      {71, "TO2.Done2"},
      {255, "Error"},
  };
  ASSERT_EQ(std::size(rows), kMessages.size());
  for (const Row& row : rows) {
    const std::optional<MessageType> type = message_type_from(static_cast<std::uint8_t>(row.number));
    ASSERT_TRUE(type.has_value()) << row.number;
    EXPECT_EQ(message_name(*type), row.name);
    EXPECT_EQ(message_number(*type), row.number);
  }
  for (int n = 0; n < 256; ++n) {
    const bool known = std::any_of(std::begin(rows), std::end(rows), [&](const Row& r) { return r.number == n; });
    EXPECT_EQ(message_type_from(static_cast<std::uint8_t>(n)).has_value(), known) << n;
  }
}

TEST(MessageType, RequestsAndTheirResponses) {
  EXPECT_EQ(response_to(MessageType::DiAppStart), MessageType::DiSetCredentials);
  EXPECT_EQ(response_to(MessageType::DiSetHMAC), MessageType::DiDone);
  EXPECT_EQ(response_to(MessageType::To0OwnerSign), MessageType::To0AcceptOwner);
  EXPECT_EQ(response_to(MessageType::To1HelloRV), MessageType::To1HelloRVAck);
  EXPECT_EQ(response_to(MessageType::To2GetOVNextEntry), MessageType::To2OVNextEntry);
  EXPECT_EQ(response_to(MessageType::To2DeviceServiceInfo), MessageType::To2OwnerServiceInfo);
  EXPECT_FALSE(response_to(MessageType::To2Done2).has_value());
  EXPECT_FALSE(response_to(MessageType::Error).has_value());
  std::set<int> requests;
  for (const MessageInfo& m : kMessages) {
    if (m.is_request) {
      requests.insert(static_cast<int>(m.type));
    }
  }
  EXPECT_EQ(requests, (std::set<int>{10, 12, 20, 22, 30, 32, 60, 62, 64, 66, 68, 70}));
}

TEST(MessageType, EncryptedBodiesAreSixtyFiveToSeventyOne) {
  // FDO 1.1 §4.4, §5.5: 60-64 plaintext; 65 (the answer to 64) and every 66-71 encrypted; 255 never.
  for (const MessageInfo& m : kMessages) {
    const int n = static_cast<int>(m.type);
    EXPECT_EQ(is_encrypted(m.type), n >= 65 && n <= 71) << n;
  }
}

TEST(MessageType, FirstAndLastMessagesOfEachProtocol) {
  std::set<int> first;
  std::set<int> last;
  for (const MessageInfo& m : kMessages) {
    if (m.starts_protocol) {
      first.insert(static_cast<int>(m.type));
    }
    if (m.ends_protocol) {
      last.insert(static_cast<int>(m.type));
    }
  }
  EXPECT_EQ(first, (std::set<int>{10, 20, 30, 60}));
  EXPECT_EQ(last, (std::set<int>{13, 23, 33, 71, 255}));
  EXPECT_EQ(message_info(MessageType::To1ProveToRV).protocol, Protocol::To1);
  EXPECT_EQ(find_message(14), nullptr);
}

}  // namespace
}  // namespace fdo
