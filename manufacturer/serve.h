#pragma once
// `fdo-manufacturer serve`: the DI server (FDO 1.1 §5.2) over HTTP, and the admin voucher endpoints on
// their own listener (--admin-listen, bearer token).

#include "manufacturer/config.h"

namespace fdo::manufacturer {

/// Loads the keys of the directory, opens the database, serves DI until SIGTERM or SIGINT, then stops
/// cleanly. Prints "listening on http://HOST:PORT" on stdout when ready. Returns the exit status; throws
/// fdo::Error when it cannot start.
int serve(const ServeSettings& settings);

}  // namespace fdo::manufacturer
