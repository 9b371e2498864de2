#include "libfdo/transport/http_server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/log.h"
#include "libfdo/transport/forwarded.h"
#include "libfdo/transport/http_gate.h"
#include "libfdo/core/url.h"

namespace fdo::transport {
namespace {

using HandlerResponse = httplib::Server::HandlerResponse;

struct AdminRoute {
  std::string method;
  std::string path;  // a prefix without trailing slash ("" is the root), or a template
  bool prefix = true;
  std::vector<std::string> segments;  // a template's segments; "{name}" is a parameter
  AdminHandler handler;
};

// The route a request goes to, with the template's parameters; `allow` lists the methods of templates that match
// the path when none of `method` does (then route is nullptr and the answer is 405).
struct RouteMatch {
  const AdminRoute* route = nullptr;
  std::map<std::string, std::string, std::less<>> params;
  std::string allow;
};

// A request body as read from the connection.
struct BodyRead {
  Bytes body;
  bool too_large = false;
  bool complete = true;  // false: bytes of this request are still on the connection
};

// httplib 0.11 listens with a backlog of 5, so a few dozen devices connecting at once lose SYNs
// and stall for a second or more. Linux lets listen() raise the backlog of a bound socket; the
// socket is a protected member of httplib::Server, reached here through a derived class.
// The gated server runs what httplib's accept loop hands it at once (it only registers the socket).
// When this worker thread's current request started: set in the pre-routing handler, read by the access log.
// A request is pre-routed, handled and logged on one thread (the gate's worker or httplib's pool thread).
thread_local std::chrono::steady_clock::time_point t_request_start{};

struct InlineQueue final : httplib::TaskQueue {
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

// docs/security.md "Connections": each open connection is a descriptor; raise the soft limit to the hard one
// so that max_connections, not EMFILE, is what bounds them.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

struct ListenSocket : httplib::Server {
  static void widen_backlog(const httplib::Server& server) {
    const socket_t fd = (server.*(&ListenSocket::svr_sock_)).load();
    if (fd != INVALID_SOCKET && ::listen(fd, SOMAXCONN) != 0) {
      log::warn("transport: could not raise the listen backlog");
    }
  }
};

// Binds a socket to host:port as httplib does (SO_REUSEADDR) and closes it: "" when that works, else why not
// ("Address already in use"). httplib only says that binding failed.
std::string bind_problem(const HostPort& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(where.port);
  const int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return ::gai_strerror(rc);
  }
  std::string problem;
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) {
    problem = std::strerror(errno);
  } else {
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1) != 0) {
      problem = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return problem;
}

// What the connection gate's own refusals count and log, like the requests httplib answers.
std::function<void(int, const std::string&)> gate_refusals(const HttpServerOptions& options) {
  metrics::Family<metrics::Counter>* requests = nullptr;
  if (options.metrics != nullptr) {
    requests = &options.metrics->counter("fdo_http_requests_total", "HTTP requests answered, by listener and status",
                                         {"listener", "status"});
  }
  return [requests, listener = options.metrics_listener](int status, const std::string& peer) {
    if (requests != nullptr) {
      requests->with({listener, std::to_string(status)}).inc();
    }
    if (log::enabled(log::Level::Debug)) {
      log::debug("http: connection refused " + std::to_string(status) + " from " + peer);
    }
  };
}

// docs/security.md "Body size": admin uploads over 64 KiB the poll thread awaits at once; one more gets 503.
constexpr std::size_t kMaxLargeBodies = 4;

// The server's TLS context (docs/security.md "TLS"): the certificate chain and key, and for mutual TLS the CAs a
// client certificate must chain to, without which the handshake fails. The gate owns the returned context.
SSL_CTX* server_tls_context(const std::string& cert, const std::string& key, const std::string& client_ca) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  const auto fail = [&](const std::string& what) {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    char text[256] = "unknown OpenSSL error";
    if (e != 0) {
      ERR_error_string_n(e, text, sizeof text);
    }
    throw_internal("http server: " + what + ": " + text);
  };
  if (!ctx) {
    fail("cannot create a TLS context");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    fail("cannot set the TLS version");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    fail("cannot load TLS certificate '" + cert + "' or key '" + key + "'");
  }
  if (!client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), client_ca.c_str(), nullptr) != 1) {
      fail("cannot load the client CA file '" + client_ca + "'");
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx.release();
}

