#include "libfdo/fsim/password_manager.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/core/random.h"
#include "libfdo/fsim/fsim_test_support.h"
#include "libfdo/fsim/transfer_test_support.h"

namespace fdo::fsim {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kShadow =
    "root:$6$oldsalt$oldhash:19000:0:99999:7:::\n"
    "daemon:*:19000:0:99999:7:::\n"
    "operator:!:19000:0:99999:7:::\n";

class PasswordManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("fdo-pm-" + to_hex(random_bytes(6)));
    fs::create_directories(m_dir);
    m_context.root = m_dir;
    m_context.shadow_file = m_dir / "shadow";
    write_shadow(kShadow);
    ::chmod(m_context.shadow_file.c_str(), 0640);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void write_shadow(std::string_view text) const { std::ofstream(m_context.shadow_file) << text; }
  [[nodiscard]] std::string shadow() const {
    std::ifstream in(m_context.shadow_file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  /// Field 2 of `user`'s line.
  [[nodiscard]] std::string hash_of(const std::string& user) const {
    std::istringstream in(shadow());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(user + ":", 0) == 0) {
        const std::size_t a = user.size() + 1;
        return line.substr(a, line.find(':', a) - a);
      }
    }
    return "(missing)";
  }
  testing::Exchange run(serviceinfo::ModuleParams::Values params, std::size_t mtu = serviceinfo::kDefaultMtu) {
    serviceinfo::OwnerRegistry registry;
    register_owner_modules(registry, m_owner);
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::make_unique<PasswordManagerDevice>(m_context));
    const serviceinfo::Plan plan{{testing::step(std::string(kPasswordManager), std::move(params))}};
    return testing::exchange(std::move(modules), registry, plan, mtu, mtu);
  }
  /// Sends one message straight to a device module and returns the status items.
  struct Status {
    std::string user, op;
    std::int64_t code = -1;
  };
  static std::vector<Status> statuses(const std::deque<serviceinfo::OutboxEntry>& queue) {
    std::vector<Status> out;
    for (const serviceinfo::OutboxEntry& e : queue) {
      EXPECT_EQ(e.kv.key, "Password-Manager:status");
      cbor::Reader r(e.kv.value, "status");
      const std::size_t n = r.read_array("");
      EXPECT_GE(n, 3U);
      Status s;
      s.user = r.read_tstr("user");
      s.op = r.read_tstr("op");
      s.code = r.read_int("code");
      out.push_back(s);
    }
    return out;
  }

  fs::path m_dir;
  DeviceContext m_context;
  OwnerContext m_owner;
};

bool crypt_matches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = ::crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && hash == out;
}

