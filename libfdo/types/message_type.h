#pragma once
// Message numbers and per-message facts of every FDO 1.1 message (FDO 1.1 §5):
// name, protocol, direction, expected response, and whether its body travels in the TO2 tunnel.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace fdo {

/// FDO message types (the uint8 msgtype of FDO 1.1 §3.2). Values are the wire values.
enum class MessageType : std::uint8_t {
  DiAppStart = 10,
  DiSetCredentials = 11,
  DiSetHMAC = 12,
  DiDone = 13,
  To0Hello = 20,
  To0HelloAck = 21,
  To0OwnerSign = 22,
  To0AcceptOwner = 23,
  To1HelloRV = 30,
  To1HelloRVAck = 31,
  To1ProveToRV = 32,
  To1RVRedirect = 33,
  To2HelloDevice = 60,
  To2ProveOVHdr = 61,
  To2GetOVNextEntry = 62,
  To2OVNextEntry = 63,
  To2ProveDevice = 64,
  To2SetupDevice = 65,
  To2DeviceServiceInfoReady = 66,
  To2OwnerServiceInfoReady = 67,
  To2DeviceServiceInfo = 68,
  To2OwnerServiceInfo = 69,
  To2Done = 70,
  To2Done2 = 71,
  /// ErrorMessage, FDO 1.1 §5.1: either side, any protocol, never encrypted.
  Error = 255,
};

/// The sub-protocol a message belongs to (FDO 1.1 §2.5).
enum class Protocol : std::uint8_t { Di, To0, To1, To2, Any };

/// Facts about one message type.
struct MessageInfo {
  MessageType type;
  /// The spec's name, e.g. "TO2.HelloDevice".
  std::string_view name;
  Protocol protocol;
  /// Sent by the client of the protocol (device in DI/TO1/TO2, owner in TO0) to the server.
  bool is_request;
  /// For a request: the message the server answers with.
  std::optional<MessageType> response;
  /// The body travels encrypted in the TO2 tunnel (65-71; FDO 1.1 §4.4, §5.5).
  bool encrypted;
  /// First message of its protocol: carries no Authorization token (10, 20, 30, 60).
  bool starts_protocol;
  /// Last message of its protocol: the server drops the session after sending it (13, 23, 33, 71).
  bool ends_protocol;
};

/// Every message, in number order.
inline constexpr std::array<MessageInfo, 25> kMessages = {{
    {MessageType::DiAppStart, "DI.AppStart", Protocol::Di, true, MessageType::DiSetCredentials, false, true, false},
    {MessageType::DiSetCredentials, "DI.SetCredentials", Protocol::Di, false, std::nullopt, false, false, false},
    {MessageType::DiSetHMAC, "DI.SetHMAC", Protocol::Di, true, MessageType::DiDone, false, false, false},
    {MessageType::DiDone, "DI.Done", Protocol::Di, false, std::nullopt, false, false, true},
    {MessageType::To0Hello, "TO0.Hello", Protocol::To0, true, MessageType::To0HelloAck, false, true, false},
    {MessageType::To0HelloAck, "TO0.HelloAck", Protocol::To0, false, std::nullopt, false, false, false},
    {MessageType::To0OwnerSign, "TO0.OwnerSign", Protocol::To0, true, MessageType::To0AcceptOwner, false, false, false},
    {MessageType::To0AcceptOwner, "TO0.AcceptOwner", Protocol::To0, false, std::nullopt, false, false, true},
    {MessageType::To1HelloRV, "TO1.HelloRV", Protocol::To1, true, MessageType::To1HelloRVAck, false, true, false},
    {MessageType::To1HelloRVAck, "TO1.HelloRVAck", Protocol::To1, false, std::nullopt, false, false, false},
    {MessageType::To1ProveToRV, "TO1.ProveToRV", Protocol::To1, true, MessageType::To1RVRedirect, false, false, false},
    {MessageType::To1RVRedirect, "TO1.RVRedirect", Protocol::To1, false, std::nullopt, false, false, true},
    {MessageType::To2HelloDevice, "TO2.HelloDevice", Protocol::To2, true, MessageType::To2ProveOVHdr, false, true,
     false},
    {MessageType::To2ProveOVHdr, "TO2.ProveOVHdr", Protocol::To2, false, std::nullopt, false, false, false},
    {MessageType::To2GetOVNextEntry, "TO2.GetOVNextEntry", Protocol::To2, true, MessageType::To2OVNextEntry, false,
     false, false},
    {MessageType::To2OVNextEntry, "TO2.OVNextEntry", Protocol::To2, false, std::nullopt, false, false, false},
    {MessageType::To2ProveDevice, "TO2.ProveDevice", Protocol::To2, true, MessageType::To2SetupDevice, false, false,
     false},
    {MessageType::To2SetupDevice, "TO2.SetupDevice", Protocol::To2, false, std::nullopt, true, false, false},
    {MessageType::To2DeviceServiceInfoReady, "TO2.DeviceServiceInfoReady", Protocol::To2, true,
     MessageType::To2OwnerServiceInfoReady, true, false, false},
    {MessageType::To2OwnerServiceInfoReady, "TO2.OwnerServiceInfoReady", Protocol::To2, false, std::nullopt, true,
     false, false},
    {MessageType::To2DeviceServiceInfo, "TO2.DeviceServiceInfo", Protocol::To2, true, MessageType::To2OwnerServiceInfo,
     true, false, false},
    {MessageType::To2OwnerServiceInfo, "TO2.OwnerServiceInfo", Protocol::To2, false, std::nullopt, true, false, false},
    {MessageType::To2Done, "TO2.Done", Protocol::To2, true, MessageType::To2Done2, true, false, false},
    {MessageType::To2Done2, "TO2.Done2", Protocol::To2, false, std::nullopt, true, false, true},
    {MessageType::Error, "Error", Protocol::Any, false, std::nullopt, false, false, true},
}};

