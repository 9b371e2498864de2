#pragma once
// Admits one transaction at a time within a process. Both stores use it: the in-memory store for isolation,
// the SQLite store so that threads queue here instead of polling SQLite's busy handler.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

namespace fdo::storage {

/// A timed, thread-agnostic lock for transactions that refuses nesting on one thread.
class TransactionGate {
 public:
  /// Proof of having entered; leaves the gate when destroyed. Move-only.
  class Pass {
   public:
    Pass(Pass&& other) noexcept : m_gate(other.m_gate) { other.m_gate = nullptr; }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    Pass& operator=(Pass&&) = delete;
    ~Pass();

   private:
    friend class TransactionGate;
    explicit Pass(TransactionGate* gate) : m_gate(gate) {}
    TransactionGate* m_gate;
  };

  TransactionGate() = default;
  TransactionGate(const TransactionGate&) = delete;
  TransactionGate& operator=(const TransactionGate&) = delete;

  /// Waits until no other transaction holds the gate. Throws Error(InternalServerError) naming `store` if the
  /// wait exceeds `timeout` or if the calling thread already holds the gate (nesting would deadlock).
  [[nodiscard]] Pass enter(std::string_view store, std::chrono::milliseconds timeout);

 private:
  void leave() noexcept;

  std::mutex m_mutex;
  std::condition_variable m_free;
  bool m_busy = false;
  std::thread::id m_holder;
};

}  // namespace fdo::storage
