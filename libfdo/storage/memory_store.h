#pragma once
// The in-memory store: the same semantics as the SQLite store, nothing on disk. For unit tests and for servers
// run without --db (state is lost when the process ends).

#include <memory>

#include "libfdo/storage/store.h"

namespace fdo::storage {

/// A new, empty in-memory store. Transactions are serialised within the process and roll back through an undo log.
std::unique_ptr<Store> make_memory_store();

}  // namespace fdo::storage
