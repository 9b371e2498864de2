#pragma once
// Protocol traces at --log-level trace (docs/cli.md): each message as annotated CBOR diagnostic notation, with the
// bodies that can carry secrets masked.

#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/types/message_type.h"

namespace fdo::protocol {

/// Whether a message body may carry secrets and is masked in traces: the TO2 ServiceInfo messages
/// (68, 69: owner credentials, passwords, files; FDO 1.1 §3.8). DI, TO0 and TO1 carry no secrets: the HMAC
/// secret and private keys never travel.
bool body_is_secret(MessageType type);

/// When trace logging is on, logs "<direction> <name> (<type>, <n> bytes): <diagnostic notation>", or
/// "<masked>" for secret-bearing bodies. `direction` is e.g. "received" or "sending".
void trace_message(std::string_view direction, std::uint8_t type, ByteView body, std::string_view guid_hex = {});

}  // namespace fdo::protocol
