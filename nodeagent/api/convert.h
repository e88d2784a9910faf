// Conversions between the agent's status structs (PodStatus, NodeStatus)
// and their berth.v1 messages (objects.proto), in Kubernetes' terms: phase
// and condition strings, container states as a oneof, times as
// google.protobuf.Timestamp (0 ns <-> unset).
//
// Pure functions; thread-safe. Errors: the *FromProto functions return
// EINVAL naming the field for a phase or condition status they do not know.
#pragma once

#include <cstdint>

#include <google/protobuf/timestamp.pb.h>

#include "node_status.h"
#include "objects.pb.h"
#include "pod_status.h"

#include "berth/common/error.h"

namespace berth::nodeagent {

Result<PodPhase> ParsePodPhase(const std::string& phase);

google::protobuf::Timestamp TimestampFromNs(int64_t ns);
int64_t NsFromTimestamp(const google::protobuf::Timestamp& ts);

v1::Pod PodToProto(const PodStatus& pod);
Result<PodStatus> PodFromProto(const v1::Pod& pod);

v1::Node NodeToProto(const NodeStatus& node);
Result<NodeStatus> NodeFromProto(const v1::Node& node);

}  // namespace berth::nodeagent
