#pragma once
// The server side of one FDO sub-protocol as the dispatcher drives it (docs/style.md §7).

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/storage/store.h"
#include "libfdo/types/message_type.h"

namespace fdo::protocol {

/// What a handler knows about the request besides its body, and what it tells the dispatcher's log.
struct Context {
  /// Unix seconds of this request (from the dispatcher's clock).
  std::int64_t now{};
  /// The remote address, for logs and rate limits.
  std::string peer;
  /// Set by handlers once the device GUID is known; printed in the dispatcher's log line.
  std::string guid_hex;
};

/// A handler's answer: the response type, its encoded body, and the records the message writes.
struct Answer {
  MessageType type{};
  Bytes body;
  /// Runs in the short transaction in which the dispatcher also moves the session on (docs/adr/0005): the
  /// writes, and only the cheap checks that must see the same records (who holds a registration). Empty when
  /// the message writes no record. May throw fdo::Error; then nothing of the message is stored.
  std::function<void(storage::Transaction&)> apply;
};

/// Builds the Answer for request `Req`, checking at compile time that `Resp` is the spec's response to it
/// (FDO 1.1 §5: 10→11, 12→13, 20→21, 22→23, 30→31, 32→33, …).
template <typename Req, typename Resp>
Answer answer(const Resp& response, std::function<void(storage::Transaction&)> apply = {}) {
  static_assert(message_info(Req::kType).is_request, "Req must be a request message");
  static_assert(*message_info(Req::kType).response == Resp::kType, "Resp is not the spec's response to Req");
  return Answer{Resp::kType, response.encode(), std::move(apply)};
}

/// One server-side protocol (DI, TO0, TO1 or TO2).
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  /// The protocol whose request messages this endpoint serves.
  [[nodiscard]] virtual Protocol protocol() const = 0;
  /// Handles one request of this protocol, outside any store transaction: decoding, checks, signatures, vouchers
  /// and certificates run here, in parallel with other runs. `state` is the session's stored state (empty on
  /// the first message of a run) and is replaced by the handler. Reads go through storage::read_only(`store`);
  /// writes only through the Answer's `apply`. Throws fdo::Error with the code the peer must get.
  virtual Answer handle(MessageType type, ByteView body, Bytes& state, storage::Store& store, Context& ctx) = 0;
  /// Called when a request of a run fails (its handler threw, or the peer sent an ErrorMessage, then with
  /// ErrorSource::Peer), after the session is gone: `state` is the session's state before the request (empty for
  /// a first message). Records what the operator should see; must not throw. Does nothing by default.
  virtual void on_failure(MessageType type, ByteView state, const Error& error, storage::Store& store,
                          const Context& ctx) {
    (void)type, (void)state, (void)error, (void)store, (void)ctx;
  }
};

/// Throws Error(InvalidMessageError) unless `type` is the message the session expects next
/// (docs/adr/0001-error-model.md: a valid token with a message not allowed in the current state is 101).
void expect_next(MessageType expected, MessageType type);

/// The protocol's name for session records and logs: "di", "to0", "to1", "to2".
std::string_view protocol_name(Protocol protocol);

}  // namespace fdo::protocol
