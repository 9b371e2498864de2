// The device and owner engines against each other in memory, and each against a scripted misbehaving peer.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/serviceinfo/device_engine.h"
#include "libfdo/serviceinfo/owner_engine.h"

namespace fdo::serviceinfo {
namespace {

constexpr std::string_view kEcho = "test.echo";
constexpr std::string_view kMissing = "test.missing";

// What the device half of test.echo saw; shared with the test because the engine owns the module.
struct EchoRecord {
  std::vector<Bytes> data;
  std::vector<bool> activations;
  int polls = 0;
  std::optional<bool> ended;
};

// Device half: acknowledges every data block with its index.
class EchoDevice : public DeviceModule {
 public:
  explicit EchoDevice(std::shared_ptr<EchoRecord> record) : m_record(std::move(record)) {}
  std::string_view name() const override { return kEcho; }
  void on_active(bool active) override { m_record->activations.push_back(active); }
  void on_message(std::string_view message, ByteView value, Outbox& out) override {
    if (message == "fail") {
      throw std::runtime_error("asked to fail");
    }
    m_record->data.push_back(read_bstr_value(value, "test.echo:data"));
    out.send("ack", uint_value(m_record->data.size() - 1));
  }
  void on_poll(Outbox&) override { ++m_record->polls; }
  void on_end(bool success) override { m_record->ended = success; }

 private:
  std::shared_ptr<EchoRecord> m_record;
};

// Owner half: params [count, size]; sends `count` blocks of `size` bytes, done when every block is acknowledged.
class EchoOwner : public OwnerModule {
 public:
  explicit EchoOwner(ByteView params) {
    cbor::Reader r(params, "test.echo params");
    r.read_array_of("", 2);
    m_count = r.read_uint("count");
    m_size = r.read_uint("size");
  }
  std::string_view name() const override { return kEcho; }
  void on_message(std::string_view message, ByteView value) override {
    if (message != "ack" || read_uint_value(value, "test.echo:ack") != m_acks) {
      throw_invalid("test.echo: unexpected " + std::string(message));
    }
    ++m_acks;
  }
  Produced produce(std::size_t budget) override {
    Produced out;
    std::size_t used = 0;
    while (m_sent < m_count) {
      ServiceInfoKv kv = make_kv(kEcho, "data", bstr_value(Bytes(m_size, static_cast<std::uint8_t>(m_sent))));
      if (used + encoded_size(kv) > budget && !out.kvs.empty()) {
        break;
      }
      used += encoded_size(kv);
      out.kvs.push_back(std::move(kv));
      ++m_sent;
    }
    out.done = m_sent == m_count && m_acks == m_count;
    return out;
  }
  Bytes save() const override {
    cbor::Writer w;
    w.array(4).uint(m_count).uint(m_size).uint(m_sent).uint(m_acks);
    return std::move(w).take();
  }
  void restore(ByteView state) override {
    cbor::Reader r(state);
    r.read_array_of("", 4);
    m_count = r.read_uint("count");
    m_size = r.read_uint("size");
    m_sent = r.read_uint("sent");
    m_acks = r.read_uint("acks");
  }

