#pragma once
// Shared by the file-transfer modules fdo.download, fdo.upload and fdo.wget (docs/service-info.md "fdo.download",
// "fdo.upload", "fdo.wget"): the owner's deadline clock, the owner's failure rule and the SHA-384 helpers.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"

namespace fdo::fsim::transfer {

/// Bytes of a SHA-384 digest, the checksum these FSIMs carry in `sha-384`.
inline constexpr std::size_t kSha384Size = 48;
/// Largest file a device module buffers (download, wget) or sends (upload): 256 MiB.
inline constexpr std::uint64_t kMaxDeviceFile = std::uint64_t{256} << 20;
/// Default seconds an owner module waits for the device's answer (docs/service-info.md: 10 min).
inline constexpr std::int64_t kDefaultTimeout = 600;

/// Wall-clock milliseconds since 1970, for deadlines kept in owner state (any server process may check them).
[[nodiscard]] std::int64_t now_ms();

/// SHA-384 of the whole file at `path`, reading it in blocks; its length in `length`. Error(InternalServerError).
Bytes sha384_file(const std::filesystem::path& path, std::uint64_t& length);

/// Owner failure rule: a required module throws Error(code) "MODULE: WHY" (the engine records it and TO2 ends);
/// an optional one only logs, and the module records the failure in its summary().
void owner_failure(std::string_view module, bool required, const std::string& why,
                   ErrorCode code = ErrorCode::InternalServerError);

}  // namespace fdo::fsim::transfer