[[noreturn]] void cannot_listen(const HostPort& where, const std::string& problem) {
  throw_internal("cannot listen on " + format_host_port(where.host, where.port) +
                 (problem.empty() ? std::string() : ": " + problem));
}

bool is_fdo_path(std::string_view path) { return path == "/fdo" || path.substr(0, 5) == "/fdo/"; }

// "/a/{b}/" → {"a", "{b}"}; "/" → {}. Empty segments ("//") are kept, so they match no template.
std::vector<std::string_view> split_path(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  std::vector<std::string_view> out;
  if (path.empty() || path == "/") {
    return out;
  }
  path.remove_prefix(1);
  while (true) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return out;
    }
    path.remove_prefix(slash + 1);
  }
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// The number of literal segments when `segments` matches `path`, filling `params`; nullopt otherwise.
std::optional<std::size_t> match_template(const std::vector<std::string>& segments,
                                          const std::vector<std::string_view>& path,
                                          std::map<std::string, std::string, std::less<>>& params) {
  if (segments.size() != path.size()) {
    return std::nullopt;
  }
  std::size_t literal = 0;
  std::map<std::string, std::string, std::less<>> found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (is_parameter(segments[i])) {
      if (path[i].empty()) {
        return std::nullopt;
      }
      found.emplace(segments[i].substr(1, segments[i].size() - 2), std::string(path[i]));
    } else if (segments[i] == path[i]) {
      ++literal;
    } else {
      return std::nullopt;
    }
  }
  params = std::move(found);
  return literal;
}

bool under_prefix(std::string_view path, std::string_view prefix) {
  return path == prefix ||
         (path.substr(0, prefix.size()) == prefix && path.size() > prefix.size() && path[prefix.size()] == '/');
}

RouteMatch find_route(const std::vector<AdminRoute>& routes, std::string_view method, std::string_view path) {
  RouteMatch match;
  if (is_fdo_path(path)) {
    return match;
  }
  const std::vector<std::string_view> parts = split_path(path);
  std::optional<std::size_t> best;
  std::vector<std::string> other_methods;
  for (const AdminRoute& route : routes) {
    if (route.prefix) {
      continue;
    }
    std::map<std::string, std::string, std::less<>> params;
    const std::optional<std::size_t> literal = match_template(route.segments, parts, params);
    if (!literal) {
      continue;
    }
    if (route.method != method) {
      other_methods.push_back(route.method);
    } else if (!best || *literal > *best) {
      best = literal;
      match.route = &route;
      match.params = std::move(params);
    }
  }
  if (match.route != nullptr) {
    return match;
  }
  for (const AdminRoute& route : routes) {
    if (route.prefix && route.method == method && under_prefix(path, route.path)) {
      match.route = &route;
      return match;
    }
  }
  std::sort(other_methods.begin(), other_methods.end());
  other_methods.erase(std::unique(other_methods.begin(), other_methods.end()), other_methods.end());
  for (const std::string& m : other_methods) {
    match.allow += (match.allow.empty() ? "" : ", ") + m;
  }
  return match;
}

// JSON string content: quotes, backslashes and control characters escaped (RFC 8259 §7).
std::string json_escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\u00";
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

// RFC 9110 §15.5.6: a path served for other methods only.
void admin_method_not_allowed(httplib::Response& res, const httplib::Request& req, const std::string& allow) {
  res.status = 405;
  res.set_header("Allow", allow);
  res.set_content("{\"error\":\"method " + json_escaped(req.method) + " is not allowed on " + json_escaped(req.path) +
                      "; allowed: " + allow + "\"}\n",
                  "application/json");
}

HeaderList to_header_list(const httplib::Headers& headers) {
  return HeaderList(headers.begin(), headers.end());
}

std::string query_of(std::string_view target) {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string{} : std::string(target.substr(q + 1));
}

void write_answer(httplib::Response& res, const HttpAnswer& answer) {
  res.status = answer.status;
  std::string content_type;
  for (const auto& [name, value] : answer.headers) {
    if (name == "Content-Type") {
      content_type = value;
    } else {
      res.set_header(name, value);
    }
  }
  if (content_type.empty()) {
    res.body.assign(answer.body.begin(), answer.body.end());
  } else {
    res.set_content(std::string(answer.body.begin(), answer.body.end()), content_type);
  }
}

