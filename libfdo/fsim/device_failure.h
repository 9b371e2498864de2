#pragma once
// How our device modules fail (docs/service-info.md "fdo_sys", "fdo.command"): the module first reports the failure
// to the owner in its own message, in the next TO2.DeviceServiceInfo (68), and, unless the owner ends TO2 first,
// raises the error on the following turn, so the device sends the error message (255) instead of continuing.

#include <optional>
#include <string>

#include "libfdo/core/error.h"

namespace fdo::fsim {

class DeviceFailure {
 public:
  /// Records the first failure (later ones are only logged by the caller).
  void set(ErrorCode code, std::string what) {
    if (!m_error) {
      m_error = Error(code, std::move(what));
    }
  }
  [[nodiscard]] bool failed() const { return m_error.has_value(); }
  [[nodiscard]] std::string what() const { return m_error ? m_error->what() : std::string(); }
  /// For a failure found in on_poll() itself: its report goes out in this 68, so the next poll() throws.
  void reported() { m_polls = 1; }
  /// Called from on_poll(): the first call lets the report go out, the second throws.
  void poll() {
    if (m_error && m_polls++ > 0) {
      throw *m_error;
    }
  }

 private:
  std::optional<Error> m_error;
  int m_polls = 0;
};

}  // namespace fdo::fsim
