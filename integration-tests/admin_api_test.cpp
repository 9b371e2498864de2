// The admin APIs of the three servers against their OpenAPI documents (docs/api/README.md), with real processes:
// every route a server registers (its debug log lists them) is in its document, every documented operation answers
// as documented with a real GUID made through DI, TO0 and import, and the JSON has the documented required members.
// Then the new endpoints one by one: cursor paging, delete, wrong token, malformed GUID.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/guid_text.h"
#include "libfdo/storage/sqlite_store.h"

namespace fdo::integration {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using nlohmann::ordered_json;

std::string token_of(const std::filesystem::path& dir) {
  std::string token = to_string(read_file(dir / "admin-token"));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  return token;
}

ordered_json load_document(std::string_view name) {
  const std::filesystem::path path = std::filesystem::path(FDO_SOURCE_DIR) / "docs" / "api" / name;
  return ordered_json::parse(to_string(read_file(path)));
}

// A schema with its $ref resolved against the document.
const ordered_json& resolve(const ordered_json& doc, const ordered_json& schema) {
  if (!schema.contains("$ref")) {
    return schema;
  }
  std::string ref = schema["$ref"].get<std::string>();  // "#/components/schemas/X"
  const ordered_json* at = &doc;
  std::stringstream parts(ref.substr(2));
  std::string part;
  while (std::getline(parts, part, '/')) {
    at = &at->at(part);
  }
  return resolve(doc, *at);
}

// Problems of `value` against `schema`: required members, types, nullable, arrays, oneOf. "" when it conforms.
std::string check(const ordered_json& doc, const ordered_json& schema_in, const ordered_json& value,
                  const std::string& where) {
  const ordered_json& schema = resolve(doc, schema_in);
  if (value.is_null()) {
    return schema.value("nullable", false) || !schema.contains("type") ? "" : where + ": null but not nullable\n";
  }
  if (schema.contains("oneOf")) {
    for (const ordered_json& option : schema["oneOf"]) {
      if (check(doc, option, value, where).empty()) {
        return "";
      }
    }
    return where + ": matches none of oneOf\n";
  }
  const std::string type = schema.value("type", "");
  if (type == "object") {
    if (!value.is_object()) {
      return where + ": not an object\n";
    }
    std::string problems;
    const ordered_json required = schema.value("required", ordered_json::array());
    const ordered_json properties = schema.value("properties", ordered_json::object());
    for (const ordered_json& name : required) {
      if (!value.contains(name.get<std::string>())) {
        problems += where + ": no required member " + name.get<std::string>() + "\n";
      }
    }
    for (const auto& [name, sub] : properties.items()) {
      if (value.contains(name)) {
        problems += check(doc, sub, value[name], where + "." + name);
      }
    }
    return problems;
  }
  if (type == "array") {
    if (!value.is_array()) {
      return where + ": not an array\n";
    }
    std::string problems;
    for (std::size_t i = 0; i < value.size() && schema.contains("items"); ++i) {
      problems += check(doc, schema["items"], value[i], where + "[" + std::to_string(i) + "]");
    }
    return problems;
  }
  if ((type == "string" && !value.is_string()) || (type == "integer" && !value.is_number_integer()) ||
      (type == "boolean" && !value.is_boolean())) {
    return where + ": not a " + type + "\n";
  }
  return "";
}

// "http: route GET /x on the admin listener" lines of a server's debug log.
std::set<std::pair<std::string, std::string>> logged_routes(const std::string& log) {
  std::set<std::pair<std::string, std::string>> out;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t at = line.find("http: route ");
    if (at == std::string::npos) {
      continue;
    }
    std::istringstream words(line.substr(at + 12));
    std::string method;
    std::string path;
    std::string on;
    std::string the;
    std::string listener;
    words >> method >> path >> on >> the >> listener;
    out.emplace(method + " " + path, listener);
  }
  return out;
}

struct Target {
  std::string protocol_url;
  std::string admin_url;
  std::string token;
  std::map<std::string, std::string> params;  // {guid}, {serial}
  std::map<std::string, Bytes> bodies;        // "POST /path" → request body
};

