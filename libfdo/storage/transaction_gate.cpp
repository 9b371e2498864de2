#include "libfdo/storage/transaction_gate.h"

#include "libfdo/core/error.h"

#include <string>

namespace fdo::storage {

TransactionGate::Pass::~Pass() {
  if (m_gate != nullptr) {
    m_gate->leave();
  }
}

TransactionGate::Pass TransactionGate::enter(std::string_view store, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(m_mutex);
  const std::thread::id self = std::this_thread::get_id();
  if (m_busy && m_holder == self) {
    throw_internal(std::string(store) + ": begin: this thread already holds an open transaction");
  }
  if (!m_free.wait_for(lock, timeout, [this] { return !m_busy; })) {
    throw_internal(std::string(store) + ": begin: timed out waiting for another transaction to end");
  }
  m_busy = true;
  m_holder = self;
  return Pass(this);
}

void TransactionGate::leave() noexcept {
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_busy = false;
    m_holder = std::thread::id();
  }
  m_free.notify_one();
}

}  // namespace fdo::storage
