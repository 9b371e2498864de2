#include "reseller/commands.h"

#include <iostream>
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
#include "libfdo/types/json.h"
#include "libfdo/voucher/extend.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/summary.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"
#include "tools/common/key_files.h"

namespace fdo::reseller {
namespace {

std::string_view as_text(ByteView bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

std::string voucher_label(const voucher::VoucherInput& input, std::size_t count) {
  return count == 1 ? std::string("voucher") : "voucher " + std::to_string(input.index) + " of " + std::to_string(count);
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
  const std::vector<voucher::VoucherInput> inputs = voucher::read_vouchers(read_file(config.voucher));
  if (config.json) {
    JsonWriter json;
    if (inputs.size() > 1) {
      json.begin_array();
    }
    for (const voucher::VoucherInput& input : inputs) {
      voucher::summarize(input.cbor, leniency).to_json(json);
    }
    if (inputs.size() > 1) {
      json.end_array();
    }
    std::cout << json.str() << "\n";
    return 0;
  }
  for (const voucher::VoucherInput& input : inputs) {
    if (inputs.size() > 1) {
      std::cout << (input.index > 1 ? "\n" : "") << voucher_label(input, inputs.size()) << ":\n";
    }
    if (config.raw) {
      std::cout << cbor::to_diag(input.cbor) << "\n";
    } else {
      std::cout << voucher::summarize(input.cbor, leniency).to_text();
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
  const std::vector<voucher::VoucherInput> inputs = voucher::read_vouchers(read_file(config.voucher));

  bool all_valid = true;
  JsonWriter json;
  if (config.json && inputs.size() > 1) {
    json.begin_array();
  }
  for (const voucher::VoucherInput& input : inputs) {
    const voucher::VerifyReport report = voucher::verify(input.cbor, options);
    const std::string label = voucher_label(input, inputs.size());
    if (config.json) {
      report.to_json(json);
    } else {
      if (inputs.size() > 1) {
        std::cout << (input.index > 1 ? "\n" : "") << label << ":\n";
      }
      std::cout << report.to_text();
    }
    if (const voucher::Check* failure = report.first_failure()) {
      all_valid = false;
      std::cerr << "fdo-reseller verify: " << label << " is invalid: " << describe_failure(*failure) << "\n";
    }
  }
  if (config.json) {
    if (inputs.size() > 1) {
      json.end_array();
    }
    std::cout << json.str() << "\n";
  }
  return all_valid ? 0 : 1;
}

int run_extend(const ExtendConfig& config) {
  const Leniency leniency = Leniency::from_names(config.lenient);
  const std::vector<voucher::VoucherInput> inputs = voucher::read_vouchers(read_file(config.voucher));
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

  const SecretBytes owner_pem(read_file(config.owner_key));
  const crypto::PrivateKey owner = crypto::PrivateKey::from_pem(as_text(owner_pem.view()));
  const Bytes next_text = read_file(config.next_owner);
  const std::vector<crypto::Certificate> next_chain = crypto::Certificate::from_pem_all(as_text(next_text));
  const crypto::PublicKey next_key =
      next_chain.empty() ? crypto::PublicKey::from_pem(as_text(next_text)) : next_chain.front().public_key();
  const PublicKey next = voucher::next_owner_key(ov, next_key, next_chain, config.allow_x5chain);

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
