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

void add_trace_option(CLI::App& cmd, std::filesystem::path& dir) {
  cmd.add_option("--trace", dir,
                 "Write every protocol message into DIR, one file each, as field-named CBOR diagnostic notation "
                 "(ServiceInfo values masked)");
}

void add_credential_options(CLI::App& cmd, std::filesystem::path& credential, std::string& tcti,
                            const std::string& credential_help) {
  cmd.add_option("--credential", credential, credential_help + " (with --tpm: a copy of the public parts)");
  cmd.add_option("--tpm", tcti,
                 "Keep the credential and its keys in the TPM behind this TCTI (swtpm:host=127.0.0.1,port=2321, "
                 "device:/dev/tpmrm0; docs/tpm-credentials.md)");
  cmd.parse_complete_callback([&credential, &tcti] {
    if (credential.empty() && tcti.empty()) {
      throw CLI::RequiredError("--credential or --tpm");
    }
  });
}

DeviceState open_device(const std::filesystem::path& credential, const std::string& tcti) {
  DeviceState state;
  if (tcti.empty()) {
    state.credential = load_credential(credential);
    state.store = std::make_unique<protocol::FileCredentialStore>(credential);
    state.signer = protocol::software_signer(state.credential);
    state.hmac = protocol::software_hmac(state.credential);
    return state;
  }
  state.tpm = tpm::TpmDevice::open(tcti);
  std::optional<std::filesystem::path> cache;
  if (!credential.empty()) {
    cache = credential;
  }
  state.store = std::make_unique<tpm::TpmCredentialStore>(state.tpm->fdo(), tcti, cache);
  std::optional<DeviceCredential> loaded = state.store->load();
  if (!loaded) {
    throw_internal("no FDO credential in the TPM at " + tcti + (state.tpm->fdo().provisioned()
                                                                    ? " (it is provisioned; run `fdo-device di --tpm …`)"
                                                                    : " (run `fdo-device di --tpm …` first)"));
  }
  state.credential = std::move(*loaded);
  state.signer = std::make_unique<tpm::TpmSigner>(state.tpm->fdo());
  state.hmac = std::make_unique<tpm::TpmHmac>(state.tpm->fdo());
  return state;
}

}  // namespace fdo::device_tool