// httplib 0.11 keeps a connection open whatever the answer's Connection header says, and no handler can
// reach the socket. A content provider that writes the whole body and then reports failure makes httplib
// close the connection once the answer is out (docs/security.md "Closing"). An empty body cannot be sent
// this way; the answer then only says Connection: close.
void close_after(httplib::Response& res) {
  res.set_header("Connection", "close");
  if (res.body.empty()) {
    return;
  }
  auto body = std::make_shared<const std::string>(std::move(res.body));
  res.body.clear();
  const std::string content_type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");
  res.set_content_provider(body->size(), content_type,
                           [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, body->size() - offset);
                             return false;
                           });
}

// A plain HTTP refusal (no FDO body: the request is not one we can read as FDO), then the connection closes.
void refuse_and_close(httplib::Response& res, int status, std::string_view reason) {
  res.status = status;
  res.set_content(std::string(reason) + "\n", "text/plain");
  close_after(res);
}

void method_not_allowed(httplib::Response& res) {
  // docs/interop.md "http-paths": a method other than POST gets 405.
  res.status = 405;
  res.set_header("Allow", "POST");
}

// Reads the body through httplib with our own limit. A sized body over the limit is drained
// and discarded, so the connection stays usable; a chunked one is cut short.
BodyRead read_body(const httplib::Request& req, const httplib::ContentReader& reader,
                   std::size_t limit) {
  BodyRead out;
  const bool chunked = req.has_header("Transfer-Encoding");
  if (!chunked && req.has_header("Content-Length")) {
    out.too_large = req.get_header_value<std::uint64_t>("Content-Length") > limit;
  }
  const bool ok = reader([&](const char* data, std::size_t n) {
    if (!out.too_large && out.body.size() + n > limit) {
      out.too_large = true;
      Bytes().swap(out.body);
    }
    if (out.too_large) {
      return !chunked;
    }
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data);
    out.body.insert(out.body.end(), bytes, bytes + n);
    return true;
  });
  // httplib skips (drains) a body whose Content-Length is over its own limit and reports false.
  out.complete = ok || (out.too_large && !chunked);
  if (out.too_large) {
    out.body.clear();
  }
  return out;
}

}  // namespace

struct HttpServer::Impl {
  Impl(Responder& r, HttpServerOptions o) : responder(r), options(std::move(o)) {}

  Responder& responder;
  HttpServerOptions options;
  std::vector<AdminRoute> admin_routes;
  std::unique_ptr<httplib::Server> server;
  gate::GatedServer* gated = nullptr;  // server
  std::thread thread;
  std::atomic<bool> listen_done{false};
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;

  void configure();
  HandlerResponse on_pre_routing(const httplib::Request& req, httplib::Response& res);
  void on_post(const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader);
  void on_get(const httplib::Request& req, httplib::Response& res);
  // GET without a body, PUT, PATCH, DELETE and OPTIONS: the admin route or 404/405.
  void on_other(const httplib::Request& req, httplib::Response& res);
  void serve(std::uint8_t msg_type, const httplib::Request& req, BodyRead body, bool length_known,
             httplib::Response& res);
  static void run_admin(const RouteMatch& match, const httplib::Request& req, Bytes body,
                        httplib::Response& res);
};

int default_worker_count() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::max(8u, 4 * cores));
}

