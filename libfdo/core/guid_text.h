#pragma once
// The text forms of a GUID that people copy between FDO stacks: 32 hex digits (what our tools print) and the
// dashed UUID form 8-4-4-4-12 (RFC 4122 §3) that go-fdo and fdo-rs print. Both name the same 16 bytes in order.

#include <string>
#include <string_view>

#include "libfdo/core/fixed_bytes.h"

namespace fdo {

/// Parses a GUID given as 32 hex digits or in the dashed UUID form, either case, no braces. Throws
/// Error(MessageBodyError) "GUID 'TEXT': expected 32 hex digits or 8-4-4-4-12 (…)" otherwise.
Guid parse_guid(std::string_view text);

/// The dashed UUID form of `guid`, lower case: "ac00da61-07e8-405e-acc4-94aef3f68966".
std::string guid_uuid_text(const Guid& guid);

}  // namespace fdo
