// fdo-reseller as a process (docs/cli.md): exit codes, --json shapes, files written, and the conformance lines
// OV-19, OV-20, OV-21, OV-22 through the real binary.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "libfdo/core/file.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/pem.h"
#include "libfdo/voucher/verify.h"
#include "libfdo/voucher/voucher.h"

namespace fdo {
namespace {

namespace fs = std::filesystem;

const std::string kBin = std::string(FDO_BIN_DIR) + "/fdo-reseller";
const std::string kInterop = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/interop/";
const std::string kTestdata = std::string(FDO_SOURCE_DIR) + "/libfdo/testdata/voucher/";

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class ResellerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fdo-reseller-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
  }
  void TearDown() override { fs::remove_all(m_dir); }

  [[nodiscard]] std::string path(const std::string& name) const { return (m_dir / name).string(); }

  /// Runs `fdo-reseller <args>` through the shell, capturing stdout, stderr and the exit status.
  [[nodiscard]] Result run(const std::string& args) const { return run_with(kBin, args); }
  [[nodiscard]] Result run_with(const std::string& program, const std::string& args) const {
    const std::string out = path("stdout.txt");
    const std::string err = path("stderr.txt");
    const std::string command = program + " " + args + " >" + out + " 2>" + err;
    const int status = std::system(command.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = to_string(read_file(out));
    r.err = to_string(read_file(err));
    return r;
  }

  /// As run(), killed after 20 s (exit 124) so that a read that never ends fails the test instead of hanging it.
  [[nodiscard]] Result run_bounded(const std::string& args) const { return run_with("timeout 20 " + kBin, args); }

  void write(const std::string& name, const std::string& text) const {
    write_file_atomic(path(name), to_bytes(text), 0644);
  }

  fs::path m_dir;
};

std::string read_text(const std::string& file) { return to_string(read_file(file)); }

TEST_F(ResellerCli, KeygenWritesAPrivateKeyWithMode0600) {
  const Result r = run("keygen --key-type p384 -o " + path("k.pem") + " --pub " + path("k.pub.pem"));
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(path("k.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const crypto::PrivateKey key = crypto::PrivateKey::from_pem(read_text(path("k.pem")));
  EXPECT_EQ(key.type(), crypto::KeyType::P384);
  EXPECT_TRUE(crypto::PublicKey::from_pem(read_text(path("k.pub.pem"))).same_key(key.public_key()));
  // The private key is never printed.
  EXPECT_EQ(r.out.find("PRIVATE"), std::string::npos);
  // An existing key is not replaced without --force.
  EXPECT_EQ(run("keygen --key-type p256 -o " + path("k.pem")).code, 1);
  EXPECT_EQ(crypto::PrivateKey::from_pem(read_text(path("k.pem"))).type(), crypto::KeyType::P384);
  EXPECT_EQ(run("keygen --key-type p256 --force -o " + path("k.pem")).code, 0);
  EXPECT_EQ(crypto::PrivateKey::from_pem(read_text(path("k.pem"))).type(), crypto::KeyType::P256);
}

TEST_F(ResellerCli, ShowJsonOnTheInteropVouchers) {  // OV-22
  Result r = run("show --json " + kInterop + "fdo-rs-v101-voucher2.pem");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"format\":1,\"vouchers\":[{\"protocol_version\":101,"
                        "\"guid\":\"ac00da6107e8405eacc494aef3f68966\",",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("\"device_info\":\"DemoDevice\""), std::string::npos);
  EXPECT_NE(r.out.find("\"entry_count\":2"), std::string::npos);
  EXPECT_NE(r.out.find("\"pk_type\":\"SECP256R1\",\"pk_enc\":\"X509\",\"key_type\":\"p256\""), std::string::npos);
  r = run("show --json " + kInterop + "fdo-rs-v101-voucher1.pem");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"guid\":\"18907279a41d049aae3c4da4ce61c14b\""), std::string::npos) << r.out;
  r = run("show --json " + kInterop + "pri-v100-voucher1.pem");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"format\":1,\"vouchers\":[{\"protocol_version\":100,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"device_info\":\"Java Device\""), std::string::npos);
}

