#pragma once
// Helpers shared by the storage tests (store_test.cpp, sqlite_store_test.cpp); not part of fdo_storage.

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/storage/records.h"
#include "libfdo/storage/store.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace fdo::storage::test {

/// The "current time" the tests pass to the store.
inline constexpr std::int64_t kNow = 1'700'000'000;

/// A fresh directory, removed with its contents on destruction. It lies in /dev/shm where that exists: SQLite's
/// locking works the same there, and fsync costs nothing, so the tests do not wait for the disk.
class TempDir {
 public:
  TempDir() : m_path(base() / ("fdo-storage-test-" + to_hex(random_bytes(8)))) {
    std::filesystem::create_directories(m_path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

 private:
  static std::filesystem::path base() {
    std::error_code ec;
    const std::filesystem::path shm = "/dev/shm";
    if (std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0) {
      return shm;
    }
    return std::filesystem::temp_directory_path();
  }

  std::filesystem::path m_path;
};

/// A GUID whose bytes are all `fill`.
inline Guid guid_of(std::uint8_t fill) {
  Guid g;
  g.bytes.fill(fill);
  return g;
}

inline Session make_session(std::string token, std::int64_t expires_at = kNow + 300) {
  return Session{
      .token = std::move(token), .protocol = "to2", .state = Bytes{0x82, 0x01, 0x02}, .expires_at = expires_at};
}

inline VoucherRecord make_voucher(std::uint8_t fill, std::string serial, std::int64_t created_at = kNow) {
  return VoucherRecord{
      .guid = guid_of(fill),
      .serial = std::move(serial),
      .device_info = "test-device",
      .voucher = Bytes{0x85, 0x18, 0x65, fill},
      .created_at = created_at,
      .owner_key_id = "ab" + to_hex(Bytes{fill}),
  };
}

inline RvRegistration make_registration(std::uint8_t fill, std::int64_t expires_at = kNow + 3600) {
  return RvRegistration{
      .guid = guid_of(fill),
      .to1d = Bytes{0xd2, 0x84, fill},
      .voucher = Bytes{0x85, 0x18, 0x65, fill},
      .owner_key = Bytes{0x83, 0x0a, 0x01, fill},
      .device_key = Bytes{0x81, 0x59, fill},
      .expires_at = expires_at,
      .registered_at = kNow,
  };
}

inline OwnerDeviceRecord make_owner_device(std::uint8_t fill, std::string state = "imported",
                                           std::int64_t updated_at = kNow) {
  return OwnerDeviceRecord{
      .guid = guid_of(fill),
      .state = std::move(state),
      .step = "TO0 http://127.0.0.1:8041",
      .error = "",
      .new_guid = "",
      .to0_expires_at = kNow + 3600,
      .to0_detail = "http://127.0.0.1:8041: 3600 s",
      .onboard_count = fill,
      .updated_at = updated_at,
      .replaces = "00112233445566778899aabbccddeeff",
      .modules = "fdo_sys: done: exit 0",
  };
}

/// Session state holding a counter as 8 big-endian bytes.
inline Bytes encode_counter(std::uint64_t value) {
  Bytes out(8);
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
  return out;
}

inline std::uint64_t decode_counter(ByteView state) {
  if (state.size() != 8) {
    throw_internal("test counter: expected 8 bytes");
  }
  std::uint64_t value = 0;
  for (const std::uint8_t b : state) {
    value = (value << 8) | b;
  }
  return value;
}

/// Stores session `token` with a counter of 0.
inline void create_counter(Store& store, std::string_view token) {
  const auto tx = store.begin();
  tx->insert_session(
      Session{.token = std::string(token), .protocol = "di", .state = encode_counter(0), .expires_at = kNow + 300});
  tx->commit();
}

/// Reads the counter.
inline std::uint64_t read_counter(Store& store, std::string_view token) {
  const auto tx = store.begin();
  const auto session = tx->get_session(token, kNow);
  if (!session) {
    throw_internal("test counter: session missing");
  }
  return decode_counter(session->state);
}

/// Adds one to the counter by read-modify-write in one transaction; `between` runs between read and write, to
/// give a concurrent writer the chance to interleave if the store let it. False (nothing stored) when another
/// update moved the session on first, which only a store that does not serialise transactions allows.
template <typename Between>
bool try_increment_counter(Store& store, std::string_view token, Between between) {
  const auto tx = store.begin();
  std::optional<Session> session = tx->get_session(token, kNow);
  if (!session) {
    throw_internal("test counter: session missing");
  }
  const std::uint64_t value = decode_counter(session->state);
  between();
  session->state = encode_counter(value + 1);
  if (!tx->update_session(*session)) {
    return false;
  }
  tx->commit();
  return true;
}

/// As try_increment_counter(), for a store that serialises transactions: throws if the update found no session.
template <typename Between>
void increment_counter(Store& store, std::string_view token, Between between) {
  if (!try_increment_counter(store, token, between)) {
    throw_internal("test counter: update found no session");
  }
}

}  // namespace fdo::storage::test
