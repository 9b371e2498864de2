#pragma once
// Test-only, for the fdo_sys and fdo.command tests: a temporary device root and plan directory, and an in-memory
// exchange like fsim_test_support.h's that also runs to a failure, keeping which side raised which error and the
// owner's outcomes at that point.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/registry.h"

namespace fdo::fsim::testing {

/// What a run gave, up to the first error.
struct Run {
  std::vector<serviceinfo::ModuleOutcome> owner;
  std::vector<serviceinfo::DeviceModuleReport> device;
  std::optional<ErrorCode> owner_error;   ///< the owner's engine raised this (its 255 to the device)
  std::optional<ErrorCode> device_error;  ///< the device's engine raised this (its 255 to the owner)
  std::string error;
  int rounds = 0;  ///< 68/69 round trips
};

inline Run run(std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules,
               const serviceinfo::OwnerRegistry& registry, const serviceinfo::Plan& plan, std::size_t device_mtu,
               std::size_t owner_mtu) {
  serviceinfo::DeviceEngine device(std::move(modules), test_devmod(),
                                   serviceinfo::DeviceOptions{.strict = false, .receive_mtu = owner_mtu});
  Bytes saved = serviceinfo::OwnerEngine(plan, registry, serviceinfo::OwnerOptions{.receive_mtu = device_mtu}).save();
  Run out;
  for (; !device.done() && out.rounds < 100000; ++out.rounds) {
    serviceinfo::DeviceSend send;
    try {
      send = device.next_message(device_mtu);
    } catch (const Error& e) {
      out.device_error = e.code();
      out.error = e.what();
      break;
    }
    serviceinfo::OwnerEngine owner = serviceinfo::OwnerEngine::restore(saved, registry);
    serviceinfo::OwnerReply reply;
    try {
      reply = owner.on_device_message(send.is_more, send.kvs, owner_mtu);
    } catch (const Error& e) {
      out.owner = owner.outcomes();
      out.owner_error = e.code();
      out.error = e.what();
      break;
    }
    EXPECT_LE(serviceinfo::body_size(reply.kvs, serviceinfo::kOwnerFlags), owner_mtu);
    saved = owner.save();
    out.owner = owner.outcomes();
    try {
      device.on_owner_message(reply.is_more, reply.is_done, reply.kvs);
    } catch (const Error& e) {
      out.device_error = e.code();
      out.error = e.what();
      break;
    }
  }
  const bool success = device.done() && !out.owner_error && !out.device_error;
  device.finish(success);
  out.device = device.report();
  return out;
}

/// A fresh directory with root/ (the device root) and plan/ (the owner's plan directory), removed at the end.
class TempDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = std::filesystem::temp_directory_path() /
            ("fsim-" + std::string(info->name()) + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir / "dev" / "root");
    std::filesystem::create_directories(m_dir / "plan");
    m_device.root = m_dir / "dev" / "root";
    m_device.command_timeout = std::chrono::seconds(30);
    m_owner.plan_dir = m_dir / "plan";
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  std::filesystem::path root() const { return m_device.root; }
  std::filesystem::path plan_dir() const { return m_owner.plan_dir; }

  std::filesystem::path m_dir;
  DeviceContext m_device;
  OwnerContext m_owner;
};

}  // namespace fdo::fsim::testing
