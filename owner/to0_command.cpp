// `fdo-owner to0`: register vouchers with the rendezvous servers of their RendezvousInfo by hand (FDO 1.1 §5.3;
// docs/cli.md). The protocol is libfdo/protocol/to0_owner; this file reads files and prints results.

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
#include "tools/common/cli.h"

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

// One line for a failed registration: the server's code only when the server sent one (ErrorSource::Peer).
std::string describe_error(const protocol::RvRegistrationOutcome& o) {
  switch (o.error_source) {
    case ErrorSource::Peer: {
      const ErrorCode code = o.error_code.value_or(ErrorCode::InternalServerError);
      return "the rendezvous server refused: " + std::string(error_code_name(code)) + " (" +
             std::to_string(static_cast<int>(code)) + "): " + o.error;
    }
    case ErrorSource::Transport:
      return o.error;
    case ErrorSource::Local:
      break;
  }
  return "refused here: " + o.error;
}

std::vector<Registration> register_voucher(const voucher::VoucherInput& input, const std::string& source,
                                           const OwnerKeyRing& keys, const RVTO2Addr& to2_addr,
                                           std::uint32_t wait_seconds) {
  std::vector<Registration> out;
  std::string guid;
  try {
    const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(input.cbor);
    guid = ov.header().ov_guid.hex();
    // The key the voucher's last entry names; with none of ours, register_with_all names the mismatch.
    const crypto::PrivateKey* found = keys.find(ov.owner_key().key());
    const crypto::PrivateKey& key = found != nullptr ? *found : *keys.first();
    for (protocol::RvRegistrationOutcome& o :
         protocol::register_with_all(input.cbor, key, to2_addr, wait_seconds, {})) {
      out.push_back(Registration{guid, source, std::move(o)});
    }
  } catch (const Error& e) {
    out.push_back(Registration{guid, source,
                               protocol::RvRegistrationOutcome{.rv_url = {},
                                                               .wait_seconds = std::nullopt,
                                                               .error_code = e.code(),
                                                               .error = e.what(),
                                                               .error_source = e.source()}});
  }
  return out;
}

// {"format":1,"registrations":[{"guid","voucher","rendezvous","wait_seconds","error","error_code","detail"}],
//  "wait_seconds":{URL:N}}: success and failure entries carry the same keys (null where they do not apply).
void print_json(const std::vector<Registration>& registrations) {
  JsonWriter j(true);
  j.begin_object().key("format").integer(tool::kJsonFormat).key("registrations").begin_array();
  std::map<std::string, std::uint32_t> granted;  // per rendezvous URL: the least granted over the vouchers
  const auto string_or_null = [&j](const std::string& s) {
    if (s.empty()) {
      j.null();
    } else {
      j.string(s);
    }
  };
  for (const Registration& r : registrations) {
    j.begin_object().key("guid");
    string_or_null(r.guid);
    j.key("voucher").string(r.source).key("rendezvous");
    string_or_null(r.outcome.rv_url);
    j.key("wait_seconds");
    if (r.outcome.ok()) {
      j.uinteger(*r.outcome.wait_seconds);
      const auto [it, inserted] = granted.emplace(r.outcome.rv_url, *r.outcome.wait_seconds);
      it->second = std::min(it->second, *r.outcome.wait_seconds);
      j.key("error").null().key("error_code").null().key("detail").null();
    } else {
      j.null().key("error").string(tool::error_kind(r.outcome.error_source)).key("error_code");
      if (r.outcome.error_source == ErrorSource::Peer && r.outcome.error_code) {
        j.uinteger(static_cast<std::uint16_t>(*r.outcome.error_code));
      } else {
        j.null();
      }
      j.key("detail").string(r.outcome.error);
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
  const std::vector<crypto::PrivateKey> owner_keys = load_owner_keys(OwnerDir{config.dir});
  const OwnerKeyRing key(owner_keys);
  const RVTO2Addr to2_addr = RVTO2Addr::from_urls(config.to2_urls);
  std::vector<Registration> registrations;
  for (const std::filesystem::path& file : config.vouchers) {
    const Bytes data = read_file(file);  // a missing or unreadable file: the message names it
    std::vector<voucher::VoucherInput> inputs;
    try {
      inputs = voucher::read_vouchers(data);
    } catch (const Error& e) {
      throw Error(e.code(), file.string() + " is not an ownership voucher: " + e.what());
    }
    for (const voucher::VoucherInput& input : inputs) {
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
      // "GUID g at RV-URL: …" for a rendezvous server's answer, "GUID g in FILE: …" for a refusal before any.
      const std::string guid =
          r.guid.empty() ? std::string() : "GUID " + r.guid + (r.outcome.rv_url.empty() ? " in " : " at ");
      std::cerr << "fdo-owner to0: " << guid << where << ": " << describe_error(r.outcome) << "\n";
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
