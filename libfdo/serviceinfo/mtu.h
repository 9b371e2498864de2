#pragma once
// ServiceInfo size limits and the packing of KVs into TO2.DeviceServiceInfo (68) and TO2.OwnerServiceInfo (69)
// bodies (FDO 1.1 §3.8, §5.5.8-§5.5.11; our rules in docs/service-info.md "MTU and packing").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "libfdo/serviceinfo/kv.h"

namespace fdo::serviceinfo {

/// The size a null maxOwnerServiceInfoSz / maxDeviceServiceInfoSz stands for (FDO 1.1 §5.5.8, §5.5.9).
inline constexpr std::size_t kDefaultMtu = 1300;
/// The smallest limit we honour: a peer announcing less is treated as announcing 1300 (as the C SDK does).
inline constexpr std::size_t kMinMtu = 1300;
/// Flags before the ServiceInfo: 68 is [IsMoreServiceInfo, ServiceInfo], 69 [IsMoreServiceInfo, IsDone, ServiceInfo].
inline constexpr std::size_t kDeviceFlags = 1;
inline constexpr std::size_t kOwnerFlags = 2;

/// The send limit for a size the peer announced in 66 or 67: null is 1300, anything below 1300 counts as 1300
/// (logged, naming `field`).
[[nodiscard]] std::size_t effective_mtu(std::optional<std::uint64_t> announced, std::string_view field);

/// Size of the plaintext body `[flags..., ServiceInfo]` with `flags` booleans: what must fit the peer's limit.
[[nodiscard]] std::size_t body_size(const ServiceInfo& kvs, std::size_t flags);
/// Largest encoded_size() of a KV that fits alone in a body with `flags` booleans under `limit`; 0 if none.
[[nodiscard]] std::size_t max_single_kv(std::size_t limit, std::size_t flags);
/// Largest n such that a KV `key` whose value is a bstr of n bytes has encoded_size() <= kv_budget; 0 if none.
/// Modules use it to cut data into blocks that fit (fdo.download:data, fdo_sys:write).
[[nodiscard]] std::size_t max_bstr_chunk(std::size_t kv_budget, std::string_view key);

/// Fills one 68 or 69 body with whole KVs while the body stays <= the limit (the whole plaintext body counts).
class Packer {
 public:
  Packer(std::size_t limit, std::size_t flags) : m_limit(limit), m_flags(flags) {}
  /// Adds `kv` if the body still fits afterwards; returns whether it did.
  bool try_add(const ServiceInfoKv& kv);
  /// Bytes left for further KVs, counting the array head growing by up to two bytes (a safe module budget).
  [[nodiscard]] std::size_t room() const;
  /// Whether this KV would fit into an otherwise empty body.
  [[nodiscard]] bool fits_alone(const ServiceInfoKv& kv) const;
  [[nodiscard]] bool empty() const { return m_kvs.empty(); }
  [[nodiscard]] std::size_t size() const { return m_size; }
  [[nodiscard]] const ServiceInfo& kvs() const { return m_kvs; }
  /// Moves the packed KVs out.
  [[nodiscard]] ServiceInfo take() && { return std::move(m_kvs); }

 private:
  std::size_t m_limit;
  std::size_t m_flags;
  std::size_t m_size = 0;  // sum of encoded_size() of m_kvs
  ServiceInfo m_kvs;
};

}  // namespace fdo::serviceinfo
