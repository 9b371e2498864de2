#pragma once
// Test-only: one ServiceInfo exchange in memory between a device with some modules and an owner running a plan, as
// TO2's 68/69 loop carries it (the owner's engine restored from its saved state before every 68, as the owner
// service does), at chosen MTUs. Not part of the library.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/serviceinfo/device_engine.h"
#include "libfdo/serviceinfo/mtu.h"
#include "libfdo/serviceinfo/owner_engine.h"
#include "libfdo/serviceinfo/params.h"

namespace fdo::fsim::testing {

inline serviceinfo::DevmodInfo test_devmod() {
  serviceinfo::DevmodInfo info;
  info.os = "Linux";
  info.arch = "x86_64";
  info.version = "test";
  info.device = "fsim-test";
  info.sep = ":";
  info.bin = "x86_64";
  return info;
}

/// A plan step for `module` with parameters given as key → values.
inline serviceinfo::PlanStep step(std::string module, serviceinfo::ModuleParams::Values params = {},
                                  bool required = true) {
  const serviceinfo::ModuleParams p(module, std::move(params));
  return serviceinfo::PlanStep{.module = std::move(module), .params = p.encode(), .required = required};
}

/// What one exchange gave.
struct Exchange {
  std::vector<serviceinfo::ModuleOutcome> owner;
  std::vector<serviceinfo::DeviceModuleReport> device;
  int rounds = 0;
};

/// Runs devmod and `plan` to IsDone between `modules` (the device) and `registry` (the owner) into `out`; the device
/// sends at most `device_mtu` per 68 and the owner `owner_mtu` per 69. An Error from either side propagates, with the
/// owner's outcomes at that point in `out.owner`.
inline void run_exchange(std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules,
                         const serviceinfo::OwnerRegistry& registry, const serviceinfo::Plan& plan,
                         std::size_t device_mtu, std::size_t owner_mtu, Exchange& out) {
  serviceinfo::DeviceEngine device(std::move(modules), test_devmod(),
                                   serviceinfo::DeviceOptions{.strict = false, .receive_mtu = owner_mtu,
                                                              .max_rounds = serviceinfo::kMaxRounds});
  Bytes saved =
      serviceinfo::OwnerEngine(
          plan, registry, serviceinfo::OwnerOptions{.receive_mtu = device_mtu, .max_rounds = serviceinfo::kMaxRounds})
          .save();
  bool success = false;
  try {
    while (!device.done() && out.rounds < 100000) {
      ++out.rounds;
      const serviceinfo::DeviceSend send = device.next_message(device_mtu);
      serviceinfo::OwnerEngine owner = serviceinfo::OwnerEngine::restore(saved, registry);
      serviceinfo::OwnerReply reply;
      try {
        reply = owner.on_device_message(send.is_more, send.kvs, owner_mtu);
      } catch (...) {
        out.owner = owner.outcomes();
        throw;
      }
      EXPECT_LE(serviceinfo::body_size(reply.kvs, serviceinfo::kOwnerFlags), owner_mtu);
      saved = owner.save();
      out.owner = owner.outcomes();
      device.on_owner_message(reply.is_more, reply.is_done, reply.kvs);
    }
    success = device.done();
  } catch (...) {
    device.finish(false);
    out.device = device.report();
    throw;
  }
  device.finish(success);
  out.device = device.report();
}

/// run_exchange() for a run that must succeed.
inline Exchange exchange(std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules,
                         const serviceinfo::OwnerRegistry& registry, const serviceinfo::Plan& plan,
                         std::size_t device_mtu = serviceinfo::kDefaultMtu,
                         std::size_t owner_mtu = serviceinfo::kDefaultMtu) {
  Exchange out;
  run_exchange(std::move(modules), registry, plan, device_mtu, owner_mtu, out);
  return out;
}

/// What a run that fails gave: the Error that ended it and the owner's outcomes when it was thrown.
struct Failure {
  ErrorCode code = ErrorCode::InternalServerError;
  std::string what;
  Exchange exchange;
};

/// run_exchange() for a run that must fail with an fdo::Error; a run that completes is a test failure.
inline Failure failed_exchange(std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules,
                               const serviceinfo::OwnerRegistry& registry, const serviceinfo::Plan& plan,
                               std::size_t device_mtu = serviceinfo::kDefaultMtu,
                               std::size_t owner_mtu = serviceinfo::kDefaultMtu) {
  Failure out;
  try {
    run_exchange(std::move(modules), registry, plan, device_mtu, owner_mtu, out.exchange);
    ADD_FAILURE() << "the exchange completed; an error was expected";
  } catch (const Error& e) {
    out.code = e.code();
    out.what = e.what();
  }
  return out;
}

/// A CA chain of `n` RSA-3072 certificates, each above 1 KiB: `certs[0]` issues device certificates with `key`,
/// `certs[i]` is signed by `certs[i + 1]`, the last is self-signed. Two keys take turns, as key generation is slow.
struct RsaChain {
  std::vector<crypto::Certificate> certs;
  crypto::PrivateKey key;
};
inline RsaChain rsa_chain(std::size_t n) {
  std::vector<crypto::PrivateKey> keys;
  keys.push_back(crypto::PrivateKey::generate(crypto::KeyType::Rsa3072));
  keys.push_back(crypto::PrivateKey::generate(crypto::KeyType::Rsa3072));
  const auto profile = [](std::size_t i) {
    return crypto::CertificateProfile{
        .common_name = "Test RSA CA " + std::to_string(i), .organization = "fsim test", .is_ca = true};
  };
  std::vector<crypto::Certificate> root_first{crypto::make_self_signed(keys[0], profile(n - 1))};
  for (std::size_t i = 1; i < n; ++i) {
    root_first.push_back(
        crypto::issue_certificate(keys[(i - 1) % 2], root_first.back(), keys[i % 2].public_key(), profile(n - 1 - i)));
  }
  return RsaChain{.certs = {root_first.rbegin(), root_first.rend()}, .key = std::move(keys[(n - 1) % 2])};
}

/// The owner outcome of `module`, or a failure.
inline serviceinfo::ModuleOutcome outcome_of(const Exchange& e, std::string_view module) {
  for (const serviceinfo::ModuleOutcome& o : e.owner) {
    if (o.module == module) {
      return o;
    }
  }
  ADD_FAILURE() << "no outcome for " << module;
  return {};
}

}  // namespace fdo::fsim::testing
