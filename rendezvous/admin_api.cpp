#include "rendezvous/admin_api.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "libfdo/core/error.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/messages/to1.h"
#include "libfdo/protocol/dispatcher.h"
#include "libfdo/types/json.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/voucher.h"
#include "tools/common/admin.h"
#include "tools/common/cli.h"

namespace fdo::rendezvous {
namespace {

constexpr std::string_view kRegistrationsPath = "/admin/registrations";

std::string sha256_hex(ByteView bytes) { return to_hex(crypto::hash(crypto::HashAlg::Sha256, bytes)); }

// A key as the trust list and the registrations show it: its type and the SHA-256 of its SubjectPublicKeyInfo DER,
// what `openssl pkey -pubin -outform DER | sha256sum` prints for its PEM.
void write_key(JsonWriter& j, const crypto::PublicKey& key) {
  j.begin_object();
  j.key("key_type").string(crypto::key_type_name(key.type()));
  j.key("spki_sha256").string(sha256_hex(key.spki_der()));
  j.end_object();
}

// One registration (FDO 1.1 §5.3.3): what TO0.OwnerSign stored. Parts that do not decode are null; the stored to1d
// and voucher themselves are not shown.
void write_registration(JsonWriter& j, const storage::RvRegistration& r, std::int64_t now) {
  std::optional<crypto::PublicKey> owner_key;
  try {
    owner_key = PublicKey::decode(r.owner_key).key();
  } catch (const Error&) {
  }
  std::optional<voucher::OwnershipVoucher> ov;
  try {
    ov = voucher::OwnershipVoucher::decode(r.voucher);
  } catch (const Error&) {
  }
  std::optional<to1::RVRedirect> to1d;
  try {
    to1d = to1::RVRedirect::from_stored(r.to1d);
  } catch (const Error&) {
  }
  j.begin_object();
  j.key("guid").string(r.guid.hex());
  j.key("registered_at").integer(r.registered_at);
  j.key("expires_at").integer(r.expires_at);
  j.key("expires_in").integer(std::max<std::int64_t>(0, r.expires_at - now));
  // The SHA-256 of the owner key's CBOR, as the manufacturer's and the owner's voucher lists name it.
  j.key("owner_key_id").string(sha256_hex(r.owner_key));
  j.key("owner_key");
  if (owner_key) {
    write_key(j, *owner_key);
  } else {
    j.null();
  }
  j.key("manufacturer_key");
  if (ov) {
    write_key(j, ov->header().ov_pub_key.key());
  } else {
    j.null();
  }
  j.key("device_info");
  if (ov) {
    j.string(ov->header().ov_device_info);
  } else {
    j.null();
  }
  // to1dRV: where the owner said the device finds it (FDO 1.1 §5.3.3).
  j.key("to2_addresses");
  if (to1d) {
    to1d->to1d_payload.to1d_rv.to_json(j);
  } else {
    j.null();
  }
  j.key("to2_urls").begin_array();
  if (to1d) {
    for (const std::string& url : to1d->to1d_payload.to1d_rv.to_urls()) {
      j.string(url);
    }
  }
  j.end_array();
  j.end_object();
}

transport::AdminResponse list(storage::Store& store, const transport::AdminRequest& request) {
  const tool::Page page = tool::parse_page(request.query);
  if (tool::query_value(request.query, "offset")) {
    throw_body_error("offset: this list is paged with after=GUID (the \"next\" of the previous page)");
  }
  const std::optional<std::string> after_text = tool::query_value(request.query, "after");
  const std::optional<Guid> after =
      after_text && !after_text->empty() ? std::optional<Guid>(parse_guid(*after_text)) : std::nullopt;
  const std::int64_t now = protocol::unix_now();
  std::vector<storage::RvRegistration> records = storage::read_only(
      store, [&](storage::Transaction& tx) { return tx.list_rv_registrations(now, after, page.limit + 1); });
  const bool more = records.size() > page.limit;
  records.resize(std::min(records.size(), page.limit));
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat).key("limit").uinteger(page.limit);
  j.key("registrations").begin_array();
  for (const storage::RvRegistration& r : records) {
    write_registration(j, r, now);
  }
  j.end_array().key("next");
  if (more) {
    j.string(records.back().guid.hex());
  } else {
    j.null();
  }
  j.end_object();
  return tool::json_answer(200, j.str());
}

transport::AdminResponse show(storage::Store& store, const transport::AdminRequest& request) {
  const Guid guid = tool::guid_param(request);
  const std::int64_t now = protocol::unix_now();
  const std::optional<storage::RvRegistration> r =
      storage::read_only(store, [&](storage::Transaction& tx) { return tx.get_rv_registration(guid, now); });
  if (!r) {
    return tool::json_error(404, "no live registration for GUID " + guid.hex());
  }
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat).key("registration");
  write_registration(j, *r, now);
  j.end_object();
  return tool::json_answer(200, j.str());
}

// One transaction reads and removes the registration; an expired one that the sweep has not removed yet goes too,
// but answers 404 as GET does.
transport::AdminResponse remove_registration(storage::Store& store, const transport::AdminRequest& request) {
  const Guid guid = tool::guid_param(request);
  const std::int64_t now = protocol::unix_now();
  const auto tx = store.begin();
  const std::optional<storage::RvRegistration> r = tx->get_rv_registration(guid, now);
  const bool erased = tx->erase_rv_registration(guid);
  tx->commit();
  if (!r) {
    return tool::json_error(404, "no live registration for GUID " + guid.hex());
  }
  static_cast<void>(erased);
  log::info("admin: deleted the TO0 registration of GUID " + guid.hex() + " at the request of " + request.peer);
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat).key("deleted");
  write_registration(j, *r, now);
  j.end_object();
  return tool::json_answer(200, j.str());
}

void write_trust_list(JsonWriter& j, const std::optional<TrustList>& list) {
  if (!list) {
    j.null();
    return;
  }
  j.begin_object().key("directory").string(list->directory.string()).key("keys").begin_array();
  for (const TrustedKeyFile& k : list->keys) {
    j.begin_object();
    j.key("file").string(k.file.filename().string());
    j.key("key_type").string(crypto::key_type_name(k.key.type()));
    j.key("spki_sha256").string(sha256_hex(k.key.spki_der()));
    j.end_object();
  }
  j.end_array().end_object();
}

transport::AdminResponse trust_answer(const TrustPolicy& trust) {
  JsonWriter j;
  j.begin_object().key("format").integer(tool::kJsonFormat);
  j.key("open").boolean(!trust.owner_keys && !trust.manufacturer_keys);
  j.key("owner_keys");
  write_trust_list(j, trust.owner_keys);
  j.key("manufacturer_keys");
  write_trust_list(j, trust.manufacturer_keys);
  j.key("check_device_chain").boolean(trust.check_device_chain);
  j.end_object();
  return tool::json_answer(200, j.str());
}

}  // namespace

void add_admin_routes(transport::HttpServer& server, storage::Store& store, const TrustPolicy& trust,
                      const std::string& token) {
  const std::string path(kRegistrationsPath);
  server.add_admin_route("GET", path, tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           return list(store, request);
                         }));
  server.add_admin_route("GET", path + "/{guid}", tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           return show(store, request);
                         }));
  server.add_admin_route("DELETE", path + "/{guid}",
                         tool::guarded(token, [&store](const transport::AdminRequest& request) {
                           return remove_registration(store, request);
                         }));
  server.add_admin_route("GET", "/admin/trust", tool::guarded(token, [&trust](const transport::AdminRequest&) {
                           return trust_answer(trust);
                         }));
}

}  // namespace fdo::rendezvous
