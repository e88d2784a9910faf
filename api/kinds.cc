#include "berth/api/kinds.h"

#include <array>
#include <cctype>
#include <string>

namespace berth::api {
namespace {

using OC = v1::Object::ObjectCase;

constexpr std::array kKinds = {
    KindInfo{"Namespace", "namespaces", "v1", false, OC::kNamespace, "ns"},
    KindInfo{"Node", "nodes", "v1", false, OC::kNode, "no"},
    KindInfo{"Pod", "pods", "v1", true, OC::kPod, "po"},
    KindInfo{"ReplicaSet", "replicasets", "apps/v1", true, OC::kReplicaSet, "rs"},
    KindInfo{"Deployment", "deployments", "apps/v1", true, OC::kDeployment, "deploy"},
    KindInfo{"DaemonSet", "daemonsets", "apps/v1", true, OC::kDaemonSet, "ds"},
    KindInfo{"Job", "jobs", "batch/v1", true, OC::kJob, ""},
    KindInfo{"Service", "services", "v1", true, OC::kService, "svc"},
    KindInfo{"Endpoints", "endpoints", "v1", true, OC::kEndpoints, "ep"},
    KindInfo{"ConfigMap", "configmaps", "v1", true, OC::kConfigMap, "cm"},
    KindInfo{"Secret", "secrets", "v1", true, OC::kSecret, ""},
    KindInfo{"ResourceQuota", "resourcequotas", "v1", true, OC::kResourceQuota, "quota"},
    KindInfo{"LimitRange", "limitranges", "v1", true, OC::kLimitRange, "limits"},
    KindInfo{"PriorityClass", "priorityclasses", "scheduling.k8s.io/v1", false, OC::kPriorityClass,
             "pc"},
    KindInfo{"Event", "events", "v1", true, OC::kEvent, "ev"},
    KindInfo{"Lease", "leases", "coordination.k8s.io/v1", true, OC::kLease, ""},
};

bool EqualsLower(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

const google::protobuf::FieldDescriptor* OneofField(OC object_case) {
  return v1::Object::descriptor()->FindFieldByNumber(static_cast<int>(object_case));
}

// Every kind message has ObjectMeta as field 1 (see api/*.proto).
constexpr int kMetadataField = 1;

}  // namespace

std::span<const KindInfo> AllKinds() { return kKinds; }

const KindInfo* FindKind(std::string_view name) {
  for (const KindInfo& k : kKinds) {
    if (name == k.kind || EqualsLower(name, k.plural) || EqualsLower(name, k.kind) ||
        (!k.short_name.empty() && name == k.short_name)) {
      return &k;
    }
  }
  return nullptr;
}

const KindInfo* KindOf(const v1::Object& object) {
  for (const KindInfo& k : kKinds) {
    if (k.object_case == object.object_case()) return &k;
  }
  return nullptr;
}

const google::protobuf::Message& Payload(const v1::Object& object) {
  const auto* refl = object.GetReflection();
  return refl->GetMessage(object, OneofField(object.object_case()));
}

google::protobuf::Message& MutablePayload(v1::Object& object) {
  const auto* refl = object.GetReflection();
  return *refl->MutableMessage(&object, OneofField(object.object_case()));
}

google::protobuf::Message& SetKind(v1::Object& object, const KindInfo& kind) {
  object.Clear();
  return *object.GetReflection()->MutableMessage(&object, OneofField(kind.object_case));
}

const v1::ObjectMeta& MetaOf(const v1::Object& object) {
  const auto& payload = Payload(object);
  const auto* field = payload.GetDescriptor()->FindFieldByNumber(kMetadataField);
  return static_cast<const v1::ObjectMeta&>(payload.GetReflection()->GetMessage(payload, field));
}

v1::ObjectMeta* MutableMeta(v1::Object& object) {
  auto& payload = MutablePayload(object);
  const auto* field = payload.GetDescriptor()->FindFieldByNumber(kMetadataField);
  return static_cast<v1::ObjectMeta*>(payload.GetReflection()->MutableMessage(&payload, field));
}

void SetTypeFields(v1::Object& object) {
  const KindInfo* kind = KindOf(object);
  if (kind == nullptr) return;
  auto& payload = MutablePayload(object);
  const auto* desc = payload.GetDescriptor();
  const auto* refl = payload.GetReflection();
  refl->SetString(&payload, desc->FindFieldByName("api_version"), std::string(kind->api_version));
  refl->SetString(&payload, desc->FindFieldByName("kind"), std::string(kind->kind));
}

std::string QualifiedKind(const KindInfo& kind) {
  std::string out(kind.kind);
  const auto slash = kind.api_version.find('/');
  if (slash != std::string_view::npos) {
    out += '.';
    out += kind.api_version.substr(0, slash);
  }
  return out;
}

std::string ResourceName(const v1::Object& object) {
  const KindInfo* kind = KindOf(object);
  if (kind == nullptr) return "<none>";
  std::string out;
  for (char c : kind->kind) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto slash = kind->api_version.find('/');
  if (slash != std::string_view::npos) {
    out += '.';
    out += kind->api_version.substr(0, slash);
  }
  out += '/';
  out += MetaOf(object).name();
  return out;
}

}  // namespace berth::api
