// fdo-consumer URL: a program outside the tree, built against the installed libfdo-dev, that sends TO1.HelloRV
// (FDO 1.1 §5.4.1) for a GUID nobody registered and prints the rendezvous server's answer. A server that works
// answers ErrorMessage 6 (ResourceNotFound, §5.1.1.1), which is what packaging/package_test.sh expects.

#include <exception>
#include <iostream>

#include "libfdo/core/error.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/messages/to1.h"
#include "libfdo/transport/http_transport.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fdo-consumer http://HOST:PORT\n";
    return 2;
  }
  try {
    fdo::to1::HelloRV hello{fdo::Guid::random(), fdo::SigInfo::for_alg(fdo::crypto::SigAlg::ES256)};
    fdo::transport::HttpTransport transport(argv[1]);
    const fdo::transport::Reply reply = transport.exchange(static_cast<std::uint8_t>(hello.kType), hello.encode());
    if (reply.msg_type != fdo::ErrorMessage::kType) {
      std::cout << "TO1.HelloRV answered with message type " << static_cast<int>(reply.msg_type) << "\n";
      return 1;
    }
    const fdo::ErrorMessage error = fdo::ErrorMessage::decode(reply.body);
    std::cout << "TO1.HelloRV answered: ErrorMessage " << error.em_error_code << " (" << error.em_error_str << ")\n";
    return error.code() == fdo::ErrorCode::ResourceNotFound ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "fdo-consumer: " << e.what() << "\n";
    return 1;
  }
}