std::string fill(std::string path, const std::map<std::string, std::string>& params) {
  for (const auto& [name, value] : params) {
    const std::string key = "{" + name + "}";
    for (std::size_t at = path.find(key); at != std::string::npos; at = path.find(key)) {
      path.replace(at, key.size(), value);
    }
  }
  return path;
}

// The document's conformance with the running server (docs/api/README.md "How the documents are tested").
void check_document(const ordered_json& doc, const Target& t, const std::string& log) {
  // Every route the server registered is documented, on the right listener.
  const std::set<std::pair<std::string, std::string>> routes = logged_routes(log);
  ASSERT_FALSE(routes.empty()) << log;
  for (const auto& [route, listener] : routes) {
    const std::size_t space = route.find(' ');
    std::string method = route.substr(0, space);
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    const std::string path = route.substr(space + 1);
    ASSERT_TRUE(doc["paths"].contains(path)) << route << " is not in the document";
    ASSERT_TRUE(doc["paths"][path].contains(method)) << route << " is not in the document";
    EXPECT_EQ(doc["paths"][path][method]["x-listener"], listener) << route;
  }
  // Every documented operation answers; destructive ones (DELETE, …/export) last.
  struct Op {
    std::string method;
    std::string path;
    const ordered_json* spec;
  };
  std::vector<Op> ops;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, spec] : item.items()) {
      if (method == "get" || method == "post" || method == "delete") {
        ops.push_back(Op{method, path, &spec});
        std::string upper = method;
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        EXPECT_TRUE(routes.contains({upper + " " + path, spec["x-listener"].get<std::string>()}))
            << upper << " " << path << " is documented but not served";
      }
    }
  }
  const auto destructive = [](const Op& op) {
    return op.method == "delete" || op.path.ends_with("/export");
  };
  std::stable_partition(ops.begin(), ops.end(), [&](const Op& op) { return !destructive(op); });
  for (const Op& op : ops) {
    const ordered_json& spec = *op.spec;
    std::string method = op.method;
    std::transform(method.begin(), method.end(), method.begin(), ::toupper);
    const std::string name = method + " " + op.path;
    const bool admin = spec["x-listener"] == "admin";
    const bool secured = !spec.contains("security") || !spec["security"].empty();
    const std::string& base = admin ? t.admin_url : t.protocol_url;
    const std::string path = fill(op.path, t.params);
    const ordered_json& responses = spec["responses"];
    Headers headers;
    if (secured) {
      headers.emplace_back("Authorization", "Bearer " + t.token);
    }
    const bool json = responses.contains("200") && responses["200"].contains("content") &&
                      responses["200"]["content"].contains("application/json");
    if (json) {
      headers.emplace_back("Accept", "application/json");
    }
    const auto body = t.bodies.find(name);
    if (secured) {
      // Without the token, and with another one: 401, as documented.
      for (const Headers& wrong : {Headers{}, Headers{{"Authorization", "Bearer " + std::string(64, 'f')}}}) {
        const HttpResponse r = http_request(base, method, path, wrong);
        EXPECT_EQ(r.status, 401) << name;
        EXPECT_TRUE(responses.contains("401")) << name;
      }
    }
    if (op.path.find("{guid}") != std::string::npos) {
      std::map<std::string, std::string> other = t.params;
      other["guid"] = "not-a-guid";
      EXPECT_EQ(http_request(base, method, fill(op.path, other), headers).status, 400) << name;
      EXPECT_TRUE(responses.contains("400")) << name;
      other["guid"] = Guid::random().hex();
      const HttpResponse missing = http_request(base, method, fill(op.path, other), headers,
                                                body == t.bodies.end() ? ByteView() : ByteView(body->second));
      EXPECT_EQ(missing.status, 404) << name;
      ASSERT_TRUE(responses.contains("404")) << name;
      const ordered_json& not_found = resolve(doc, responses["404"]);
      EXPECT_EQ(check(doc, not_found["content"]["application/json"]["schema"], ordered_json::parse(to_string(missing.body)),
                      name + " 404"),
                "");
    }
    const HttpResponse r =
        http_request(base, method, path, headers, body == t.bodies.end() ? ByteView() : ByteView(body->second));
    EXPECT_EQ(r.status, 200) << name << ": " << to_string(r.body);
    ASSERT_TRUE(responses.contains(std::to_string(r.status))) << name << " answered an undocumented " << r.status;
    const ordered_json& answer = resolve(doc, responses[std::to_string(r.status)]);
    const std::string content_type = r.header("Content-Type").value_or("");
    if (content_type.rfind("application/json", 0) == 0) {
      ASSERT_TRUE(answer["content"].contains("application/json")) << name;
      const ordered_json value = ordered_json::parse(to_string(r.body));
      EXPECT_EQ(check(doc, answer["content"]["application/json"]["schema"], value, name), "") << to_string(r.body);
    } else if (answer.contains("content")) {
      const std::string media = content_type.substr(0, content_type.find(';'));
      EXPECT_TRUE(answer["content"].contains(media)) << name << " answered " << content_type;
    }
  }
}