void HttpServer::Impl::configure() {
  httplib::Server& s = *server;
  // httplib takes ownership of the returned queue (its API requires a raw pointer). The gate's own workers serve.
  s.new_task_queue = [] { return new InlineQueue(); };
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let two servers share a port.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_tcp_nodelay(true);
  s.set_payload_max_length(std::max(options.max_body, options.admin_max_body));
  s.set_read_timeout(options.read_timeout);
  s.set_write_timeout(options.write_timeout);
  s.set_keep_alive_timeout(options.keep_alive_timeout.count());
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return on_pre_routing(req, res);
  });
  s.Post(".*", [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) { on_post(req, res, reader); });
  s.Get(".*", [this](const httplib::Request& req, httplib::Response& res) { on_get(req, res); });
  const auto other = [this](const httplib::Request& req, httplib::Response& res) { on_other(req, res); };
  s.Put(".*", other);
  s.Delete(".*", other);
  s.Patch(".*", other);
  s.Options(".*", other);
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        log::error("transport: unexpected exception serving " + req.method + " " + req.path);
        res.status = 500;
      });
  metrics::Family<metrics::Counter>* requests = nullptr;
  if (options.metrics != nullptr) {
    requests = &options.metrics->counter("fdo_http_requests_total", "HTTP requests answered, by listener and status",
                                         {"listener", "status"});
  }
  s.set_logger([requests, listener = options.metrics_listener](const httplib::Request& req,
                                                               const httplib::Response& res) {
    if (requests != nullptr) {
      requests->with({listener, std::to_string(res.status)}).inc();
    }
    const auto start = std::exchange(t_request_start, std::chrono::steady_clock::time_point{});
    if (log::enabled(log::Level::Debug)) {
      // docs/operations.md "Logs": the access-log line. The path only, never the query or a header.
      const std::size_t bytes = res.body.empty() ? res.content_length_ : res.body.size();
      std::string line = "http: " + req.method + " " + req.path + " " + std::to_string(res.status) + " " +
                         std::to_string(bytes) + " bytes";
      if (start != std::chrono::steady_clock::time_point{}) {
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
        line += " " + std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
      }
      log::debug(line + " from " + req.remote_addr);
    }
  });
}

HandlerResponse HttpServer::Impl::on_pre_routing(const httplib::Request& req,
                                                 httplib::Response& res) {
  t_request_start = std::chrono::steady_clock::now();
  // docs/security.md "HTTP binding": what cannot be served is answered here, before httplib reads (or
  // waits for, or decodes) any of the body, and the connection is closed after the answer, since the body
  // left on it cannot be told apart from a next request.
  const HeaderList headers = to_header_list(req.headers);
  if (std::string problem = header_field_problem(headers); !problem.empty()) {
    refuse_and_close(res, 400, problem);
    return HandlerResponse::Handled;
  }
  const BodyFraming framing = read_body_framing(headers);
  if (!framing.problem.empty()) {
    refuse_and_close(res, 400, framing.problem);
    return HandlerResponse::Handled;
  }
  const bool post = req.method == "POST";
  const std::optional<std::uint8_t> type = parse_message_path(req.target);
  const AdminRoute* route = post && !type ? find_route(admin_routes, "POST", req.path).route : nullptr;
  if (framing.content_length && *framing.content_length > kMaxDrain) {
    if (post && type) {
      serve(*type, req, BodyRead{.body = {}, .too_large = true, .complete = false}, true, res);
      close_after(res);
    } else {
      refuse_and_close(res, route != nullptr ? 413 : 400, "Content-Length over the limit");
    }
    return HandlerResponse::Handled;
  }
  if (!post && framing.chunked) {
    // docs/security.md "Body size": as for POST below, a chunked body is refused before a worker would read it.
    refuse_and_close(res, 411, "Content-Length required");
    return HandlerResponse::Handled;
  }
  if (!post) {
    return HandlerResponse::Unhandled;
  }
  // docs/security.md "Content-Encoding": httplib decodes gzip and br bodies before any handler sees them and
  // answers one it cannot decode with a bare 400; we decode none, so refuse them all here, FDO 1.1 §4.3.
  if (has_content_coding(headers)) {
    if (type) {
      serve(*type, req, BodyRead{}, !framing.chunked, res);
      close_after(res);
    } else if (route != nullptr) {
      refuse_and_close(res, 415, "Content-Encoding is not supported");
    } else {
      refuse_and_close(res, 404, "not found");
    }
    return HandlerResponse::Handled;
  }
  if (framing.chunked) {
    // docs/security.md "Body size": a chunked body would be read by the worker, at the client's pace; no route takes
    // one (FDO 1.1 §4.3 asks for Content-Length), so it is refused before it is read.
    if (type) {
      serve(*type, req, BodyRead{}, false, res);
      close_after(res);
    } else {
      refuse_and_close(res, route != nullptr ? 411 : 404, route != nullptr ? "Content-Length required" : "not found");
    }
    return HandlerResponse::Handled;
  }
  if (framing.content_length) {
    return HandlerResponse::Unhandled;
  }
  // RFC 9112 §6.3: such a request has an empty body. Answer now; httplib would otherwise wait
  // for the connection to close.
  if (type) {
    serve(*type, req, BodyRead{}, false, res);
  } else if (route != nullptr) {
    res.status = 411;
  } else {
    res.status = 404;
  }
  return HandlerResponse::Handled;
}

