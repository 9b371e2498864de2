#include "tools/common/admin.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/types/json.h"
#include "tools/common/systemd.h"

namespace fdo::tool {
namespace {

constexpr std::size_t kAdminTokenBytes = 32;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::size_t page_number(std::string_view name, std::string_view value) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    throw_body_error(std::string(name) + ": not a decimal number: " + std::string(value));
  }
  return n;
}

}  // namespace

std::filesystem::path admin_token_path(const std::filesystem::path& dir) { return dir / kAdminTokenName; }

void admin_token_at(const std::filesystem::path& path, std::vector<InitStep>& steps) {
  if (std::filesystem::exists(path)) {
    steps.push_back({path, false});
    return;
  }
  write_file_atomic(path, to_bytes(to_hex(random_bytes(kAdminTokenBytes)) + "\n"), 0600);
  steps.push_back({path, true});
}

std::string load_admin_token(const std::filesystem::path& dir, std::string_view tool) {
  // A systemd credential of that name (LoadCredential=admin-token:FILE, docs/deploy.md "Secrets") wins over the file.
  const std::optional<std::filesystem::path> credential = credential_file(kAdminTokenName);
  if (credential) {
    log::info("admin token from the systemd credential " + std::string(kAdminTokenName));
  }
  const std::filesystem::path path = credential ? *credential : admin_token_path(dir);
  if (!std::filesystem::exists(path)) {
    throw_internal(dir.string() + " holds no admin token: run `" + std::string(tool) + " init --dir " + dir.string() +
                   "`");
  }
  const std::string text = to_string(read_file(path));
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw_internal(path.string() + " is empty");
  }
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool admin_authorized(const transport::HeaderList& headers, const std::string& token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (token.empty()) {
    return false;
  }
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Authorization")) {
      continue;
    }
    const std::string_view v = value;
    if (v.size() <= kScheme.size() || !iequals(v.substr(0, kScheme.size()), kScheme)) {
      return false;
    }
    const std::string_view given = v.substr(kScheme.size());
    return constant_time_equal(ByteView(reinterpret_cast<const std::uint8_t*>(given.data()), given.size()),
                               ByteView(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
  }
  return false;
}

transport::AdminResponse admin_unauthorized() { return transport::AdminResponse{401, "text/plain", ""}; }

Page parse_page(std::string_view query) {
  Page page;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (name == "offset") {
      page.offset = page_number(name, value);
    } else if (name == "limit") {
      page.limit = page_number(name, value);
      if (page.limit == 0 || page.limit > kMaxPageLimit) {
        throw_body_error("limit: from 1 to " + std::to_string(kMaxPageLimit));
      }
    }
  }
  return page;
}

transport::AdminResponse json_answer(int status, std::string body) {
  return transport::AdminResponse{.status = status, .content_type = "application/json", .body = std::move(body) + "\n"};
}

transport::AdminResponse json_error(int status, std::string_view message) {
  JsonWriter j;
  j.begin_object().key("error").string(message).end_object();
  return json_answer(status, j.str());
}

bool accepts_json(const transport::HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Accept")) {
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view range = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      range = range.substr(0, range.find(';'));
      const std::size_t first = range.find_first_not_of(" \t");
      const std::size_t last = range.find_last_not_of(" \t");
      if (first != std::string_view::npos && iequals(range.substr(first, last - first + 1), "application/json")) {
        return true;
      }
    }
  }
  return false;
}

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) {
      continue;
    }
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out += ' ';
      } else if (raw[i] != '%') {
        out += raw[i];
      } else {
        const std::string_view hex = raw.substr(i + 1, 2);
        if (hex.size() != 2 || !std::isxdigit(static_cast<unsigned char>(hex[0])) ||
            !std::isxdigit(static_cast<unsigned char>(hex[1]))) {
          throw_body_error(std::string(name) + ": malformed %-escape");
        }
        out += static_cast<char>(from_hex(hex).at(0));
        i += 2;
      }
    }
    return out;
  }
  return std::nullopt;
}

transport::AdminHandler guarded(std::string token, transport::AdminHandler handler) {
  return [token = std::move(token), handler = std::move(handler)](const transport::AdminRequest& request) {
    if (!admin_authorized(request.headers, token)) {
      return admin_unauthorized();
    }
    try {
      return handler(request);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::MessageBodyError) {
        throw;
      }
      return json_error(400, e.what());
    }
  };
}

Guid guid_param(const transport::AdminRequest& request) {
  const auto it = request.path_params.find("guid");
  if (it == request.path_params.end()) {
    throw_internal("admin route without a {guid} segment");
  }
  return parse_guid(it->second);
}

transport::Response NoProtocol::handle(const transport::Request& request) {
  return reject(request.msg_type, std::nullopt, ErrorCode::MessageBodyError, m_reason);
}

transport::Response NoProtocol::reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                                       std::string_view reason) {
  static_cast<void>(token);
  const ErrorMessage em = ErrorMessage::from_error(Error(code, std::string(reason)), msg_type, 0);
  return transport::Response{255, em.encode(), std::nullopt, 500};
}

}  // namespace fdo::tool
