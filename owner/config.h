#pragma once
// The owner's directory (docs/cli.md `fdo-owner init`), shared by every fdo-owner subcommand:
//   DIR/owner.key.pem           the owner private key, PKCS#8, 0600 (signs to1d in TO0, ProveOVHdr in TO2)
//   DIR/owner.pub.pem           its public key, what a reseller extends vouchers to
//   DIR/owner-TYPE.key.pem      further owner keys of other types (init --key-type given again), with .pub.pem
//   DIR/device-app-ca.key.pem   the device-application CA key, PKCS#8, 0600 (ServiceInfo credentials, later)
//   DIR/device-app-ca.cert.pem  its self-signed certificate
//   DIR/admin-token             the bearer token of the admin API, 64 hex digits, 0600 (docs/owner.md "Admin API")
//   DIR/owner.db                the owner's store: vouchers and per-device status (default of --db)

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/crypto/keys.h"
#include "libfdo/storage/open_store.h"
#include "libfdo/storage/store.h"
#include "tools/common/admin.h"
#include "tools/common/key_files.h"

namespace fdo::owner_tool {

/// The files of an owner directory.
struct OwnerDir {
  std::filesystem::path dir;
  [[nodiscard]] std::filesystem::path owner_key() const { return dir / "owner.key.pem"; }
  [[nodiscard]] std::filesystem::path owner_pub() const { return dir / "owner.pub.pem"; }
  /// A further owner key of another type (init --key-type given more than once).
  [[nodiscard]] std::filesystem::path owner_key(std::string_view type) const {
    return dir / ("owner-" + std::string(type) + ".key.pem");
  }
  [[nodiscard]] std::filesystem::path owner_pub(std::string_view type) const {
    return dir / ("owner-" + std::string(type) + ".pub.pem");
  }
  [[nodiscard]] std::filesystem::path ca_key() const { return dir / "device-app-ca.key.pem"; }
  [[nodiscard]] std::filesystem::path ca_cert() const { return dir / "device-app-ca.cert.pem"; }
  [[nodiscard]] std::filesystem::path admin_token() const { return tool::admin_token_path(dir); }
  /// The owner's SQLite store unless --db names another file.
  [[nodiscard]] std::filesystem::path db() const { return dir / "owner.db"; }
  /// `db_option` (--db) when given, else db().
  [[nodiscard]] std::filesystem::path db(const std::filesystem::path& db_option) const {
    return db_option.empty() ? db() : db_option;
  }
};

/// Creates DIR (0700), the owner key of the first of `key_types` and its public key (owner.key.pem), a key of each
/// further type (owner-TYPE.key.pem), the device-application CA key of
/// `ca_key_type` with a self-signed certificate, and the admin token (32 random bytes as hex, 0600): only files
/// that are absent (an existing key or token is never replaced).
/// Private keys are written 0600 and atomically. Error(MessageBodyError) for an unknown key type,
/// Error(InternalServerError) when a file cannot be written.
std::vector<tool::InitStep> init_owner_dir(const OwnerDir& dir, const std::vector<std::string>& key_types,
                                           const std::string& ca_key_type);

/// The owner keys a process holds (docs/owner.md "Owner keys"): each voucher is served with the key its last entry
/// names (FDO 1.1 §3.4.2). Non-owning: the keys outlive the ring. A single key converts implicitly.
class OwnerKeyRing {
 public:
  OwnerKeyRing(const crypto::PrivateKey& key);  // NOLINT(google-explicit-constructor)
  explicit OwnerKeyRing(const std::vector<crypto::PrivateKey>& keys);
  /// The key whose public half is `key`, or nullptr.
  [[nodiscard]] const crypto::PrivateKey* find(const crypto::PublicKey& key) const;
  /// The first key (owner.key.pem); the ring is never empty.
  [[nodiscard]] const crypto::PrivateKey* first() const { return m_keys.front(); }
  /// "p256" or "p256, rsa2048": the key types, for messages.
  [[nodiscard]] std::string describe() const;

 private:
  std::vector<const crypto::PrivateKey*> m_keys;
  /// SubjectPublicKeyInfo DER of each key, computed once (find() runs on every TO2 run).
  std::vector<Bytes> m_spki;
};

/// Every owner key of DIR: owner.key.pem first, then owner-TYPE.key.pem in type order. Error(InternalServerError) as
/// load_owner_key.
std::vector<crypto::PrivateKey> load_owner_keys(const OwnerDir& dir);

/// The owner private key of DIR. Error(InternalServerError) naming the file when it is missing ("run fdo-owner
/// init") or does not parse.
crypto::PrivateKey load_owner_key(const OwnerDir& dir);

/// Opens the owner's store at `spec` (its db is dir.db(--db): a SQLite file or a postgresql:// URI). With `create`
/// false a missing SQLite file gives nullptr (listing must not create one). Error(InternalServerError) when DIR
/// does not exist (a mistyped --dir is a failure, not an empty list) or the database cannot be opened.
std::unique_ptr<storage::Store> open_owner_store(const OwnerDir& dir, const storage::StoreSpec& spec, bool create);

/// The store of a one-shot subcommand (vouchers, devices): dir.db(--db), --db-password-file, one connection.
storage::StoreSpec command_store_spec(const OwnerDir& dir, const std::filesystem::path& db,
                                      const std::filesystem::path& password_file);

}  // namespace fdo::owner_tool
