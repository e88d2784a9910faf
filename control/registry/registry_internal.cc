#include "registry_internal.h"

#include <cerrno>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

namespace berth::control::detail {
namespace {

const google::protobuf::FieldDescriptor* StatusField(const google::protobuf::Message& m) {
  return m.GetDescriptor()->FindFieldByName("status");
}

// A copy of the payload without metadata and status.
std::unique_ptr<google::protobuf::Message> SpecOnly(const google::protobuf::Message& m) {
  std::unique_ptr<google::protobuf::Message> copy(m.New());
  copy->CopyFrom(m);
  const auto* refl = copy->GetReflection();
  for (const char* name : {"metadata", "status", "api_version", "kind"}) {
    if (const auto* f = copy->GetDescriptor()->FindFieldByName(name))
      refl->ClearField(copy.get(), f);
  }
  return copy;
}

}  // namespace

std::string KindPrefix(const api::KindInfo& kind, std::string_view ns) {
  std::string out(kRegistryPrefix);
  out += kind.plural;
  out += '/';
  if (kind.namespaced && !ns.empty()) {
    out += ns;
    out += '/';
  }
  return out;
}

std::string ObjectStoreKey(const api::KindInfo& kind, std::string_view ns, std::string_view name) {
  return KindPrefix(kind, kind.namespaced ? ns : "") + std::string(name);
}

std::string Resource(const api::KindInfo& kind) {
  std::string out(kind.plural);
  const auto slash = kind.api_version.find('/');
  if (slash != std::string_view::npos) {
    out += '.';
    out += kind.api_version.substr(0, slash);
  }
  return out;
}

Error NotFound(const api::KindInfo& kind, std::string_view name) {
  return Error::Sys(ENOENT, Resource(kind) + " \"" + std::string(name) + "\" not found");
}

Error AlreadyExists(const api::KindInfo& kind, std::string_view name) {
  return Error::Sys(EEXIST, Resource(kind) + " \"" + std::string(name) + "\" already exists");
}

Error Conflict(const api::KindInfo& kind, std::string_view name) {
  return Error::Sys(ESTALE, "Operation cannot be fulfilled on " + Resource(kind) + " \"" +
                                std::string(name) +
                                "\": the object has been modified; please apply your changes to "
                                "the latest version and try again");
}

Error Forbidden(std::string what) { return Error::Sys(EACCES, "forbidden: " + std::move(what)); }

bool HasStatus(const v1::Object& object) { return StatusField(api::Payload(object)) != nullptr; }

void CopyStatus(const v1::Object& from, v1::Object& to) {
  const auto& src = api::Payload(from);
  auto& dst = api::MutablePayload(to);
  const auto* field = StatusField(src);
  if (field == nullptr) return;
  const auto* refl = dst.GetReflection();
  if (src.GetReflection()->HasField(src, field)) {
    refl->MutableMessage(&dst, field)->CopyFrom(src.GetReflection()->GetMessage(src, field));
  } else {
    refl->ClearField(&dst, field);
  }
}

bool SameSpec(const v1::Object& a, const v1::Object& b) {
  if (a.object_case() != b.object_case()) return false;
  auto sa = SpecOnly(api::Payload(a));
  auto sb = SpecOnly(api::Payload(b));
  return google::protobuf::util::MessageDifferencer::Equals(*sa, *sb);
}

bool SameObject(const v1::Object& a, const v1::Object& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

google::protobuf::Timestamp ToTimestamp(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns.count());
}

}  // namespace berth::control::detail
