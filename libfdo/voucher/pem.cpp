#include "libfdo/voucher/pem.h"

#include "libfdo/core/error.h"
#include "libfdo/core/pem.h"

namespace fdo::voucher {
namespace {

bool is_private_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "RSA PRIVATE KEY";
}

}  // namespace

std::vector<VoucherInput> read_vouchers(ByteView file) {
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  if (!pem::starts_with_begin(text)) {
    // docs/voucher.md "PEM files": raw CBOR is accepted when the input does not start with -----BEGIN.
    if (file.empty()) {
      throw_body_error("voucher file is empty");
    }
    std::vector<VoucherInput> out;
    out.push_back(VoucherInput{.cbor = Bytes(file.begin(), file.end()), .private_key_pem = std::nullopt, .index = 1});
    return out;
  }
  const std::vector<pem::Block> blocks = pem::read_blocks(text);
  std::vector<VoucherInput> out;
  std::string other_labels;
  bool after_voucher = false;
  for (const pem::Block& block : blocks) {
    if (block.label == kPemLabel) {
      Bytes cbor = block.decode();
      if (cbor.empty()) {
        throw_body_error("PEM: OWNERSHIP VOUCHER block " + std::to_string(out.size() + 1) + " is empty");
      }
      out.push_back(VoucherInput{.cbor = std::move(cbor), .private_key_pem = std::nullopt, .index = out.size() + 1});
      after_voucher = true;
      continue;
    }
    if (after_voucher && is_private_key_label(block.label)) {
      out.back().private_key_pem = SecretBytes(to_bytes(block.text));
    } else if (other_labels.find(block.label) == std::string::npos) {
      other_labels += (other_labels.empty() ? "" : ", ") + block.label;
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
  return pem::write(kPemLabel, voucher_cbor);
}

}  // namespace fdo::voucher
