#include "libfdo/serviceinfo/mtu.h"

#include <gtest/gtest.h>

#include <string>

#include "libfdo/cbor/writer.h"

namespace fdo::serviceinfo {
namespace {

// The real encoded size of a 68 or 69 body.
std::size_t real_body(const ServiceInfo& kvs, std::size_t flags) {
  cbor::Writer w;
  w.array(flags + 1);
  for (std::size_t i = 0; i < flags; ++i) {
    w.boolean(false);
  }
  encode_service_info(w, kvs);
  return w.bytes().size();
}

TEST(ServiceInfoMtu, NullAndSmallSizesCountAs1300) {
  EXPECT_EQ(effective_mtu(std::nullopt, "maxOwnerServiceInfoSz"), 1300U);
  EXPECT_EQ(effective_mtu(17, "maxOwnerServiceInfoSz"), 1300U);
  EXPECT_EQ(effective_mtu(1299, "maxOwnerServiceInfoSz"), 1300U);
  EXPECT_EQ(effective_mtu(8192, "maxOwnerServiceInfoSz"), 8192U);
}

TEST(ServiceInfoMtu, BodySizeIsTheWholePlaintextBody) {
  ServiceInfo kvs;
  for (int i = 0; i < 30; ++i) {
    kvs.push_back(make_kv("m", "x", bstr_value(Bytes(static_cast<std::size_t>(i) * 10, 1))));
    EXPECT_EQ(body_size(kvs, kDeviceFlags), real_body(kvs, kDeviceFlags));
    EXPECT_EQ(body_size(kvs, kOwnerFlags), real_body(kvs, kOwnerFlags));
  }
}

TEST(ServiceInfoMtu, PackerFillsExactlyToTheLimit) {
  for (const std::size_t flags : {kDeviceFlags, kOwnerFlags}) {
    const std::string key = "fdo.download:data";
    const std::size_t n = max_bstr_chunk(max_single_kv(1300, flags), key);
    const ServiceInfoKv exact{.key = key, .value = bstr_value(Bytes(n, 0xaa))};
    Packer packer(1300, flags);
    ASSERT_TRUE(packer.try_add(exact));
    EXPECT_EQ(real_body(packer.kvs(), flags), 1300U);
    EXPECT_FALSE(packer.try_add(make_kv("m", "x", bool_value(true))));
    // One byte more does not fit even alone.
    const ServiceInfoKv over{.key = key, .value = bstr_value(Bytes(n + 1, 0xaa))};
    Packer other(1300, flags);
    EXPECT_FALSE(other.fits_alone(over));
    EXPECT_FALSE(other.try_add(over));
    EXPECT_TRUE(other.empty());
  }
}

TEST(ServiceInfoMtu, PackerCountsTheGrowingArrayHead) {
  // 23 KVs take a one-byte array head, 24 a two-byte one.
  const ServiceInfoKv kv = make_kv("m", "x", bool_value(true));
  const std::size_t limit = 1 + 1 + 1 + 24 * encoded_size(kv);  // enough only if the head stayed one byte
  Packer packer(limit, kDeviceFlags);
  for (int i = 0; i < 23; ++i) {
    ASSERT_TRUE(packer.try_add(kv));
  }
  EXPECT_FALSE(packer.try_add(kv));
  EXPECT_LE(real_body(packer.kvs(), kDeviceFlags), limit);
}

TEST(ServiceInfoMtu, RoomIsASafeBudget) {
  Packer packer(1300, kOwnerFlags);
  ASSERT_TRUE(packer.try_add(make_kv("m", "active", bool_value(true))));
  const std::size_t room = packer.room();
  const std::string key = "m:data";
  const ServiceInfoKv kv{.key = key, .value = bstr_value(Bytes(max_bstr_chunk(room, key), 1))};
  EXPECT_LE(encoded_size(kv), room);
  EXPECT_TRUE(packer.try_add(kv));
  EXPECT_LE(real_body(packer.kvs(), kOwnerFlags), 1300U);
}

TEST(ServiceInfoMtu, MaxBstrChunkIsTight) {
  for (std::size_t budget = 0; budget < 600; ++budget) {
    const std::size_t n = max_bstr_chunk(budget, "k:v");
    const ServiceInfoKv kv{.key = "k:v", .value = bstr_value(Bytes(n, 0))};
    const ServiceInfoKv next{.key = "k:v", .value = bstr_value(Bytes(n + 1, 0))};
    if (n > 0) {
      EXPECT_LE(encoded_size(kv), budget) << budget;
    }
    EXPECT_GT(encoded_size(next), budget) << budget;
  }
}

}  // namespace
}  // namespace fdo::serviceinfo
