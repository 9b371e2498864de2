#pragma once
// Test-only: expects an fdo::Error with a given code, so that a test pins the code the spec names instead of
// "some error". Header-only; include it from test sources only (it needs GoogleTest).

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

#include "libfdo/core/error.h"

namespace fdo::test {

/// Runs `fn` and expects an fdo::Error with `code`; returns its message (empty if none was thrown).
inline std::string expect_error(const std::function<void()>& fn, ErrorCode code) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(code)) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected fdo::Error, got " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected Error(" << static_cast<int>(code) << "), nothing thrown";
  return {};
}

}  // namespace fdo::test