// A manufacturer whose vouchers go to the owner at once (--first-owner) and name the rendezvous server, a device
// through DI, its voucher registered by TO0 and imported by the owner: one real GUID on all three servers.
class AdminApiIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", path("owner")}).exit_code, 0);
    std::filesystem::create_directories(m_tmp / "trust");
    ASSERT_EQ(run_tool("fdo-owner", {"pubkey", "--dir", path("owner"), "-o", path("trust/owner.pub.pem")}).exit_code,
              0);
    m_rv = std::make_unique<ServerProcess>(
        "fdo-rendezvous", std::vector<std::string>{"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0",
                                                   "--admin-listen", "127.0.0.1:0", "--trust-owner-keys",
                                                   path("trust"), "--log-level", "debug"});
    ASSERT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")}).exit_code, 0);
    m_mfg = std::make_unique<ServerProcess>(
        "fdo-manufacturer",
        std::vector<std::string>{"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen",
                                 "127.0.0.1:0", "--rv", m_rv->url(), "--first-owner", path("trust/owner.pub.pem"),
                                 "--log-level", "debug"});
    m_guid = di("SN-API");
    const RunResult exported =
        run_tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), m_guid, "-o", path("v.pem")});
    ASSERT_EQ(exported.exit_code, 0) << exported.describe();
    const RunResult to0 = run_tool("fdo-owner", {"to0", "--dir", path("owner"), "--voucher", path("v.pem"),
                                                 "--to2-url", "http://127.0.0.1:8042", "--json"});
    ASSERT_EQ(to0.exit_code, 0) << to0.describe();
    ASSERT_EQ(run_tool("fdo-owner", {"vouchers", "import", "--dir", path("owner"), path("v.pem")}).exit_code, 0);
    m_owner = std::make_unique<ServerProcess>(
        "fdo-owner", std::vector<std::string>{"serve", "--dir", path("owner"), "--listen", "127.0.0.1:0",
                                              "--admin-listen", "127.0.0.1:0", "--log-level", "debug"});
  }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  // DI of a new device with `serial`; its GUID.
  std::string di(const std::string& serial) {
    const std::string cred = path("cred-" + serial + "-" + std::to_string(++m_devices));
    const RunResult r = run_tool("fdo-device", {"di", "--url", m_mfg->url(), "--credential", cred, "--serial", serial});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    const RunResult show = run_tool("fdo-device", {"show", "--credential", cred, "--json"});
    return Json::parse(show.out)["guid"].str();
  }

  Headers auth(const std::filesystem::path& dir) const { return {{"Authorization", "Bearer " + token_of(dir)}}; }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_rv;
  std::unique_ptr<ServerProcess> m_mfg;
  std::unique_ptr<ServerProcess> m_owner;
  std::string m_guid;
  int m_devices = 0;
};

