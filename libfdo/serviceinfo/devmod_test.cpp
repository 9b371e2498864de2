#include "libfdo/serviceinfo/devmod.h"

#include <gtest/gtest.h>

#include <sys/utsname.h>

#include <string>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/internal/expect_error.h"
#include "libfdo/serviceinfo/mtu.h"

namespace fdo::serviceinfo {
namespace {

DevmodInfo sample() {
  OsFacts facts{.sysname = "Linux",
                .release = "6.1.0",
                .machine = "x86_64",
                .os_release = "# comment\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian 12'\n",
                .product_name = "Example Box",
                .tmp_dir = "/tmp"};
  DevmodInfo info = devmod_from_facts(facts);
  info.sn = "SN-1";
  info.modules = {"devmod", "fdo.download", "fdo.command"};
  return info;
}

std::vector<std::string> keys(const ServiceInfo& kvs) {
  std::vector<std::string> out;
  for (const ServiceInfoKv& kv : kvs) {
    out.push_back(kv.key);
  }
  return out;
}

TEST(ServiceInfoDevmod, FromFakeMachine) {
  const DevmodInfo info = sample();
  EXPECT_EQ(info.os, "Linux");
  EXPECT_EQ(info.arch, "x86_64");
  EXPECT_EQ(info.version, "Debian GNU/Linux 12");
  EXPECT_EQ(info.device, "Example Box");
  EXPECT_EQ(info.sep, ":");
  EXPECT_EQ(info.bin, "x86_64");
  // Only PRETTY_NAME, then nothing: the kernel release.
  OsFacts pretty;
  pretty.os_release = "PRETTY_NAME=\"Arch Linux\"";
  EXPECT_EQ(devmod_from_facts(pretty).version, "Arch Linux");
  OsFacts none;
  none.release = "6.1.0";
  const DevmodInfo bare = devmod_from_facts(none);
  EXPECT_EQ(bare.version, "6.1.0");
  EXPECT_EQ(bare.device, "unknown");
  EXPECT_TRUE(missing_required(DevmodInfo{}).size() > 0);
}

TEST(ServiceInfoDevmod, FromThisMachine) {
  utsname names{};
  ASSERT_EQ(uname(&names), 0);
  const DevmodInfo info = devmod_from_os();
  EXPECT_EQ(info.os, names.sysname);
  EXPECT_EQ(info.arch, names.machine);
  EXPECT_FALSE(info.version.empty());
  EXPECT_FALSE(info.device.empty());
  EXPECT_FALSE(info.tmp.empty());
}

TEST(ServiceInfoDevmod, SendsRequiredAndChosenKeysInOrder) {
  const ServiceInfo kvs = devmod_kvs(sample(), max_single_kv(1300, kDeviceFlags));
  const std::vector<std::string> expected = {
      "devmod:active", "devmod:os",  "devmod:arch", "devmod:version", "devmod:device",  "devmod:sn",
      "devmod:pathsep", "devmod:sep", "devmod:nl",   "devmod:tmp",     "devmod:dir",     "devmod:progenv",
      "devmod:bin",     "devmod:nummodules", "devmod:modules"};
  EXPECT_EQ(keys(kvs), expected);
  EXPECT_EQ(kvs.front().value, bool_value(true));
  DevmodInfo merged;
  for (const ServiceInfoKv& kv : kvs) {
    merge_devmod(merged, split_key(kv.key).second, kv.value);
  }
  DevmodInfo want = sample();
  want.nummodules = 3;
  EXPECT_EQ(merged, want);
  EXPECT_TRUE(missing_required(merged).empty());
  EXPECT_EQ(DevmodInfo::decode(merged.encode()), merged);
}

TEST(ServiceInfoDevmod, ModulesChunkedWithStartIndices) {
  DevmodInfo info = sample();
  info.modules.clear();
  for (int i = 0; i < 200; ++i) {
    info.modules.push_back("com.example.module-number-" + std::to_string(i));
  }
  const std::size_t max_kv = 300;
  const ServiceInfo kvs = devmod_kvs(info, max_kv);
  std::uint64_t next = 0;
  int chunks = 0;
  DevmodInfo merged;
  for (const ServiceInfoKv& kv : kvs) {
    if (kv.key != "devmod:modules") {
      continue;
    }
    ++chunks;
    EXPECT_LE(encoded_size(kv), max_kv);
    cbor::Reader r(kv.value);
    const std::size_t items = r.read_array("");
    EXPECT_EQ(r.read_uint("start"), next);
    EXPECT_EQ(r.read_uint("count"), items - 2);
    next += items - 2;
    merge_devmod(merged, "modules", kv.value);
  }
  EXPECT_GT(chunks, 20);
  EXPECT_EQ(next, 200U);
  EXPECT_EQ(merged.modules, info.modules);
  // A name that cannot fit a chunk alone is our bug, not something to send.
  info.modules = {std::string(400, 'x')};
  test::expect_error([&] { (void)devmod_kvs(info, max_kv); }, ErrorCode::InternalServerError);
}

TEST(ServiceInfoDevmod, OwnerMergesLeniently) {
  DevmodInfo info;
  // Java PRI writes start 0 in every chunk: names are appended in arrival order anyway.
  cbor::Writer a;
  a.array(3).uint(0).uint(1).tstr("devmod");
  cbor::Writer b;
  b.array(4).uint(0).uint(2).tstr("fdo.download").tstr("fdo.command");
  merge_devmod(info, "modules", a.bytes());
  merge_devmod(info, "modules", b.bytes());
  EXPECT_EQ(info.modules, (std::vector<std::string>{"devmod", "fdo.download", "fdo.command"}));
  // go-fdo sends sn as bstr.
  merge_devmod(info, "sn", bstr_value(to_bytes("ABC123")));
  EXPECT_EQ(info.sn, "ABC123");
  merge_devmod(info, "sn", bstr_value(Bytes{0x00, 0xff}));
  EXPECT_EQ(info.sn, "00ff");
  merge_devmod(info, "unknown-key", uint_value(1));
  test::expect_error([&] { merge_devmod(info, "os", uint_value(1)); }, ErrorCode::MessageBodyError);
  test::expect_error([&] { merge_devmod(info, "modules", uint_value(1)); }, ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo::serviceinfo
