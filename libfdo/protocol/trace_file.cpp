#include "libfdo/protocol/trace_file.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>
#include <vector>

#include "libfdo/cbor/diag.h"
#include "libfdo/cbor/reader.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/message_type.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/types/rvto2addr.h"
#include "libfdo/types/sig_info.h"

namespace fdo::protocol {
namespace {

// The annotator walks a message along its CDDL (FDO 1.1 §3 and §5) and writes one line per value, with the
// spec's field name after it. Structures open on a line of their own and their parts are indented under them;
// small fixed arrays (Hash, PublicKey, SigInfo, one RendezvousInstr) stay on one line with their parts named in
// the note. A part that does not have the expected shape (a peer's malformed message) is printed plainly under
// its name, so a trace of bad input still shows every byte.

constexpr std::size_t kNoteColumn = 56;

cbor::DiagOptions compact() {
  cbor::DiagOptions o;
  o.pretty = false;
  o.max_bstr = 96;
  return o;
}

std::string plain(ByteView item) {
  return cbor::to_diag(item, compact());
}

// "= NAME" for a code the spec names; empty for codes it does not.
std::string named(std::string_view name) {
  return name.empty() || name == "?" || name == "unknown" ? std::string() : " = " + std::string(name);
}

// Where one value goes: its name, whether it is the last of its parent (no comma), and what wraps it
// ("<< … >>" for bstr .cbor, "18(…)" for a tagged COSE_Sign1).
struct Slot {
  std::string_view name;
  bool last = true;
  std::string open;
  std::string close;
};

class Annotator;
using Part = std::function<void(Annotator&, ByteView item, const Slot& slot)>;

struct Field {
  std::string_view name;
  Part part;
};

class Annotator {
 public:
  explicit Annotator(int depth) : m_depth(depth) {}

  [[nodiscard]] const std::string& text() const { return m_out; }

  // One value on one line.
  void line(std::string_view value, const Slot& slot, std::string_view note = {}) {
    std::string out = indent() + slot.open + std::string(value) + slot.close + (slot.last ? "" : ",");
    const std::string name = note.empty() ? std::string(slot.name) : std::string(note);
    if (!name.empty()) {
      out += std::string(out.size() < kNoteColumn ? kNoteColumn - out.size() : 1, ' ') + "/ " + name + " /";
    }
    m_out += out + "\n";
  }

  void leaf(ByteView item, const Slot& slot) { line(plain(item), slot); }

  // A structure: its opening line carries the name, its parts are indented one level under it.
  template <typename Body>
  void block(const Slot& slot, std::string_view open, std::string_view close, Body&& body) {
    line(open, Slot{slot.name, true, slot.open, ""});
    ++m_depth;
    body();
    --m_depth;
    line(close, Slot{{}, slot.last, "", slot.close});
  }

  // Runs `part`; if the item is not the shape it expects, prints it plainly instead.
  void safely(const Part& part, ByteView item, const Slot& slot) {
    const std::size_t mark = m_out.size();
    const int depth = m_depth;
    try {
      part(*this, item, slot);
    } catch (const Error&) {
      m_out.resize(mark);
      m_depth = depth;
      leaf(item, slot);
    }
  }

  // A fixed array: part i is named fields[i]; parts beyond the list are printed unnamed.
  void fields(ByteView item, const Slot& slot, const std::vector<Field>& names) {
    const std::vector<ByteView> parts = elements(item, slot.name);
    const std::size_t n = parts.size();
    block(slot, "[", "]", [&] {
      for (std::size_t i = 0; i < n; ++i) {
        const Slot s{i < names.size() ? names[i].name : std::string_view(), i + 1 == n, "", ""};
        if (i < names.size() && names[i].part) {
          safely(names[i].part, parts[i], s);
        } else {
          leaf(parts[i], s);
        }
      }
    });
  }

