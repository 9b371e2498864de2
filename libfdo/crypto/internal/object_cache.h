#pragma once
// A small bounded cache of immutable parsed objects (public keys, certificates) by their DER bytes.
// Servers meet the same manufacturer, owner and device-CA keys in voucher after voucher, and OpenSSL 3's
// decoder set-up costs more than the CBOR and hash work of a whole voucher entry (docs/performance.md).
// Thread-safe; FIFO eviction. Internal to crypto/.

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "libfdo/core/bytes.h"

namespace fdo::crypto::internal {

template <typename T, std::size_t Capacity = 256>
class ObjectCache {
 public:
  std::optional<T> find(ByteView der) {
    const std::lock_guard lock(m_mutex);
    const auto it = m_objects.find(Bytes(der.begin(), der.end()));
    if (it == m_objects.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  void add(ByteView der, const T& object) {
    const std::lock_guard lock(m_mutex);
    Bytes key(der.begin(), der.end());
    if (m_objects.count(key) != 0) {
      return;
    }
    if (m_order.size() >= Capacity) {
      m_objects.erase(m_order.front());
      m_order.pop_front();
    }
    m_order.push_back(key);
    m_objects.emplace(std::move(key), object);
  }

 private:
  std::mutex m_mutex;
  std::map<Bytes, T> m_objects;
  std::deque<Bytes> m_order;
};

}  // namespace fdo::crypto::internal
