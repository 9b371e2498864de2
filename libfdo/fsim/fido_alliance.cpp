#include "libfdo/fsim/fido_alliance.h"

#include "libfdo/core/log.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim {
namespace {

constexpr std::string_view kDevConformance = "dev_conformance";

}  // namespace

void FidoAllianceDevice::on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) {
  (void)out;
  if (message == kDevConformance) {
    m_token = serviceinfo::read_tstr_value(value, "fido_alliance:dev_conformance");
    log::info("fido_alliance: interop token received (" + std::to_string(m_token.size()) + " characters)");
    return;
  }
  log::warn("fido_alliance: unknown message " + std::string(message) + " ignored");
}

FidoAllianceOwner::FidoAllianceOwner(ByteView params) {
  const serviceinfo::ModuleParams p = serviceinfo::ModuleParams::decode(kFidoAlliance, params);
  p.expect_only({"token"});
  m_token = p.get("token", "fdo-cpp");
}

void FidoAllianceOwner::on_message(std::string_view message, ByteView value) {
  (void)value;
  log::warn("fido_alliance: unexpected device message " + std::string(message) + " ignored");
}

serviceinfo::Produced FidoAllianceOwner::produce(std::size_t budget) {
  (void)budget;
  serviceinfo::Produced out;
  if (!m_sent) {
    out.kvs.push_back(serviceinfo::make_kv(kFidoAlliance, kDevConformance, serviceinfo::tstr_value(m_token)));
    m_sent = true;
  }
  out.done = true;
  return out;
}

Bytes FidoAllianceOwner::save() const { return serviceinfo::bool_value(m_sent); }

void FidoAllianceOwner::restore(ByteView state) { m_sent = serviceinfo::read_bool_value(state, "fido_alliance state"); }

std::string FidoAllianceOwner::summary() const { return m_sent ? "token sent" : std::string(); }

}  // namespace fdo::fsim
