#include "libfdo/transport/http_floor.h"

#include <httplib.h>
#include <sys/resource.h>

#include <string>
#include <thread>

#include "libfdo/core/error.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/transport/responder.h"

namespace fdo::transport {
namespace {

double process_cpu_us() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) {
    throw_internal("http floor: getrusage failed");
  }
  const auto us = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec); };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

// Answers every message with TO0.HelloAck-shaped bytes and a fixed token: no protocol work at all.
class ImmediateResponder final : public Responder {
 public:
  Response handle(const Request& /*request*/) override { return Response{21, Bytes{0x81, 0x40}, "floor", 200}; }
  Response reject(std::uint8_t /*msg_type*/, std::optional<std::string> /*token*/, ErrorCode /*code*/,
                  std::string_view /*reason*/) override {
    return Response{255, Bytes{0x80}, std::nullopt, 500};
  }
};

double time_raw(std::size_t requests) {
  httplib::Server server;
  server.Post("/fdo/101/msg/20", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Message-Type", "21");
    res.set_content(std::string("\x81\x40", 2), "application/cbor");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    throw_internal("http floor: cpp-httplib cannot bind 127.0.0.1");
  }
  std::thread thread([&server] { server.listen_after_bind(); });
  while (!server.is_running()) {
    std::this_thread::yield();
  }
  const double start = process_cpu_us();
  bool ok = true;
  for (std::size_t i = 0; i < requests && ok; ++i) {
    httplib::Client client("127.0.0.1", port);
    const httplib::Result r = client.Post("/fdo/101/msg/20", std::string("\x80", 1), "application/cbor");
    ok = r && r->status == 200;
  }
  const double spent = process_cpu_us() - start;
  server.stop();
  thread.join();
  if (!ok) {
    throw_internal("http floor: a request to the bare cpp-httplib server failed");
  }
  return spent / static_cast<double>(requests);
}

double time_ours(std::size_t requests) {
  ImmediateResponder responder;
  HttpServerOptions options;
  HttpServer server(responder, options);
  server.start();
  const double start = process_cpu_us();
  for (std::size_t i = 0; i < requests; ++i) {
    HttpTransport transport(server.url());
    if (transport.exchange(20, Bytes{0x80}).msg_type != 21) {
      server.stop();
      throw_internal("http floor: a request to HttpServer failed");
    }
  }
  const double spent = process_cpu_us() - start;
  server.stop();
  return spent / static_cast<double>(requests);
}

}  // namespace

HttpFloor measure_http_floor(std::size_t requests) {
  if (requests == 0) {
    throw_internal("http floor: no requests to time");
  }
  HttpFloor floor;
  floor.requests = requests;
  floor.raw_us = time_raw(requests);
  floor.ours_us = time_ours(requests);
  return floor;
}

}  // namespace fdo::transport
