#pragma once
// PEM framing (RFC 7468), the one reader and writer of the tree: keys and certificates (crypto/keys.cpp,
// crypto/x509.cpp) and Ownership Vouchers (voucher/pem.cpp, docs/voucher.md "PEM files") all go through it.
// Read tolerantly (LF or CRLF, blanks around lines, text between blocks, RFC 1421 header lines), written strictly
// (LF, 64 columns, final newline).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"

namespace fdo::pem {

/// One block of a PEM text, as views into that text (which must outlive it).
struct Block {
  /// The label of the BEGIN line ("CERTIFICATE", "OWNERSHIP VOUCHER").
  std::string label;
  /// From the BEGIN line through the END line, as in the input (line ends included).
  std::string_view text;
  /// The base64 lines, line ends included; RFC 1421 header lines ("Proc-Type: …") before them are left out.
  std::string_view base64;
  /// 1-based line number of the BEGIN line, for messages.
  std::size_t line = 0;

  /// The decoded contents; Error(MessageBodyError) naming the block for bad base64. For a key block the
  /// result is secret: the caller moves it into SecretBytes.
  [[nodiscard]] Bytes decode() const;
};

/// Whether `text` starts, after leading blanks and line ends, with "-----BEGIN ".
bool starts_with_begin(std::string_view text);

/// Every block of `text`, in order. A BEGIN or END line is "-----BEGIN LABEL-----" or "-----END LABEL-----" on a
/// line of its own (blanks around it allowed); other lines outside blocks are ignored. Throws
/// Error(MessageBodyError) naming the line for an END line without BEGIN, an END label that does not match, a
/// BEGIN line inside a block, and a block without END line. Base64 is only checked by Block::decode().
std::vector<Block> read_blocks(std::string_view text);

/// "-----BEGIN LABEL-----\n", the base64 of `contents` in lines of 64 characters, "-----END LABEL-----\n".
std::string write(std::string_view label, ByteView contents);

}  // namespace fdo::pem
