// Fuzz target: the server's HTTP request path without sockets (libfdo/transport/binding.h, FDO 1.1 §4.3;
// docs/security.md "HTTP binding"). The input is a raw HTTP/1.1 request: request line, header lines, an empty
// line, then the body. It is split the way cpp-httplib splits it, then goes through the checks HttpServer makes
// before the body (header_field_problem, read_body_framing, parse_message_path), serve_message() with a scripted
// Responder (strict and with Quirk::BearerSchemeCase), to_http_answer(), and the client's reading of that answer.
// serve_message() must not throw; an ErrorMessage answer must carry no Authorization header and no answer may
// exceed the body limit. Anything else, any crash and any sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "libfdo/core/error.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/text.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/transport.h"
#include "libfdo/transport/transport_test_util.h"

namespace {

namespace tr = fdo::transport;

struct ParsedRequest {
  std::string method;
  std::string target;
  tr::HeaderList headers;
  std::string_view rest;  // everything after the empty line
};

// Splits a request as cpp-httplib 0.11 does: CRLF lines, "name: value" with blanks trimmed around the value,
// lines without a colon or with an empty value skipped. nullopt when the head is incomplete or the request line
// is not "METHOD TARGET VERSION".
std::optional<ParsedRequest> parse(std::string_view text) {
  const std::size_t head_end = text.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view head = text.substr(0, head_end + 2);
  ParsedRequest out;
  out.rest = text.substr(head_end + 4);
  const std::size_t first_end = head.find("\r\n");
  const std::string_view line = head.substr(0, first_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    return std::nullopt;
  }
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  head.remove_prefix(first_end + 2);
  while (!head.empty()) {
    const std::size_t end = head.find("\r\n");
    const std::string_view field = head.substr(0, end);
    head.remove_prefix(end + 2);
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view value = fdo::trim_blanks(field.substr(colon + 1));
    if (!value.empty()) {
      out.headers.emplace_back(std::string(field.substr(0, colon)), std::string(value));
    }
  }
  return out;
}

void serve(const ParsedRequest& request, std::uint8_t type, const fdo::Leniency& leniency) {
  const tr::BodyFraming framing = tr::read_body_framing(request.headers);
  tr::InboundMessage in;
  in.msg_type = type;
  in.headers = request.headers;
  in.peer = "fuzz";
  if (framing.content_length) {
    if (*framing.content_length <= tr::kMaxDrain && *framing.content_length > request.rest.size()) {
      return;  // the body is incomplete: the server waits, then answers 400
    }
    if (*framing.content_length > tr::kMaxBody) {
      in.body_too_large = true;
    } else {
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(request.rest.data());
      in.body.assign(bytes, bytes + *framing.content_length);
    }
  } else {
    in.length_known = false;  // chunked, or no length at all: 411
  }
  // A fresh responder per input keeps memory bounded; it echoes, or answers 255 for a 255.
  tr::testing::ScriptedResponder responder([&responder](const tr::Request& r) {
    if (r.msg_type == tr::kErrorMessageType) {
      return tr::Response{.msg_type = tr::kErrorMessageType, .body = {}, .token = {}, .http_status = 200};
    }
    return responder.echo(r);
  });
  const tr::Response response = tr::serve_message(responder, in, tr::kMaxBody, leniency);
  const tr::HttpAnswer answer = tr::to_http_answer(response);
  if (answer.body.size() > tr::kMaxBody) {
    std::abort();
  }
  if (response.msg_type == tr::kErrorMessageType && !tr::header_values(answer.headers, "Authorization").empty()) {
    std::abort();  // FDO 1.1 §4.3 (docs/interop.md "http-errors"): a 255 never carries the token
  }
  try {
    (void)tr::read_reply(tr::to_client_response(answer.status, answer.headers, answer.body), "fuzz");
  } catch (const fdo::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxInput = 80 * 1024;  // a head plus a body at the limit
  if (size > kMaxInput) {
    return 0;
  }
  const std::optional<ParsedRequest> request = parse({reinterpret_cast<const char*>(data), size});
  if (!request) {
    return 0;
  }
  // The checks HttpServer makes before the body (docs/security.md "HTTP binding"): each refusal is a plain 400.
  if (!tr::header_field_problem(request->headers).empty() || !tr::read_body_framing(request->headers).problem.empty()) {
    return 0;
  }
  const std::optional<std::uint8_t> type = tr::parse_message_path(request->target);
  if (!type || request->method != "POST") {
    return 0;  // 404 or 405, no FDO body
  }
  static const fdo::Leniency strict;
  static const fdo::Leniency bearer_case(std::set<fdo::Quirk>{fdo::Quirk::BearerSchemeCase});
  serve(*request, *type, strict);
  serve(*request, *type, bearer_case);
  return 0;
}
