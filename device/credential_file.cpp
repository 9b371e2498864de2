// Reading the device credential file for `show` and `to1`: what the file is when it is not a credential.

#include <exception>
#include <optional>

#include "device/commands.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/voucher.h"

namespace fdo::device_tool {
namespace {

// Whether `data` holds an ownership voucher (PEM or CBOR): the file people most often give by mistake.
bool is_voucher(ByteView data) {
  try {
    const std::vector<voucher::VoucherInput> inputs = voucher::read_vouchers(data);
    static_cast<void>(voucher::OwnershipVoucher::decode(inputs.at(0).cbor));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

DeviceCredential load_credential(const std::filesystem::path& path) {
  std::optional<DeviceCredential> credential;
  try {
    credential = protocol::FileCredentialStore(path).load();
  } catch (const Error& e) {
    if (const std::optional<Bytes> data = read_file_if_exists(path); data && is_voucher(*data)) {
      throw_body_error(path.string() +
                       " is an ownership voucher, not a device credential (`fdo-reseller show` "
                       "reads vouchers; `fdo-device di` writes credentials)");
    }
    throw Error(e.code(), path.string() + " is not a device credential: " + e.what());
  }
  if (!credential) {
    throw_internal("no credential at " + path.string() + " (run `fdo-device di` first)");
  }
  return std::move(*credential);
}

}  // namespace fdo::device_tool