  // [* element]: each element named "<element> i".
  void list(ByteView item, const Slot& slot, std::string_view element, const Part& part) {
    const std::vector<ByteView> parts = elements(item, slot.name);
    const std::size_t n = parts.size();
    if (n == 0) {
      line("[]", slot);
      return;
    }
    block(slot, "[", "]", [&] {
      for (std::size_t i = 0; i < n; ++i) {
        const std::string name = std::string(element) + " " + std::to_string(i);
        safely(part, parts[i], Slot{name, i + 1 == n, "", ""});
      }
    });
  }

  // bstr .cbor X: the content printed as X inside << >>.
  void embedded(ByteView item, const Slot& slot, const Part& part) {
    cbor::Reader r(item, slot.name);
    const ByteView content = r.read_bstr_view(slot.name);
    r.expect_end();
    cbor::Reader check(content, slot.name);
    check.skip(slot.name);
    check.expect_end();
    part(*this, content, Slot{slot.name, slot.last, slot.open + "<< ", " >>" + slot.close});
  }

 private:
  // The encoded elements of an array that is the whole of `item`.
  static std::vector<ByteView> elements(ByteView item, std::string_view what) {
    cbor::Reader r(item, what);
    const std::size_t n = r.read_array(what);
    std::vector<ByteView> parts;
    for (std::size_t i = 0; i < n; ++i) {
      parts.push_back(r.read_raw(what));
    }
    r.expect_end();
    return parts;
  }

  [[nodiscard]] std::string indent() const { return std::string(static_cast<std::size_t>(m_depth) * 2, ' '); }

