// The one place where Berth errors become gRPC statuses, and statuses
// become errors again on the client side.
//
// Server side: the code follows the errno (table in grpc_status.cc: ENOENT
// -> NOT_FOUND, EEXIST -> ALREADY_EXISTS, EAGAIN/EBUSY -> UNAVAILABLE, EINVAL
// -> INVALID_ARGUMENT, ESTALE (a stale resourceVersion) -> ABORTED, ERANGE -> OUT_OF_RANGE, ...)
// and the message is the whole Error::ToString(), context chain and errno name included, so the
// reason is never lost. Client side: a message in that form gives back the same Error (the errno
// from its "(ENAME)" suffix); any other message (e.g. from the gRPC
// transport) keeps its text and takes the errno the code stands for.
//
// Pure functions; thread-safe. No errors of their own.
#pragma once

#include <grpcpp/support/status.h>

#include "berth/common/error.h"

namespace berth::api {

grpc::StatusCode GrpcCodeForErrno(int err);
// The errno a code stands for when a message carries none (0 for UNKNOWN).
int ErrnoForGrpcCode(grpc::StatusCode code);
// "NOT_FOUND", ...
const char* GrpcCodeName(grpc::StatusCode code);

grpc::Status ToGrpcStatus(const Error& error);
// OK for an ok Status.
grpc::Status ToGrpcStatus(const Status& status);

// `status` must not be OK.
Error FromGrpcStatus(const grpc::Status& status);

}  // namespace berth::api