void HttpServer::Impl::on_post(const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
  const std::optional<std::uint8_t> type = parse_message_path(req.target);
  const RouteMatch match = type ? RouteMatch{} : find_route(admin_routes, "POST", req.path);
  const AdminRoute* route = match.route;
  BodyRead body =
      read_body(req, reader, route != nullptr ? options.admin_max_body : options.max_body);
  if (type) {
    if (!body.complete && !body.too_large) {
      refuse_and_close(res, 400, "incomplete body");  // the client broke off or sent a malformed chunk
      return;
    }
    const bool complete = body.complete;
    serve(*type, req, std::move(body), !req.has_header("Transfer-Encoding"), res);
    if (!complete) {
      close_after(res);
    }
  } else if (route != nullptr) {
    if (body.too_large) {
      res.status = 413;
      if (!body.complete) {
        refuse_and_close(res, 413, "body too large");
      }
    } else if (!body.complete) {
      refuse_and_close(res, 400, "incomplete body");
    } else {
      run_admin(match, req, std::move(body.body), res);
    }
  } else if (!match.allow.empty()) {
    admin_method_not_allowed(res, req, match.allow);
  } else {
    // docs/interop.md "http-paths": a protver other than 101, or a path of another shape, gets a plain
    // HTTP 404 with no FDO body.
    res.status = 404;
  }
}

void HttpServer::Impl::on_get(const httplib::Request& req, httplib::Response& res) {
  on_other(req, res);
}

void HttpServer::Impl::on_other(const httplib::Request& req, httplib::Response& res) {
  if (parse_message_path(req.target)) {
    method_not_allowed(res);
    return;
  }
  // httplib serves HEAD through the GET routes.
  const RouteMatch match = find_route(admin_routes, req.method == "HEAD" ? "GET" : req.method, req.path);
  if (match.route != nullptr) {
    run_admin(match, req, Bytes(req.body.begin(), req.body.end()), res);
  } else if (!match.allow.empty()) {
    admin_method_not_allowed(res, req, match.allow);
  } else {
    res.status = 404;
  }
}

void HttpServer::Impl::serve(std::uint8_t msg_type, const httplib::Request& req, BodyRead body,
                             bool length_known, httplib::Response& res) {
  InboundMessage in;
  in.msg_type = msg_type;
  in.headers = to_header_list(req.headers);
  in.body = std::move(body.body);
  in.body_too_large = body.too_large;
  in.length_known = length_known;
  in.peer = client_address(req.remote_addr, in.headers, options.trusted_proxies);
  write_answer(res, to_http_answer(serve_message(responder, in, options.max_body, options.leniency)));
}

void HttpServer::Impl::run_admin(const RouteMatch& match, const httplib::Request& req, Bytes body,
                                 httplib::Response& res) {
  const AdminRoute& route = *match.route;
  AdminRequest request{.method = req.method,
                       .path = req.path,
                       .query = query_of(req.target),
                       .headers = to_header_list(req.headers),
                       .body = std::move(body),
                       .peer = req.remote_addr,
                       .peer_certificate = {},
                       .path_params = match.params};
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (req.ssl != nullptr) {
    if (X509* cert = SSL_get0_peer_certificate(req.ssl)) {
      const int n = i2d_X509(cert, nullptr);
      if (n > 0) {
        request.peer_certificate.resize(static_cast<std::size_t>(n));
        unsigned char* p = request.peer_certificate.data();
        (void)i2d_X509(cert, &p);
      }
    }
  }
#endif
  AdminResponse answer;
  try {
    answer = route.handler(request);
  } catch (const std::exception& e) {
    log::error("transport: admin handler for " + req.path + " failed: " + e.what());
    answer = AdminResponse{.status = 500, .content_type = "text/plain", .body = "internal error\n"};
  } catch (...) {
    log::error("transport: admin handler for " + req.path + " failed");
    answer = AdminResponse{.status = 500, .content_type = "text/plain", .body = "internal error\n"};
  }
  res.status = answer.status;
  for (const auto& [name, value] : answer.headers) {
    res.set_header(name, value);
  }
  res.set_content(answer.body, answer.content_type);
}