  std::string m_out;
  int m_depth;
};

void leaf(Annotator& a, ByteView item, const Slot& slot) {
  a.leaf(item, slot);
}

// Hash = [hashtype, hash] (FDO 1.1 §3.3.1); HMac has the same shape; null where the CDDL allows it.
void hash(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  if (r.try_read_null()) {
    r.expect_end();
    a.line("null", slot);
    return;
  }
  r.read_array_of(slot.name, 2);
  const std::int64_t type = r.read_int(slot.name);
  (void)r.read_bstr_view(slot.name);
  r.expect_end();
  const std::string type_name = named(hash_type_name(static_cast<HashType>(type)));
  a.line(plain(item), slot, std::string(slot.name) + ": [hashtype" + type_name + ", hash]");
}

// PublicKey = [pkType, pkEnc, pkBody] (FDO 1.1 §3.3.4).
void public_key(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  r.read_array_of(slot.name, 3);
  const std::uint64_t type = r.read_uint(slot.name);
  const std::uint64_t enc = r.read_uint(slot.name);
  r.skip(slot.name);
  r.expect_end();
  const std::string type_name = type <= 255 ? named(pk_type_name(static_cast<PkType>(type))) : std::string();
  const std::string enc_name = enc <= 255 ? named(pk_enc_name(static_cast<PkEnc>(enc))) : std::string();
  a.line(plain(item), slot, std::string(slot.name) + ": [pkType" + type_name + ", pkEnc" + enc_name + ", pkBody]");
}

// SigInfo = [sgType, Info] (FDO 1.1 §3.3.6).
void sig_info(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  r.read_array_of(slot.name, 2);
  const std::int64_t type = r.read_int(slot.name);
  r.skip(slot.name);
  r.expect_end();
  a.line(plain(item), slot,
         std::string(slot.name) + ": [sgType" + named(sg_type_name(static_cast<DeviceSgType>(type))) + ", Info]");
}

// RendezvousInstr = [RVVariable, ? RVValue: bstr .cbor any] (FDO 1.1 §3.7): named by its variable.
void rv_instr(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  const std::size_t n = r.read_array(slot.name);
  if (n < 1 || n > 2) {
    throw_body_error("RendezvousInstr: 1 or 2 elements");
  }
  const std::uint64_t variable = r.read_uint(slot.name);
  if (n == 2) {
    (void)r.read_bstr_view(slot.name);
  }
  r.expect_end();
  const std::string_view name = variable <= 255 ? rv_variable_name(static_cast<RVVariable>(variable)) : "";
  a.line(plain(item), slot, name.empty() ? "RVVariable " + std::to_string(variable) : std::string(name));
}

void rv_directive(Annotator& a, ByteView item, const Slot& slot) {
  a.list(item, slot, "RendezvousInstr", rv_instr);
}

// RendezvousInfo = [+ RendezvousDirective] (FDO 1.1 §3.7).
void rendezvous_info(Annotator& a, ByteView item, const Slot& slot) {
  a.list(item, slot, "RendezvousDirective", rv_directive);
}

// RVTO2AddrEntry = [RVIP, RVDNS, RVPort, RVProtocol] (FDO 1.1 §3.8).
void rvto2addr_entry(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  r.read_array_of(slot.name, 4);
  r.skip(slot.name);
  r.skip(slot.name);
  r.skip(slot.name);
  const std::uint64_t protocol = r.read_uint(slot.name);
  r.expect_end();
  const std::string name =
      protocol <= 255 ? named(transport_protocol_name(static_cast<TransportProtocol>(protocol))) : std::string();
  a.line(plain(item), slot, std::string(slot.name) + ": [RVIP, RVDNS, RVPort, RVProtocol" + name + "]");
}

void rvto2addr(Annotator& a, ByteView item, const Slot& slot) {
  a.list(item, slot, "RVTO2AddrEntry", rvto2addr_entry);
}

// OVHeader (FDO 1.1 §3.4.1).
void ov_header(Annotator& a, ByteView item, const Slot& slot) {
  a.fields(item, slot,
           {{"OVHProtVer", leaf},
            {"OVGuid", leaf},
            {"OVRVInfo", rendezvous_info},
            {"OVDeviceInfo", leaf},
            {"OVPubKey", public_key},
            {"OVDevCertChainHash", hash}});
}

void ov_header_bstr(Annotator& a, ByteView item, const Slot& slot) {
  a.embedded(item, slot, ov_header);
}

// A map with integer keys (COSE headers, EAT claims): each key with its value's encoding, in order.
std::vector<std::pair<std::int64_t, ByteView>> int_map(ByteView item, std::string_view what) {
  cbor::Reader r(item, what);
  const std::size_t n = r.read_map(what);
  std::vector<std::pair<std::int64_t, ByteView>> entries;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t key = r.read_int(what);
    entries.emplace_back(key, r.read_raw(what));
  }
  r.expect_end();
  return entries;
}

// COSE header maps: labels FDO and COSE name (FDO 1.1 §3.3.2, RFC 9052 §3.1).
std::string header_label(std::int64_t label) {
  switch (label) {
    case 1:
      return "alg";
    case 33:
      return "x5chain";
    case 256:
      return "CUPHNonce";
    case 257:
      return "CUPHOwnerPubKey";
    case -259:
      return "EUPHNonce";
    default:
      return std::to_string(label);
  }
}

// The header map's labels, in order, for the note ("unprotected: CUPHNonce, CUPHOwnerPubKey").
std::string header_note(std::string_view what, ByteView map_item) {
  cbor::Reader r(map_item, what);
  const std::size_t n = r.read_map(what);
  std::string labels;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t label = r.read_int(what);
    labels += (i == 0 ? ": " : ", ") + header_label(label);
    if (label == 1 && r.peek_type() != cbor::MajorType::Array) {
      const std::int64_t alg = r.read_int(what);
      labels += named(crypto::sig_alg_name(static_cast<crypto::SigAlg>(alg)));
    } else {
      r.skip(what);
    }
  }
  r.expect_end();
  return std::string(what) + labels;
}