TEST_F(PasswordManagerTest, SetsTheOperatorPasswordAndLocksRoot) {
  const testing::Exchange e = run({{"user", {"operator"}}, {"password", {"s3cret pass"}}, {"disable", {"root"}}});
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kPasswordManager);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
  EXPECT_EQ(o.summary, "user operator set, root locked");
  const std::string hash = hash_of("operator");
  EXPECT_EQ(hash.rfind("$6$", 0), 0U) << hash;
  EXPECT_TRUE(crypt_matches("s3cret pass", hash));
  EXPECT_FALSE(crypt_matches("wrong", hash));
  EXPECT_EQ(hash_of("root"), "!$6$oldsalt$oldhash");
  EXPECT_EQ(hash_of("daemon"), "*");
  EXPECT_EQ(shadow().find("s3cret"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(m_context.shadow_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640U);
  // Only the shadow file is in the directory: no temporary file left.
  EXPECT_EQ(std::distance(fs::directory_iterator(m_dir), fs::directory_iterator()), 1);
}

TEST_F(PasswordManagerTest, PasswordFileAndReadyHashAreUsed) {
  std::ofstream(m_dir / "pw.txt") << "from-file\n";
  m_owner.plan_dir = m_dir;
  const testing::Exchange e = run({{"user", {"operator"}}, {"password_file", {"pw.txt"}}});
  EXPECT_EQ(testing::outcome_of(e, kPasswordManager).summary, "user operator set");
  EXPECT_TRUE(crypt_matches("from-file", hash_of("operator")));

  const std::string ready = sha512_crypt(ByteView(reinterpret_cast<const std::uint8_t*>("other"), 5));
  run({{"user", {"root"}}, {"pass_hash", {ready}}});
  EXPECT_EQ(hash_of("root"), ready);
  EXPECT_TRUE(crypt_matches("other", hash_of("root")));
}

TEST_F(PasswordManagerTest, LockingTwiceKeepsOneBangAndUnlockRemovesIt) {
  PasswordManagerDevice device(m_context);
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out("Password-Manager", queue);
  device.on_message("user", serviceinfo::tstr_value("root"), out);
  device.on_message("login-disable", serviceinfo::bool_value(true), out);
  device.on_message("login-disable", Bytes{0xf6}, out);  // null = true
  EXPECT_EQ(hash_of("root"), "!$6$oldsalt$oldhash");
  device.on_message("login-disable", serviceinfo::bool_value(false), out);
  EXPECT_EQ(hash_of("root"), "$6$oldsalt$oldhash");
  for (const Status& s : statuses(queue)) {
    EXPECT_EQ(s.code, 0);
    EXPECT_EQ(s.op, "login-disable");
  }
}

TEST_F(PasswordManagerTest, BadInputGetsItsStatusAndLeavesTheFileAlone) {
  PasswordManagerDevice device(m_context);
  std::deque<serviceinfo::OutboxEntry> queue;
  serviceinfo::Outbox out("Password-Manager", queue);
  device.on_message("pass", serviceinfo::tstr_value("x"), out);      // no user selected: 1
  device.on_message("user", serviceinfo::uint_value(7), out);        // wrong type: 1
  device.on_message("user", serviceinfo::tstr_value("nobody"), out);
  device.on_message("pass", serviceinfo::tstr_value("x"), out);      // no such user: 2
  device.on_message("user", serviceinfo::tstr_value("operator"), out);
  device.on_message("pass", serviceinfo::bool_value(true), out);     // wrong type: 1
  device.on_message("pass", serviceinfo::tstr_value(""), out);       // empty: 3
  device.on_message("pass-hash", serviceinfo::tstr_value("$1$md5"), out);  // not $6$: 3
  device.on_message("login-disable", serviceinfo::tstr_value("yes"), out);  // wrong type: 1
  device.on_message("frobnicate", serviceinfo::bool_value(true), out);      // unknown: 1
  const std::vector<Status> s = statuses(queue);
  const std::vector<std::int64_t> codes{1, 1, 2, 1, 3, 3, 1, 1};
  ASSERT_EQ(s.size(), codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    EXPECT_EQ(s[i].code, codes[i]) << i << " " << s[i].op;
  }
  EXPECT_EQ(s[2].user, "nobody");
  EXPECT_EQ(s[7].op, "frobnicate");
  EXPECT_EQ(shadow(), kShadow);
}

TEST_F(PasswordManagerTest, AMissingShadowFileIsAStorageErrorTheOwnerRecords) {
  fs::remove(m_context.shadow_file);
  const testing::Exchange e = run({{"user", {"operator"}}, {"password", {"pw"}}});
  const serviceinfo::ModuleOutcome o = testing::outcome_of(e, kPasswordManager);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Done);
  EXPECT_NE(o.summary.find("pass for operator failed (code 4"), std::string::npos) << o.summary;
  EXPECT_FALSE(fs::exists(m_context.shadow_file));
}

