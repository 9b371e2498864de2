// tools/common/admin.h: the token file, the bearer check, paging and the admin listener's responder.

#include "tools/common/admin.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"

namespace fdo::tool {
namespace {

TEST(AdminAuthorized, ComparesTheWholeTokenAndRefusesAnEmptyOne) {
  EXPECT_TRUE(admin_authorized({{"authorization", "Bearer abc"}}, "abc"));
  EXPECT_TRUE(admin_authorized({{"Authorization", "bearer abc"}}, "abc"));
  EXPECT_FALSE(admin_authorized({{"Authorization", "Bearer ab"}}, "abc"));
  EXPECT_FALSE(admin_authorized({{"Authorization", "Bearer abcd"}}, "abc"));
  EXPECT_FALSE(admin_authorized({{"Authorization", "Basic abc"}}, "abc"));
  EXPECT_FALSE(admin_authorized({{"Authorization", "Bearer "}}, ""));
  EXPECT_FALSE(admin_authorized({}, "abc"));
}

TEST(AdminToken, CreatedOnce0600AndLoadedWithoutTheNewline) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fdo-admin-test-" + to_hex(random_bytes(6)));
  std::filesystem::create_directories(dir);
  EXPECT_THROW(static_cast<void>(load_admin_token(dir, "fdo-x")), Error);
  std::vector<InitStep> steps;
  admin_token_at(admin_token_path(dir), steps);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_TRUE(steps[0].created);
  struct stat st {};
  ASSERT_EQ(::stat(admin_token_path(dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string token = load_admin_token(dir, "fdo-x");
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  admin_token_at(admin_token_path(dir), steps);
  EXPECT_FALSE(steps.at(1).created);
  EXPECT_EQ(load_admin_token(dir, "fdo-x"), token);
  std::filesystem::remove_all(dir);
}

TEST(ParsePage, DefaultsBoundsAndErrors) {
  EXPECT_EQ(parse_page("").offset, 0u);
  EXPECT_EQ(parse_page("").limit, kDefaultPageLimit);
  const Page p = parse_page("x=1&offset=5&limit=7");
  EXPECT_EQ(p.offset, 5u);
  EXPECT_EQ(p.limit, 7u);
  EXPECT_EQ(parse_page("limit=1000").limit, 1000u);
  for (const char* bad :
       {"limit=0", "limit=1001", "offset=-1", "offset=", "limit=1x", "offset=99999999999999999999999"}) {
    EXPECT_THROW(static_cast<void>(parse_page(bad)), Error) << bad;
  }
}

TEST(QueryValue, FindsDecodesAndRefusesBadEscapes) {
  EXPECT_EQ(query_value("a=1&serial=SN%2D1+x", "serial"), "SN-1 x");
  EXPECT_EQ(query_value("after=&limit=2", "after"), "");
  EXPECT_EQ(query_value("after", "after"), "");
  EXPECT_FALSE(query_value("afterx=1&xafter=2", "after").has_value());
  EXPECT_FALSE(query_value("", "after").has_value());
  for (const char* bad : {"s=%", "s=%4", "s=%zz", "s=a%G1"}) {
    EXPECT_THROW(static_cast<void>(query_value(bad, "s")), Error) << bad;
  }
}

TEST(AcceptsJson, OnlyWhenAMediaRangeNamesIt) {
  EXPECT_TRUE(accepts_json({{"Accept", "application/json"}}));
  EXPECT_TRUE(accepts_json({{"accept", "text/html, Application/JSON;q=0.9"}}));
  EXPECT_FALSE(accepts_json({{"Accept", "*/*"}}));
  EXPECT_FALSE(accepts_json({{"Accept", "application/x-pem-file"}}));
  EXPECT_FALSE(accepts_json({{"Accept", "application/jsonx"}}));
  EXPECT_FALSE(accepts_json({}));
}

TEST(Guarded, NeedsTheTokenAndTurnsBadInputInto400Json) {
  const transport::AdminHandler handler = guarded("tok", [](const transport::AdminRequest& r) {
    return json_answer(200, "{\"guid\":\"" + guid_param(r).hex() + "\"}");
  });
  transport::AdminRequest request;
  request.path_params["guid"] = "00112233-4455-6677-8899-aabbccddeeff";
  EXPECT_EQ(handler(request).status, 401);
  EXPECT_TRUE(handler(request).body.empty());
  request.headers = {{"Authorization", "Bearer tok"}};
  const transport::AdminResponse ok = handler(request);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"guid\":\"00112233445566778899aabbccddeeff\"}\n");
  request.path_params["guid"] = "x\"y";
  const transport::AdminResponse bad = handler(request);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.content_type, "application/json");
  EXPECT_EQ(bad.body.rfind("{\"error\":\"GUID 'x\\\"y'", 0), 0u) << bad.body;
}

TEST(NoProtocol, AnswersEveryMessageWithAnErrorMessage) {
  NoProtocol responder("not here");
  transport::Request request;
  request.msg_type = 10;
  const transport::Response r = responder.handle(request);
  EXPECT_EQ(r.msg_type, 255);
  EXPECT_EQ(r.http_status, 500);
}

}  // namespace
}  // namespace fdo::tool
