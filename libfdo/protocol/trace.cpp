#include "libfdo/protocol/trace.h"

#include <string>

#include "libfdo/cbor/diag.h"
#include "libfdo/core/log.h"

namespace fdo::protocol {

bool body_is_secret(MessageType type) {
  return type == MessageType::To2DeviceServiceInfo || type == MessageType::To2OwnerServiceInfo;
}

void trace_message(std::string_view direction, std::uint8_t type, ByteView body, std::string_view guid_hex) {
  if (!log::enabled(log::Level::Trace)) {
    return;
  }
  const MessageInfo* info = find_message(type);
  std::string line = std::string(direction) + " " + (info != nullptr ? std::string(info->name) : "message") + " (" +
                     std::to_string(type) + ", " + std::to_string(body.size()) + " bytes): ";
  if (info != nullptr && body_is_secret(info->type)) {
    line += "<masked>";
  } else if (body.empty()) {
    line += "<empty>";
  } else {
    cbor::DiagOptions options;
    options.pretty = false;
    options.max_bstr = 64;
    line += cbor::to_diag(body, options);
  }
  log::trace(line, guid_hex);
}

}  // namespace fdo::protocol
