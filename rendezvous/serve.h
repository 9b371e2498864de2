#pragma once
// `fdo-rendezvous serve`: the TO0 and TO1 endpoints behind the dispatcher and the HTTP server, until SIGTERM.

#include "rendezvous/config.h"

namespace fdo::rendezvous {

/// Serves TO0 (FDO 1.1 §5.3) and TO1 (§5.4) on settings.listen, printing "listening on http://HOST:PORT" when ready
/// (and "admin listening on URL" for the admin listener of GET /metrics; GET /health and /ready on the main one),
/// sweeping expired registrations every purge_interval seconds, until SIGTERM or SIGINT. Returns the exit status.
int serve(const ServeSettings& settings);

}  // namespace fdo::rendezvous