void protected_header(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  const ByteView content = r.read_bstr_view(slot.name);
  r.expect_end();
  a.line(plain(item), slot, content.empty() ? std::string(slot.name) : header_note(slot.name, content));
}

// The unprotected map, one named line per label (CUPHOwnerPubKey as a PublicKey).
void unprotected_header(Annotator& a, ByteView item, const Slot& slot) {
  const auto headers = int_map(item, slot.name);
  if (headers.empty()) {
    a.line("{}", slot);
    return;
  }
  a.block(slot, "{", "}", [&] {
    for (std::size_t i = 0; i < headers.size(); ++i) {
      const auto& [label, value] = headers[i];
      const std::string name = header_label(label);
      const Slot s{name, i + 1 == headers.size(), std::to_string(label) + ": ", ""};
      if (label == 257) {
        a.safely(public_key, value, s);
      } else {
        a.leaf(value, s);
      }
    }
  });
}

// COSE_Sign1 = [protected, unprotected, payload: bstr, signature] (RFC 9052 §4.2, FDO 1.1 §3.3.2), tag 18
// optional; the payload printed as `payload` inside << >>.
Part sign1(Part payload) {
  return [payload](Annotator& a, ByteView item, const Slot& slot) {
    cbor::Reader r(item, slot.name);
    const bool tagged = r.peek_tag(18);
    if (tagged) {
      r.expect_tag(slot.name, 18);
    }
    r.read_array_of(slot.name, 4);
    const ByteView prot = r.read_raw("protected");
    const ByteView unprot = r.read_raw("unprotected");
    const ByteView body = r.read_raw("payload");
    const ByteView signature = r.read_raw("signature");
    r.expect_end();
    const Slot outer{slot.name, slot.last, slot.open + (tagged ? "18(" : ""), (tagged ? ")" : "") + slot.close};
    a.block(outer, "[", "]", [&] {
      a.safely(protected_header, prot, Slot{"protected", false, "", ""});
      a.safely(unprotected_header, unprot, Slot{"unprotected", false, "", ""});
      a.safely([&payload](Annotator& an, ByteView i, const Slot& s) { an.embedded(i, s, payload); }, body,
               Slot{"payload", false, "", ""});
      a.leaf(signature, Slot{"signature", true, "", ""});
    });
  };
}

// A fixed array with these parts, as a Part.
Part array_of(std::vector<Field> names) {
  return [names = std::move(names)](Annotator& a, ByteView item, const Slot& slot) { a.fields(item, slot, names); };
}

// OVEntryPayload (FDO 1.1 §3.4.2), signed into each OVEntry.
const Part& ov_entry() {
  static const Part part = sign1(
      array_of({{"OVEHashPrevEntry", hash}, {"OVEHashHdrInfo", hash}, {"OVEExtra", leaf}, {"OVEPubKey", public_key}}));
  return part;
}

// OwnershipVoucher (FDO 1.1 §3.4).
void voucher(Annotator& a, ByteView item, const Slot& slot) {
  a.fields(item, slot,
           {{"OVProtVer", leaf},
            {"OVHeaderTag", ov_header_bstr},
            {"OVHeaderHMac", hash},
            {"OVDevCertChain",
             [](Annotator& an, ByteView i, const Slot& s) {
               cbor::Reader r(i, s.name);
               if (r.try_read_null()) {
                 an.leaf(i, s);
                 return;
               }
               an.list(i, s, "certificate", leaf);
             }},
            {"OVEntryArray", [](Annotator& an, ByteView i, const Slot& s) { an.list(i, s, "OVEntry", ov_entry()); }}});
}

