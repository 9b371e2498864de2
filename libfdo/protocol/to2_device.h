#pragma once
// The device's side of TO2 (FDO 1.1 §5.5): check the owner's proof and the voucher entry by entry, prove itself,
// open the tunnel, run its ServiceInfo modules and compute its next credential. docs/protocols/to2.md.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/crypto/kdf.h"
#include "libfdo/crypto/kex.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/trace_file.h"
#include "libfdo/serviceinfo/device_engine.h"
#include "libfdo/serviceinfo/devmod.h"
#include "libfdo/transport/transport.h"
#include "libfdo/types/device_credential.h"

namespace fdo::protocol {

/// The key exchange and cipher suite a device offers when none is configured (docs/protocols/to2.md "Suites"):
/// ECDH256 + A128GCM for P-256 and RSA-2048 device keys, ECDH384 + A256GCM for P-384 and RSA-3072.
struct SuitePair {
  crypto::KexSuite kex;
  crypto::CipherSuite cipher;
};
SuitePair default_suites(crypto::KeyType device_key);

/// How the device runs TO2.
struct To2DeviceOptions {
  /// The key exchange and cipher suite to ask for; nullopt takes default_suites().
  std::optional<crypto::KexSuite> kex;
  std::optional<crypto::CipherSuite> cipher;
  /// Messages for modules the device lacks fail TO2 instead of being skipped (docs/service-info.md).
  bool strict_modules = false;
  /// Whether the device accepts credential reuse when the owner offers it (FDO 1.1 §5.5.7); refused with 102.
  bool allow_reuse = true;
  /// The to1d of TO1.RVRedirect when the device came through TO1: verified with the owner key once the voucher is
  /// proven (FDO 1.1 §5.5.3 check 11). nullopt after RVBypass or `--owner-url`.
  std::optional<Bytes> to1d;
  /// The HMAC for ReplacementHMac when the device renews its HMAC secret (CredentialStore::next_hmac); nullptr
  /// uses the current secret.
  const DeviceHmac* replacement_hmac = nullptr;
  /// The device's ServiceInfo modules and devmod values (docs/service-info.md).
  std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
  serviceinfo::DevmodInfo devmod;
  /// maxOwnerServiceInfoSz of TO2.DeviceServiceInfoReady: the largest ServiceInfo the device receives.
  std::uint16_t max_owner_service_info_sz = 1300;
  /// maxDeviceMessageSize of TO2.HelloDevice (0: the default).
  std::uint16_t max_device_message_size = 65535;
  /// Named deviations accepted from the owner (docs/interop.md).
  Leniency leniency;
  /// When set, the tunnel's messages are also written decrypted (`fdo-device --trace`, protocol/trace_file.h).
  TraceDir* trace = nullptr;
  /// One line per protocol step, for the CLI.
  std::function<void(std::string_view)> progress;
  /// Waits between empty ServiceInfo polls (docs/service-info.md "loop rules" L5); tests replace it.
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// What a successful TO2 gives the device.
struct To2Result {
  /// The credential to store now (FDO 1.1 §5.5.13): the new GUID, RendezvousInfo and owner key hash with
  /// DCActive false, or the unchanged credential when the device accepted credential reuse.
  DeviceCredential credential;
  bool reused = false;
  SuitePair suites;
  /// The modules of the ServiceInfo exchange, as the device saw them.
  std::vector<serviceinfo::DeviceModuleReport> modules;
};

/// Runs TO2 once against an owner, FDO 1.1 §5.5: 60→61, (62→63)×N, 64→65, 66→67, (68→69)…, 70→71. Each check on the
/// owner's messages is in docs/protocols/to2.md with its code; a failed check sends our 255 to the owner and
/// throws, and nothing of `credential` changes. The caller stores `To2Result::credential` (after Done2 only).
To2Result run_to2(transport::MessageTransport& transport, const DeviceCredential& credential,
                  const DeviceSigner& signer, const DeviceHmac& hmac, To2DeviceOptions options);

}  // namespace fdo::protocol
