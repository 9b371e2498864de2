#include "libfdo/protocol/trace_file.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <vector>

#include "libfdo/cbor/diag.h"
#include "libfdo/cbor/reader.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/types/message_type.h"

namespace fdo::protocol {
namespace {

using Fields = std::vector<std::string_view>;

// The top-level fields of each body, FDO 1.1 §5.2-§5.5 and §3.8 (ErrorMessage §5.1.1).
const std::map<std::uint8_t, Fields>& field_table() {
  static const std::map<std::uint8_t, Fields> table = {
      {10, {"DeviceMfgInfo"}},
      {11, {"OVHeader"}},
      {12, {"HMac"}},
      {13, {}},
      {20, {}},
      {21, {"NonceTO0Sign"}},
      {22, {"to0d", "to1d"}},
      {23, {"WaitSeconds"}},
      {30, {"Guid", "eASigInfo"}},
      {31, {"NonceTO1Proof", "eBSigInfo"}},
      {60, {"maxDeviceMessageSize", "Guid", "NonceTO2ProveOV", "kexSuiteName", "cipherSuiteName", "eASigInfo"}},
      {62, {"OVEntryNum"}},
      {63, {"OVEntryNum", "OVEntry"}},
      {66, {"ReplacementHMac", "maxOwnerServiceInfoSz"}},
      {67, {"maxDeviceServiceInfoSz"}},
      {68, {"IsMoreServiceInfo", "ServiceInfo"}},
      {69, {"IsMoreServiceInfo", "IsDone", "ServiceInfo"}},
      {70, {"NonceTO2ProveDv"}},
      {71, {"NonceTO2SetupDv"}},
      {255, {"EMErrorCode", "EMPrevMsgID", "EMErrorStr", "EMErrorTs", "EMErrorCID"}},
  };
  return table;
}

// COSE_Sign1 bodies and their payload's fields.
const std::map<std::uint8_t, Fields>& sign1_payloads() {
  static const std::map<std::uint8_t, Fields> table = {
      {32, {}},  // EAT: a claims map
      {33, {"RVTO2Addr", "to1dTO0dHash"}},
      {61,
       {"OVHeader", "NumOVEntries", "HMac", "NonceTO2ProveOV", "eBSigInfo", "xAKeyExchange", "helloDeviceHash",
        "maxOwnerMessageSize"}},
      {64, {}},  // EAT
      {65, {"RendezvousInfo", "Guid", "NonceTO2SetupDv", "Owner2Key"}},
  };
  return table;
}

cbor::DiagOptions compact() {
  cbor::DiagOptions o;
  o.pretty = false;
  o.max_bstr = 96;
  return o;
}

std::string line(std::string_view value, std::string_view name, bool last, std::string_view indent = "  ") {
  std::string out = std::string(indent) + std::string(value) + (last ? "" : ",");
  if (!name.empty()) {
    const std::size_t pad = out.size() < 56 ? 56 - out.size() : 1;
    out += std::string(pad, ' ') + "/ " + std::string(name) + " /";
  }
  return out + "\n";
}

// ServiceInfo = [* [key, value]]: keys shown, values masked but devmod's and the activations (no secrets there).
std::string service_info(cbor::Reader& r) {
  const std::size_t n = r.read_array("ServiceInfo");
  std::string out = "[\n";
  for (std::size_t i = 0; i < n; ++i) {
    r.read_array_of("ServiceInfoKV", 2);
    const std::string key = r.read_tstr("ServiceInfoKey");
    const ByteView value = r.read_raw("ServiceInfoVal");
    const bool open =
        key.rfind("devmod:", 0) == 0 || (key.size() > 7 && key.compare(key.size() - 7, 7, ":active") == 0);
    const std::string shown =
        open ? cbor::to_diag(value, compact()) : "<masked: " + std::to_string(value.size()) + " bytes>";
    out += "    [\"" + key + "\", " + shown + "]" + (i + 1 < n ? "," : "") + "\n";
  }
  return out + "  ]";
}

std::string array_body(std::uint8_t type, ByteView body, const Fields& fields) {
  cbor::Reader r(body, "message");
  const std::size_t n = r.read_array("body");
  std::string out = "[\n";
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view name = i < fields.size() ? fields[i] : std::string_view();
    if (name == "ServiceInfo" && (type == 68 || type == 69)) {
      out += "  " + service_info(r) + (i + 1 < n ? "," : "") + std::string(20, ' ') + "/ ServiceInfo /\n";
      continue;
    }
    out += line(cbor::to_diag(r.read_raw(name), compact()), name, i + 1 == n);
  }
  return out + "]\n";
}

std::string sign1_body(ByteView body, const Fields& payload_fields, bool eat) {
  cbor::Reader r(body, "COSE_Sign1");
  std::string out;
  if (!body.empty() && body[0] == 0xD2) {  // tag 18
    (void)r.read_tag("tag");
    out += "18(";
  }
  r.read_array_of("COSE_Sign1", 4);
  out += "[\n";
  out += line(cbor::to_diag(r.read_raw("protected"), compact()), "protected: alg", false);
  out += line(cbor::to_diag(r.read_raw("unprotected"), compact()), "unprotected", false);
  const Bytes payload = r.read_bstr("payload");
  if (eat || payload_fields.empty()) {
    out += line("<<" + cbor::to_diag(payload, compact()) + ">>", eat ? "payload: EAT claims (nonce, UEID = GUID, FDO claim)"
                                                                         : "payload",
                false);
  } else {
    cbor::Reader p(payload, "payload");
    const std::size_t n = p.read_array("payload");
    out += "  << [\n";
    for (std::size_t i = 0; i < n; ++i) {
      const std::string_view name = i < payload_fields.size() ? payload_fields[i] : std::string_view();
      out += line(cbor::to_diag(p.read_raw(name), compact()), name, i + 1 == n, "       ");
    }
    out += "  ] >>,                                                / payload /\n";
  }
  out += line(cbor::to_diag(r.read_raw("signature"), compact()), "signature", true);
  out += body[0] == 0xD2 ? "])\n" : "]\n";
  return out;
}

}  // namespace

