#pragma once
// The storage interfaces of the FDO servers (docs/style.md §6, docs/adr/0003-server-session-storage.md).
// Protocol code sees only Store and Transaction; SQLite, PostgreSQL (docs/scaling.md) and the in-memory store
// implement them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "libfdo/core/fixed_bytes.h"
#include "libfdo/storage/records.h"

namespace fdo::storage {

/// Where a keyset page of vouchers starts (Transaction::list_vouchers_page): after the record with this creation
/// time and GUID.
struct VoucherCursor {
  std::int64_t created_at = 0;
  Guid guid;
  bool operator==(const VoucherCursor&) const = default;
};

/// One atomic unit of work on a Store: a scope guard whose commit() is explicit and whose destructor rolls back
/// everything not committed. The SQLite and in-memory stores serialise transactions (while one is open no other
/// begins); the PostgreSQL store does not, and protocol code does not rely on it: a session moves on only through
/// the version it read (update_session, end_session), which PostgreSQL's row locks check the same way
/// (docs/adr/0005).
///
/// Every operation throws Error(InternalServerError) naming the operation on a storage failure, and when
/// called after commit(). Times are Unix seconds supplied by the caller; a record is live while now < expires_at.
class Transaction {
 public:
  Transaction() = default;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  virtual ~Transaction() = default;

  // Sessions, keyed by token (FDO 1.1 §4.3).

  /// Adds a session; throws Error(InternalServerError) if the token is already stored.
  virtual void insert_session(const Session& session) = 0;
  /// The live session with this token; nullopt if there is none or it expired (expires_at <= now).
  [[nodiscard]] virtual std::optional<Session> get_session(std::string_view token, std::int64_t now) = 0;
  /// Replaces the stored session with the same token if it is still at `session.version`, storing it with the
  /// version one higher; false if no such token is stored or another update came first.
  [[nodiscard]] virtual bool update_session(const Session& session) = 0;
  /// Removes the session if it is still at `session.version`; false if it is gone or was updated meanwhile.
  [[nodiscard]] virtual bool end_session(const Session& session) = 0;
  /// Removes the session whatever its version (a run that failed); false if it was not stored.
  virtual bool erase_session(std::string_view token) = 0;
  /// Removes every session with expires_at <= now; returns how many.
  virtual std::size_t purge_expired_sessions(std::int64_t now) = 0;
  /// How many sessions are live at `now` (runs in progress, across every process sharing the store).
  [[nodiscard]] virtual std::size_t count_sessions(std::int64_t now) = 0;
  /// How many sessions of `source` are live at `now`.
  [[nodiscard]] virtual std::size_t count_sessions_from(std::string_view source, std::int64_t now) = 0;
  /// Removes the live sessions of `source` that were touched longest ago (smallest expires_at) until at most
  /// `keep` remain; returns how many it removed (docs/security.md "Session-table limits").
  virtual std::size_t reclaim_sessions_from(std::string_view source, std::int64_t now, std::size_t keep) = 0;

  // Rate limits of new runs, one token bucket per client address (records.h RateLimit; docs/security.md "Rate
  // limit"), shared by every process on the store.

  /// Takes one token from the bucket of `source` at `now` (a source without a bucket starts full, full_bucket());
  /// false when less than a whole token is left. The read and the write are one step for every process on the
  /// store (a row lock on PostgreSQL), so two instances never both take a bucket's last token.
  [[nodiscard]] virtual bool take_rate_token(std::string_view source, const RateLimit& limit, std::int64_t now) = 0;
  /// Removes the buckets last updated before `before`; returns how many. With full_before(), only full buckets go,
  /// which is what a source without a bucket gets anyway.
  virtual std::size_t purge_rate_buckets(std::int64_t before) = 0;

  // Ownership vouchers, keyed by GUID (FDO 1.1 §3.4).