TEST_F(AdminApiIntegration, EveryServerAnswersItsOpenApiDocument) {
  const Bytes pem = read_file(path("v.pem"));
  {
    SCOPED_TRACE("fdo-manufacturer");
    check_document(load_document("manufacturer.openapi.json"),
                   Target{m_mfg->url(), m_mfg->admin_url(), token_of(path("mfg")),
                          {{"guid", m_guid}, {"serial", "SN-API"}}, {}},
                   m_mfg->log());
  }
  {
    SCOPED_TRACE("fdo-rendezvous");
    check_document(load_document("rendezvous.openapi.json"),
                   Target{m_rv->url(), m_rv->admin_url(), token_of(path("rv")), {{"guid", m_guid}}, {}}, m_rv->log());
  }
  {
    SCOPED_TRACE("fdo-owner");
    check_document(load_document("owner.openapi.json"),
                   Target{m_owner->url(), m_owner->admin_url(), token_of(path("owner")), {{"guid", m_guid}},
                          {{"POST /api/v1/vouchers", pem}}},
                   m_owner->log());
  }
}

TEST_F(AdminApiIntegration, ManufacturerPagesWithACursorAndDeletes) {
  std::set<std::string> made = {m_guid};
  std::set<std::string> page_serial;  // the GUIDs of serial SN-PAGE still stored
  for (int i = 0; i < 4; ++i) {
    page_serial.insert(di("SN-PAGE"));
  }
  made.insert(page_serial.begin(), page_serial.end());
  const Headers a = auth(path("mfg"));
  const std::string admin = m_mfg->admin_url();
  const HttpResponse put = http_request(admin, "PUT", "/admin/vouchers/" + m_guid, a, to_bytes("x"));
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.header("Allow").value_or(""), "DELETE, GET");
  // The JSON description holds no secret: no key material beyond public-key hashes.
  const HttpResponse described =
      http_request(admin, "GET", "/admin/vouchers/" + m_guid, {a[0], {"Accept", "application/json"}});
  EXPECT_EQ(described.status, 200);
  EXPECT_EQ(Json::parse(to_string(described.body))["voucher"]["guid"].str(), m_guid);
  EXPECT_EQ(to_string(described.body).find("PRIVATE"), std::string::npos);
  std::vector<std::string> seen;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    const HttpResponse r = http_request(admin, "GET", "/admin/vouchers?limit=2&after=" + after, a);
    ASSERT_EQ(r.status, 200) << to_string(r.body);
    const Json page = Json::parse(to_string(r.body));
    EXPECT_LE(page["vouchers"].size(), 2u);
    for (std::size_t i = 0; i < page["vouchers"].size(); ++i) {
      seen.push_back(page["vouchers"].at(i)["guid"].str());
      if (page["vouchers"].at(i)["serial"].str() == "SN-PAGE") {
        EXPECT_EQ(page["vouchers"].at(i)["same_serial"].integer(), static_cast<std::int64_t>(page_serial.size()));
      }
    }
    if (page["next"].is_null()) {
      break;
    }
    after = page["next"].str();
    if (pages == 0) {
      // A voucher deleted between pages does not disturb the walk.
      const std::string gone = seen.front();
      EXPECT_EQ(http_request(admin, "DELETE", "/admin/vouchers/" + gone, a).status, 200);
      made.erase(gone);
      page_serial.erase(gone);
      seen.erase(seen.begin());
    }
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), made);
  EXPECT_EQ(seen.size(), made.size());  // no voucher twice
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchers?after=nonsense", a).status, 400);
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchers?after=&offset=1", a).status, 400);
  const Json by_serial = Json::parse(to_string(http_request(admin, "GET", "/admin/vouchers?serial=SN-PAGE", a).body));
  EXPECT_EQ(by_serial["total"].integer(), static_cast<std::int64_t>(page_serial.size()));

  // Delete, then GET is 404 and the store row is gone (the CLI reads the database).
  const std::string victim = *made.begin();
  const HttpResponse deleted = http_request(admin, "DELETE", "/admin/vouchers/" + victim, a);
  ASSERT_EQ(deleted.status, 200) << to_string(deleted.body);
  EXPECT_EQ(Json::parse(to_string(deleted.body))["deleted"]["guid"].str(), victim);
  EXPECT_EQ(http_request(admin, "GET", "/admin/vouchers/" + victim, a).status, 404);
  EXPECT_EQ(http_request(admin, "DELETE", "/admin/vouchers/" + victim, a).status, 404);
  const RunResult listed = run_tool("fdo-manufacturer", {"vouchers", "list", "--dir", path("mfg"), "--json"});
  EXPECT_EQ(listed.out.find(victim), std::string::npos) << listed.out;
  EXPECT_NE(m_mfg->log().find("admin: deleted the voucher of GUID " + victim), std::string::npos);
  // Wrong token, malformed GUID, wrong method.
  EXPECT_EQ(http_request(admin, "DELETE", "/admin/vouchers/" + m_guid, {{"Authorization", "Bearer x"}}).status, 401);
  const HttpResponse bad = http_request(admin, "DELETE", "/admin/vouchers/12345", a);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Json::parse(to_string(bad.body)).has("error"));
}