HttpServer::HttpServer(Responder& responder, HttpServerOptions options)
    : m_impl(std::make_unique<Impl>(responder, std::move(options))) {}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (const std::exception& e) {
    log::error(std::string("transport: stopping the http server failed: ") + e.what());
  }
}

namespace {

void check_admin_path(bool started, const std::string& path) {
  if (started) {
    throw_internal("http server: admin routes must be added before start()");
  }
  if (path.empty() || path.front() != '/' || is_fdo_path(path)) {
    throw_internal("http server: admin path '" + path + "' must start with '/' and not be under /fdo");
  }
}

void add_route(std::vector<AdminRoute>& routes, bool started, std::string method, std::string prefix,
               AdminHandler handler) {
  check_admin_path(started, prefix);
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  routes.push_back(AdminRoute{
      .method = std::move(method), .path = std::move(prefix), .prefix = true, .segments = {}, .handler = std::move(handler)});
}

}  // namespace

void HttpServer::add_admin_get(std::string path_prefix, AdminHandler handler) {
  add_route(m_impl->admin_routes, m_impl->server != nullptr, "GET", std::move(path_prefix), std::move(handler));
}

void HttpServer::add_admin_post(std::string path_prefix, AdminHandler handler) {
  add_route(m_impl->admin_routes, m_impl->server != nullptr, "POST", std::move(path_prefix), std::move(handler));
}

void HttpServer::add_admin_route(std::string method, std::string path_template, AdminHandler handler) {
  check_admin_path(m_impl->server != nullptr, path_template);
  constexpr std::array<std::string_view, 5> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
    throw_internal("http server: admin route method '" + method + "' is not one of GET, POST, PUT, PATCH, DELETE");
  }
  std::vector<std::string> segments;
  for (const std::string_view segment : split_path(path_template)) {
    const bool braces = segment.find_first_of("{}") != std::string_view::npos;
    if (segment.empty() || (braces && !is_parameter(segment)) ||
        (braces && segment.substr(1, segment.size() - 2).find_first_of("{}") != std::string_view::npos)) {
      throw_internal("http server: admin path template '" + path_template + "' has a malformed segment '" +
                     std::string(segment) + "'");
    }
    segments.emplace_back(segment);
  }
  for (const AdminRoute& route : m_impl->admin_routes) {
    if (!route.prefix && route.method == method && route.segments.size() == segments.size() &&
        std::equal(segments.begin(), segments.end(), route.segments.begin(), [](const std::string& a, const std::string& b) {
          return a == b || (is_parameter(a) && is_parameter(b));
        })) {
      throw_internal("http server: " + method + " " + path_template + " is registered already (as " + route.path +
                     ")");
    }
  }
  m_impl->admin_routes.push_back(AdminRoute{.method = std::move(method),
                                            .path = std::move(path_template),
                                            .prefix = false,
                                            .segments = std::move(segments),
                                            .handler = std::move(handler)});
}

std::vector<AdminRouteInfo> HttpServer::admin_routes() const {
  std::vector<AdminRouteInfo> out;
  for (const AdminRoute& route : m_impl->admin_routes) {
    out.push_back(AdminRouteInfo{.method = route.method, .path = route.prefix && route.path.empty() ? "/" : route.path,
                                 .prefix = route.prefix});
  }
  return out;
}

void check_listen(std::string_view listen) {
  const HostPort where = parse_listen_address(listen);
  if (const std::string problem = bind_problem(where); !problem.empty()) {
    cannot_listen(where, problem);
  }
}

