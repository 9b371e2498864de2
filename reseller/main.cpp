// fdo-reseller: key generation, display, verification and extension of FDO ownership vouchers (docs/cli.md,
// docs/reseller.md). Options are parsed here; the work is in reseller/commands.cpp and libfdo/voucher.

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/quirks.h"
#include "reseller/commands.h"
#include "tools/common/cli.h"

namespace {

std::string quirk_names() {
  std::string out;
  for (const fdo::QuirkInfo& q : fdo::all_quirks()) {
    out += (out.empty() ? "" : ", ") + std::string(q.name);
  }
  return out;
}

/// CLI11 validator for `--lenient NAME`.
std::string check_quirk(const std::string& name) {
  return fdo::parse_quirk(name) ? std::string() : "unknown quirk '" + name + "' (known: " + quirk_names() + ")";
}

/// CLI11 validator for `--hmac-secret HEX`.
std::string check_hex(const std::string& hex) {
  try {
    if (fdo::from_hex(hex).empty()) {
      return "the HMAC secret is empty";
    }
  } catch (const fdo::Error&) {
    return "expected an even number of hex digits";
  }
  return {};
}

void add_lenient(CLI::App& cmd, std::vector<std::string>& into) {
  cmd.add_option("--lenient", into,
                 "Accept a named deviation of another implementation (repeatable; logged as a warning): " +
                     quirk_names())
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(check_quirk);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fdo-reseller: make keys, show, verify and extend FDO ownership vouchers"};
  fdo::tool::setup_app(app, "fdo-reseller");
  app.require_subcommand(1);
  app.fallthrough();  // --log-level is accepted after the subcommand too
  app.footer("Example: fdo-reseller verify device.voucher.pem --json");
  std::string log_level = "info";
  fdo::tool::add_log_level(app, log_level);

  fdo::reseller::KeygenConfig keygen;
  CLI::App* keygen_cmd = app.add_subcommand("keygen", "Generate an owner/reseller key pair (private key file mode 0600)");
  keygen_cmd->add_option("--key-type", keygen.key_type, "p256|p384|rsa2048|rsa3072")
      ->required()
      ->check(CLI::IsMember({"p256", "p384", "rsa2048", "rsa3072"}));
  keygen_cmd->add_option("-o,--out", keygen.out, "Private key file (PKCS#8 PEM)")->required();
  keygen_cmd->add_option("--pub", keygen.pub, "Also write the public key (PEM) here");
  keygen_cmd->add_flag("--force", keygen.force, "Replace an existing key file");
  keygen_cmd->footer("Example: fdo-reseller keygen --key-type p256 -o reseller.key.pem --pub reseller.pub.pem");

  fdo::reseller::ShowConfig show;
  CLI::App* show_cmd = app.add_subcommand("show", "Show what each voucher in a file holds (PEM or raw CBOR)");
  show_cmd->add_option("VOUCHER", show.voucher, "Voucher file")->required();
  CLI::Option* show_json = show_cmd->add_flag("--json", show.json, "One JSON document on stdout");
  show_cmd->add_flag("--raw", show.raw, "CBOR diagnostic notation of the whole voucher")->excludes(show_json);
  add_lenient(*show_cmd, show.lenient);
  show_cmd->footer("Example: fdo-reseller show device.voucher.pem\n         fdo-reseller show device.voucher.pem --raw");

  fdo::reseller::VerifyConfig verify;
  CLI::App* verify_cmd =
      app.add_subcommand("verify", "Verify each voucher in a file, check by check (exit 1 naming the failed check)");
  verify_cmd->add_option("VOUCHER", verify.voucher, "Voucher file")->required();
  verify_cmd->add_option("--hmac-secret", verify.hmac_secret_hex,
                         "The device's HMAC secret (hex), to check the header HMAC")
      ->check(check_hex);
  add_lenient(*verify_cmd, verify.lenient);
  verify_cmd->add_flag("--json", verify.json,
                       "One JSON document: {\"format\":1,\"valid\":bool,\"voucher_count\":N,"
                       "\"checks\":[{\"voucher\",\"name\",\"entry\",\"ok\",\"detail\"}]}");
  verify_cmd->add_flag("--allow-zero-entries", verify.allow_zero_entries,
                       "Accept a voucher that has not been extended yet");
  verify_cmd->add_flag("--check-device-chain", verify.check_dev_cert_chain,
                       "Also check that each device certificate is signed by the next");
  verify_cmd->footer(
      "Example: fdo-reseller verify device.voucher.pem\n"
      "         fdo-reseller verify old-fdo-rs.voucher.pem --lenient legacy-cert-chain-hash --json");

  fdo::reseller::ExtendConfig extend;
  CLI::App* extend_cmd = app.add_subcommand("extend", "Sign a voucher over to the next owner (adds one entry)");
  extend_cmd->add_option("VOUCHER", extend.voucher, "Voucher file (one voucher)")->required();
  extend_cmd->add_option("--owner-key", extend.owner_key, "Private key of the current owner (PEM)")->required();
  extend_cmd->add_option("--next-owner", extend.next_owner, "Next owner's public key or certificate (PEM)")->required();
  extend_cmd->add_option("-o,--out", extend.out, "Output file (default: stdout)");
  extend_cmd->add_flag("--der,--cbor", extend.der, "Write raw CBOR instead of PEM");
  extend_cmd->add_flag("--allow-x5chain", extend.allow_x5chain,
                       "Encode a certificate-chain next owner as X5CHAIN (the C client SDK cannot parse it)");
  add_lenient(*extend_cmd, extend.lenient);
  extend_cmd->footer(
      "Example: fdo-reseller extend device.voucher.pem --owner-key reseller.key.pem \\\n"
      "           --next-owner customer.pub.pem -o device.customer.voucher.pem");

  if (const std::optional<int> status = fdo::tool::parse(app, argc, argv)) {
    return *status;
  }

  const std::string command = "fdo-reseller " + app.get_subcommands().front()->get_name();
  return fdo::tool::run_reporting_errors(command, [&] {
    fdo::log::configure(fdo::log::parse_level(log_level), "reseller");
    if (*keygen_cmd) {
      return fdo::reseller::run_keygen(keygen);
    }
    if (*show_cmd) {
      return fdo::reseller::run_show(show);
    }
    if (*verify_cmd) {
      return fdo::reseller::run_verify(verify);
    }
    return fdo::reseller::run_extend(extend);
  });
}
