#pragma once
// Hex and base64 text forms of bytes.

#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"

namespace fdo {

/// Lower-case hex of the bytes.
std::string to_hex(ByteView b);
/// Parses hex (upper or lower case, even length); throws Error(MessageBodyError) otherwise.
Bytes from_hex(std::string_view hex);
/// Standard base64 with padding (RFC 4648 §4), no line breaks.
std::string base64_encode(ByteView b);
/// Base64url without padding (RFC 4648 §5), used for tokens.
std::string base64url_encode(ByteView b);
/// Decodes standard base64; whitespace (CR, LF, space, tab) is skipped; throws Error on bad input.
Bytes base64_decode(std::string_view text);

}  // namespace fdo
