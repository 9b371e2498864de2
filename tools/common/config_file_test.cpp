#include "tools/common/config_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"

namespace fdo::tool {
namespace {

// An app with a `serve` subcommand whose options may come from `--config FILE`.
class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    m_file = std::filesystem::temp_directory_path() / ("fdo-tool-config-" + to_hex(random_bytes(6)) + ".toml");
    CLI::App* serve = m_app.add_subcommand("serve", "Serve");
    add_config_file(m_app, *serve, "TOML file with serve's options");
    serve->add_option("--listen", m_listen);
    serve->add_option("--session-ttl", m_ttl);
    serve->add_option("--rv", m_rv);
  }
  void TearDown() override { std::filesystem::remove(m_file); }

  void parse_with(const std::string& toml, const std::string& extra = "") {
    write_file_atomic(m_file, to_bytes(toml), 0600);
    m_app.parse("serve --config " + m_file.string() + extra, false);
  }

  CLI::App m_app{"test"};
  std::filesystem::path m_file;
  std::string m_listen;
  std::int64_t m_ttl = 0;
  std::vector<std::string> m_rv;
};

TEST_F(ConfigFile, TopLevelKeysAreTheSubcommandsOptionsWithDashOrUnderscore) {
  parse_with("listen = \"127.0.0.1:0\"\nsession_ttl = 42\nrv = [\"http://a:1\", \"http://b:2\"]\n");
  EXPECT_EQ(m_listen, "127.0.0.1:0");
  EXPECT_EQ(m_ttl, 42);
  EXPECT_EQ(m_rv, (std::vector<std::string>{"http://a:1", "http://b:2"}));
}

TEST_F(ConfigFile, FlagsOverrideTheFile) {
  parse_with("session-ttl = 42\n", " --session-ttl 7");
  EXPECT_EQ(m_ttl, 7);
}

TEST_F(ConfigFile, UnknownKeyIsAnErrorNamingTheFileAndTheKeyAsWritten) {
  try {
    parse_with("listen = \"127.0.0.1:0\"\nsession_tll = 1\n");
    FAIL() << "no error";
  } catch (const CLI::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "config " + m_file.string() + ": unknown key 'session_tll' (TOML)");
  }
}

// docs/cli.md "Input files": the config file goes through the bounded reader like every input file.
TEST_F(ConfigFile, IsReadThroughTheBoundedReader) {
  const std::string big = m_file.string() + ".big";
  write_file_atomic(big, to_bytes("listen = \"127.0.0.1:0\"\n"), 0600);
  std::filesystem::resize_file(big, kMaxInputFile + 1);
  for (const auto& [file, problem] : {std::pair<std::string, std::string>{"/dev/zero", "not a regular file"},
                                      {"/proc/self/mem", "Input/output error"},
                                      {big, "larger than 16777216 bytes"}}) {
    CLI::App app{"test"};
    CLI::App* serve = app.add_subcommand("serve", "Serve");
    add_config_file(app, *serve, "TOML file");
    serve->add_option("--listen", m_listen);
    try {
      app.parse("serve --config " + file, false);
      ADD_FAILURE() << file << ": no error";
    } catch (const CLI::FileError& e) {
      EXPECT_EQ(std::string(e.what()), file + ": " + problem);
    }
  }
  std::filesystem::remove(big);
}

TEST_F(ConfigFile, TheSubcommandHasConfigToo) {
  // `serve --config FILE` is serve's own option (so `serve --help` shows it), read as the app's config file.
  parse_with("listen = \"127.0.0.1:9\"\n");
  EXPECT_EQ(m_listen, "127.0.0.1:9");
  EXPECT_NE(m_app.get_subcommand("serve")->get_option_no_throw("--config"), nullptr);
}

}  // namespace
}  // namespace fdo::tool
