#include "libfdo/transport/binding.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>

#include "libfdo/core/log.h"

namespace fdo::transport {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string type_label(std::uint8_t msg_type) { return "type " + std::to_string(msg_type); }

// reject() must answer; if it throws anyway, send a bare 500 255 rather than nothing.
Response call_reject(Responder& responder, const InboundMessage& in,
                     const std::optional<std::string>& token, ErrorCode code,
                     std::string_view reason, int http_status) {
  Response out;
  try {
    out = responder.reject(in.msg_type, token, code, reason);
  } catch (const std::exception& e) {
    log::error("transport: reject() failed for " + type_label(in.msg_type) + ": " + e.what());
    out = Response{.msg_type = kErrorMessageType, .body = {}, .token = {}, .http_status = 500};
  }
  out.http_status = http_status;
  out.token.reset();
  return out;
}

}  // namespace

std::vector<std::string_view> header_values(const HeaderList& headers, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      out.emplace_back(value);
    }
  }
  return out;
}

std::optional<std::uint8_t> parse_message_type(std::string_view decimal) {
  if (decimal.empty() || decimal.size() > 3 || (decimal.size() > 1 && decimal[0] == '0')) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (const char c : decimal) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 255) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(value);
}

std::string message_path(std::uint8_t msg_type) {
  return std::string(kMessagePathPrefix) + std::to_string(msg_type);
}

std::optional<std::uint8_t> parse_message_path(std::string_view target) {
  if (target.substr(0, kMessagePathPrefix.size()) != kMessagePathPrefix) {
    return std::nullopt;
  }
  return parse_message_type(target.substr(kMessagePathPrefix.size()));
}

bool is_cbor_content_type(const std::vector<std::string_view>& values) {
  return values.size() == 1 && iequals(values.front(), kCborContentType);
}

namespace {

// RFC 9110 §5.6.2: tchar.
bool is_tchar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT; nullopt when it is not, or does not fit 64 bits.
std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  if (value.empty()) {
    return std::nullopt;
  }
  std::uint64_t out = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (out > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    out = out * 10 + digit;
  }
  return out;
}

}  // namespace

std::string header_field_problem(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return is_tchar(static_cast<unsigned char>(c));
        })) {
      return "a header name is not a token";
    }
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) {
        return "header " + name + " holds a control character";
      }
    }
  }
  return {};
}

BodyFraming read_body_framing(const HeaderList& headers) {
  BodyFraming out;
  out.chunked = !header_values(headers, "Transfer-Encoding").empty();
  const std::vector<std::string_view> lengths = header_values(headers, "Content-Length");
  for (const std::string_view value : lengths) {
    const std::optional<std::uint64_t> length = parse_content_length(value);
    if (!length) {
      out.problem = "Content-Length is not a decimal number of at most 64 bits";
      out.content_length.reset();
      return out;
    }
    if (out.content_length && *out.content_length != *length) {
      out.problem = "Content-Length values differ";
      out.content_length.reset();
      return out;
    }
    out.content_length = length;
  }
  if (out.chunked && out.content_length) {
    out.problem = "both Content-Length and Transfer-Encoding";
    out.content_length.reset();
  }
  return out;
}

bool has_content_coding(const HeaderList& headers) {
  const std::vector<std::string_view> encodings = header_values(headers, "Content-Encoding");
  return std::any_of(encodings.begin(), encodings.end(),
                     [](std::string_view encoding) { return !iequals(encoding, "identity"); });
}

bool is_token68(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size()) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (!std::isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~' && c != '+' && c != '/') {
      break;
    }
    ++i;
  }
  if (i == 0) {
    return false;
  }
  while (i < token.size() && token[i] == '=') {
    ++i;
  }
  return i == token.size();
}

Authorization parse_authorization(const std::vector<std::string_view>& values, const Leniency& leniency) {
  Authorization out;
  if (values.empty()) {
    return out;
  }
  out.present = true;
  constexpr std::string_view kScheme = "Bearer ";
  const std::string_view value = values.front();
  if (values.size() != 1 || value.size() <= kScheme.size() ||
      !iequals(value.substr(0, kScheme.size()), kScheme) ||
      !is_token68(value.substr(kScheme.size()))) {
    out.malformed = true;
    return out;
  }
  // FDO 1.1 §4.3: exactly "Bearer"; another case is a named deviation, accepted only when configured.
  if (value.substr(0, kScheme.size()) != kScheme &&
      !leniency.accept(Quirk::BearerSchemeCase, "Authorization header")) {
    out.malformed = true;
    return out;
  }
  out.token = std::string(value.substr(kScheme.size()));
  return out;
}

