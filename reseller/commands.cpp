#include "reseller/commands.h"

#include <cstdint>
#include <iostream>
#include <optional>
#include <string_view>
#include <utility>

#include "libfdo/cbor/diag.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/json.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/summary.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"
#include "tools/common/cli.h"
#include "tools/common/key_files.h"

namespace fdo::reseller {
namespace {

std::string_view as_text(ByteView bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

std::string voucher_label(const voucher::VoucherInput& input, std::size_t count) {
  return count == 1 ? std::string("voucher") : "voucher " + std::to_string(input.index) + " of " + std::to_string(count);
}

/// The vouchers in `path`; a file without any (text, a key, a device credential, random bytes) is an Error
/// "PATH is not an ownership voucher: …".
std::vector<voucher::VoucherInput> read_voucher_file(const std::filesystem::path& path) {
  const Bytes data = read_file(path);
  try {
    return voucher::read_vouchers(data);
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + " is not an ownership voucher: " + e.what());
  }
}

/// Why a file's CBOR is not a voucher at all (what `show` cannot display), or nullopt. FDO 1.0 vouchers and ones
/// that fail strict decoding are still shown; a voucher needs at least its protocol version and GUID.
std::optional<std::string> not_a_voucher(ByteView cbor, const voucher::VoucherSummary& summary) {
  if (summary.protocol_version && summary.guid) {
    return std::nullopt;
  }
  try {
    static_cast<void>(DeviceCredential::decode(cbor));
    return std::string("it is a device credential (`fdo-device show --credential FILE` reads it)");
  } catch (const Error&) {
    // not a credential either: say what the voucher reader found
  }
  return summary.notes.empty() ? std::string("no OVProtVer and OVGuid") : summary.notes.front();
}

/// "check 'entry signature' failed for entry 1: …".
std::string describe_failure(const voucher::Check& check) {
  return "check '" + check.name + "' failed" + (check.entry ? " for entry " + std::to_string(*check.entry) : "") +
         ": " + check.detail;
}

}  // namespace

int run_keygen(const KeygenConfig& config) {
  const std::optional<crypto::KeyType> type = crypto::parse_key_type(config.key_type);
  if (!type) {
    throw_body_error("unknown key type '" + config.key_type + "' (p256, p384, rsa2048, rsa3072)");
  }
  if (!config.force && std::filesystem::exists(config.out)) {
    std::cerr << "fdo-reseller keygen: " << config.out.string() << " exists; pass --force to replace it\n";
    return 1;
  }
  const crypto::PrivateKey key = crypto::PrivateKey::generate(*type);
  tool::write_private_key(config.out, key);
  std::cout << "wrote " << crypto::key_type_name(*type) << " private key to " << config.out.string() << "\n";
  if (config.pub) {
    tool::write_public_file(*config.pub, key.public_key().to_pem());
    std::cout << "wrote its public key to " << config.pub->string() << "\n";
  }
  return 0;
}

int run_show(const ShowConfig& config) {
  const Leniency leniency = Leniency::from_names(config.lenient);
  const std::vector<voucher::VoucherInput> inputs = read_voucher_file(config.voucher);
  std::vector<voucher::VoucherSummary> summaries;
  for (const voucher::VoucherInput& input : inputs) {
    voucher::VoucherSummary summary = voucher::summarize(input.cbor, leniency);
    if (const std::optional<std::string> why = not_a_voucher(input.cbor, summary)) {
      throw_body_error(config.voucher.string() +
                       (inputs.size() > 1 ? " (" + voucher_label(input, inputs.size()) + ")" : std::string()) +
                       " is not an ownership voucher: " + *why);
    }
    summaries.push_back(std::move(summary));
  }
  if (config.json) {
    // One shape whatever the file holds: {"format":1,"vouchers":[…]}.
    JsonWriter json;
    json.begin_object().key("format").integer(tool::kJsonFormat).key("vouchers").begin_array();
    for (const voucher::VoucherSummary& summary : summaries) {
      summary.to_json(json);
    }
    json.end_array().end_object();
    std::cout << json.str() << "\n";
    return 0;
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const voucher::VoucherInput& input = inputs[i];
    if (inputs.size() > 1) {
      std::cout << (input.index > 1 ? "\n" : "") << voucher_label(input, inputs.size()) << ":\n";
    }
    if (config.raw) {
      std::cout << cbor::to_diag(input.cbor) << "\n";
    } else {
      std::cout << summaries[i].to_text();
    }
  }
  return 0;
}

int run_verify(const VerifyConfig& config) {
  voucher::VerifyOptions options;
  options.leniency = Leniency::from_names(config.lenient);
  if (config.hmac_secret_hex) {
    options.hmac_secret = SecretBytes(from_hex(*config.hmac_secret_hex));
  }
  options.allow_zero_entries = config.allow_zero_entries;
  options.check_dev_cert_chain_signatures = config.check_dev_cert_chain;
  const std::vector<voucher::VoucherInput> inputs = read_voucher_file(config.voucher);

  bool all_valid = true;
  std::vector<std::pair<std::size_t, voucher::VerifyReport>> reports;
  for (const voucher::VoucherInput& input : inputs) {
    voucher::VerifyReport report = voucher::verify(input.cbor, options);
    const std::string label = voucher_label(input, inputs.size());
    if (!config.json) {
      if (inputs.size() > 1) {
        std::cout << (input.index > 1 ? "\n" : "") << label << ":\n";
      }
      std::cout << report.to_text();
    }
    if (const voucher::Check* failure = report.first_failure()) {
      all_valid = false;
      std::cerr << "fdo-reseller verify: " << label << " is invalid: " << describe_failure(*failure) << "\n";
    }
    reports.emplace_back(input.index, std::move(report));
  }
  if (config.json) {
    // One shape whatever the file holds: every check names its voucher (1-based), "valid" is all of them.
    JsonWriter json;
    json.begin_object().key("format").integer(tool::kJsonFormat).key("valid").boolean(all_valid);
    json.key("voucher_count").uinteger(inputs.size()).key("checks").begin_array();
    for (const auto& [index, report] : reports) {
      for (const voucher::Check& c : report.checks) {
        json.begin_object().key("voucher").uinteger(index).key("name").string(c.name).key("entry");
        if (c.entry) {
          json.uinteger(*c.entry);
        } else {
          json.null();
        }
        json.key("ok").boolean(c.ok).key("detail").string(c.detail).end_object();
      }
    }
    json.end_array().end_object();
    std::cout << json.str() << "\n";
  }
  return all_valid ? 0 : 1;
}

int run_extend(const ExtendConfig& config) {
  const Leniency leniency = Leniency::from_names(config.lenient);
  const std::vector<voucher::VoucherInput> inputs = read_voucher_file(config.voucher);
  if (inputs.size() != 1) {
    std::cerr << "fdo-reseller extend: " << config.voucher.string() << " holds " << inputs.size()
              << " vouchers; extend takes a file with one\n";
    return 1;
  }
  const Bytes& cbor = inputs.front().cbor;

  // Extending starts with full verification (FDO 1.1 §3.4.2); a fresh voucher (no entries yet) may be extended.
  voucher::VerifyOptions verify_options;
  verify_options.leniency = leniency;
  verify_options.allow_zero_entries = true;
  const voucher::VerifyReport report = voucher::verify(cbor, verify_options);
  if (const voucher::Check* failure = report.first_failure()) {
    std::cerr << "fdo-reseller extend: refusing to extend an invalid voucher: " << describe_failure(*failure)
              << "\n";
    return 1;
  }
  const voucher::OwnershipVoucher ov = voucher::OwnershipVoucher::decode(cbor, leniency);

  const crypto::PrivateKey owner = tool::read_private_key(config.owner_key);
  const Bytes next_text = read_file(config.next_owner);
  std::vector<crypto::Certificate> next_chain;
  std::optional<crypto::PublicKey> next_key;
  try {
    next_chain = crypto::Certificate::from_pem_all(as_text(next_text));
    next_key = next_chain.empty() ? crypto::PublicKey::from_pem(as_text(next_text)) : next_chain.front().public_key();
  } catch (const Error& e) {
    throw Error(e.code(), "--next-owner " + config.next_owner.string() + ": " + e.what());
  }
  const PublicKey next = voucher::next_owner_key(ov, *next_key, next_chain, config.allow_x5chain);

  voucher::ExtendOptions options;
  options.allow_x5chain = config.allow_x5chain;
  options.leniency = leniency;
  const voucher::OwnershipVoucher extended = voucher::extend(ov, owner, next, options);
  const Bytes out = extended.encode();
  const Bytes data = config.der ? out : to_bytes(voucher::to_pem(out));
  if (config.out) {
    tool::write_public_file(*config.out, data);
  } else {
    std::cout.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
  }
  log::info("extended voucher to " + next.describe() + "; it now has " + std::to_string(extended.entries().size()) +
                " entries",
            ov.header().ov_guid.hex());
  return 0;
}

}  // namespace fdo::reseller
