#pragma once
// Test helpers shared by the cose and types tests: files under the source tree, the fixed test keys
// of libfdo/testdata/crypto/, the interop artifacts of libfdo/testdata/interop/, and error checks.

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
#include "libfdo/core/internal/expect_error.h"
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

/// libfdo/testdata/interop/: vouchers made by other FDO implementations, kept byte for byte (README.md there
/// names each file's source).
inline std::filesystem::path interop_dir() {
  return std::filesystem::path(FDO_SOURCE_DIR) / "libfdo" / "testdata" / "interop";
}

/// The CBOR bytes of a PEM "OWNERSHIP VOUCHER" file in libfdo/testdata/interop/.
inline Bytes interop_voucher(const std::string& file) {
  const std::string text = read_text(interop_dir() / file);
  const std::size_t begin = text.find("-----BEGIN OWNERSHIP VOUCHER-----");
  const std::size_t end = text.find("-----END OWNERSHIP VOUCHER-----");
  EXPECT_NE(begin, std::string::npos) << file;
  EXPECT_NE(end, std::string::npos) << file;
  const std::size_t body = text.find('\n', begin) + 1;
  return base64_decode(text.substr(body, end - body));
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
