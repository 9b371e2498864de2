#pragma once
// Test helpers shared by the cose and types tests: files under the source tree, the fixed test keys
// of libfdo/testdata/crypto/, the interop vouchers made by other implementations, and error checks.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/crypto/internal/test_util.h"
#include "libfdo/crypto/keys.h"

namespace fdo::test {

/// The whole content of a file.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// One of the fixed private keys in libfdo/testdata/crypto/ ("p256_rfc6979.pem", "rsa3072.pem", …).
inline crypto::PrivateKey test_key(const std::string& pem_file) {
  return crypto::PrivateKey::from_pem(
      read_text(std::filesystem::path(FDO_SOURCE_DIR) / "libfdo/testdata/crypto" / pem_file));
}

/// The directory of the interop vouchers made by other implementations, outside this tree for now (read in
/// place, never edited); FDO_INTEROP_DIR overrides it.
inline std::filesystem::path interop_dir() {
  if (const char* dir = std::getenv("FDO_INTEROP_DIR")) {
    return dir;
  }
  return std::filesystem::path(FDO_SOURCE_DIR) / ".." / "shared" / "interop";
}

/// The CBOR bytes of a PEM "OWNERSHIP VOUCHER" file in interop_dir().
inline Bytes interop_voucher(const std::string& file) {
  const std::string text = read_text(interop_dir() / file);
  const std::size_t begin = text.find("-----BEGIN OWNERSHIP VOUCHER-----");
  const std::size_t end = text.find("-----END OWNERSHIP VOUCHER-----");
  EXPECT_NE(begin, std::string::npos) << file;
  EXPECT_NE(end, std::string::npos) << file;
  const std::size_t body = text.find('\n', begin) + 1;
  return base64_decode(text.substr(body, end - body));
}

/// Runs `fn` and expects an fdo::Error with `code`; returns its message (empty if none was thrown).
inline std::string expect_error(const std::function<void()>& fn, ErrorCode code) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected fdo::Error, got " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected Error(" << static_cast<int>(code) << "), nothing thrown";
  return {};
}

/// One "key = value" block of a vector file (the crypto tests' reader, shared).
using Record = crypto::test::Record;

/// Every record of a vector file in libfdo/testdata/<layer>/.
inline std::vector<Record> read_records(const std::string& layer, const std::string& file) {
  return crypto::test::read_layer_records(layer, file);
}

/// Hex with spaces allowed ("84 F6 71 …").
inline Bytes hex_spaced(const std::string& text) {
  std::string compact;
  for (const char c : text) {
    if (c != ' ') {
      compact += c;
    }
  }
  return from_hex(compact);
}

}  // namespace fdo::test
