#include "libfdo/voucher/pem.h"

#include <cstddef>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

namespace fdo::voucher {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";
constexpr std::size_t kLineWidth = 64;

std::string_view trim(std::string_view s) {
  const std::string_view space = " \t\r\n";
  const std::size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos) {
    return {};
  }
  const std::size_t last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

bool is_private_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "RSA PRIVATE KEY";
}

/// The label of a "-----BEGIN X-----" / "-----END X-----" line, or nullopt.
std::optional<std::string_view> boundary_label(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size() + kDashes.size() || line.substr(0, prefix.size()) != prefix ||
      line.substr(line.size() - kDashes.size()) != kDashes) {
    return std::nullopt;
  }
  return line.substr(prefix.size(), line.size() - prefix.size() - kDashes.size());
}

struct Block {
  std::string_view label;
  std::string_view text;  // from the BEGIN line through the END line
  std::string body;       // base64 lines, concatenated
};

std::vector<Block> split_blocks(std::string_view text) {
  std::vector<Block> blocks;
  std::optional<Block> open;
  std::size_t open_start = 0;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    const std::string_view line = trim(text.substr(pos, next - pos));
    ++line_no;
    if (!open) {
      if (const auto label = boundary_label(line, kBegin)) {
        open = Block{.label = *label, .text = {}, .body = {}};
        open_start = static_cast<std::size_t>(line.data() - text.data());
      } else if (boundary_label(line, kEnd)) {
        throw_body_error("PEM line " + std::to_string(line_no) + ": END line without a BEGIN line");
      }
    } else if (const auto end_label = boundary_label(line, kEnd)) {
      if (*end_label != open->label) {
        throw_body_error("PEM line " + std::to_string(line_no) + ": END label '" + std::string(*end_label) +
                         "' does not match BEGIN label '" + std::string(open->label) + "'");
      }
      const std::size_t end = static_cast<std::size_t>(line.data() - text.data()) + line.size();
      open->text = text.substr(open_start, end - open_start);
      blocks.push_back(std::move(*open));
      open.reset();
    } else if (boundary_label(line, kBegin)) {
      throw_body_error("PEM line " + std::to_string(line_no) + ": BEGIN line inside block '" +
                       std::string(open->label) + "'");
    } else if (line.find(':') == std::string_view::npos) {
      // RFC 1421 header lines ("Proc-Type: …") carry no base64 and are skipped.
      open->body += line;
    }
    pos = next;
  }
  if (open) {
    throw_body_error("PEM: block '" + std::string(open->label) + "' has no END line");
  }
  return blocks;
}

}  // namespace

std::vector<VoucherInput> read_vouchers(ByteView file) {
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  const std::string_view start = trim(text);
  if (start.substr(0, kBegin.size()) != kBegin) {
    // docs/voucher.md "PEM files": raw CBOR is accepted when the input does not start with -----BEGIN.
    if (file.empty()) {
      throw_body_error("voucher file is empty");
    }
    std::vector<VoucherInput> out;
    out.push_back(VoucherInput{.cbor = Bytes(file.begin(), file.end()), .private_key_pem = std::nullopt, .index = 1});
    return out;
  }
  const std::vector<Block> blocks = split_blocks(text);
  std::vector<VoucherInput> out;
  std::string other_labels;
  bool after_voucher = false;
  for (const Block& block : blocks) {
    if (block.label == kPemLabel) {
      Bytes cbor = base64_decode(block.body);
      if (cbor.empty()) {
        throw_body_error("PEM: OWNERSHIP VOUCHER block " + std::to_string(out.size() + 1) + " is empty");
      }
      out.push_back(VoucherInput{.cbor = std::move(cbor), .private_key_pem = std::nullopt, .index = out.size() + 1});
      after_voucher = true;
      continue;
    }
    if (after_voucher && is_private_key_label(block.label)) {
      out.back().private_key_pem = SecretBytes(to_bytes(block.text));
    } else if (other_labels.find(std::string(block.label)) == std::string::npos) {
      other_labels += (other_labels.empty() ? "" : ", ") + std::string(block.label);
    }
    after_voucher = false;
  }
  if (out.empty()) {
    throw_body_error("no OWNERSHIP VOUCHER PEM block found" +
                     (other_labels.empty() ? std::string() : " (found: " + other_labels + ")"));
  }
  return out;
}

std::string to_pem(ByteView voucher_cbor) {
  const std::string b64 = base64_encode(voucher_cbor);
  std::string out = std::string(kBegin) + std::string(kPemLabel) + std::string(kDashes) + "\n";
  for (std::size_t i = 0; i < b64.size(); i += kLineWidth) {
    out += b64.substr(i, kLineWidth);
    out += '\n';
  }
  out += std::string(kEnd) + std::string(kPemLabel) + std::string(kDashes) + "\n";
  return out;
}

}  // namespace fdo::voucher
