#include "tools/common/stop_signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

namespace fdo::tool {
namespace {

// Each test runs in its own process (gtest_discover_tests), so the signal mask it leaves behind stays there.

TEST(StopSignals, WaitReturnsTheSignalThatArrived) {
  const StopSignals signals;
  ASSERT_EQ(raise(SIGTERM), 0);  // blocked: it stays pending until the wait takes it
  EXPECT_EQ(signals.wait(), SIGTERM);
}

TEST(StopSignals, WaitWithIntervalCallsBackUntilASignalArrives) {
  const StopSignals signals;
  int calls = 0;
  const int got = signals.wait(std::chrono::seconds(1), [&calls] {
    if (++calls == 2) {
      raise(SIGINT);
    }
  });
  EXPECT_EQ(got, SIGINT);
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace fdo::tool
