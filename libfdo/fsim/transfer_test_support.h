#pragma once
// Test-only helpers for the fdo.download, fdo.upload and fdo.wget tests (and other modules' tests that want them): a
// temporary directory, seeded test data, the rig of a file-transfer module, a device module driven directly, and
// scripted or silent stand-ins for a misbehaving device.

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/serviceinfo/mtu.h"

namespace fdo::fsim::testing {

/// A fresh directory removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    m_path = std::filesystem::temp_directory_path() /
             ("fsim-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  /// The regular files below the directory, relative names sorted.
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(m_path)) {
      if (e.is_regular_file()) {
        out.push_back(std::filesystem::relative(e.path(), m_path).string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path m_path;
};

/// A device context whose root is `root`, other fields default.
inline DeviceContext root_context(const std::filesystem::path& root) {
  DeviceContext context;
  context.root = root;
  return context;
}

/// `n` bytes from a seeded generator.
inline Bytes test_bytes(std::size_t n, std::uint32_t seed = 1) {
  std::mt19937 gen(seed);
  Bytes out(n);
  for (std::uint8_t& b : out) {
    b = static_cast<std::uint8_t>(gen());
  }
  return out;
}

/// A plan directory and a device root, with the owner registry and the contexts of both halves of the file-transfer
/// module `Device` is the device half of; `content` is the test file (where it lives is the test's choice).
template <typename Device>
struct TransferRig {
  TempDir plan_dir;
  TempDir root;
  OwnerContext owner_context;
  DeviceContext device_context;
  serviceinfo::OwnerRegistry registry;
  Bytes content;

  TransferRig(const std::string& tag, Bytes data)
      : plan_dir(tag + "-plan"), root(tag + "-root"), content(std::move(data)) {
    owner_context.plan_dir = plan_dir.path();
    device_context.root = root.path();
    register_owner_modules(registry, owner_context);
  }
  /// A one-step plan for `module` with `params`, each of `extra` added or replacing one.
  [[nodiscard]] static serviceinfo::Plan plan_of(std::string_view module, serviceinfo::ModuleParams::Values params,
                                                 const serviceinfo::ModuleParams::Values& extra) {
    for (const auto& [k, v] : extra) {
      params[k] = v;
    }
    return serviceinfo::Plan{{step(std::string(module), std::move(params))}};
  }
  [[nodiscard]] Exchange run(std::unique_ptr<serviceinfo::DeviceModule> device, const serviceinfo::Plan& p,
                             std::size_t device_mtu = 1300, std::size_t owner_mtu = 1300) const {
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::move(device));
    return exchange(std::move(modules), registry, p, device_mtu, owner_mtu);
  }
  [[nodiscard]] std::unique_ptr<serviceinfo::DeviceModule> device() const {
    return std::make_unique<Device>(device_context);
  }
};

/// Feeds `module` the owner messages (message, value) in order and returns what it queued, keys without module;
/// `send_mtu` is the owner's maxDeviceServiceInfoSz the module sees (Outbox::kv_budget()).
inline std::vector<std::pair<std::string, Bytes>> drive(serviceinfo::DeviceModule& module,
                                                        const std::vector<std::pair<std::string, Bytes>>& in,
                                                        std::size_t send_mtu = serviceinfo::kMinMtu) {
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out(module.name(), queue, serviceinfo::max_single_kv(send_mtu, serviceinfo::kDeviceFlags));
  for (const auto& [message, value] : in) {
    module.on_message(message, value, out);
  }
  std::vector<std::pair<std::string, Bytes>> sent;
  for (const serviceinfo::OutboxEntry& e : queue) {
    const auto [mod, message] = serviceinfo::split_key(e.kv.key);
    sent.emplace_back(std::string(message), e.kv.value);
  }
  return sent;
}

/// A device module of any name that answers the first owner message with fixed KVs and ignores the rest (a
/// misbehaving or silent device: an empty answer list never answers).
class ScriptedDevice final : public serviceinfo::DeviceModule {
 public:
  ScriptedDevice(std::string name, std::vector<std::pair<std::string, Bytes>> answers)
      : m_name(std::move(name)), m_answers(std::move(answers)) {}
  [[nodiscard]] std::string_view name() const override { return m_name; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override {
    (void)message;
    (void)value;
    if (!m_answered) {
      for (const auto& [m, v] : m_answers) {
        out.send(m, v);
      }
      m_answered = true;
    }
  }

 private:
  std::string m_name;
  std::vector<std::pair<std::string, Bytes>> m_answers;
  bool m_answered = false;
};

/// Wraps a device module and lets a test change each owner message before it arrives (a corrupted transfer).
class TamperingDevice final : public serviceinfo::DeviceModule {
 public:
  using Tamper = std::function<void(std::string_view message, Bytes& value)>;
  TamperingDevice(std::unique_ptr<serviceinfo::DeviceModule> inner, Tamper tamper)
      : m_inner(std::move(inner)), m_tamper(std::move(tamper)) {}
  [[nodiscard]] std::string_view name() const override { return m_inner->name(); }
  void on_active(bool active) override { m_inner->on_active(active); }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override {
    Bytes v(value.begin(), value.end());
    m_tamper(message, v);
    m_inner->on_message(message, v, out);
  }
  void on_poll(serviceinfo::Outbox& out) override { m_inner->on_poll(out); }
  void on_end(bool success) override { m_inner->on_end(success); }

 private:
  std::unique_ptr<serviceinfo::DeviceModule> m_inner;
  Tamper m_tamper;
};

}  // namespace fdo::fsim::testing
