#include "libfdo/fsim/transfer_util.h"

#include <gtest/gtest.h>

namespace fdo::fsim::transfer {
namespace {

TEST(OwnerDeadline, TheRoundThatStartsTheWaitNeverExpiresItEvenWithTimeout0) {
  OwnerDeadline d(0);
  d.start();
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.within(), "within 0 s");
}

TEST(OwnerDeadline, ARestoredDeadlineIsCheckedAtOnceAgainstTheWallClock) {
  OwnerDeadline started(600);
  started.start();
  OwnerDeadline other_process(600);
  other_process.restore(started.saved());
  EXPECT_FALSE(other_process.expired());
  EXPECT_GE(started.saved(), now_ms() + 599 * 1000);
  OwnerDeadline past(600);
  past.restore(now_ms() - 1);
  EXPECT_TRUE(past.expired());
}

}  // namespace
}  // namespace fdo::fsim::transfer
