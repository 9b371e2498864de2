// `fdo-owner to0`: register vouchers with the rendezvous servers of their RendezvousInfo by hand (FDO 1.1 §5.3;
// CLI.md). The protocol is libfdo/protocol/to0_owner; this file reads files and prints results.

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/protocol/to0_owner.h"
#include "libfdo/types/json.h"
#include "libfdo/types/rvto2addr.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/voucher.h"
#include "owner/commands.h"
#include "owner/config.h"

namespace fdo::owner_tool {
namespace {

struct To0Config {
  std::filesystem::path dir;
  std::vector<std::filesystem::path> vouchers;
  std::vector<std::string> to2_urls;
  std::uint32_t wait_seconds = 3600;
  bool json = false;
};

/// One voucher's registration at one rendezvous server (or a failure before any server was tried).
struct Registration {
  std::string guid;
  std::string source;
  protocol::RvRegistrationOutcome outcome;
};

std::string describe_error(const protocol::RvRegistrationOutcome& o) {
  const ErrorCode code = o.error_code.value_or(ErrorCode::InternalServerError);
  return std::string(error_code_name(code)) + " (" + std::to_string(static_cast<int>(code)) + "): " + o.error;
}

std::vector<Registration> register_voucher(const voucher::VoucherInput& input, const std::string& source,
                                           const crypto::PrivateKey& key, const RVTO2Addr& to2_addr,
                                           std::uint32_t wait_seconds) {
  std::vector<Registration> out;
  std::string guid;
  try {
    guid = voucher::OwnershipVoucher::decode(input.cbor).header().ov_guid.hex();
    for (protocol::RvRegistrationOutcome& o :
         protocol::register_with_all(input.cbor, key, to2_addr, wait_seconds, {})) {
      out.push_back(Registration{guid, source, std::move(o)});
    }
  } catch (const Error& e) {
    out.push_back(
        Registration{guid, source,
                     protocol::RvRegistrationOutcome{
                         .rv_url = {}, .wait_seconds = std::nullopt, .error_code = e.code(), .error = e.what()}});
  }
  return out;
}

void print_json(const std::vector<Registration>& registrations) {
  JsonWriter j(true);
  j.begin_object().key("registrations").begin_array();
  std::map<std::string, std::uint32_t> granted;  // per rendezvous URL: the least granted over the vouchers
  for (const Registration& r : registrations) {
    j.begin_object().key("guid").string(r.guid).key("voucher").string(r.source).key("rendezvous");
    if (r.outcome.rv_url.empty()) {
      j.null();
    } else {
      j.string(r.outcome.rv_url);
    }
    if (r.outcome.ok()) {
      j.key("wait_seconds").uinteger(*r.outcome.wait_seconds);
      const auto [it, inserted] = granted.emplace(r.outcome.rv_url, *r.outcome.wait_seconds);
      it->second = std::min(it->second, *r.outcome.wait_seconds);
    } else {
      j.key("error_code")
          .uinteger(static_cast<std::uint16_t>(r.outcome.error_code.value_or(ErrorCode::InternalServerError)));
      j.key("error").string(r.outcome.error);
    }
    j.end_object();
  }
  j.end_array().key("wait_seconds").begin_object();
  for (const auto& [url, seconds] : granted) {
    j.key(url).uinteger(seconds);
  }
  j.end_object().end_object();
  std::cout << j.str() << "\n";
}

int run_to0(const To0Config& config) {
  const crypto::PrivateKey key = load_owner_key(OwnerDir{config.dir});
  const RVTO2Addr to2_addr = RVTO2Addr::from_urls(config.to2_urls);
  std::vector<Registration> registrations;
  for (const std::filesystem::path& file : config.vouchers) {
    for (const voucher::VoucherInput& input : voucher::read_vouchers(read_file(file))) {
      const std::string source = file.string() + (input.index > 1 ? "#" + std::to_string(input.index) : "");
      for (Registration& r : register_voucher(input, source, key, to2_addr, config.wait_seconds)) {
        registrations.push_back(std::move(r));
      }
    }
  }
  bool failed = false;
  for (const Registration& r : registrations) {
    const std::string where = r.outcome.rv_url.empty() ? r.source : r.outcome.rv_url;
    if (r.outcome.ok()) {
      if (!config.json) {
        std::cout << "GUID " << r.guid << " registered at " << where << " for " << *r.outcome.wait_seconds << " s\n";
      }
    } else {
      failed = true;
      std::cerr << "fdo-owner to0: GUID " << (r.guid.empty() ? std::string("?") : r.guid) << " at " << where << ": "
                << describe_error(r.outcome) << "\n";
    }
  }
  if (config.json) {
    print_json(registrations);
  }
  return failed ? kFailure : 0;
}

}  // namespace

void register_to0(Commands& commands) {
  const auto config = std::make_shared<To0Config>();
  CLI::App& cmd = commands.add("to0", "Register vouchers with their rendezvous servers (TO0, FDO 1.1 §5.3)",
                               [config] { return run_to0(*config); });
  cmd.add_option("--dir", config->dir, "The owner directory (its key must own the vouchers)")->required();
  cmd.add_option("--voucher", config->vouchers, "Voucher file (PEM, one or many, or raw CBOR), repeatable")->required();
  cmd.add_option("--to2-url", config->to2_urls, "Where this owner waits for TO2: http(s)://HOST:PORT, repeatable")
      ->required();
  cmd.add_option("--wait-seconds", config->wait_seconds, "Registration lifetime to request, seconds")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{4294967295u}));
  cmd.add_flag("--json", config->json, "One JSON document on stdout: wait_seconds granted per rendezvous URL");
  cmd.footer("Example: fdo-owner to0 --dir owner --voucher device.voucher.pem --to2-url http://127.0.0.1:8042 --json");
}

}  // namespace fdo::owner_tool