// EAT claims (FDO 1.1 §3.3.6, RFC 9711): a map, each claim named by its key.
Part eat_claims(Part fdo_claim) {
  return [fdo_claim](Annotator& a, ByteView item, const Slot& slot) {
    const auto claims = int_map(item, slot.name);
    a.block(Slot{"EAT claims", slot.last, slot.open, slot.close}, "{", "}", [&] {
      for (std::size_t i = 0; i < claims.size(); ++i) {
        const auto& [key, value] = claims[i];
        const std::string label = std::to_string(key) + ": ";
        const bool last = i + 1 == claims.size();
        if (key == 10) {
          a.leaf(value, Slot{"EAT-NONCE", last, label, ""});
        } else if (key == 256 || key == 11) {
          a.leaf(value, Slot{"EAT-UEID: 1 (RAND) then the GUID", last, label, ""});
        } else if (key == -257) {
          a.safely(fdo_claim, value, Slot{"EAT-FDO", last, label, ""});
        } else {
          a.leaf(value, Slot{"claim " + std::to_string(key), last, label, ""});
        }
      }
    });
  };
}

// ServiceInfo = [* [ServiceInfoKey, ServiceInfoVal]] (FDO 1.1 §3.9): keys shown, values masked but devmod's and
// the activations (no secrets there).
void service_info(Annotator& a, ByteView item, const Slot& slot) {
  cbor::Reader r(item, slot.name);
  const std::size_t n = r.read_array(slot.name);
  std::vector<std::pair<std::string, ByteView>> kvs;
  for (std::size_t i = 0; i < n; ++i) {
    r.read_array_of("ServiceInfoKV", 2);
    std::string key = r.read_tstr("ServiceInfoKey");
    kvs.emplace_back(std::move(key), r.read_raw("ServiceInfoVal"));
  }
  r.expect_end();
  if (kvs.empty()) {
    a.line("[]", slot);
    return;
  }
  a.block(slot, "[", "]", [&] {
    for (std::size_t i = 0; i < kvs.size(); ++i) {
      const auto& [key, value] = kvs[i];
      const bool open =
          key.rfind("devmod:", 0) == 0 || (key.size() > 7 && key.compare(key.size() - 7, 7, ":active") == 0);
      const std::string shown = open ? plain(value) : "<masked: " + std::to_string(value.size()) + " bytes>";
      a.line("[\"" + key + "\", " + shown + "]", Slot{{}, i + 1 == kvs.size(), "", ""});
    }
  });
}

// DeviceMfgInfo's MfgInfo array (libfdo/messages/di.h; FDO 1.1 §5.2.1 leaves it to implementations).
void mfg_info(Annotator& a, ByteView item, const Slot& slot) {
  a.fields(item, slot,
           {{"keyType", leaf},
            {"keyEnc", leaf},
            {"serialNo", leaf},
            {"deviceInfo", leaf},
            {"certInfo: PKCS#10 CSR", leaf},
            {"macAddresses", leaf},
            {"onDieCertChain", leaf},
            {"testSignature", leaf},
            {"maroePrefix", leaf}});
}

Part bstr_of(Part inner) {
  return [inner](Annotator& a, ByteView item, const Slot& slot) { a.embedded(item, slot, inner); };
}

