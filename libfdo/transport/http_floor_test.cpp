#include "libfdo/transport/http_floor.h"

#include <gtest/gtest.h>

namespace fdo::transport {
namespace {

// A measurement, not a timing assertion: both figures are positive, finite, and counted for every request.
TEST(HttpFloor, MeasuresBothTheBareLibraryAndOurBinding) {
  const HttpFloor floor = measure_http_floor(20);
  EXPECT_EQ(floor.requests, 20u);
  EXPECT_GT(floor.raw_us, 0.0);
  EXPECT_GT(floor.ours_us, 0.0);
  EXPECT_LT(floor.raw_us, 1e7);
  EXPECT_LT(floor.ours_us, 1e7);
}

}  // namespace
}  // namespace fdo::transport