TEST_F(ResellerCli, ShowTextAndRaw) {
  Result r = run("show " + kInterop + "pri-v100-voucher1.pem");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("protocol version    100"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FDO 1.0 voucher"), std::string::npos) << r.out;
  r = run("show " + kInterop + "fdo-rs-v101-voucher2.pem");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("GUID                ac00da6107e8405eacc494aef3f68966"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dns=fdo-test.puiterwijk.org"), std::string::npos) << r.out;
  r = run("show --raw " + kInterop + "fdo-rs-v101-voucher2.pem");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("[", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("101"), std::string::npos);
  EXPECT_NE(r.out.find("\"DemoDevice\""), std::string::npos) << r.out;
}

TEST_F(ResellerCli, VerifyJsonOnTheInteropVouchers) {  // OV-22
  Result r = run("verify --json " + kInterop + "fdo-rs-v101-voucher2.pem");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"format\":1,\"valid\":true,\"voucher_count\":1,\"checks\":[{\"voucher\":1,"
                        "\"name\":\"protocol version\",\"entry\":null,\"ok\":true,",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("\"name\":\"entry signature\",\"entry\":1,\"ok\":true,"), std::string::npos) << r.out;

  r = run("verify --json " + kInterop + "fdo-rs-v101-voucher1.pem");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("{\"format\":1,\"valid\":false,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"device cert chain hash\",\"entry\":null,\"ok\":false,"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("check 'device cert chain hash' failed"), std::string::npos) << r.err;

  r = run("verify --lenient legacy-cert-chain-hash " + kInterop + "fdo-rs-v101-voucher1.pem");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("WARN"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("legacy-cert-chain-hash"), std::string::npos) << r.err;

  // --log-level is global and accepted after the subcommand too; error level hides the warning.
  r = run("verify --log-level error --lenient legacy-cert-chain-hash " + kInterop + "fdo-rs-v101-voucher1.pem");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("WARN"), std::string::npos) << r.err;

  r = run("verify " + kInterop + "pri-v100-voucher1.pem");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("protocol version 100"), std::string::npos) << r.err;
}

TEST_F(ResellerCli, VerifyHmacSecret) {  // OV-19
  const std::string voucher = kTestdata + "p256-3-entries.voucher.pem";
  std::string secret;  // the fixture's secret: 32 bytes of 0x5A (libfdo/testdata/voucher/README.md)
  for (int i = 0; i < 32; ++i) {
    secret += "5a";
  }
  const std::string wrong(64, 'a');
  Result r = run("verify --hmac-secret " + secret + " " + voucher);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok    header HMAC: HMAC-SHA256 of the header bytes matches"), std::string::npos) << r.out;
  r = run("verify --json --hmac-secret " + wrong + " " + voucher);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("\"name\":\"header HMAC\",\"entry\":null,\"ok\":false,"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("check 'header HMAC' failed"), std::string::npos) << r.err;
}

TEST_F(ResellerCli, ExtendRefusesTheWrongKeyAndWritesNothing) {  // OV-21
  ASSERT_EQ(run("keygen --key-type p256 -o " + path("next.pem") + " --pub " + path("next.pub.pem")).code, 0);
  // The current owner of p256-3-entries is the manufacturer key (see libfdo/testdata/voucher/README.md).
  const Result r = run("extend " + kTestdata + "p256-3-entries.voucher.pem --owner-key " + kTestdata +
                       "owner1-p256.pem --next-owner " + path("next.pub.pem") + " -o " + path("out.pem"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not the current owner key"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.pem")));
}