void HttpServer::start() {
  Impl& s = *m_impl;
  if (s.server) {
    throw_internal("http server: already started");
  }
  const HostPort where = parse_listen_address(s.options.listen);
  const std::string& cert = s.options.tls_cert_file;
  const std::string& key = s.options.tls_key_file;
  const bool tls = !cert.empty() || !key.empty();
  if (tls && (cert.empty() || key.empty())) {
    throw_internal("http server: TLS needs both a certificate file and a key file");
  }
  const std::string& client_ca = s.options.tls_client_ca_file;
  if (!tls && !client_ca.empty()) {
    throw_internal("http server: a client CA (mutual TLS) needs a TLS certificate and key");
  }
  SSL_CTX* tls_context = nullptr;
  if (tls) {
    // docs/security.md "Local files": OpenSSL would read /dev/zero or a FIFO forever; the bounded reader
    // refuses them first (OpenSSL then reads the checked files itself).
    for (const std::string* file : {&cert, &key, &client_ca}) {
      if (!file->empty()) {
        (void)read_file(*file);
      }
    }
    tls_context = server_tls_context(cert, key, client_ca);
  }
  // docs/security.md "Connections": connections wait for their handshake, request head and body without a worker.
  raise_descriptor_limit();
  const HttpServerOptions& o = s.options;
  const auto ms = [](std::chrono::seconds v) { return std::chrono::milliseconds(v); };
  // The gate awaits every body a route accepts: FDO messages, and admin uploads when there are admin routes other
  // than GET (docs/security.md "Body size"); a larger one it discards, and the handler answers it as too large.
  const std::size_t gated_body = std::max<std::size_t>(64 * 1024, o.max_body);
  const bool takes_bodies = std::any_of(s.admin_routes.begin(), s.admin_routes.end(),
                                        [](const AdminRoute& route) { return route.method != "GET"; });
  auto server = std::make_unique<gate::GatedServer>(
      gate::Limits{.header_timeout = ms(o.header_timeout),
                   .keep_alive_timeout = ms(o.keep_alive_timeout),
                   .read_timeout = ms(o.read_timeout),
                   .write_timeout = ms(o.write_timeout),
                   .max_header_count = o.max_header_count,
                   .max_header_bytes = o.max_header_bytes,
                   .max_gated_body = gated_body,
                   .max_large_body = takes_bodies ? o.admin_max_body : 0,
                   .max_large_bodies = kMaxLargeBodies,
                   .max_discarded_body = static_cast<std::size_t>(kMaxDrain),
                   .max_connections = std::max<std::size_t>(1, o.max_connections),
                   .max_connections_per_source = std::max<std::size_t>(1, o.max_connections_per_source),
                   .keep_alive_max_count = 100,
                   .workers = static_cast<std::size_t>(o.threads > 0 ? o.threads : default_worker_count()),
                   .on_refused = gate_refusals(o)},
      tls_context);
  s.gated = server.get();
  s.server = std::move(server);
  s.configure();
  const int port = where.port == 0
                       ? s.server->bind_to_any_port(where.host)
                       : (s.server->bind_to_port(where.host, where.port) ? where.port : -1);
  if (port <= 0 || port > 65535) {
    s.gated = nullptr;
    s.server.reset();
    cannot_listen(where, bind_problem(where));
  }
  ListenSocket::widen_backlog(*s.server);
  // docs/api/README.md: what this listener serves besides FDO messages, checked against the OpenAPI documents.
  for (const AdminRoute& route : s.admin_routes) {
    log::debug("http: route " + route.method + " " + (route.path.empty() ? "/" : route.path) +
               (route.prefix ? " (and below)" : "") + " on the " + s.options.metrics_listener + " listener");
  }
  s.host = where.host;
  s.port = static_cast<std::uint16_t>(port);
  s.tls = tls;
  s.listen_done = false;
  s.thread = std::thread([&s] {
    s.server->listen_after_bind();
    s.listen_done = true;
  });
  // httplib's stop() only works once the accept loop runs, so wait for it.
  while (!s.server->is_running() && !s.listen_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s.server->is_running()) {
    s.thread.join();
    s.gated = nullptr;
    s.server.reset();
    throw_internal("http server: cannot serve on " + s.options.listen);
  }
}

void HttpServer::stop() {
  Impl& s = *m_impl;
  if (!s.server) {
    return;
  }
  s.server->stop();
  if (s.thread.joinable()) {
    s.thread.join();
  }
  if (s.gated != nullptr) {
    s.gated->stop_gate();
    s.gated = nullptr;
  }
  s.server.reset();
}

std::uint16_t HttpServer::port() const { return m_impl->port; }

std::string HttpServer::url() const {
  return std::string(m_impl->tls ? "https" : "http") + "://" +
         format_host_port(m_impl->host, m_impl->port);
}

}  // namespace fdo::transport
