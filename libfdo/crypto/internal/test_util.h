#pragma once
// Test helpers for the crypto tests: vector files in libfdo/testdata/crypto/ and error checks.
// Vector files are blocks of "key = value" lines separated by blank lines; '#' starts a comment.

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/internal/expect_error.h"

namespace fdo::crypto::test {

/// One "key = value" block of a vector file.
using Record = std::map<std::string, std::string>;

inline std::string trim(const std::string& s) {
  const std::size_t begin = s.find_first_not_of(" \t\r");
  const std::size_t end = s.find_last_not_of(" \t\r");
  return begin == std::string::npos ? std::string() : s.substr(begin, end - begin + 1);
}

/// Path of a file in libfdo/testdata/crypto/.
inline std::string testdata_path(const std::string& file) {
  return std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/crypto/" + file;
}

/// The whole text of a file in libfdo/testdata/crypto/.
inline std::string read_testdata(const std::string& file) {
  std::ifstream in(testdata_path(file), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << file;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Every record of a vector file in libfdo/testdata/<layer>/, in order. Other layers' tests use this too.
inline std::vector<Record> read_layer_records(const std::string& layer, const std::string& file) {
  std::ifstream in(std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/" + layer + "/" + file);
  EXPECT_TRUE(in.good()) << "cannot open " << file;
  std::vector<Record> records;
  Record current;
  std::string line;
  while (std::getline(in, line)) {
    if (trim(line).empty()) {
      if (!current.empty()) {
        records.push_back(std::move(current));
        current.clear();
      }
      continue;
    }
    if (trim(line)[0] == '#') {
      continue;
    }
    const std::size_t eq = line.find('=');
    EXPECT_NE(eq, std::string::npos) << file << ": bad line " << line;
    current[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  if (!current.empty()) {
    records.push_back(std::move(current));
  }
  EXPECT_FALSE(records.empty()) << file << " has no records";
  return records;
}

/// Every record of a vector file in libfdo/testdata/crypto/, in order.
inline std::vector<Record> read_records(const std::string& file) { return read_layer_records("crypto", file); }

/// A hex field of a record as bytes (empty value → empty bytes).
inline Bytes hex_field(const Record& r, const std::string& key) { return from_hex(r.at(key)); }

/// The shared check that an fdo::Error with the code the spec names was thrown.
using fdo::test::expect_error;

}  // namespace fdo::crypto::test
