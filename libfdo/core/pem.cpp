#include "libfdo/core/pem.h"

#include <optional>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"

namespace fdo::pem {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";
constexpr std::size_t kLineWidth = 64;  // RFC 7468 §2: "exactly 64 characters" per line but the last

constexpr std::string_view kBlanks = " \t\r\n";

std::string_view trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(kBlanks) - first + 1);
}

// The label of a "-----BEGIN X-----" / "-----END X-----" line, or nullopt.
std::optional<std::string_view> boundary_label(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size() + kDashes.size() || line.substr(0, prefix.size()) != prefix ||
      line.substr(line.size() - kDashes.size()) != kDashes) {
    return std::nullopt;
  }
  return line.substr(prefix.size(), line.size() - prefix.size() - kDashes.size());
}

std::string line_text(std::size_t line_no) {
  return "PEM line " + std::to_string(line_no);
}

}  // namespace

Bytes Block::decode() const {
  try {
    return base64_decode(base64);
  } catch (const Error& e) {
    throw_body_error("PEM: block '" + label + "' (" + line_text(line) + "): " + e.what());
  }
}

bool starts_with_begin(std::string_view text) {
  const std::size_t first = text.find_first_not_of(kBlanks);
  return first != std::string_view::npos && text.substr(first, kBegin.size()) == kBegin;
}

std::vector<Block> read_blocks(std::string_view text) {
  std::vector<Block> blocks;
  std::optional<Block> open;
  std::size_t base64_start = std::string_view::npos;  // offset of the first base64 line of the open block
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    const std::string_view line = trim(text.substr(pos, next - pos));
    ++line_no;
    if (!open) {
      if (const auto label = boundary_label(line, kBegin)) {
        open = Block{.label = std::string(*label), .text = text.substr(pos), .base64 = {}, .line = line_no};
        base64_start = std::string_view::npos;
      } else if (boundary_label(line, kEnd)) {
        throw_body_error(line_text(line_no) + ": END line without a BEGIN line");
      }
    } else if (const auto end_label = boundary_label(line, kEnd)) {
      if (*end_label != open->label) {
        throw_body_error(line_text(line_no) + ": END label '" + std::string(*end_label) +
                         "' does not match BEGIN label '" + open->label + "'");
      }
      const std::size_t begin = static_cast<std::size_t>(open->text.data() - text.data());
      const std::size_t end = static_cast<std::size_t>(line.data() - text.data()) + line.size();
      open->text = text.substr(begin, end - begin);
      open->base64 = base64_start == std::string_view::npos ? std::string_view()
                                                            : text.substr(base64_start, pos - base64_start);
      blocks.push_back(std::move(*open));
      open.reset();
    } else if (boundary_label(line, kBegin)) {
      throw_body_error(line_text(line_no) + ": BEGIN line inside block '" + open->label + "'");
    } else if (base64_start == std::string_view::npos && line.find(':') == std::string_view::npos &&
               !line.empty()) {
      base64_start = pos;
    }
    // RFC 1421 header lines ("Proc-Type: …") before the base64 carry none and are left out; a ':' after the
    // base64 has started is bad base64, reported by decode().
    pos = next;
  }
  if (open) {
    throw_body_error("PEM: block '" + open->label + "' (" + line_text(open->line) + ") has no END line");
  }
  return blocks;
}

std::string write(std::string_view label, ByteView contents) {
  const std::string b64 = base64_encode(contents);
  std::string out = std::string(kBegin) + std::string(label) + std::string(kDashes) + "\n";
  for (std::size_t i = 0; i < b64.size(); i += kLineWidth) {
    out.append(b64, i, kLineWidth);
    out += '\n';
  }
  out += std::string(kEnd) + std::string(label) + std::string(kDashes) + "\n";
  return out;
}

}  // namespace fdo::pem
