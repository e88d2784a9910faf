#include "berth/api/grpc_status.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::api {
namespace {

// Linux errnos are below 134; the margin covers newer kernels.
constexpr int kMaxErrno = 256;

// The errno named `name` ("ENOENT"), or 0.
int ErrnoByName(std::string_view name) {
  for (int e = 1; e < kMaxErrno; ++e) {
    if (name == ErrnoName(e)) return e;
  }
  return 0;
}

// Splits "<chain>: <strerror(e)> (<ENAME>)", the form Error::ToString() gives
// an error with errno e, into e and the chain. False for any other message.
bool SplitErrnoSuffix(const std::string& message, int* err, std::string* chain) {
  if (message.empty() || message.back() != ')') return false;
  const size_t open = message.rfind(" (");
  if (open == std::string::npos) return false;
  const int e = ErrnoByName(std::string_view(message).substr(open + 2, message.size() - open - 3));
  if (e == 0) return false;
  const std::string suffix = std::string(": ") + std::strerror(e);
  if (open < suffix.size() || message.compare(open - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  *err = e;
  *chain = message.substr(0, open - suffix.size());
  return true;
}

}  // namespace

grpc::StatusCode GrpcCodeForErrno(int err) {
  switch (err) {
    case 0:
      return grpc::StatusCode::UNKNOWN;
    case ENOENT:
    case ESRCH:
      return grpc::StatusCode::NOT_FOUND;
    case EEXIST:
      return grpc::StatusCode::ALREADY_EXISTS;
    case EAGAIN:
    case EBUSY:
    case ECONNREFUSED:
      return grpc::StatusCode::UNAVAILABLE;
    case EINVAL:
    case E2BIG:
    case ENAMETOOLONG:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ETIMEDOUT:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case EPERM:
    case EACCES:
      return grpc::StatusCode::PERMISSION_DENIED;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EDQUOT:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ENOSYS:
    case ENOTSUP:
      return grpc::StatusCode::UNIMPLEMENTED;
    case ECANCELED:
      return grpc::StatusCode::CANCELLED;
    case ESTALE:  // a write against a stale resourceVersion: a conflict
      return grpc::StatusCode::ABORTED;
    case ERANGE:
      return grpc::StatusCode::OUT_OF_RANGE;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

int ErrnoForGrpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::UNKNOWN:
      return 0;
    case grpc::StatusCode::CANCELLED:
      return ECANCELED;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return EINVAL;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ETIMEDOUT;
    case grpc::StatusCode::NOT_FOUND:
      return ENOENT;
    case grpc::StatusCode::ALREADY_EXISTS:
      return EEXIST;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return EACCES;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ENOSPC;
    case grpc::StatusCode::ABORTED:
      return ESTALE;
    case grpc::StatusCode::UNAVAILABLE:
      return EAGAIN;
    case grpc::StatusCode::OUT_OF_RANGE:
      return ERANGE;
    case grpc::StatusCode::UNIMPLEMENTED:
      return ENOSYS;
    default:
      return EIO;
  }
}

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

grpc::Status ToGrpcStatus(const Error& error) {
  return {GrpcCodeForErrno(error.err()), error.ToString()};
}

grpc::Status ToGrpcStatus(const Status& status) {
  return status.ok() ? grpc::Status::OK : ToGrpcStatus(status.error());
}

Error FromGrpcStatus(const grpc::Status& status) {
  int err = 0;
  std::string chain;
  if (SplitErrnoSuffix(status.error_message(), &err, &chain)) return Error::Sys(err, chain);
  std::string message = status.error_message();
  if (message.empty()) message = GrpcCodeName(status.error_code());
  return Error::Sys(ErrnoForGrpcCode(status.error_code()), std::move(message));
}

}  // namespace berth::api