/// Index of a message number in kMessages; kMessages.size() for numbers FDO does not define.
constexpr std::size_t message_index(std::uint8_t number) {
  for (std::size_t i = 0; i < kMessages.size(); ++i) {
    if (static_cast<std::uint8_t>(kMessages[i].type) == number) {
      return i;
    }
  }
  return kMessages.size();
}

/// The facts of a known message number; nullptr for unknown numbers.
inline const MessageInfo* find_message(std::uint8_t number) {
  const std::size_t i = message_index(number);
  return i < kMessages.size() ? &kMessages[i] : nullptr;
}

/// The facts of a message type (every enumerator is in kMessages).
constexpr const MessageInfo& message_info(MessageType type) {
  return kMessages[message_index(static_cast<std::uint8_t>(type))];
}

/// The message type of a wire number; nullopt for numbers FDO does not define.
constexpr std::optional<MessageType> message_type_from(std::uint8_t number) {
  const std::size_t i = message_index(number);
  if (i == kMessages.size()) {
    return std::nullopt;
  }
  return kMessages[i].type;
}

/// The spec's name ("TO2.HelloDevice").
constexpr std::string_view message_name(MessageType type) {
  return message_info(type).name;
}
/// Whether the client of the protocol sends it.
constexpr bool is_request(MessageType type) {
  return message_info(type).is_request;
}
/// The server's answer to a request; nullopt for responses and Error.
constexpr std::optional<MessageType> response_to(MessageType type) {
  return message_info(type).response;
}
/// Whether the body is encrypted in the TO2 tunnel.
constexpr bool is_encrypted(MessageType type) {
  return message_info(type).encrypted;
}
/// The wire number.
constexpr std::uint8_t message_number(MessageType type) {
  return static_cast<std::uint8_t>(type);
}

// The table is in number order, every request names a response of its protocol, and the numbering matches
// FDO 1.1 §5.
namespace internal {
constexpr bool message_table_is_consistent() {
  for (std::size_t i = 0; i < kMessages.size(); ++i) {
    const MessageInfo& m = kMessages[i];
    if (i > 0 && static_cast<int>(kMessages[i - 1].type) >= static_cast<int>(m.type)) {
      return false;
    }
    if (m.is_request != m.response.has_value()) {
      return false;
    }
    if (m.response) {
      const MessageInfo& r = message_info(*m.response);
      if (r.is_request || r.protocol != m.protocol || static_cast<int>(r.type) != static_cast<int>(m.type) + 1) {
        return false;
      }
    }
  }
  return true;
}
}  // namespace internal
static_assert(internal::message_table_is_consistent());
static_assert(static_cast<int>(MessageType::DiAppStart) == 10 && static_cast<int>(MessageType::DiDone) == 13);
static_assert(static_cast<int>(MessageType::To0Hello) == 20 && static_cast<int>(MessageType::To0AcceptOwner) == 23);
static_assert(static_cast<int>(MessageType::To1HelloRV) == 30 && static_cast<int>(MessageType::To1RVRedirect) == 33);
static_assert(static_cast<int>(MessageType::To2HelloDevice) == 60 && static_cast<int>(MessageType::To2Done2) == 71);
static_assert(static_cast<int>(MessageType::Error) == 255);
static_assert(response_to(MessageType::To2ProveDevice) == MessageType::To2SetupDevice);
static_assert(response_to(MessageType::To2Done) == MessageType::To2Done2);
static_assert(!is_encrypted(MessageType::To2ProveDevice) && is_encrypted(MessageType::To2SetupDevice));
static_assert(message_name(MessageType::To1RVRedirect) == "TO1.RVRedirect");
static_assert(!message_type_from(14).has_value() && message_type_from(61) == MessageType::To2ProveOVHdr);

}  // namespace fdo
