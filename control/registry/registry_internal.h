// Internal to the registry: store keys, kubectl-shaped error messages and
// message-level helpers shared by registry.cc, apply.cc and list_watch.cc.
#pragma once

#include <string>
#include <string_view>

#include "control.pb.h"

#include "berth/api/kinds.h"
#include "berth/common/error.h"

namespace berth::control::detail {

inline constexpr std::string_view kRegistryPrefix = "/registry/";
inline constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// "/registry/<plural>/" + "<namespace>/" for namespaced kinds ("" ns: all).
std::string KindPrefix(const api::KindInfo& kind, std::string_view ns);
std::string ObjectStoreKey(const api::KindInfo& kind, std::string_view ns, std::string_view name);

// "deployments.apps": how Kubernetes names a resource in errors.
std::string Resource(const api::KindInfo& kind);
Error NotFound(const api::KindInfo& kind, std::string_view name);
Error AlreadyExists(const api::KindInfo& kind, std::string_view name);
Error Conflict(const api::KindInfo& kind, std::string_view name);
Error Forbidden(std::string what);

// The payload's `status` field is present (the kind has a status
// subresource).
bool HasStatus(const v1::Object& object);
// Copies the payload's status from `from` to `to` (same kind).
void CopyStatus(const v1::Object& from, v1::Object& to);
// Everything but metadata and status equal (a generation bump otherwise).
bool SameSpec(const v1::Object& a, const v1::Object& b);
bool SameObject(const v1::Object& a, const v1::Object& b);

google::protobuf::Timestamp ToTimestamp(std::chrono::system_clock::time_point t);

}  // namespace berth::control::detail