std::string bearer_value(std::string_view token) { return "Bearer " + std::string(token); }

Response serve_message(Responder& responder, const InboundMessage& in, std::size_t max_body,
                       const Leniency& leniency) {
  const Authorization auth = parse_authorization(header_values(in.headers, "Authorization"), leniency);
  const auto reject = [&](ErrorCode code, std::string_view reason, int http_status) {
    log::debug("transport: rejecting " + type_label(in.msg_type) + " from " + in.peer + ": " +
               std::string(reason));
    return call_reject(responder, in, auth.token, code, reason, http_status);
  };

  // go-fdo: "content length must be specified"; chunked uploads are refused
  // (docs/interop.md "http-content-length").
  if (!in.length_known) {
    return reject(ErrorCode::MessageBodyError, "Content-Length required", 411);
  }
  // docs/interop.md "http-limits": a larger body gets a 500 ErrorMessage (code 100), and the session is
  // dropped.
  if (in.body_too_large || in.body.size() > max_body) {
    return reject(ErrorCode::MessageBodyError,
                  "body exceeds " + std::to_string(max_body) + " bytes", 500);
  }
  if (!is_cbor_content_type(header_values(in.headers, "Content-Type"))) {
    return reject(ErrorCode::MessageBodyError, "Content-Type must be application/cbor", 415);
  }
  if (has_content_coding(in.headers)) {
    return reject(ErrorCode::MessageBodyError, "Content-Encoding is not supported", 415);
  }

  const Request request{.msg_type = in.msg_type,
                        .token = auth.token,
                        .authorization_present = auth.present,
                        .authorization_malformed = auth.malformed,
                        .body = in.body,
                        .peer = in.peer};
  Response response;
  try {
    response = responder.handle(request);
  } catch (const std::exception& e) {
    log::error("transport: responder failed on " + type_label(in.msg_type) + ": " + e.what());
    return reject(ErrorCode::InternalServerError, "internal error", 500);
  }
  if (response.body.size() > max_body) {
    log::error("transport: answer to " + type_label(in.msg_type) + " has " +
               std::to_string(response.body.size()) + " bytes, over the limit");
    return reject(ErrorCode::InternalServerError, "internal error", 500);
  }
  if (response.token && !is_token68(*response.token)) {
    log::error("transport: responder produced a token that is not token68");
    return reject(ErrorCode::InternalServerError, "internal error", 500);
  }
  return response;
}

HttpAnswer to_http_answer(const Response& response) {
  HttpAnswer answer{.status = response.http_status, .headers = {}, .body = response.body};
  const bool is_error = response.msg_type == kErrorMessageType;
  // docs/interop.md "http-errors": a client's 255 is answered with HTTP 200 and an empty body (as go-fdo).
  if (is_error && response.http_status == 200 && response.body.empty()) {
    return answer;
  }
  // docs/interop.md "http-errors": every FDO-level error is answered with HTTP 500 (or the 4xx chosen
  // by serve_message), never a 2xx that some clients would take for success.
  if (is_error && answer.status < 400) {
    answer.status = 500;
  }
  answer.headers.emplace_back("Content-Type", std::string(kCborContentType));
  answer.headers.emplace_back("Message-Type", std::to_string(response.msg_type));
  if (!is_error && response.http_status == 200 && response.token) {
    answer.headers.emplace_back("Authorization", bearer_value(*response.token));
  }
  return answer;
}

ClientResponse to_client_response(int status, const HeaderList& headers, Bytes body) {
  ClientResponse out;
  out.status = status;
  const std::vector<std::string_view> types = header_values(headers, "Message-Type");
  if (types.size() == 1) {
    out.msg_type = parse_message_type(types.front());
  }
  const std::vector<std::string_view> auth = header_values(headers, "Authorization");
  if (!auth.empty() && !auth.front().empty()) {
    out.authorization = std::string(auth.front());
  }
  const std::vector<std::string_view> content_type = header_values(headers, "Content-Type");
  if (!content_type.empty()) {
    out.content_type = std::string(content_type.front());
  }
  out.body = std::move(body);
  return out;
}

}  // namespace fdo::transport