// Each message body's shape, FDO 1.1 §5.2-§5.5 (ErrorMessage §5.1.1). Tunnel messages are their plaintext.
const std::map<std::uint8_t, Part>& message_shapes() {
  static const Part to1d = sign1(array_of({{"to1dRV", rvto2addr}, {"to1dTO0dHash", hash}}));
  static const std::map<std::uint8_t, Part> table = {
      {10, array_of({{"DeviceMfgInfo", bstr_of(mfg_info)}})},
      {11, array_of({{"OVHeader", ov_header_bstr}})},
      {12, array_of({{"HMac", hash}})},
      {13, array_of({})},
      {20, array_of({})},
      {21, array_of({{"NonceTO0Sign", leaf}})},
      {22,
       array_of(
           {{"to0d", bstr_of(array_of({{"OwnershipVoucher", voucher}, {"WaitSeconds", leaf}, {"NonceTO0Sign", leaf}}))},
            {"to1d", to1d}})},
      {23, array_of({{"WaitSeconds", leaf}})},
      {30, array_of({{"Guid", leaf}, {"eASigInfo", sig_info}})},
      {31, array_of({{"NonceTO1Proof", leaf}, {"eBSigInfo", sig_info}})},
      {32, sign1(eat_claims(leaf))},
      {33, to1d},
      {60, array_of({{"maxDeviceMessageSize", leaf},
                     {"Guid", leaf},
                     {"NonceTO2ProveOV", leaf},
                     {"kexSuiteName", leaf},
                     {"cipherSuiteName", leaf},
                     {"eASigInfo", sig_info}})},
      {61, sign1(array_of({{"OVHeader", ov_header_bstr},
                           {"NumOVEntries", leaf},
                           {"HMac", hash},
                           {"NonceTO2ProveOV", leaf},
                           {"eBSigInfo", sig_info},
                           {"xAKeyExchange", leaf},
                           {"helloDeviceHash", hash},
                           {"maxOwnerMessageSize", leaf}}))},
      {62, array_of({{"OVEntryNum", leaf}})},
      {63, array_of({{"OVEntryNum", leaf}, {"OVEntry", ov_entry()}})},
      {64, sign1(eat_claims(array_of({{"xBKeyExchange", leaf}})))},
      {65, sign1(array_of({{"RendezvousInfo", rendezvous_info},
                           {"Guid", leaf},
                           {"NonceTO2SetupDv", leaf},
                           {"Owner2Key", public_key}}))},
      {66, array_of({{"ReplacementHMac", hash}, {"maxOwnerServiceInfoSz", leaf}})},
      {67, array_of({{"maxDeviceServiceInfoSz", leaf}})},
      {68, array_of({{"IsMoreServiceInfo", leaf}, {"ServiceInfo", service_info}})},
      {69, array_of({{"IsMoreServiceInfo", leaf}, {"IsDone", leaf}, {"ServiceInfo", service_info}})},
      {70, array_of({{"NonceTO2ProveDv", leaf}})},
      {71, array_of({{"NonceTO2SetupDv", leaf}})},
      {255, array_of({{"EMErrorCode", leaf},
                      {"EMPrevMsgID", leaf},
                      {"EMErrorStr", leaf},
                      {"EMErrorTs", leaf},
                      {"EMErrorCID", leaf}})},
  };
  return table;
}

}  // namespace

std::string annotated_diag(std::uint8_t type, ByteView body, bool decrypted) {
  const MessageInfo* info = find_message(type);
  std::string head = "; " + std::string(info != nullptr ? info->name : "message") + " (" + std::to_string(type) + ", " +
                     std::to_string(body.size()) + " bytes" +
                     (info != nullptr && info->encrypted
                          ? (decrypted ? ", decrypted from the TO2 tunnel" : ", as it travels: encrypted")
                          : "") +
                     ")\n";
  if (body.empty()) {
    return head + "<empty>\n";
  }
  const auto shape = message_shapes().find(type);
  if ((info != nullptr && info->encrypted && !decrypted) || shape == message_shapes().end()) {
    return head + plain(body) + "\n";  // COSE_Encrypt0 / COSE_Mac0 as it travels: ciphertext only
  }
  Annotator a(0);
  a.safely(shape->second, body, Slot{});
  return head + a.text();
}

TraceDir::TraceDir(std::filesystem::path dir) : m_dir(std::move(dir)) {
  std::filesystem::create_directories(m_dir);
  // Numbering goes on after the files already there, so that the runs of one device (DI, TO1, TO2) form one
  // transcript.
  for (const auto& entry : std::filesystem::directory_iterator(m_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name[3] == '-' && std::isdigit(static_cast<unsigned char>(name[0])) != 0 &&
        std::isdigit(static_cast<unsigned char>(name[1])) != 0 &&
        std::isdigit(static_cast<unsigned char>(name[2])) != 0) {
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