TEST_F(PasswordManagerTest, AnUnknownAccountIsRecordedByTheOwner) {
  const testing::Exchange e = run({{"user", {"nobody"}}, {"password", {"pw-123"}}, {"disable", {"root"}}});
  const std::string summary = testing::outcome_of(e, kPasswordManager).summary;
  EXPECT_NE(summary.find("pass for nobody failed (code 2"), std::string::npos) << summary;
  EXPECT_NE(summary.find("root locked"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("pw-123"), std::string::npos);
}

TEST_F(PasswordManagerTest, ADeviceThatDoesNotAnswerEveryRequestFailsTheOwnerAtItsDeadline) {
  const auto fail_with = [&](std::vector<std::pair<std::string, Bytes>> answers) {
    serviceinfo::OwnerRegistry registry;
    register_owner_modules(registry, m_owner);
    std::vector<std::unique_ptr<serviceinfo::DeviceModule>> modules;
    modules.push_back(std::make_unique<testing::ScriptedDevice>(std::string(kPasswordManager), std::move(answers)));
    const serviceinfo::Plan plan{{testing::step(
        std::string(kPasswordManager),
        {{"user", {"operator"}}, {"password", {"hunter2-x"}}, {"disable", {"root"}}, {"timeout", {"0"}}})}};
    return testing::failed_exchange(std::move(modules), registry, plan);
  };
  const testing::Failure silent = fail_with({});
  EXPECT_EQ(silent.code, ErrorCode::InternalServerError);
  const serviceinfo::ModuleOutcome o = testing::outcome_of(silent.exchange, kPasswordManager);
  EXPECT_EQ(o.state, serviceinfo::ModuleState::Failed);
  EXPECT_NE(o.error.find("Password-Manager: 0 of 2 statuses from the device within 0 s"), std::string::npos) << o.error;
  EXPECT_EQ(silent.what.find("hunter2"), std::string::npos);
  // One status of two is not enough.
  cbor::Writer w;
  w.array(3).tstr("operator").tstr("pass").int_(0);
  const testing::Failure half = fail_with({{"status", std::move(w).take()}});
  const serviceinfo::ModuleOutcome h = testing::outcome_of(half.exchange, kPasswordManager);
  EXPECT_EQ(h.state, serviceinfo::ModuleState::Failed);
  EXPECT_NE(h.error.find("1 of 2 statuses from the device within 0 s"), std::string::npos) << h.error;
  EXPECT_EQ(h.summary, "user operator set");
}

TEST_F(PasswordManagerTest, TheOwnerRefusesBadParametersAtLoad) {
  const auto refused = [&](serviceinfo::ModuleParams::Values v) {
    const serviceinfo::ModuleParams p("Password-Manager", std::move(v));
    return fdo::test::expect_error([&] { PasswordManagerOwner owner(p.encode(), m_owner); },
                                   ErrorCode::MessageBodyError);
  };
  EXPECT_NE(refused({{"usr", {"x"}}}).find("unknown parameter usr"), std::string::npos);
  refused({{"password", {"x"}}});                                         // no user
  refused({{"user", {"a"}}, {"password", {"x"}}, {"pass_hash", {"$6$a$b"}}});  // two secrets
  refused({{"user", {"a"}}, {"pass_hash", {"$1$md5"}}});
  refused({{"user", {"a"}}, {"password", {""}}});
  refused({{"user", {"a"}}, {"password_file", {"/nonexistent/pw"}}});
  refused({});
  refused({{"disable", {"root"}}, {"timeout", {"soon"}}});
  const std::string what = refused({{"user", {"a:b"}}, {"password", {"hunter2"}}});
  EXPECT_EQ(what.find("hunter2"), std::string::npos);
}

TEST_F(PasswordManagerTest, TheOwnerRefusesAMalformedStatus) {
  const serviceinfo::ModuleParams p("Password-Manager", {{"disable", {"root"}}});
  PasswordManagerOwner owner(p.encode(), m_owner);
  fdo::test::expect_error([&] { owner.on_message("status", serviceinfo::tstr_value("ok")); },
                          ErrorCode::MessageBodyError);
  EXPECT_TRUE(owner.results().empty());
}

}  // namespace
}  // namespace fdo::fsim
