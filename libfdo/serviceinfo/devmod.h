#pragma once
// devmod, the one mandatory ServiceInfo module (FDO 1.1 §3.8 devmod table): the device describes itself in its
// first TO2.DeviceServiceInfo messages; the owner collects it (docs/service-info.md "The 68/69 loop").

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/serviceinfo/kv.h"

namespace fdo::serviceinfo {

/// The module name "devmod".
inline constexpr std::string_view kDevmod = "devmod";
/// The message every module has for activation (FDO 1.1 §3.8): "module:active", a bool.
inline constexpr std::string_view kActive = "active";

/// The devmod values (FDO 1.1 §3.8). An empty string is a key not sent (device) or not received (owner).
struct DevmodInfo {
  std::string os;       ///< required, "Linux"
  std::string arch;     ///< required, "x86_64"
  std::string version;  ///< required, "Debian GNU/Linux 12"
  std::string device;   ///< required, the model
  std::string sn;       ///< serial number; a received bstr is kept as text if printable UTF-8, else hex
  std::string pathsep;  ///< "/"
  std::string sep;      ///< required, list separator ":"
  std::string nl;       ///< "\n"
  std::string tmp;      ///< temp directory
  std::string dir;      ///< suggested install directory
  std::string progenv;  ///< sep-separated programming environments, "bin:sh"
  std::string bin;      ///< required, sep-separated binary formats
  std::string mudurl;   ///< MUD file URL
  /// devmod:nummodules as received (owner); the device engine computes it from `modules`.
  std::uint64_t nummodules = 0;
  /// devmod:modules: names in arrival order (owner); the device's list ("devmod" first).
  std::vector<std::string> modules;

  bool operator==(const DevmodInfo&) const = default;
  /// CBOR for stored owner state (not a wire format).
  [[nodiscard]] Bytes encode() const;
  /// Reads encode()'s output; Error(MessageBodyError) if malformed.
  static DevmodInfo decode(ByteView in);
};

/// The devmod KVs a device sends, in order: active, os, arch, version, device, sn, pathsep, sep, nl, tmp, dir,
/// progenv, bin, mudurl (empty ones left out), nummodules, then devmod:modules as [start, count, names...] chunks
/// of at most `max_kv_size` bytes each (FDO 1.1 §3.8; start is the index of the chunk's first name).
/// A name too long for a chunk of its own is Error(InternalServerError).
ServiceInfo devmod_kvs(const DevmodInfo& info, std::size_t max_kv_size);

/// Owner: merges one devmod message into `info`. devmod:modules names are appended in arrival order; `start` is only
/// checked and logged (docs/service-info.md "The 68/69 loop"). A wrong value type is Error(MessageBodyError); an unknown
/// devmod message is logged and ignored.
void merge_devmod(DevmodInfo& info, std::string_view message, ByteView value);
/// Names of the required devmod keys that `info` lacks (the owner logs them and carries on).
[[nodiscard]] std::vector<std::string> missing_required(const DevmodInfo& info);

/// What devmod_from_os() reads, separated so that tests can feed a fake machine.
struct OsFacts {
  std::string sysname;       ///< uname(2) sysname, "Linux"
  std::string release;       ///< uname(2) release
  std::string machine;       ///< uname(2) machine, "x86_64"
  std::string os_release;    ///< text of /etc/os-release (or /usr/lib/os-release); empty if neither exists
  std::string product_name;  ///< DMI product name, empty if unreadable
  std::string tmp_dir;       ///< $TMPDIR or "/tmp"
};
/// uname(2), os-release(5), /sys/class/dmi/id/product_name and $TMPDIR of this machine.
OsFacts read_os_facts();
/// The devmod values for those facts (sn and modules are left for the caller).
DevmodInfo devmod_from_facts(const OsFacts& facts);
/// devmod_from_facts(read_os_facts()).
DevmodInfo devmod_from_os();

}  // namespace fdo::serviceinfo