std::string annotated_diag(std::uint8_t type, ByteView body, bool decrypted) {
  const MessageInfo* info = find_message(type);
  std::string head = "; " + std::string(info != nullptr ? info->name : "message") + " (" + std::to_string(type) + ", " +
                     std::to_string(body.size()) + " bytes" +
                     (info != nullptr && info->encrypted ? (decrypted ? ", decrypted from the TO2 tunnel"
                                                                      : ", as it travels: encrypted")
                                                         : "") +
                     ")\n";
  try {
    if (body.empty()) {
      return head + "<empty>\n";
    }
    if (info != nullptr && info->encrypted && !decrypted) {
      return head + cbor::to_diag(body, compact()) + "\n";  // COSE_Encrypt0 / COSE_Mac0: ciphertext only
    }
    if (const auto s = sign1_payloads().find(type); s != sign1_payloads().end()) {
      return head + sign1_body(body, s->second, type == 32 || type == 64);
    }
    if (const auto f = field_table().find(type); f != field_table().end()) {
      return head + array_body(type, body, f->second);
    }
  } catch (const Error&) {
    // Not the shape the table expects (a peer's malformed message): plain notation below.
  }
  return head + cbor::to_diag(body, compact()) + "\n";
}

TraceDir::TraceDir(std::filesystem::path dir) : m_dir(std::move(dir)) {
  std::filesystem::create_directories(m_dir);
  // Numbering goes on after the files already there, so that the runs of one device (DI, TO1, TO2) form one
  // transcript.
  for (const auto& entry : std::filesystem::directory_iterator(m_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name[3] == '-' && std::isdigit(static_cast<unsigned char>(name[0])) != 0 &&
        std::isdigit(static_cast<unsigned char>(name[1])) != 0 && std::isdigit(static_cast<unsigned char>(name[2])) != 0) {
      m_next = std::max(m_next, std::stoi(name.substr(0, 3)) + 1);
    }
  }
}

void TraceDir::write(std::string_view direction, std::uint8_t type, ByteView body, bool decrypted) {
  const MessageInfo* info = find_message(type);
  std::string name = info != nullptr ? std::string(info->name) : "message";
  for (char& c : name) {
    c = c == '.' ? '-' : c;
  }
  const std::lock_guard<std::mutex> lock(m_mutex);
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%03d", m_next++);
  const std::string file = std::string(prefix) + "-" + std::string(direction) + "-" + std::to_string(type) + "-" +
                           name + (decrypted ? "-decrypted" : "") + ".diag";
  const std::string text = annotated_diag(type, body, decrypted);
  write_file_atomic(m_dir / file, to_bytes(text), 0644);
}

transport::Reply TracingTransport::exchange(std::uint8_t msg_type, ByteView body) {
  m_trace.write("sent", msg_type, body);
  transport::Reply reply = m_inner.exchange(msg_type, body);
  m_trace.write("received", reply.msg_type, reply.body);
  return reply;
}

void TracingTransport::send_error(ByteView error_body) {
  m_trace.write("sent", 255, error_body);
  m_inner.send_error(error_body);
}

}  // namespace fdo::protocol
