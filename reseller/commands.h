#pragma once
// The commands of fdo-reseller (docs/cli.md), one typed configuration each, filled by main.cpp from the command line.
// Each returns the process exit status: 0 success, 1 the operation failed (the message says which check or step).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fdo::reseller {

/// `keygen`: a new owner/reseller key pair.
struct KeygenConfig {
  std::string key_type;  ///< p256 | p384 | rsa2048 | rsa3072
  std::filesystem::path out;
  std::optional<std::filesystem::path> pub;
  bool force = false;
};

/// `show`: what a voucher file holds.
struct ShowConfig {
  std::filesystem::path voucher;
  bool json = false;
  bool raw = false;
  std::vector<std::string> lenient;
};

/// `verify`: the full verification report of each voucher in a file (FDO 1.1 §3.4.2).
struct VerifyConfig {
  std::filesystem::path voucher;
  std::optional<std::string> hmac_secret_hex;
  std::vector<std::string> lenient;
  bool json = false;
  bool allow_zero_entries = false;
  bool check_dev_cert_chain = false;
};

/// `extend`: sign the voucher over to the next owner (FDO 1.1 §3.4.2).
struct ExtendConfig {
  std::filesystem::path voucher;
  std::filesystem::path owner_key;
  std::filesystem::path next_owner;
  std::optional<std::filesystem::path> out;
  bool der = false;
  bool allow_x5chain = false;
  std::vector<std::string> lenient;
};

int run_keygen(const KeygenConfig& config);
int run_show(const ShowConfig& config);
int run_verify(const VerifyConfig& config);
int run_extend(const ExtendConfig& config);

}  // namespace fdo::reseller