  /// Stores the voucher record, replacing any record with the same GUID.
  virtual void put_voucher(const VoucherRecord& record) = 0;
  /// The record with this GUID, or nullopt.
  [[nodiscard]] virtual std::optional<VoucherRecord> get_voucher(const Guid& guid) = 0;
  /// The newest record with this serial number (largest created_at; on a tie, the one stored last), or nullopt.
  [[nodiscard]] virtual std::optional<VoucherRecord> find_voucher_by_serial(std::string_view serial) = 0;
  /// Every record, oldest first (created_at, then storing order).
  [[nodiscard]] virtual std::vector<VoucherRecord> list_vouchers() = 0;
  /// Removes the record; false if it was not stored.
  virtual bool erase_voucher(const Guid& guid) = 0;
  /// At most `limit` records ordered by created_at, then GUID (byte order), starting after `after` (from the first
  /// when nullopt): a keyset page that stays consistent while records are added or removed between pages.
  [[nodiscard]] virtual std::vector<VoucherRecord> list_vouchers_page(const std::optional<VoucherCursor>& after,
                                                                      std::size_t limit) = 0;
  /// How many records carry this serial number.
  [[nodiscard]] virtual std::size_t count_vouchers_with_serial(std::string_view serial) = 0;

  // Rendezvous registrations from TO0, keyed by GUID (FDO 1.1 §5.3).

  /// Stores the registration, replacing any registration for the same GUID.
  virtual void put_rv_registration(const RvRegistration& registration) = 0;
  /// The live registration for this GUID; nullopt if there is none or it expired (expires_at <= now).
  [[nodiscard]] virtual std::optional<RvRegistration> get_rv_registration(const Guid& guid, std::int64_t now) = 0;
  /// Removes the registration; false if it was not stored.
  virtual bool erase_rv_registration(const Guid& guid) = 0;
  /// Removes every registration with expires_at <= now; returns how many.
  virtual std::size_t purge_expired_rv_registrations(std::int64_t now) = 0;
  /// How many registrations are live at `now`.
  [[nodiscard]] virtual std::size_t count_rv_registrations(std::int64_t now) = 0;
  /// At most `limit` registrations live at `now`, ordered by GUID (byte order), with a GUID greater than `after`
  /// (from the smallest when nullopt): a keyset page.
  [[nodiscard]] virtual std::vector<RvRegistration> list_rv_registrations(std::int64_t now,
                                                                          const std::optional<Guid>& after,
                                                                          std::size_t limit) = 0;

  // The owner's per-device status (docs/owner.md), keyed by the voucher's GUID.

  /// Stores the record, replacing any record with the same GUID.
  virtual void put_owner_device(const OwnerDeviceRecord& record) = 0;
  /// The record with this GUID, or nullopt.
  [[nodiscard]] virtual std::optional<OwnerDeviceRecord> get_owner_device(const Guid& guid) = 0;
  /// Every record, ordered by updated_at, then GUID.
  [[nodiscard]] virtual std::vector<OwnerDeviceRecord> list_owner_devices() = 0;
  /// Removes the record; false if it was not stored.
  virtual bool erase_owner_device(const Guid& guid) = 0;

  /// Makes every change of this transaction durable and visible, and ends it. Throws Error(InternalServerError)
  /// if that fails (then nothing was committed) or the transaction already ended.
  virtual void commit() = 0;
};

/// A database of server state. Thread safe: any thread may begin() a transaction.
class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  /// Starts a transaction, waiting up to 5 s while another one (SQLite, in-memory) or every pooled connection
  /// (PostgreSQL) is taken. Throws Error(InternalServerError) if
  /// that times out, the storage fails, or this thread already holds an open transaction on this store.
  [[nodiscard]] virtual std::unique_ptr<Transaction> begin() = 0;
};

/// Runs `read` on a transaction that is rolled back afterwards: a short, consistent look at a few records,
/// for the work a request does outside its writing transaction.
template <typename F>
auto read_only(Store& store, F&& read) {
  const std::unique_ptr<Transaction> tx = store.begin();
  return read(*tx);
}

}  // namespace fdo::storage
