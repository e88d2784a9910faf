// The errno <-> gRPC code table and the message round trip.
#include "berth/api/grpc_status.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::api {
namespace {

using grpc::StatusCode;

TEST(GrpcStatus, MappingTable) {
  const std::pair<int, StatusCode> table[] = {
      {ENOENT, StatusCode::NOT_FOUND},
      {ESRCH, StatusCode::NOT_FOUND},
      {EEXIST, StatusCode::ALREADY_EXISTS},
      {EAGAIN, StatusCode::UNAVAILABLE},
      {EBUSY, StatusCode::UNAVAILABLE},
      {EINVAL, StatusCode::INVALID_ARGUMENT},
      {ETIMEDOUT, StatusCode::DEADLINE_EXCEEDED},
      {EPERM, StatusCode::PERMISSION_DENIED},
      {EACCES, StatusCode::PERMISSION_DENIED},
      {ENOSPC, StatusCode::RESOURCE_EXHAUSTED},
      {ENOSYS, StatusCode::UNIMPLEMENTED},
      {ECANCELED, StatusCode::CANCELLED},
      {ERANGE, StatusCode::OUT_OF_RANGE},
      {ESTALE, StatusCode::ABORTED},
      {EIO, StatusCode::INTERNAL},
      {0, StatusCode::UNKNOWN},
  };
  for (const auto& [err, code] : table) {
    EXPECT_EQ(GrpcCodeForErrno(err), code) << ErrnoName(err);
  }
  EXPECT_EQ(ErrnoForGrpcCode(StatusCode::NOT_FOUND), ENOENT);
  EXPECT_EQ(ErrnoForGrpcCode(StatusCode::ALREADY_EXISTS), EEXIST);
  EXPECT_EQ(ErrnoForGrpcCode(StatusCode::UNAVAILABLE), EAGAIN);
  EXPECT_EQ(ErrnoForGrpcCode(StatusCode::INVALID_ARGUMENT), EINVAL);
  EXPECT_EQ(ErrnoForGrpcCode(StatusCode::DEADLINE_EXCEEDED), ETIMEDOUT);
  EXPECT_EQ(ErrnoForGrpcCode(StatusCode::UNKNOWN), 0);
  EXPECT_STREQ(GrpcCodeName(StatusCode::NOT_FOUND), "NOT_FOUND");
}

TEST(GrpcStatus, KeepsTheWholeMessage) {
  Error e = Error::Sys(ENOENT, "no such pod").Wrap("get pod default/web");
  grpc::Status s = ToGrpcStatus(e);
  EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(),
            "get pod default/web: no such pod: No such file or directory (ENOENT)");
  EXPECT_TRUE(ToGrpcStatus(Ok()).ok());
  EXPECT_EQ(ToGrpcStatus(Status(Error::Invalid("bad"))).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST(GrpcStatus, RoundTripsBerthErrors) {
  for (int err : {ENOENT, EEXIST, EBUSY, EAGAIN, EINVAL, EIO, EPIPE, 0}) {
    Error e = Error::Sys(err, "inner (detail)").Wrap("outer: x");
    Error back = FromGrpcStatus(ToGrpcStatus(e));
    EXPECT_EQ(back.err(), err) << ErrnoName(err);
    EXPECT_EQ(back.ToString(), e.ToString());
  }
}

TEST(GrpcStatus, ForeignMessagesTakeTheCodesErrno) {
  Error e = FromGrpcStatus(grpc::Status(StatusCode::UNAVAILABLE, "failed to connect (x)"));
  EXPECT_EQ(e.err(), EAGAIN);
  EXPECT_EQ(e.Chain(), "failed to connect (x)");
  // A suffix naming an errno whose text does not match is not ours.
  e = FromGrpcStatus(grpc::Status(StatusCode::NOT_FOUND, "gone: Broken pipe (ENOENT)"));
  EXPECT_EQ(e.err(), ENOENT);
  EXPECT_EQ(e.Chain(), "gone: Broken pipe (ENOENT)");
  e = FromGrpcStatus(grpc::Status(StatusCode::INTERNAL, ""));
  EXPECT_EQ(e.Chain(), "INTERNAL");
}

}  // namespace
}  // namespace berth::api
