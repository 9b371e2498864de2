#pragma once
// Password-Manager (docs/service-info.md "Password-Manager"): the whitepaper's Table 1. The owner selects an account
// with `user`, sets its password with `pass` (plaintext through the TO2 tunnel) or `pass-hash` (a ready `$6$` crypt
// string) and locks it with `login-disable`; the device edits the shadow-format file DeviceContext::shadow_file
// (SHA-512 crypt, atomic rewrite keeping owner and mode) and answers each operation with
// `status = [user, op, code, ? text]`. Plaintext is wiped after hashing and never logged.
//
// Plan parameters: user = "operator"; password = "…" or password_file = "path" or pass_hash = "$6$…";
// disable = ["root", …]; timeout = seconds the owner waits for every status (600).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kPasswordManager = "Password-Manager";

/// Status codes of Password-Manager:status (docs/service-info.md "Password-Manager").
enum class PasswordStatus : std::int8_t {
  Ok = 0,
  BadRequest = 1,  ///< wrong type, no `user` selected, unknown message
  NoSuchUser = 2,  ///< the account is not in the shadow file (none is created)
  Policy = 3,      ///< empty password, pass-hash not `$6$`, a `:` or newline in a value
  Storage = 4,     ///< the shadow file could not be read or rewritten
};

/// SHA-512 crypt (`$6$`, 16-character CSPRNG salt, 5000 rounds) of `password` through crypt_r(3).
/// Error(InternalServerError) if libcrypt fails.
std::string sha512_crypt(ByteView password);

class PasswordManagerDevice final : public serviceinfo::DeviceModule {
 public:
  explicit PasswordManagerDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kPasswordManager; }
  void on_active(bool active) override;
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;

 private:
  void status(serviceinfo::Outbox& out, std::string_view op, PasswordStatus code, const std::string& text);
  const DeviceContext& m_context;
  std::optional<std::string> m_user;
};

class PasswordManagerOwner final : public serviceinfo::OwnerModule {
 public:
  /// Reads the plan parameters (password_file now); Error(MessageBodyError) for bad ones.
  PasswordManagerOwner(ByteView params, const OwnerContext& context);
  [[nodiscard]] std::string_view name() const override { return kPasswordManager; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  /// "user operator set, root locked"; failures name the account, the operation and the device's code.
  [[nodiscard]] std::string summary() const override;

  /// One device status.
  struct Result {
    std::string user;
    std::string op;
    std::int64_t code = 0;
    std::string text;
  };
  [[nodiscard]] const std::vector<Result>& results() const { return m_results; }

 private:
  [[nodiscard]] std::size_t expected() const;
  std::string m_user;
  SecretBytes m_password;  // plaintext, never saved or printed
  std::string m_pass_hash;
  std::vector<std::string> m_disable;
  bool m_sent = false;
  transfer::OwnerDeadline m_deadline;  // for the statuses, from the 69 that carries the requests
  std::vector<Result> m_results;
};

}  // namespace fdo::fsim
