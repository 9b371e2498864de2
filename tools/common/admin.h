#pragma once
// What the servers' admin listeners share (docs/security.md "Listeners and admin endpoints"): the bearer token
// file DIR/admin-token (made 0600 at `init`), the constant-time token check, list paging, and the responder of a
// listener that serves no FDO protocol.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/fixed_bytes.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/responder.h"
#include "tools/common/key_files.h"

namespace fdo::tool {

/// The token file inside a tool's directory.
inline constexpr std::string_view kAdminTokenName = "admin-token";

/// DIR/admin-token.
[[nodiscard]] std::filesystem::path admin_token_path(const std::filesystem::path& dir);

/// Creates `path` with a new token (32 random bytes as 64 hex digits and a newline, 0600, atomically) when it is
/// absent; an existing token is never replaced. Records the step in `steps`.
void admin_token_at(const std::filesystem::path& path, std::vector<InitStep>& steps);

/// The token of DIR/admin-token, or of the systemd credential "admin-token" ($CREDENTIALS_DIRECTORY/admin-token) when
/// the service manager passed one, surrounding whitespace removed. Error(InternalServerError) naming the file when it
/// is missing ("run `TOOL init --dir DIR`"), unreadable or empty.
std::string load_admin_token(const std::filesystem::path& dir, std::string_view tool);

/// Whether `headers` carry "Authorization: Bearer <token>" (scheme case-insensitive, RFC 9110 §11.1), compared in
/// constant time; false for an empty expected token.
bool admin_authorized(const transport::HeaderList& headers, const std::string& token);

/// 401 with an empty body: an unauthorized request learns nothing else.
[[nodiscard]] transport::AdminResponse admin_unauthorized();

inline constexpr std::size_t kDefaultPageLimit = 100;
inline constexpr std::size_t kMaxPageLimit = 1000;

/// One page of a list: `?offset=N&limit=M` (docs/manufacturer.md "Admin API").
struct Page {
  std::size_t offset = 0;
  std::size_t limit = kDefaultPageLimit;
};

/// The page a raw query asks for (other parameters are ignored). Error(MessageBodyError) for an offset or limit
/// that is not a decimal number, a limit of 0 or above kMaxPageLimit.
Page parse_page(std::string_view query);

/// An admin answer with a JSON body (a newline is added).
[[nodiscard]] transport::AdminResponse json_answer(int status, std::string body);

/// docs/api/README.md "Errors": `{"error": "<message>"}` as application/json with `status`.
[[nodiscard]] transport::AdminResponse json_error(int status, std::string_view message);

/// Whether an Accept header field names application/json (media parameters ignored): the admin routes that serve a
/// file (a voucher as PEM) answer with its JSON description instead.
[[nodiscard]] bool accepts_json(const transport::HeaderList& headers);

/// The value of parameter `name` of a raw query ("a=1&b=x%20y"), %XX and '+' decoded; nullopt when absent, "" for
/// "name" or "name=". Error(MessageBodyError) for a malformed %-escape.
[[nodiscard]] std::optional<std::string> query_value(std::string_view query, std::string_view name);

/// `handler` behind the bearer token (admin_unauthorized() without it); an Error(MessageBodyError) it throws (a
/// malformed GUID, cursor or number) becomes json_error(400, …).
[[nodiscard]] transport::AdminHandler guarded(std::string token, transport::AdminHandler handler);

/// The path parameter "guid" of a template route as a Guid (32 hex digits or the UUID form); Error(MessageBodyError)
/// otherwise.
[[nodiscard]] Guid guid_param(const transport::AdminRequest& request);

/// The responder of an admin listener: every FDO message gets an ErrorMessage (MessageBodyError) saying `reason`.
class NoProtocol final : public transport::Responder {
 public:
  explicit NoProtocol(std::string reason) : m_reason(std::move(reason)) {}
  transport::Response handle(const transport::Request& request) override;
  transport::Response reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                             std::string_view reason) override;

 private:
  std::string m_reason;
};

}  // namespace fdo::tool
