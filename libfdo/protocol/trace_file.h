#pragma once
// Protocol transcripts for learners (`fdo-device --trace DIR`, `scripts/demo.sh --trace DIR`): every message of a run
// as CBOR diagnostic notation with the FDO 1.1 (§3, §5) name beside every value, nested structures included (the
// OVHeader and its RendezvousInfo, the voucher and its entries, EAT claims, COSE headers), one file per message, in
// order. ServiceInfo values (owner credentials, passwords, files) are masked; the TO2 tunnel's messages are written
// twice, as they travel (COSE_Encrypt0 or COSE_Mac0) and decrypted.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/transport/transport.h"

namespace fdo::protocol {

/// Field-named diagnostic notation of one message body: "[\n  value,   / FieldName /\n …]", structures opened and
/// their parts indented and named, small fixed arrays (Hash, PublicKey, SigInfo) on one line with their parts named
/// in the note. A part of an unexpected shape is shown plainly under its name. `decrypted` names a tunnel message's
/// plaintext fields rather than its COSE_Encrypt0 / COSE_Mac0 wrapping.
std::string annotated_diag(std::uint8_t type, ByteView body, bool decrypted = false);

/// Writes NNN-<direction>-<type>-<name>[-decrypted].diag files into a directory (made if missing), numbered on after
/// the files already there.
class TraceDir {
 public:
  explicit TraceDir(std::filesystem::path dir);
  /// `direction` is "sent" or "received" (from the tool's side).
  void write(std::string_view direction, std::uint8_t type, ByteView body, bool decrypted = false);
  [[nodiscard]] const std::filesystem::path& dir() const { return m_dir; }

 private:
  std::filesystem::path m_dir;
  std::mutex m_mutex;
  int m_next = 1;
};

/// A MessageTransport that writes every message it carries, both ways, into a TraceDir.
class TracingTransport final : public transport::MessageTransport {
 public:
  TracingTransport(transport::MessageTransport& inner, TraceDir& trace) : m_inner(inner), m_trace(trace) {}
  /// Owns the transport it wraps (a TransportFactory's product).
  TracingTransport(std::unique_ptr<transport::MessageTransport> owned, TraceDir& trace)
      : m_owned(std::move(owned)), m_inner(*m_owned), m_trace(trace) {}
  transport::Reply exchange(std::uint8_t msg_type, ByteView body) override;
  void send_error(ByteView error_body) override;
  void reset() override { m_inner.reset(); }

 private:
  std::unique_ptr<transport::MessageTransport> m_owned;
  transport::MessageTransport& m_inner;
  TraceDir& m_trace;
};

}  // namespace fdo::protocol