TEST_F(ResellerCli, ExtendWithTheRightKeyThenVerify) {  // OV-21
  ASSERT_EQ(run("keygen --key-type p256 -o " + path("next.pem") + " --pub " + path("next.pub.pem")).code, 0);
  const std::string input = kTestdata + "p256-3-entries.voucher.pem";
  Result r = run("extend " + input + " --owner-key " + kTestdata + "manufacturer-p256.pem --next-owner " +
                 path("next.pub.pem") + " -o " + path("out.pem"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("verify " + path("out.pem"));
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  const voucher::OwnershipVoucher before =
      voucher::OwnershipVoucher::decode(voucher::read_vouchers(read_file(input)).at(0).cbor);
  const std::vector<voucher::VoucherInput> out = voucher::read_vouchers(read_file(path("out.pem")));
  ASSERT_EQ(out.size(), 1u);
  const voucher::OwnershipVoucher after = voucher::OwnershipVoucher::decode(out[0].cbor);
  ASSERT_EQ(after.entries().size(), before.entries().size() + 1);
  // Everything before the new entry is unchanged, byte for byte.
  EXPECT_TRUE(equal(after.header_bytes(), before.header_bytes()));
  EXPECT_TRUE(equal(after.header_hmac_bytes(), before.header_hmac_bytes()));
  EXPECT_EQ(after.dev_cert_chain(), before.dev_cert_chain());
  for (std::size_t i = 0; i < before.entries().size(); ++i) {
    EXPECT_EQ(after.entries()[i].bytes, before.entries()[i].bytes) << "entry " << i;
  }
  // The new OVEPubKey is the next owner's key, byte for byte.
  const crypto::PublicKey next = crypto::PublicKey::from_pem(read_text(path("next.pub.pem")));
  const PublicKey& added = after.entries().back().payload.ove_pub_key;
  EXPECT_EQ(added.pk_enc(), PkEnc::X509);
  EXPECT_TRUE(equal(added.raw(), PublicKey::from_key(next).raw()));
  EXPECT_EQ(added.key().spki_der(), next.spki_der());

  // The new owner can extend again; --der writes raw CBOR.
  r = run("extend " + path("out.pem") + " --owner-key " + path("next.pem") + " --next-owner " + kTestdata +
          "owner1-p256.pem --der -o " + path("out2.cbor"));
  EXPECT_EQ(r.code, 1) << "a PRIVATE KEY file is not a next-owner public key";
  ASSERT_EQ(run("keygen --key-type p256 -o " + path("third.pem") + " --pub " + path("third.pub.pem")).code, 0);
  r = run("extend " + path("out.pem") + " --owner-key " + path("next.pem") + " --next-owner " + path("third.pub.pem") +
          " --der -o " + path("out2.cbor"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_file(path("out2.cbor")).at(0), 0x85);
  EXPECT_EQ(run("verify " + path("out2.cbor")).code, 0);
}

TEST_F(ResellerCli, ExtendRefusesAnotherKeyTypeAndAnInvalidVoucher) {
  ASSERT_EQ(run("keygen --key-type p384 -o " + path("next.pem") + " --pub " + path("next.pub.pem")).code, 0);
  Result r = run("extend " + kTestdata + "p256-3-entries.voucher.pem --owner-key " + kTestdata +
                 "manufacturer-p256.pem --next-owner " + path("next.pub.pem") + " -o " + path("out.pem"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key type"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("out.pem")));
  r = run("extend " + kInterop + "fdo-rs-v101-voucher1.pem --owner-key " + kTestdata +
          "manufacturer-p256.pem --next-owner " + path("next.pub.pem") + " -o " + path("out.pem"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("refusing to extend an invalid voucher"), std::string::npos) << r.err;
}

TEST_F(ResellerCli, PemLabels) {  // OV-20
  write("cert.pem", "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
  Result r = run("verify " + path("cert.pem"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no OWNERSHIP VOUCHER PEM block found (found: CERTIFICATE)"), std::string::npos) << r.err;
  // The conformance tools' format: the voucher block followed by the owner's PRIVATE KEY block.
  write("bundle.pem", read_text(kTestdata + "p256-3-entries.voucher.pem") + read_text(kTestdata + "manufacturer-p256.pem"));
  r = run("verify " + path("bundle.pem"));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("PRIVATE"), std::string::npos);
}

TEST_F(ResellerCli, SeveralVouchersInOneFile) {
  write("two.pem", read_text(kTestdata + "p256-3-entries.voucher.pem") + read_text(kInterop + "fdo-rs-v101-voucher2.pem"));
  Result r = run("verify " + path("two.pem"));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("voucher 2 of 2:"), std::string::npos) << r.out;
  // The same document shape as for one voucher: every check names its voucher.
  r = run("verify --json " + path("two.pem"));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("{\"format\":1,\"valid\":true,\"voucher_count\":2,\"checks\":[{\"voucher\":1,", 0), 0u)
      << r.out;
  EXPECT_NE(r.out.find("{\"voucher\":2,\"name\":\"protocol version\","), std::string::npos) << r.out;
  r = run("show --json " + path("two.pem"));
  EXPECT_EQ(r.out.rfind("{\"format\":1,\"vouchers\":[{\"protocol_version\":101,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("},{\"protocol_version\":101,"), std::string::npos) << r.out;
  write("mixed.pem", read_text(kTestdata + "p256-3-entries.voucher.pem") + read_text(kInterop + "fdo-rs-v101-voucher1.pem"));
  r = run("verify " + path("mixed.pem"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("voucher 2 of 2 is invalid"), std::string::npos) << r.err;
}

TEST_F(ResellerCli, SampledCorruptionsExitOne) {  // OV-16 through the binary (the unit sweep covers every byte)
  const Bytes good = voucher::read_vouchers(read_file(kTestdata + "p256-3-entries.voucher.pem")).at(0).cbor;
  for (std::size_t i = 0; i < good.size(); i += 97) {
    Bytes bad = good;
    bad[i] ^= 0xFF;
    write_file_atomic(path("bad.cbor"), bad, 0644);
    EXPECT_EQ(run("verify " + path("bad.cbor")).code, 1) << "offset " << i;
  }
}

TEST_F(ResellerCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("frobnicate").code, 2);
  EXPECT_EQ(run("verify").code, 2);
  EXPECT_EQ(run("verify --no-such-flag " + kInterop + "fdo-rs-v101-voucher2.pem").code, 2);
  EXPECT_EQ(run("verify --lenient no-such-quirk " + kInterop + "fdo-rs-v101-voucher2.pem").code, 2);
  EXPECT_EQ(run("verify --hmac-secret xyz " + kInterop + "fdo-rs-v101-voucher2.pem").code, 2);
  EXPECT_EQ(run("keygen --key-type p521 -o " + path("k.pem")).code, 2);
  EXPECT_EQ(run("extend " + kInterop + "fdo-rs-v101-voucher2.pem").code, 2);
  EXPECT_EQ(run("show --json --raw " + kInterop + "fdo-rs-v101-voucher2.pem").code, 2);
  EXPECT_EQ(run("--log-level loud show " + kInterop + "fdo-rs-v101-voucher2.pem").code, 2);
}

TEST_F(ResellerCli, HelpOnEveryCommandHasAnExample) {
  for (const char* cmd : {"", "keygen ", "show ", "verify ", "extend "}) {
    const Result r = run(std::string(cmd) + "--help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Example: fdo-reseller"), std::string::npos) << cmd << r.out;
  }
}


// OV-16 with --hmac-secret through the binary (the unit sweep covers every byte, with and without the secret).
TEST_F(ResellerCli, OV16_SampledCorruptionsExitOneWithTheHmacSecret) {
  const Bytes good = voucher::read_vouchers(read_file(kTestdata + "p256-3-entries.voucher.pem")).at(0).cbor;
  std::string secret;  // the fixture's secret: 32 bytes of 0x5A (libfdo/testdata/voucher/README.md)
  for (int i = 0; i < 32; ++i) {
    secret += "5a";
  }
  write_file_atomic(path("good.cbor"), good, 0644);
  ASSERT_EQ(run("verify --hmac-secret " + secret + " " + path("good.cbor")).code, 0);
  for (std::size_t i = 5; i < good.size(); i += 101) {
    Bytes bad = good;
    bad[i] ^= 0xFF;
    write_file_atomic(path("bad.cbor"), bad, 0644);
    EXPECT_EQ(run("verify --hmac-secret " + secret + " " + path("bad.cbor")).code, 1) << "offset " << i;
  }
}

// OV-17 through the binary (the unit sweep covers every length): truncations and one appended byte exit 1.
TEST_F(ResellerCli, OV17_SampledTruncationsAndAnAppendedByteExitOne) {
  const Bytes good = voucher::read_vouchers(read_file(kTestdata + "p256-3-entries.voucher.pem")).at(0).cbor;
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n < good.size(); n += 89) {
    lengths.push_back(n);
  }
  lengths.push_back(good.size() - 1);
  for (const std::size_t n : lengths) {
    write_file_atomic(path("short.cbor"), Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)), 0644);
    EXPECT_EQ(run("verify " + path("short.cbor")).code, 1) << "truncated to " << n;
  }
  Bytes longer = good;
  longer.push_back(0x00);
  write_file_atomic(path("long.cbor"), longer, 0644);
  EXPECT_EQ(run("verify " + path("long.cbor")).code, 1) << "one byte appended";
}

// A device credential file as fdo-device writes it (TPM-backed, so no key material is needed).
Bytes device_credential_file() {
  DeviceCredential c;
  c.dc_device_info = "model";
  c.dc_guid = Guid::random();
  c.dc_rv_info = RendezvousInfo::from_urls({"http://127.0.0.1:8041"});
  c.dc_pub_key_hash = Hash::compute(HashType::Sha256, Bytes{1, 2, 3});
  c.storage = CredentialStorage::Tpm;
  c.tpm = TpmKeyRef{0x81000001, 0x81000002};
  const SecretBytes encoded = c.encode();
  return Bytes(encoded.view().begin(), encoded.view().end());
}

TEST_F(ResellerCli, ShowRefusesAFileThatIsNotAVoucherSayingWhatItIsNot) {
  write("text.txt", "hello, I am a text file\n");
  write_file_atomic(path("random.bin"), random_bytes(200), 0644);
  write_file_atomic(path("cred.bin"), device_credential_file(), 0600);
  for (const char* name : {"text.txt", "random.bin", "cred.bin"}) {
    for (const char* flags : {"", "--json "}) {
      const Result r = run(std::string("show ") + flags + path(name));
      EXPECT_EQ(r.code, 1) << name << ": " << r.out << r.err;
      EXPECT_EQ(r.err.rfind("fdo-reseller show: " + path(name) + " is not an ownership voucher: ", 0), 0u)
          << name << ": " << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
      EXPECT_EQ(r.out, "") << name;
    }
  }
  const Result r = run("show " + path("cred.bin"));
  EXPECT_NE(r.err.find("is not an ownership voucher: it is a device credential"), std::string::npos) << r.err;
}

TEST_F(ResellerCli, MissingInputFilesAreExitOneNamingTheFile) {
  const std::string absent = path("absent.pem");
  for (const std::string& args : {"show " + absent, "verify " + absent, "verify --json " + absent,
                                  "extend " + absent + " --owner-key k.pem --next-owner n.pem"}) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 1) << args << ": " << r.err;
    EXPECT_EQ(r.err, "fdo-reseller " + args.substr(0, args.find(' ')) + ": cannot read " + absent + ": no such file\n");
  }
  const std::string voucher = kTestdata + "p256-3-entries.voucher.pem";
  Result r = run("extend " + voucher + " --owner-key " + absent + " --next-owner " + absent);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "fdo-reseller extend: cannot read " + absent + ": no such file\n");
}

