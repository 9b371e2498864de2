#include "libfdo/storage/memory_store.h"

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/storage/transaction_gate.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fdo::storage {
namespace {

constexpr std::string_view kStoreName = "memory store";
constexpr std::chrono::milliseconds kBeginTimeout{5000};

// A voucher record and the order in which it was stored (ties in find_voucher_by_serial and list_vouchers).
struct StoredVoucher {
  VoucherRecord record;
  std::uint64_t seq{};
};

struct Tables {
  std::map<std::string, Session, std::less<>> sessions;
  std::map<Guid, StoredVoucher> vouchers;
  std::map<Guid, RvRegistration> rv_registrations;
  std::map<Guid, OwnerDeviceRecord> owner_devices;
  std::map<std::string, RateBucket, std::less<>> rate_buckets;
  std::uint64_t next_seq = 1;
};

struct Shared {
  TransactionGate gate;
  Tables tables;
};

// True if `a` was stored before `b` in the order of list_vouchers.
bool older(const StoredVoucher& a, const StoredVoucher& b) {
  return std::tie(a.record.created_at, a.seq) < std::tie(b.record.created_at, b.seq);
}

// Works on the shared tables directly while holding the gate; every change first records how to undo it.
class MemoryTransaction final : public Transaction {
 public:
  MemoryTransaction(std::shared_ptr<Shared> shared, TransactionGate::Pass pass)
      : m_shared(std::move(shared)), m_tables(m_shared->tables), m_pass(std::in_place, std::move(pass)) {}

  ~MemoryTransaction() override {
    if (!m_ended) {
      rollback();
    }
  }

  void insert_session(const Session& session) override {
    check_open("insert_session");
    if (m_tables.sessions.contains(session.token)) {
      throw_internal("memory store: insert_session: token already stored");
    }
    remember(m_tables.sessions, session.token);
    m_tables.sessions.emplace(session.token, session);
  }

  std::optional<Session> get_session(std::string_view token, std::int64_t now) override {
    check_open("get_session");
    const auto it = m_tables.sessions.find(token);
    if (it == m_tables.sessions.end() || it->second.expires_at <= now) {
      return std::nullopt;
    }
    return it->second;
  }

  bool update_session(const Session& session) override {
    check_open("update_session");
    const auto it = m_tables.sessions.find(session.token);
    if (it == m_tables.sessions.end() || it->second.version != session.version) {
      return false;
    }
    remember(m_tables.sessions, session.token);
    it->second = session;
    it->second.version = session.version + 1;
    return true;
  }

  bool end_session(const Session& session) override {
    check_open("end_session");
    const auto it = m_tables.sessions.find(session.token);
    if (it == m_tables.sessions.end() || it->second.version != session.version) {
      return false;
    }
    remember(m_tables.sessions, it->first);
    m_tables.sessions.erase(it);
    return true;
  }

  bool erase_session(std::string_view token) override {
    check_open("erase_session");
    const auto it = m_tables.sessions.find(token);
    if (it == m_tables.sessions.end()) {
      return false;
    }
    remember(m_tables.sessions, it->first);
    m_tables.sessions.erase(it);
    return true;
  }

  std::size_t count_sessions(std::int64_t now) override {
    check_open("count_sessions");
    return static_cast<std::size_t>(std::count_if(m_tables.sessions.begin(), m_tables.sessions.end(),
                                                  [now](const auto& kv) { return kv.second.expires_at > now; }));
  }

  std::size_t count_sessions_from(std::string_view source, std::int64_t now) override {
    check_open("count_sessions_from");
    return static_cast<std::size_t>(
        std::count_if(m_tables.sessions.begin(), m_tables.sessions.end(),
                      [&](const auto& kv) { return kv.second.source == source && kv.second.expires_at > now; }));
  }

  std::size_t reclaim_sessions_from(std::string_view source, std::int64_t now, std::size_t keep) override {
    check_open("reclaim_sessions_from");
    std::vector<const Session*> live;
    for (const auto& kv : m_tables.sessions) {
      if (kv.second.source == source && kv.second.expires_at > now) {
        live.push_back(&kv.second);
      }
    }
    if (live.size() <= keep) {
      return 0;
    }
    std::sort(live.begin(), live.end(), [](const Session* a, const Session* b) {
      return a->expires_at != b->expires_at ? a->expires_at < b->expires_at : a->token < b->token;
    });
    std::vector<std::string> drop;
    for (std::size_t i = 0; i < live.size() - keep; ++i) {
      drop.push_back(live[i]->token);
    }
    for (const std::string& token : drop) {
      remember(m_tables.sessions, token);
      m_tables.sessions.erase(token);
    }
    return drop.size();
  }

  bool take_rate_token(std::string_view source, const RateLimit& limit, std::int64_t now) override {
    check_open("take_rate_token");
    const std::string key(source);
    remember(m_tables.rate_buckets, key);
    auto it = m_tables.rate_buckets.try_emplace(key, full_bucket(limit, now)).first;
    return take_token(it->second, limit, now);
  }

  std::size_t purge_rate_buckets(std::int64_t before) override {
    check_open("purge_rate_buckets");
    return purge(m_tables.rate_buckets, [before](const RateBucket& b) { return b.updated < before; });
  }

  std::size_t purge_expired_sessions(std::int64_t now) override {
    check_open("purge_expired_sessions");
    return purge(m_tables.sessions, [now](const Session& s) { return s.expires_at <= now; });
  }

  void put_voucher(const VoucherRecord& record) override {
    check_open("put_voucher");
    remember(m_tables.vouchers, record.guid);
    m_tables.vouchers.insert_or_assign(record.guid, StoredVoucher{record, m_tables.next_seq++});
  }

  std::optional<VoucherRecord> get_voucher(const Guid& guid) override {
    check_open("get_voucher");
    const auto it = m_tables.vouchers.find(guid);
    if (it == m_tables.vouchers.end()) {
      return std::nullopt;
    }
    return it->second.record;
  }

  std::optional<VoucherRecord> find_voucher_by_serial(std::string_view serial) override {
    check_open("find_voucher_by_serial");
    const StoredVoucher* newest = nullptr;
    for (const auto& [guid, stored] : m_tables.vouchers) {
      if (stored.record.serial == serial && (newest == nullptr || older(*newest, stored))) {
        newest = &stored;
      }
    }
    if (newest == nullptr) {
      return std::nullopt;
    }
    return newest->record;
  }

  std::vector<VoucherRecord> list_vouchers() override {
    check_open("list_vouchers");
    std::vector<const StoredVoucher*> order;
    order.reserve(m_tables.vouchers.size());
    for (const auto& [guid, stored] : m_tables.vouchers) {
      order.push_back(&stored);
    }
    std::sort(order.begin(), order.end(), [](const StoredVoucher* a, const StoredVoucher* b) { return older(*a, *b); });
    std::vector<VoucherRecord> out;
    out.reserve(order.size());
    for (const StoredVoucher* stored : order) {
      out.push_back(stored->record);
    }
    return out;
  }

  bool erase_voucher(const Guid& guid) override {
    check_open("erase_voucher");
    const auto it = m_tables.vouchers.find(guid);
    if (it == m_tables.vouchers.end()) {
      return false;
    }
    remember(m_tables.vouchers, guid);
    m_tables.vouchers.erase(it);
    return true;
  }

  std::vector<VoucherRecord> list_vouchers_page(const std::optional<VoucherCursor>& after,
                                                std::size_t limit) override {
    check_open("list_vouchers_page");
    std::vector<VoucherRecord> out;
    for (const auto& [guid, stored] : m_tables.vouchers) {
      if (!after || std::tie(stored.record.created_at, guid) > std::tie(after->created_at, after->guid)) {
        out.push_back(stored.record);
      }
    }
    std::sort(out.begin(), out.end(), [](const VoucherRecord& a, const VoucherRecord& b) {
      return std::tie(a.created_at, a.guid) < std::tie(b.created_at, b.guid);
    });
    out.resize(std::min(out.size(), limit));
    return out;
  }

  std::size_t count_vouchers_with_serial(std::string_view serial) override {
    check_open("count_vouchers_with_serial");
    return static_cast<std::size_t>(std::count_if(m_tables.vouchers.begin(), m_tables.vouchers.end(),
                                                  [serial](const auto& entry) {
                                                    return entry.second.record.serial == serial;
                                                  }));
  }

  void put_rv_registration(const RvRegistration& registration) override {
    check_open("put_rv_registration");
    remember(m_tables.rv_registrations, registration.guid);
    m_tables.rv_registrations.insert_or_assign(registration.guid, registration);
  }

  std::optional<RvRegistration> get_rv_registration(const Guid& guid, std::int64_t now) override {
    check_open("get_rv_registration");
    const auto it = m_tables.rv_registrations.find(guid);
    if (it == m_tables.rv_registrations.end() || it->second.expires_at <= now) {
      return std::nullopt;
    }
    return it->second;
  }

  bool erase_rv_registration(const Guid& guid) override {
    check_open("erase_rv_registration");
    const auto it = m_tables.rv_registrations.find(guid);
    if (it == m_tables.rv_registrations.end()) {
      return false;
    }
    remember(m_tables.rv_registrations, guid);
    m_tables.rv_registrations.erase(it);
    return true;
  }

  std::size_t purge_expired_rv_registrations(std::int64_t now) override {
    check_open("purge_expired_rv_registrations");
    return purge(m_tables.rv_registrations, [now](const RvRegistration& r) { return r.expires_at <= now; });
  }

  std::size_t count_rv_registrations(std::int64_t now) override {
    check_open("count_rv_registrations");
    return static_cast<std::size_t>(std::count_if(m_tables.rv_registrations.begin(), m_tables.rv_registrations.end(),
                                                  [now](const auto& entry) { return entry.second.expires_at > now; }));
  }

  std::vector<RvRegistration> list_rv_registrations(std::int64_t now, const std::optional<Guid>& after,
                                                    std::size_t limit) override {
    check_open("list_rv_registrations");
    std::vector<RvRegistration> out;
    // The map is ordered by GUID.
    auto it = after ? m_tables.rv_registrations.upper_bound(*after) : m_tables.rv_registrations.begin();
    for (; it != m_tables.rv_registrations.end() && out.size() < limit; ++it) {
      if (it->second.expires_at > now) {
        out.push_back(it->second);
      }
    }
    return out;
  }

  void put_owner_device(const OwnerDeviceRecord& record) override {
    check_open("put_owner_device");
    remember(m_tables.owner_devices, record.guid);
    m_tables.owner_devices.insert_or_assign(record.guid, record);
  }

  std::optional<OwnerDeviceRecord> get_owner_device(const Guid& guid) override {
    check_open("get_owner_device");
    const auto it = m_tables.owner_devices.find(guid);
    if (it == m_tables.owner_devices.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  std::vector<OwnerDeviceRecord> list_owner_devices() override {
    check_open("list_owner_devices");
    std::vector<OwnerDeviceRecord> out;
    out.reserve(m_tables.owner_devices.size());
    for (const auto& [guid, record] : m_tables.owner_devices) {
      out.push_back(record);
    }
    // The map is in GUID order already; a stable sort keeps it within one updated_at.
    std::stable_sort(out.begin(), out.end(), [](const OwnerDeviceRecord& a, const OwnerDeviceRecord& b) {
      return a.updated_at < b.updated_at;
    });
    return out;
  }

  bool erase_owner_device(const Guid& guid) override {
    check_open("erase_owner_device");
    const auto it = m_tables.owner_devices.find(guid);
    if (it == m_tables.owner_devices.end()) {
      return false;
    }
    remember(m_tables.owner_devices, guid);
    m_tables.owner_devices.erase(it);
    return true;
  }

  void commit() override {
    check_open("commit");
    m_undo.clear();
    m_ended = true;
    m_pass.reset();
  }

 private:
  void check_open(std::string_view op) const {
    if (m_ended) {
      throw_internal("memory store: " + std::string(op) + ": transaction already committed");
    }
  }

  // Records how to put map[key] back as it is now: erase it if absent, restore the old value if present.
  template <typename Map>
  void remember(Map& map, const typename Map::key_type& key) {
    const auto it = map.find(key);
    if (it == map.end()) {
      m_undo.emplace_back([&map, key] { map.erase(key); });
    } else {
      m_undo.emplace_back([&map, key, old = it->second] { map.insert_or_assign(key, old); });
    }
  }

  template <typename Map, typename Expired>
  std::size_t purge(Map& map, Expired expired) {
    std::size_t removed = 0;
    for (auto it = map.begin(); it != map.end();) {
      if (expired(it->second)) {
        remember(map, it->first);
        it = map.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }

  void rollback() noexcept {
    try {
      for (auto it = m_undo.rbegin(); it != m_undo.rend(); ++it) {
        (*it)();
      }
    } catch (...) {
      log::error("memory store: rollback failed; the store is inconsistent");
    }
    m_undo.clear();
    m_ended = true;
  }

  std::shared_ptr<Shared> m_shared;
  Tables& m_tables;
  // Held until commit or destruction; while held, no other transaction can begin.
  std::optional<TransactionGate::Pass> m_pass;
  std::vector<std::function<void()>> m_undo;
  bool m_ended = false;
};

class MemoryStore final : public Store {
 public:
  MemoryStore() : m_shared(std::make_shared<Shared>()) {}

  std::unique_ptr<Transaction> begin() override {
    TransactionGate::Pass pass = m_shared->gate.enter(kStoreName, kBeginTimeout);
    return std::make_unique<MemoryTransaction>(m_shared, std::move(pass));
  }

 private:
  std::shared_ptr<Shared> m_shared;
};

}  // namespace

std::unique_ptr<Store> make_memory_store() { return std::make_unique<MemoryStore>(); }

}  // namespace fdo::storage
