// Writes the seed corpora of the message_decode (and trace_annotate), eat_verify, cose_sign1 and http_request fuzz
// targets (docs/style.md §9): a few valid encodings of each input, made with our encoders and the fixed key of
// fuzz_key.h, plus a few near misses. Run by hand after an encoding change:
//
//   build/tests/make_fuzz_seeds libfdo/fuzz/corpus
//
// Signatures are randomised (ECDSA), so a rerun rewrites the signed seeds with other bytes of the same shape.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "libfdo/cbor/writer.h"
#include "libfdo/core/file.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/cose/header.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/fuzz/fuzz_key.h"
#include "libfdo/messages/di.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/messages/to0.h"
#include "libfdo/messages/to1.h"
#include "libfdo/messages/to2.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/protocol/eat.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/rvto2addr.h"
#include "libfdo/types/sig_info.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/voucher.h"

namespace {

namespace fs = std::filesystem;
using fdo::Bytes;

class Corpus {
 public:
  Corpus(const fs::path& root, const std::string& target) : m_dir(root / target) { fs::create_directories(m_dir); }
  void add(const std::string& name, fdo::ByteView data) const {
    fdo::write_file_atomic(m_dir / name, data, 0644);
    std::cout << (m_dir / name).string() << " (" << data.size() << " bytes)\n";
  }
  void add(const std::string& name, const std::string& text) const { add(name, fdo::to_bytes(text)); }
  // A message_decode input: the type byte, then the body.
  void message(const std::string& name, std::uint8_t type, fdo::ByteView body) const {
    Bytes input{type};
    input.insert(input.end(), body.begin(), body.end());
    add(name, input);
  }

 private:
  fs::path m_dir;
};

Bytes eat_with_claims(const std::vector<std::pair<std::int64_t, Bytes>>& claims) {
  fdo::cbor::Writer w;
  w.map(claims.size());
  for (const auto& [key, value] : claims) {
    w.int_(key).bstr(value);
  }
  return fdo::cose::Sign1::sign(fdo::fuzz::private_key(), fdo::crypto::SigAlg::ES256, std::move(w).take()).encode();
}

Bytes ueid() {
  Bytes out{fdo::protocol::kEatRand};
  const fdo::Guid guid = fdo::fuzz::guid();
  const fdo::ByteView bytes = guid.view();
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

// A seed that should be valid but is not would silently weaken its target.
void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "make_fuzz_seeds: " << what << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_fuzz_seeds CORPUS_ROOT (libfdo/fuzz/corpus)\n";
    return 2;
  }
  const fs::path root = argv[1];
  const fdo::Nonce nonce = fdo::fuzz::nonce();
  const fdo::Guid guid = fdo::fuzz::guid();
  const fdo::crypto::PrivateKey& key = fdo::fuzz::private_key();

  // The 3-entry voucher of libfdo/testdata/voucher (made by our own tests' fixture, see its README.md).
  const Bytes voucher_cbor =
      fdo::voucher::read_vouchers(fdo::read_file(fs::path(FDO_SOURCE_DIR) / "libfdo/testdata/voucher/p256-3-entries.voucher.pem"))
          .front()
          .cbor;
  const fdo::voucher::OwnershipVoucher voucher = fdo::voucher::OwnershipVoucher::decode(voucher_cbor);

  // TO0.OwnerSign and the to1d that TO1.RVRedirect returns (FDO 1.1 §5.3.3, §5.4.4).
  const fdo::to0::To0d to0d{.ownership_voucher = voucher_cbor, .wait_seconds = 3600, .nonce_to0_sign = nonce};
  const std::vector<std::string> urls{"http://127.0.0.1:8043"};
  const fdo::to0::To1dBlobPayload to1d_payload{
      .to1d_rv = fdo::RVTO2Addr::from_urls(urls),
      .to1d_to0d_hash = fdo::Hash::compute(fdo::HashType::Sha256, to0d.encode())};
  const fdo::cose::Sign1 to1d = fdo::cose::Sign1::sign(key, fdo::crypto::SigAlg::ES256, to1d_payload.encode());
  const fdo::to0::OwnerSign owner_sign = fdo::to0::OwnerSign::make(to0d, to1d);
  const fdo::protocol::SoftwareSigner signer(fdo::crypto::PrivateKey::from_pem(fdo::fuzz::kKeyPem));
  const fdo::cose::Sign1 eat = fdo::protocol::make_eat(signer, nonce, guid);