TEST_F(AdminApiIntegration, RendezvousListsShowsAndDeletesRegistrationsAndShowsItsTrust) {
  const Headers a = auth(path("rv"));
  const std::string admin = m_rv->admin_url();
  const Json one = Json::parse(to_string(http_request(admin, "GET", "/admin/registrations/" + m_guid, a).body));
  EXPECT_EQ(one["registration"]["guid"].str(), m_guid);
  // `fdo-owner to0` registered http://127.0.0.1:8042; the owner service's own TO0 may have renewed it since.
  const std::string to2 = one["registration"]["to2_urls"].at(0).str();
  EXPECT_TRUE(to2 == "http://127.0.0.1:8042" || to2 == m_owner->url()) << to2;
  const Json trust = Json::parse(to_string(http_request(admin, "GET", "/admin/trust", a).body));
  EXPECT_FALSE(trust["open"].boolean());
  EXPECT_EQ(trust["owner_keys"]["keys"].at(0)["file"].str(), "owner.pub.pem");
  EXPECT_EQ(trust["owner_keys"]["keys"].at(0)["spki_sha256"].str(),
            one["registration"]["owner_key"]["spki_sha256"].str());
  EXPECT_TRUE(trust["manufacturer_keys"].is_null());
  const Json page = Json::parse(to_string(http_request(admin, "GET", "/admin/registrations?limit=1", a).body));
  EXPECT_EQ(page["registrations"].size(), 1u);
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(http_request(admin, "GET", "/admin/registrations?after=" + m_guid, a).status, 200);
  EXPECT_EQ(http_request(admin, "GET", "/admin/registrations?after=zz", a).status, 400);

  ASSERT_EQ(http_request(admin, "DELETE", "/admin/registrations/" + m_guid, a).status, 200);
  EXPECT_EQ(http_request(admin, "GET", "/admin/registrations/" + m_guid, a).status, 404);
  const auto store = storage::open_sqlite_store(path("rv") + "/rendezvous.db");
  EXPECT_FALSE(storage::read_only(*store, [&](storage::Transaction& tx) {
                 return tx.get_rv_registration(parse_guid(m_guid), 0);
               }).has_value());
  EXPECT_NE(m_rv->log().find("admin: deleted the TO0 registration of GUID " + m_guid), std::string::npos);
  EXPECT_EQ(http_request(admin, "DELETE", "/admin/registrations/" + m_guid, {{"Authorization", "Bearer x"}}).status,
            401);
}

TEST_F(AdminApiIntegration, OwnerExportsAVoucherOverTheApi) {
  const Headers a = auth(path("owner"));
  const std::string admin = m_owner->admin_url();
  const HttpResponse exported = http_request(admin, "POST", "/api/v1/vouchers/" + m_guid + "/export", a);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.body, read_file(path("v.pem")));
  EXPECT_EQ(http_request(admin, "GET", "/api/v1/vouchers/" + m_guid, a).status, 404);
  const Json device = Json::parse(to_string(http_request(admin, "GET", "/api/v1/devices/" + m_guid, a).body));
  EXPECT_EQ(device["device"]["state"].str(), "exported");
  EXPECT_FALSE(device["device"]["voucher"].boolean());
  EXPECT_EQ(http_request(admin, "POST", "/api/v1/vouchers/" + m_guid + "/export", a).status, 404);
}

}  // namespace
}  // namespace fdo::integration