 private:
  std::uint64_t m_count = 0;
  std::uint64_t m_size = 0;
  std::uint64_t m_sent = 0;
  std::uint64_t m_acks = 0;
};

// Owner module for a name the device lacks; sends one message if it ever runs.
class MissingOwner : public OwnerModule {
 public:
  std::string_view name() const override { return kMissing; }
  void on_message(std::string_view, ByteView) override {}
  Produced produce(std::size_t) override {
    Produced out;
    out.done = true;
    return out;
  }
  Bytes save() const override { return bool_value(true); }
  void restore(ByteView) override {}
};

// test.gate quarantines the device on its first output, keeping only test.missing of the later steps (the shape of
// TPM-Attest on a PCR mismatch).
constexpr std::string_view kGate = "test.gate";
class GateOwner : public OwnerModule {
 public:
  std::string_view name() const override { return kGate; }
  void on_message(std::string_view, ByteView) override {}
  Produced produce(std::size_t) override {
    Produced out;
    out.kvs.push_back(make_kv(kGate, "verdict", uint_value(1)));
    out.done = true;
    out.quarantine = std::vector<std::string>{std::string(kMissing)};
    return out;
  }
  Bytes save() const override { return bool_value(true); }
  void restore(ByteView) override {}
};
class GateDevice : public DeviceModule {
 public:
  std::string_view name() const override { return kGate; }
  void on_message(std::string_view, ByteView, Outbox&) override {}
};

OwnerRegistry make_registry() {
  OwnerRegistry r;
  r.add(std::string(kGate), [](ByteView) { return std::make_unique<GateOwner>(); });
  r.add(std::string(kEcho), [](ByteView params) { return std::make_unique<EchoOwner>(params); });
  r.add(std::string(kMissing), [](ByteView) { return std::make_unique<MissingOwner>(); });
  return r;
}

// The engines keep a pointer to the registry, so it lives for the whole test binary.
const OwnerRegistry& registry() {
  static const OwnerRegistry r = make_registry();
  return r;
}

Bytes echo_params(std::uint64_t count, std::uint64_t size) {
  cbor::Writer w;
  w.array(2).uint(count).uint(size);
  return std::move(w).take();
}

DevmodInfo devmod() {
  DevmodInfo info;
  info.os = "Linux";
  info.arch = "x86_64";
  info.version = "Debian GNU/Linux 12";
  info.device = "test-box";
  info.sn = "SN-1";
  info.sep = ":";
  info.bin = "x86_64";
  return info;
}

std::vector<std::unique_ptr<DeviceModule>> echo_modules(const std::shared_ptr<EchoRecord>& record) {
  std::vector<std::unique_ptr<DeviceModule>> modules;
  modules.push_back(std::make_unique<EchoDevice>(record));
  return modules;
}

// Adds names to the first devmod:modules chunk, as a device that lists a module it then refuses.
void list_extra(DeviceSend& send, const std::string& name) {
  for (ServiceInfoKv& kv : send.kvs) {
    if (kv.key != "devmod:modules") {
      continue;
    }
    cbor::Reader r(kv.value);
    const std::size_t items = r.read_array("");
    const std::uint64_t start = r.read_uint("start");
    r.read_uint("count");
    if (start != 0) {
      continue;
    }
    cbor::Writer w;
    w.array(items + 1).uint(0).uint(items - 1);
    for (std::size_t i = 2; i < items; ++i) {
      w.tstr(r.read_tstr("name"));
    }
    w.tstr(name);
    kv.value = std::move(w).take();
  }
}

struct LoopStats {
  int rounds = 0;
  int waits = 0;
  int owner_more = 0;
};

// Runs the loop to IsDone, restoring the owner from its saved state before every 68.
LoopStats run_loop(DeviceEngine& device, const OwnerRegistry& reg, const Plan& plan, std::size_t device_mtu,
                   std::size_t owner_mtu, const std::function<void(DeviceSend&)>& tamper = {}) {
  LoopStats stats;
  Bytes saved = OwnerEngine(plan, reg, OwnerOptions{.receive_mtu = device_mtu, .max_rounds = kMaxRounds}).save();
  bool owner_had_more = false;
  while (!device.done() && stats.rounds < 1000) {
    if (device.should_wait()) {
      ++stats.waits;
    }
    DeviceSend send = device.next_message(device_mtu);
    EXPECT_LE(body_size(send.kvs, kDeviceFlags), device_mtu);
    if (owner_had_more) {
      EXPECT_FALSE(send.is_more);  // L3
      EXPECT_TRUE(send.kvs.empty());
    }
    if (tamper) {
      tamper(send);
    }
    OwnerEngine owner = OwnerEngine::restore(saved, reg);
    const OwnerReply reply = owner.on_device_message(send.is_more, send.kvs, owner_mtu);
    saved = owner.save();
    EXPECT_EQ(OwnerEngine::restore(saved, reg).save(), saved);
    EXPECT_LE(body_size(reply.kvs, kOwnerFlags), owner_mtu);
    if (send.is_more) {
      EXPECT_EQ(reply, OwnerReply{});  // L2
    }
    if (reply.is_done) {
      EXPECT_TRUE(reply.kvs.empty());
      EXPECT_FALSE(reply.is_more);
    }
    owner_had_more = reply.is_more;
    stats.owner_more += reply.is_more ? 1 : 0;
    device.on_owner_message(reply.is_more, reply.is_done, reply.kvs);
    ++stats.rounds;
  }
  return stats;
}

TEST(ServiceInfoLoop, DevmodThenModulesToIsDoneWithSaveRestoreEveryMessage) {
  const auto record = std::make_shared<EchoRecord>();
  DeviceEngine device(echo_modules(record), devmod());
  const OwnerRegistry& reg = registry();
  // Five 500-byte blocks: more than one 1300-byte 69, so the owner keeps the floor with IsMoreServiceInfo.
  const Plan plan{.steps = {{.module = std::string(kEcho), .params = echo_params(5, 500), .required = true},
                            {.module = std::string(kMissing), .params = {}, .required = false}}};
  std::optional<OwnerEngine> last;
  const LoopStats stats = run_loop(device, reg, plan, 1300, 1300, [&](DeviceSend& send) {
    list_extra(send, std::string(kMissing));
  });
  EXPECT_TRUE(device.done());
  EXPECT_GE(stats.owner_more, 1);
  EXPECT_LT(stats.rounds, 20);
  ASSERT_EQ(record->data.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(record->data[i], Bytes(500, static_cast<std::uint8_t>(i)));
  }
  EXPECT_EQ(record->activations, std::vector<bool>{true});
  EXPECT_GT(record->polls, 0);
  EXPECT_FALSE(record->ended.has_value());
  device.finish(true);
  EXPECT_EQ(record->ended, std::optional<bool>(true));
  EXPECT_EQ(device.report(), (std::vector<DeviceModuleReport>{{.name = "test.echo", .active = true, .failed = false,
                                                               .error = ""}}));
}

TEST(ServiceInfoLoop, OwnerOutcomesAndDevmodAfterTheRun) {
  const auto record = std::make_shared<EchoRecord>();
  DeviceEngine device(echo_modules(record), devmod());
  const OwnerRegistry& reg = registry();
  const Plan plan{.steps = {{.module = std::string(kMissing), .params = {}, .required = false},
                            {.module = std::string(kEcho), .params = echo_params(2, 10), .required = false}}};
  OwnerEngine owner(plan, reg);
  std::vector<OwnerReply> replies;
  while (!device.done()) {
    const DeviceSend send = device.next_message(1300);
    DeviceSend listed = send;
    list_extra(listed, std::string(kMissing));
    const OwnerReply reply = owner.on_device_message(listed.is_more, listed.kvs, 1300);
    device.on_owner_message(reply.is_more, reply.is_done, reply.kvs);
    replies.push_back(reply);
  }
  // The owner activated test.missing because the device listed it; the device answered active = false.
  const auto first = std::find_if(replies.begin(), replies.end(), [](const OwnerReply& r) { return !r.kvs.empty(); });
  ASSERT_NE(first, replies.end());
  EXPECT_EQ(first->kvs.at(0), make_kv(kMissing, kActive, bool_value(true)));
  const std::vector<ModuleOutcome> outcomes = owner.outcomes();
  ASSERT_EQ(outcomes.size(), 2U);
  EXPECT_EQ(outcomes[0].state, ModuleState::Unsupported);
  EXPECT_EQ(outcomes[0].error, "device answered active=false");
  EXPECT_EQ(outcomes[1].state, ModuleState::Done);
  EXPECT_TRUE(owner.devmod_complete());
  EXPECT_EQ(owner.devmod().modules, (std::vector<std::string>{"devmod", "test.echo", "test.missing"}));
  EXPECT_EQ(owner.devmod().nummodules, 2U);
  EXPECT_EQ(owner.devmod().os, "Linux");
  EXPECT_EQ(module_state_name(outcomes[0].state), "unsupported");
  // A 68 after IsDone (the C SDK reports unknown modules so) gets IsDone again.
  EXPECT_EQ(owner.on_device_message(false, {make_kv("other", kActive, bool_value(false))}, 1300),
            (OwnerReply{.is_more = false, .is_done = true, .kvs = {}}));
  test::expect_error([&] { owner.on_device_message(true, {}, 1300); }, ErrorCode::InvalidMessageError);
}

TEST(ServiceInfoLoop, QuarantineSkipsTheLaterModulesOutsideTheQuarantinePlan) {
  const auto record = std::make_shared<EchoRecord>();
  std::vector<std::unique_ptr<DeviceModule>> modules = echo_modules(record);
  modules.push_back(std::make_unique<GateDevice>());
  DeviceEngine device(std::move(modules), devmod());
  const OwnerRegistry& reg = registry();
  const Plan plan{.steps = {{.module = std::string(kGate), .params = {}, .required = false},
                            {.module = std::string(kEcho), .params = echo_params(2, 10), .required = false},
                            {.module = std::string(kMissing), .params = {}, .required = false}}};
  Bytes saved = OwnerEngine(plan, reg).save();
  for (int round = 0; !device.done() && round < 50; ++round) {
    DeviceSend send = device.next_message(1300);
    list_extra(send, std::string(kMissing));
    OwnerEngine owner = OwnerEngine::restore(saved, reg);  // any server process continues the run
    const OwnerReply reply = owner.on_device_message(send.is_more, send.kvs, 1300);
    saved = owner.save();
    device.on_owner_message(reply.is_more, reply.is_done, reply.kvs);
  }
  ASSERT_TRUE(device.done());
  const OwnerEngine owner = OwnerEngine::restore(saved, reg);
  EXPECT_TRUE(owner.quarantined());
  EXPECT_TRUE(OwnerEngine::quarantined_in(saved));
  EXPECT_FALSE(OwnerEngine::quarantined_in(OwnerEngine(plan, reg).save()));
  const std::vector<ModuleOutcome> outcomes = owner.outcomes();
  ASSERT_EQ(outcomes.size(), 3U);
  EXPECT_EQ(outcomes[0].state, ModuleState::Done);
  EXPECT_EQ(outcomes[1].state, ModuleState::Skipped);
  EXPECT_EQ(module_state_name(outcomes[1].state), "skipped (quarantine)");
  // test.missing is in the quarantine plan, so it still ran (the device lists it and then refuses it).
  EXPECT_EQ(outcomes[2].state, ModuleState::Unsupported);
  EXPECT_TRUE(record->data.empty());
  EXPECT_TRUE(record->activations.empty());
  EXPECT_FALSE(OwnerEngine(plan, reg).quarantined());
}

TEST(ServiceInfoLoop, ModuleNotListedIsUnsupportedAndFailsOnlyIfRequired) {
  const OwnerRegistry& reg = registry();
  for (const bool required : {false, true}) {
    const auto record = std::make_shared<EchoRecord>();
    DeviceEngine device(echo_modules(record), devmod());
    const Plan plan{.steps = {{.module = std::string(kMissing), .params = {}, .required = required}}};
    if (!required) {
      run_loop(device, reg, plan, 1300, 1300);
      EXPECT_TRUE(device.done());
      continue;
    }
    OwnerEngine owner(plan, reg);
    const DeviceSend first = device.next_message(1300);
    ASSERT_TRUE(first.is_more);
    owner.on_device_message(first.is_more, first.kvs, 1300);
    device.on_owner_message(false, false, {});
    const DeviceSend second = device.next_message(1300);
    test::expect_error([&] { owner.on_device_message(second.is_more, second.kvs, 1300); },
                       ErrorCode::InternalServerError);
    EXPECT_EQ(owner.outcomes().at(0).state, ModuleState::Failed);
  }
}

TEST(ServiceInfoLoop, DevmodModulesChunkedOverASmallMtu) {
  std::vector<std::unique_ptr<DeviceModule>> modules;
  std::vector<std::string> names = {"devmod"};
  // Device modules that only exist to be listed.
  class Named : public DeviceModule {
   public:
    explicit Named(std::string name) : m_name(std::move(name)) {}
    std::string_view name() const override { return m_name; }
    void on_message(std::string_view, ByteView, Outbox&) override {}

   private:
    std::string m_name;
  };
  for (int i = 0; i < 80; ++i) {
    names.push_back("com.example.a-rather-long-module-name-" + std::to_string(i));
    modules.push_back(std::make_unique<Named>(names.back()));
  }
  DeviceEngine device(std::move(modules), devmod());
  OwnerEngine owner(Plan{}, registry(), OwnerOptions{.receive_mtu = 256, .max_rounds = kMaxRounds});
  int messages = 0;
  bool first_chunk_seen = false;
  while (!device.done()) {
    const DeviceSend send = device.next_message(256);
    ++messages;
    EXPECT_LE(body_size(send.kvs, kDeviceFlags), 256U);
    for (std::size_t i = 0; i < send.kvs.size(); ++i) {
      if (send.kvs[i].key == "devmod:modules" && !first_chunk_seen) {
        EXPECT_EQ(i, 0U);  // devmod:modules starts a new message
        first_chunk_seen = true;
      }
    }
    const OwnerReply reply = owner.on_device_message(send.is_more, send.kvs, 1300);
    device.on_owner_message(reply.is_more, reply.is_done, reply.kvs);
  }
  EXPECT_GT(messages, 10);
  EXPECT_EQ(owner.devmod().modules, names);
  EXPECT_EQ(owner.devmod().nummodules, 81U);
}

TEST(ServiceInfoLoop, DeviceWaitsBeforeAnEmptyPollAfterAnEmpty69) {
  DeviceEngine device({}, devmod());
  DeviceSend send = device.next_message(1300);
  while (send.is_more) {
    device.on_owner_message(false, false, {});
    EXPECT_FALSE(device.should_wait());  // answering IsMore is no poll
    send = device.next_message(1300);
  }
  device.on_owner_message(false, false, {});
  EXPECT_TRUE(device.should_wait());
  EXPECT_EQ(device.next_message(1300).kvs.size(), 0U);
  device.on_owner_message(false, false, {make_kv("x", "y", bool_value(true))});
  EXPECT_FALSE(device.should_wait());
}

// Conformance TO2-17: each devmod entry in its own 68 with IsMore (also the last), then [false, []] until IsDone.
TEST(ServiceInfoConformance, TO2_17_DevmodOneEntryPerMessage) {
  OwnerEngine owner(Plan{}, registry());
  const ServiceInfo kvs = devmod_kvs(devmod(), 1000);
  for (const ServiceInfoKv& kv : kvs) {
    EXPECT_EQ(owner.on_device_message(true, {kv}, 1300), OwnerReply{});
  }
  int replies = 0;
  while (!owner.done() && replies < 255) {
    owner.on_device_message(false, {}, 1300);
    ++replies;
  }
  EXPECT_TRUE(owner.done());
  EXPECT_EQ(owner.devmod().os, "Linux");
}

// Conformance TO2-16: after the device has sent [false, []], it sends [true, [one devmod entry]] → 101.
TEST(ServiceInfoConformance, TO2_16_DevmodAfterDeviceEndedDevmod) {
  const Plan plan{.steps = {{.module = std::string(kEcho), .params = echo_params(1, 10), .required = false}}};
  OwnerEngine owner(plan, registry());
  ServiceInfo kvs = devmod_kvs(devmod(), 1000);
  kvs.back() = make_kv(kDevmod, "modules", [] {
    cbor::Writer w;
    w.array(4).uint(0).uint(2).tstr("devmod").tstr("test.echo");
    return std::move(w).take();
  }());
  owner.on_device_message(true, kvs, 1300);
  const OwnerReply reply = owner.on_device_message(false, {}, 1300);
  EXPECT_FALSE(reply.is_done);
  test::expect_error([&] { owner.on_device_message(true, {make_kv(kDevmod, "os", tstr_value("Linux"))}, 1300); },
                     ErrorCode::InvalidMessageError);
}

// Conformance TO2-30: a 68 whose ServiceInfo exceeds the maxDeviceServiceInfoSz the owner declared in 67 → 101.
TEST(ServiceInfoConformance, TO2_30_DeviceMessageOverOwnerLimit) {
  OwnerEngine owner(Plan{}, registry(), OwnerOptions{.receive_mtu = 1300, .max_rounds = kMaxRounds});
  const ServiceInfo big = {make_kv(kDevmod, "device", tstr_value(std::string(1300, 'x')))};
  test::expect_error([&] { owner.on_device_message(true, big, 1300); }, ErrorCode::InvalidMessageError);
}

// Conformance DEV-45: a 69 over the device's maxOwnerServiceInfoSz, and a 69 with IsMore and IsDone → 101 each.
TEST(ServiceInfoConformance, DEV_45_OwnerMessageOverLimitOrMoreWithDone) {
  for (const bool oversize : {true, false}) {
    DeviceEngine device({}, devmod(), DeviceOptions{.strict = false, .receive_mtu = 1300, .max_rounds = kMaxRounds});
    while (device.next_message(1300).is_more) {
      device.on_owner_message(false, false, {});
    }
    if (oversize) {
      const ServiceInfo big = {make_kv("x", "y", bstr_value(Bytes(1300, 0)))};
      test::expect_error([&] { device.on_owner_message(false, false, big); }, ErrorCode::InvalidMessageError);
    } else {
      test::expect_error([&] { device.on_owner_message(true, true, {}); }, ErrorCode::InvalidMessageError);
    }
  }
}

// Conformance DEV-44: a 69 entry [1, h'00'] (key not tstr) is undecodable → 100 (in the codec).
TEST(ServiceInfoConformance, DEV_44_KeyNotText) {
  const Bytes body = {0x81, 0x82, 0x01, 0x41, 0x00};
  cbor::Reader r(body, "TO2.OwnerServiceInfo");
  test::expect_error([&] { (void)decode_service_info(r); }, ErrorCode::MessageBodyError);
}

TEST(ServiceInfoRules, OwnerMustNotSendWhileTheDeviceHoldsTheFloor) {
  DeviceEngine device({}, devmod());
  const DeviceSend first = device.next_message(1300);
  ASSERT_TRUE(first.is_more);  // devmod:modules starts a second message
  test::expect_error([&] { device.on_owner_message(false, false, {make_kv("a", "b", bool_value(true))}); },
                     ErrorCode::InvalidMessageError);
}

TEST(ServiceInfoRules, DeviceMustAnswerEmptyAfterOwnerIsMore) {
  const Plan plan{.steps = {{.module = std::string(kEcho), .params = echo_params(5, 500), .required = false}}};
  OwnerEngine owner(plan, registry());
  ServiceInfo kvs = devmod_kvs(devmod(), 1000);
  kvs.back() = make_kv(kDevmod, "modules", [] {
    cbor::Writer w;
    w.array(4).uint(0).uint(2).tstr("devmod").tstr("test.echo");
    return std::move(w).take();
  }());
  const OwnerReply reply = owner.on_device_message(false, kvs, 1300);
  ASSERT_TRUE(reply.is_more);
  test::expect_error([&] { owner.on_device_message(false, {make_kv("test.echo", "ack", uint_value(0))}, 1300); },
                     ErrorCode::InvalidMessageError);
  // And the device engine itself pulls with [false, []].
  DeviceEngine device({}, devmod());
  while (device.next_message(1300).is_more) {
    device.on_owner_message(false, false, {});
  }
  device.on_owner_message(true, false, {make_kv("x", "y", bool_value(true))});
  const DeviceSend pull = device.next_message(1300);
  EXPECT_FALSE(pull.is_more);
  EXPECT_TRUE(pull.kvs.empty());
}

TEST(ServiceInfoRules, DeviceActivationAndUnknownModules) {
  for (const bool strict : {false, true}) {
    const auto record = std::make_shared<EchoRecord>();
    DeviceEngine device(echo_modules(record), devmod(),
                        DeviceOptions{.strict = strict, .receive_mtu = 1300, .max_rounds = kMaxRounds});
    while (device.next_message(1300).is_more) {
      device.on_owner_message(false, false, {});
    }
    device.on_owner_message(false, false,
                            {make_kv("fdo.nothing", kActive, bool_value(true)), make_kv(kEcho, kActive, bool_value(true)),
                             make_kv(kEcho, "data", bstr_value(Bytes{1}))});
    const DeviceSend answer = device.next_message(1300);
    EXPECT_EQ(answer.kvs, (ServiceInfo{make_kv("fdo.nothing", kActive, bool_value(false)),
                                       make_kv(kEcho, kActive, bool_value(true)), make_kv(kEcho, "ack", uint_value(0))}));
    // Deactivated, then a message: skipped and logged, or 101 in strict mode.
    const ServiceInfo after = {make_kv(kEcho, kActive, bool_value(false)), make_kv(kEcho, "data", bstr_value({}))};
    if (strict) {
      test::expect_error([&] { device.on_owner_message(false, false, after); }, ErrorCode::InvalidMessageError);
    } else {
      device.on_owner_message(false, false, after);
      EXPECT_EQ(record->data.size(), 1U);
    }
    EXPECT_EQ(record->activations, (std::vector<bool>{true, false}));
  }
}

TEST(ServiceInfoRules, DeviceModuleErrorsMapToCodes) {
  const auto activate = [](DeviceEngine& device) {
    while (device.next_message(1300).is_more) {
      device.on_owner_message(false, false, {});
    }
    device.on_owner_message(false, false, {make_kv(kEcho, kActive, bool_value(true))});
    (void)device.next_message(1300);
  };
  const auto record = std::make_shared<EchoRecord>();
  {
    DeviceEngine device(echo_modules(record), devmod());
    activate(device);
    // A value of the wrong type: the owner's input is malformed.
    test::expect_error([&] { device.on_owner_message(false, false, {make_kv(kEcho, "data", uint_value(1))}); },
                       ErrorCode::MessageBodyError);
    EXPECT_TRUE(device.report().at(0).failed);
  }
  EXPECT_EQ(record->ended, std::optional<bool>(false));  // the destructor ran on_end(false)
  DeviceEngine device(echo_modules(record), devmod());
  activate(device);
  test::expect_error([&] { device.on_owner_message(false, false, {make_kv(kEcho, "fail", bool_value(true))}); },
                     ErrorCode::InternalServerError);
  test::expect_error([&] { device.on_owner_message(false, false, {make_kv(kEcho, kActive, uint_value(1))}); },
                     ErrorCode::InternalServerError);  // a 69 with no 68 before it is our caller's bug
}

TEST(ServiceInfoRules, OwnerModuleFailureIs500AndBadValueIs100) {
  const Plan plan{.steps = {{.module = std::string(kEcho), .params = echo_params(1, 10), .required = false}}};
  ServiceInfo kvs = devmod_kvs(devmod(), 1000);
  kvs.back() = make_kv(kDevmod, "modules", [] {
    cbor::Writer w;
    w.array(4).uint(0).uint(2).tstr("devmod").tstr("test.echo");
    return std::move(w).take();
  }());
  OwnerEngine owner(plan, registry());
  owner.on_device_message(false, kvs, 1300);
  test::expect_error([&] { owner.on_device_message(false, {make_kv(kEcho, "ack", tstr_value("x"))}, 1300); },
                     ErrorCode::MessageBodyError);
  EXPECT_EQ(owner.outcomes().at(0).state, ModuleState::Failed);
  OwnerEngine second(plan, registry());
  second.on_device_message(false, kvs, 1300);
  test::expect_error([&] { second.on_device_message(false, {make_kv(kEcho, "ack", uint_value(7))}, 1300); },
                     ErrorCode::InvalidMessageError);
}

TEST(ServiceInfoRules, KvTooLargeForOneMessageFailsTheModule) {
  const Plan plan{.steps = {{.module = std::string(kEcho), .params = echo_params(1, 1300), .required = false}}};
  ServiceInfo kvs = devmod_kvs(devmod(), 1000);
  kvs.back() = make_kv(kDevmod, "modules", [] {
    cbor::Writer w;
    w.array(4).uint(0).uint(2).tstr("devmod").tstr("test.echo");
    return std::move(w).take();
  }());
  OwnerEngine owner(plan, registry());
  const OwnerReply first = owner.on_device_message(false, kvs, 1300);  // active = true, then the block is queued
  ASSERT_TRUE(first.is_more);
  test::expect_error([&] { owner.on_device_message(false, {}, 1300); }, ErrorCode::InternalServerError);
  EXPECT_EQ(owner.outcomes().at(0).state, ModuleState::Failed);
}

TEST(ServiceInfoRules, RoundLimit) {
  OwnerEngine owner(Plan{}, registry(), OwnerOptions{.receive_mtu = 1300, .max_rounds = 2});
  owner.on_device_message(true, {}, 1300);
  owner.on_device_message(true, {}, 1300);
  test::expect_error([&] { owner.on_device_message(true, {}, 1300); }, ErrorCode::InvalidMessageError);
  DeviceEngine device({}, devmod(), DeviceOptions{.strict = false, .receive_mtu = 1300, .max_rounds = 1});
  (void)device.next_message(1300);
  device.on_owner_message(false, false, {});
  test::expect_error([&] { (void)device.next_message(1300); }, ErrorCode::InvalidMessageError);
}

TEST(ServiceInfoRules, OwnerPlanAndStoredStateChecks) {
  const OwnerRegistry& reg = registry();
  test::expect_error([&] { OwnerEngine(Plan{.steps = {{.module = "nope", .params = {}, .required = false}}}, reg); },
                     ErrorCode::InternalServerError);
  test::expect_error([&] { (void)OwnerEngine::restore(Bytes{0x80}, reg); }, ErrorCode::InternalServerError);
  test::expect_error([&] { (void)OwnerEngine::restore(Bytes{0xff}, reg); }, ErrorCode::InternalServerError);
}

TEST(ServiceInfoRules, SplitValuesAcrossMessagesAreJoined) {
  const auto record = std::make_shared<EchoRecord>();
  DeviceEngine device(echo_modules(record), devmod());
  while (device.next_message(1300).is_more) {
    device.on_owner_message(false, false, {});
  }
  const Bytes whole = bstr_value(Bytes(100, 5));
  device.on_owner_message(true, false,
                          {make_kv(kEcho, kActive, bool_value(true)),
                           ServiceInfoKv{.key = "test.echo:data", .value = Bytes(whole.begin(), whole.begin() + 50)}});
  (void)device.next_message(1300);
  device.on_owner_message(false, false,
                          {ServiceInfoKv{.key = "test.echo:data", .value = Bytes(whole.begin() + 50, whole.end())}});
  ASSERT_EQ(record->data.size(), 1U);
  EXPECT_EQ(record->data[0], Bytes(100, 5));
}

}  // namespace
}  // namespace fdo::serviceinfo