  const Corpus messages(root, "message_decode");
  fdo::di::MfgInfo info;
  info.serial_no = "SN-FUZZ";
  info.device_info = "fuzz";
  messages.message("di_10_app_start.bin", 10, fdo::di::AppStart{.device_mfg_info = info.encode()}.encode());
  messages.message("di_11_set_credentials.bin", 11,
                   fdo::di::SetCredentials{.ov_header = Bytes(voucher.header_bytes().begin(), voucher.header_bytes().end())}
                       .encode());
  messages.message("di_12_set_hmac.bin", 12,
                   fdo::di::SetHMAC{.hmac = fdo::Hash::compute_hmac(fdo::HashType::HmacSha256,
                                                                    fdo::SecretBytes(Bytes(32, 0x33)), Bytes{1, 2, 3})}
                       .encode());
  messages.message("di_13_done.bin", 13, fdo::di::Done{}.encode());
  messages.message("to0_20_hello.bin", 20, fdo::to0::Hello{}.encode());
  messages.message("to0_21_hello_ack.bin", 21, fdo::to0::HelloAck{.nonce_to0_sign = nonce}.encode());
  messages.message("to0_22_owner_sign.bin", 22, owner_sign.encode());
  messages.message("to0_23_accept_owner.bin", 23, fdo::to0::AcceptOwner{.wait_seconds = 3600}.encode());
  const fdo::SigInfo es256 = fdo::SigInfo::for_alg(fdo::crypto::SigAlg::ES256);
  messages.message("to1_30_hello_rv.bin", 30, fdo::to1::HelloRV{.guid = guid, .ea_sig_info = es256}.encode());
  messages.message("to1_31_hello_rv_ack.bin", 31,
                   fdo::to1::HelloRVAck{.nonce_to1_proof = nonce, .eb_sig_info = es256}.encode());
  messages.message("to1_32_prove_to_rv.bin", 32, eat.encode());
  messages.message("to1_33_rv_redirect.bin", 33, to1d.encode());
  const fdo::to2::HelloDevice hello{.max_device_message_size = 65535,
                                    .guid = guid,
                                    .nonce_to2_prove_ov = nonce,
                                    .kex_suite_name = "ECDH256",
                                    .cipher_suite_name = 1,
                                    .ea_sig_info = es256};
  messages.message("to2_60_hello_device.bin", 60, hello.encode());
  const fdo::PublicKey owner_pub = fdo::PublicKey::from_key(key.public_key());
  const fdo::to2::ProveOVHdrPayload prove_payload{
      .ov_header = Bytes(voucher.header_bytes().begin(), voucher.header_bytes().end()),
      .num_ov_entries = 1,
      .hmac = fdo::Hash::compute_hmac(fdo::HashType::HmacSha256, fdo::SecretBytes(Bytes(32, 0x33)), Bytes{1}),
      .nonce_to2_prove_ov = nonce,
      .eb_sig_info = es256,
      .xa_key_exchange = Bytes(86, 0x07),
      .hello_device_hash = fdo::Hash::compute(fdo::HashType::Sha256, hello.encode()),
      .max_owner_message_size = 65535};
  messages.message("to2_61_prove_ov_hdr.bin", 61,
                   fdo::to2::ProveOVHdr::sign(key, fdo::crypto::SigAlg::ES256, prove_payload, nonce, owner_pub).encode());
  messages.message("to2_62_get_ov_next_entry.bin", 62, fdo::to2::GetOVNextEntry{.ov_entry_num = 0}.encode());
  messages.message("to2_63_ov_next_entry.bin", 63, fdo::to2::OVNextEntry{.ov_entry_num = 0, .ov_entry = to1d.encode()}.encode());
  fdo::cose::HeaderMap euph;
  euph.emplace(fdo::to2::kEuphNonce, Bytes{0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  messages.message("to2_64_prove_device.bin", 64,
                   fdo::protocol::make_eat(signer, nonce, guid, fdo::ByteView(fdo::to2::encode_eat_fdo_claim(Bytes(86, 9))), euph)
                       .encode());
  const fdo::RendezvousInfo rv = fdo::RendezvousInfo::from_urls("http://127.0.0.1:8041");
  messages.message("to2_65_setup_device.bin", 65,
                   fdo::to2::SetupDevice::sign(key, fdo::crypto::SigAlg::ES256,
                                               fdo::to2::SetupDevicePayload{.rendezvous_info = rv,
                                                                            .rendezvous_info_bytes = rv.encode(),
                                                                            .guid = guid,
                                                                            .nonce_to2_setup_dv = nonce,
                                                                            .owner2_key = owner_pub})
                       .encode());
  messages.message("to2_66_device_service_info_ready.bin", 66,
                   fdo::to2::DeviceServiceInfoReady{.replacement_hmac = std::nullopt, .max_owner_service_info_sz = 1300}
                       .encode());
  messages.message("to2_67_owner_service_info_ready.bin", 67,
                   fdo::to2::OwnerServiceInfoReady{.max_device_service_info_sz = 1300}.encode());
  messages.message("to2_68_device_service_info.bin", 68,
                   fdo::to2::DeviceServiceInfo{
                       .is_more_service_info = false,
                       .service_info = {fdo::serviceinfo::make_kv("devmod", "active", fdo::serviceinfo::bool_value(true)),
                                        fdo::serviceinfo::make_kv("devmod", "os", fdo::serviceinfo::tstr_value("Linux"))}}
                       .encode());
  messages.message("to2_69_owner_service_info.bin", 69,
                   fdo::to2::OwnerServiceInfo{.is_more_service_info = false, .is_done = true, .service_info = {}}.encode());
  messages.message("to2_70_done.bin", 70, fdo::to2::Done{.nonce_to2_prove_dv = nonce}.encode());
  messages.message("to2_71_done2.bin", 71, fdo::to2::Done2{.nonce_to2_setup_dv = nonce}.encode());
  messages.message("error_255.bin", 255,
                   fdo::ErrorMessage{.em_error_code = 100, .em_prev_msg_id = 22, .em_error_str = "bad body",
                                     .em_error_ts = 1700000000, .em_error_cid = 7}
                       .encode());
  messages.message("error_255_null_ts.bin", 255, Bytes{0x85, 0x18, 0x64, 0x0a, 0x60, 0xf6, 0xf6});
  messages.message("unknown_type_owner_sign_body.bin", 99, owner_sign.encode());

  // The valid seeds decode and verify with the fixed key (what the targets need to reach their deeper checks).
  check(fdo::to0::OwnerSign::decode(owner_sign.encode()).to0d.wait_seconds == 3600, "TO0.OwnerSign");
  check(fdo::to1::RVRedirect::decode(to1d.encode()).to1d.verify(fdo::fuzz::public_key()), "TO1.RVRedirect");
  check(fdo::protocol::verify_eat(fdo::to1::ProveToRV::decode(eat.encode()).eat, fdo::fuzz::public_key(),
                                  {.nonce = nonce, .guid = guid, .alg = fdo::crypto::SigAlg::ES256})
            .nonce.has_value(),
        "EAT");
  // The trace annotator reads the same inputs: every message a traced tool can receive.
  fs::create_directories(root / "trace_annotate");
  for (const auto& entry : fs::directory_iterator(root / "message_decode")) {
    fs::copy_file(entry.path(), root / "trace_annotate" / entry.path().filename(), fs::copy_options::overwrite_existing);
  }

  const Corpus eats(root, "eat_verify");
  eats.add("valid_es256.cbor", eat.encode());
  eats.add("ueid_under_claim_11.cbor", eat_with_claims({{fdo::protocol::kEatNonce, Bytes(16, 0x11)}, {11, ueid()}}));
  eats.add("wrong_nonce.cbor",
           eat_with_claims({{fdo::protocol::kEatNonce, Bytes(16, 0x12)}, {fdo::protocol::kEatUeid, ueid()}}));
  eats.add("with_fdo_claim.cbor",
           fdo::protocol::make_eat(signer, nonce, guid, fdo::ByteView(Bytes{0x81, 0x41, 0x00})).encode());
  {
    fdo::cbor::Writer w;
    w.map(2).int_(fdo::protocol::kEatNonce).bstr(Bytes(16, 0x11)).int_(fdo::protocol::kEatUeid).bstr(ueid());
    eats.add("bare_payload.cbor", std::move(w).take());
  }

  const Corpus sign1s(root, "cose_sign1");
  sign1s.add("valid_es256.cbor", fdo::cose::Sign1::sign(key, fdo::crypto::SigAlg::ES256, fdo::to_bytes("hello")).encode());
  fdo::cose::HeaderMap unprotected;
  unprotected.emplace(4, Bytes{0x42, 0x6b, 0x31});  // kid: h'6b31'
  sign1s.add("valid_with_kid.cbor",
             fdo::cose::Sign1::sign(key, fdo::crypto::SigAlg::ES256, Bytes{0x80}, unprotected).encode());
  const Bytes tagged = to1d.encode();
  sign1s.add("to1d.cbor", tagged);
  sign1s.add("untagged.cbor", Bytes(tagged.begin() + 1, tagged.end()));  // without the d2 tag head

  const Corpus http(root, "http_request");
  const std::string post = "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string cbor = "Content-Type: application/cbor\r\n";
  http.add("valid_first_message.http", post + cbor + "Content-Length: 1\r\n\r\n\x80");
  http.add("valid_with_token.http", post + cbor + "Authorization: Bearer tok-1\r\nContent-Length: 2\r\n\r\n\x80\x01");
  http.add("client_error_255.http", "POST /fdo/101/msg/255 HTTP/1.1\r\nHost: x\r\n" + cbor +
                                        "Authorization: Bearer t\r\nContent-Length: 1\r\n\r\n\x85");
  http.add("lowercase_bearer.http", post + cbor + "Authorization: bearer abc\r\nContent-Length: 1\r\n\r\n\x80");
  http.add("gzip.http", post + cbor + "Content-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello");
  http.add("conflicting_lengths.http", post + cbor + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n\x80\x80");
  http.add("equal_lengths.http", post + cbor + "Content-Length: 1\r\nContent-Length: 01\r\n\r\n\x80");
  http.add("negative_length.http", post + cbor + "Content-Length: -1\r\n\r\n");
  http.add("huge_length.http", post + cbor + "Content-Length: 18446744073709551615\r\n\r\n");
  http.add("chunked.http", post + cbor + "Transfer-Encoding: chunked\r\n\r\n1\r\n\x80\r\n0\r\n\r\n");
  http.add("no_length.http", post + cbor + "\r\n");
  http.add("wrong_content_type.http", post + "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\n\x80");
  std::string nul = post + cbor + "X-Test: a";
  nul.push_back('\0');
  http.add("nul_in_header.http", nul + "b\r\nContent-Length: 1\r\n\r\n\x80");
  http.add("get_message_path.http", "GET /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\n\r\n");
  return 0;
}
