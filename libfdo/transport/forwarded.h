#pragma once
// The client address of a request that came through a trusted reverse proxy (docs/security.md "Behind a reverse
// proxy"): what the per-address limits (the rendezvous rate limit, --max-sessions-per-source) and the logs count.

#include <string>
#include <string_view>
#include <vector>

#include "libfdo/transport/binding.h"

namespace fdo::transport {

/// Whether `text` is an IPv4 or IPv6 address literal (no port, no brackets): what --trusted-proxy takes.
[[nodiscard]] bool is_ip_address(std::string_view text);

/// The client address of a request from `peer` (the TCP peer's address): `peer` itself unless it is one of
/// `trusted_proxies` (IP literals, compared as addresses). From a trusted proxy it is the right-most address of the
/// X-Forwarded-For fields that is not itself a trusted proxy: each proxy appends the address it saw, so entries
/// left of the last one a trusted proxy wrote came from the client and may be forged. A trusted peer without a
/// usable X-Forwarded-For (none, or a malformed entry where the client's address should be) stays the client.
[[nodiscard]] std::string client_address(std::string_view peer, const HeaderList& headers,
                                         const std::vector<std::string>& trusted_proxies);

}  // namespace fdo::transport