// docs/cli.md "Input files": every input file is read through the bounded reader; what is not a regular file of at
// most 16 MiB is exit 1 with one line naming it, at once. `timeout 20` keeps a regression from hanging the test run.
TEST_F(ResellerCli, InputFilesAreRegularAndAtMost16MiB) {
  fs::create_directory(path("dir"));
  write("big.pem", "");
  fs::resize_file(path("big.pem"), (std::uintmax_t{16} << 20) + 1);
  const std::string voucher = kTestdata + "p256-3-entries.voucher.pem";
  struct Case {
    std::string args;
    std::string file;
    std::string problem;
  };
  std::vector<Case> cases;
  for (const std::string command : {"show", "show --json", "verify", "verify --json"}) {
    cases.push_back({command + " /proc/self/mem", "/proc/self/mem", "Input/output error"});
    cases.push_back({command + " /dev/zero", "/dev/zero", "not a regular file"});
    cases.push_back({command + " " + path("dir"), path("dir"), "is a directory"});
    cases.push_back({command + " " + path("big.pem"), path("big.pem"), "larger than 16777216 bytes"});
  }
  cases.push_back({"extend /dev/zero --owner-key k.pem --next-owner n.pem", "/dev/zero", "not a regular file"});
  cases.push_back({"extend " + voucher + " --owner-key /dev/zero --next-owner n.pem", "/dev/zero", "not a regular file"});
  for (const Case& c : cases) {
    const Result r = run_bounded(c.args);
    EXPECT_EQ(r.code, 1) << c.args << ": " << r.err;
    const std::string command = c.args.substr(0, c.args.find(' '));
    EXPECT_EQ(r.err, "fdo-reseller " + command + ": cannot read " + c.file + ": " + c.problem + "\n") << c.args;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

TEST_F(ResellerCli, ExtendReadsTheOwnerKeyThroughTheKeyFileReader) {
  // A public key where the private key is due: one line naming the file, exit 1.
  ASSERT_EQ(run("keygen --key-type p256 -o " + path("next.pem") + " --pub " + path("next.pub.pem")).code, 0);
  const Result r = run("extend " + kTestdata + "p256-3-entries.voucher.pem --owner-key " + path("next.pub.pem") +
                       " --next-owner " + path("next.pub.pem") + " -o " + path("out.pem"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("fdo-reseller extend: " + path("next.pub.pem") + ": ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_FALSE(fs::exists(path("out.pem")));
}

TEST_F(ResellerCli, VersionAndMistypedNamesAndMissingSubcommand) {
  Result r = run("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "fdo-reseller " FDO_PROJECT_VERSION "\n");
  r = run("show --jsn " + kInterop + "fdo-rs-v101-voucher2.pem");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "fdo-reseller show: unknown option --jsn; did you mean --json?\n");
  r = run("verfy " + kInterop + "fdo-rs-v101-voucher2.pem");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "fdo-reseller: unknown subcommand 'verfy'; did you mean 'verify'?\n");
  r = run("");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("fdo-reseller: a subcommand is required: keygen, show, verify, extend\n", 0), 0u) << r.err;
}

}  // namespace
}  // namespace fdo
