// The kinds the control service serves and how to reach each one inside the
// berth.v1.Object envelope: Kubernetes' kind name, plural resource name,
// apiVersion and scope, and typed access to the object's metadata.
//
// Values and functions only; thread-safe. Lookups return nullptr for an
// unknown kind; functions taking an Object require one with a kind set.
#pragma once

#include <span>
#include <string_view>

#include "control.pb.h"

namespace berth::api {

// Where a node's agent serves berth.v1.Agent ("unix:/run/berth/agent.sock"),
// on its Node: set by the agent, read by `berth exec`.
inline constexpr std::string_view kAgentApiAnnotation = "berth.dev/agent-api";

struct KindInfo {
  std::string_view kind;         // "Deployment"
  std::string_view plural;       // "deployments"
  std::string_view api_version;  // "apps/v1"
  bool namespaced = true;
  v1::Object::ObjectCase object_case = v1::Object::OBJECT_NOT_SET;
  // Short names kubectl accepts ("deploy", "svc", "po").
  std::string_view short_name;
};

std::span<const KindInfo> AllKinds();
// By kind ("Deployment"), plural ("deployments"), singular lower case
// ("deployment") or short name ("deploy"); nullptr when unknown.
const KindInfo* FindKind(std::string_view name);
const KindInfo* KindOf(const v1::Object& object);

// The message set in the envelope (Pod, Deployment, ...).
const google::protobuf::Message& Payload(const v1::Object& object);
google::protobuf::Message& MutablePayload(v1::Object& object);
// Sets the envelope's kind to `kind` (clearing any other) and returns the
// empty message.
google::protobuf::Message& SetKind(v1::Object& object, const KindInfo& kind);

const v1::ObjectMeta& MetaOf(const v1::Object& object);
v1::ObjectMeta* MutableMeta(v1::Object& object);

// Fills apiVersion and kind from the envelope (they are not stored).
void SetTypeFields(v1::Object& object);

// "deployment.apps/web", "pod/web-1": how kubectl names an object.
std::string ResourceName(const v1::Object& object);
// "Deployment.apps", "Pod": the group-qualified kind of error messages.
std::string QualifiedKind(const KindInfo& kind);

}  // namespace berth::api
