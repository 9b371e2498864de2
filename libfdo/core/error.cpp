#include "libfdo/core/error.h"

namespace fdo {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidJwtToken: return "INVALID_JWT_TOKEN";
    case ErrorCode::InvalidOwnershipVoucher: return "INVALID_OWNERSHIP_VOUCHER";
    case ErrorCode::InvalidOwnerSignBody: return "INVALID_OWNER_SIGN_BODY";
    case ErrorCode::InvalidIpAddress: return "INVALID_IP_ADDRESS";
    case ErrorCode::InvalidGuid: return "INVALID_GUID";
    case ErrorCode::ResourceNotFound: return "RESOURCE_NOT_FOUND";
    case ErrorCode::MessageBodyError: return "MESSAGE_BODY_ERROR";
    case ErrorCode::InvalidMessageError: return "INVALID_MESSAGE_ERROR";
    case ErrorCode::CredReuseError: return "CRED_REUSE_ERROR";
    case ErrorCode::InternalServerError: return "INTERNAL_SERVER_ERROR";
  }
  return "UNKNOWN";
}

void throw_body_error(const std::string& what) { throw Error(ErrorCode::MessageBodyError, what); }
void throw_invalid(const std::string& what) { throw Error(ErrorCode::InvalidMessageError, what); }
void throw_internal(const std::string& what) { throw Error(ErrorCode::InternalServerError, what); }
void throw_transport(const std::string& what, ErrorCode code) {
  throw Error(code, what, ErrorSource::Transport);
}

}  // namespace fdo
