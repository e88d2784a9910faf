#include "berth/control/controllers/pods.h"

#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "berth/api/kinds.h"

namespace berth::control {
namespace {

using google::protobuf::util::TimeUtil;

const v1::PodCondition* ReadyCondition(const v1::Pod& pod) {
  for (const auto& c : pod.status().conditions()) {
    if (c.type() == "Ready") return &c;
  }
  return nullptr;
}

int PhaseRank(const std::string& phase) {
  if (phase == "Pending") return 0;
  if (phase == "Unknown" || phase.empty()) return 1;
  return 2;  // Running
}

int32_t Restarts(const v1::Pod& pod) {
  int32_t n = 0;
  for (const auto& c : pod.status().container_statuses()) n = std::max(n, c.restart_count());
  return n;
}

}  // namespace

void AddPodIndexes(Informer& pods) {
  pods.AddIndex(std::string(kPodsByOwner), [](const v1::Object& o) -> std::vector<std::string> {
    const auto* owner = ControllerOf(api::MetaOf(o));
    if (owner == nullptr) return {};
    return {owner->uid()};
  });
  pods.AddIndex(std::string(kPodsByNode), [](const v1::Object& o) -> std::vector<std::string> {
    if (!o.has_pod() || o.pod().spec().node_name().empty()) return {};
    return {o.pod().spec().node_name()};
  });
}

Result<LabelSelector> ToSelector(const v1::LabelSelector& selector) {
  std::vector<std::pair<std::string, Requirement>> exprs;
  for (const auto& e : selector.match_expressions()) {
    Requirement r;
    const std::string& op = e.operator_();
    r.op = op == "In"       ? Requirement::Op::kIn
           : op == "NotIn"  ? Requirement::Op::kNotIn
           : op == "Exists" ? Requirement::Op::kExists
                            : Requirement::Op::kDoesNotExist;
    r.values.assign(e.values().begin(), e.values().end());
    std::sort(r.values.begin(), r.values.end());
    exprs.emplace_back(e.key(), std::move(r));
  }
  return LabelSelector::FromStructured(
      Labels(selector.match_labels().begin(), selector.match_labels().end()), exprs,
      "spec.selector");
}

const v1::OwnerReference* ControllerOf(const v1::ObjectMeta& meta) {
  for (const auto& ref : meta.owner_references()) {
    if (ref.has_controller() && ref.controller()) return &ref;
  }
  return nullptr;
}

v1::Object PodFromTemplate(const v1::PodTemplateSpec& tmpl, const v1::Object& owner) {
  const api::KindInfo* kind = api::KindOf(owner);
  const auto& owner_meta = api::MetaOf(owner);
  v1::Object out;
  v1::Pod* pod = out.mutable_pod();
  v1::ObjectMeta* meta = pod->mutable_metadata();
  *meta->mutable_labels() = tmpl.metadata().labels();
  *meta->mutable_annotations() = tmpl.metadata().annotations();
  meta->set_namespace_(owner_meta.namespace_());
  meta->set_generate_name(owner_meta.name() + "-");
  v1::OwnerReference* ref = meta->add_owner_references();
  ref->set_api_version(std::string(kind->api_version));
  ref->set_kind(std::string(kind->kind));
  ref->set_name(owner_meta.name());
  ref->set_uid(owner_meta.uid());
  ref->set_controller(true);
  ref->set_block_owner_deletion(true);
  *pod->mutable_spec() = tmpl.spec();
  return out;
}

bool IsActive(const v1::Pod& pod) {
  return pod.status().phase() != "Succeeded" && pod.status().phase() != "Failed" &&
         !pod.metadata().has_deletion_timestamp();
}

bool IsReady(const v1::Pod& pod) {
  const auto* ready = ReadyCondition(pod);
  return ready != nullptr && ready->status() == "True";
}

bool IsAvailable(const v1::Pod& pod, int32_t min_ready_seconds,
                 std::chrono::system_clock::time_point now) {
  const auto* ready = ReadyCondition(pod);
  if (ready == nullptr || ready->status() != "True") return false;
  if (min_ready_seconds <= 0) return true;
  if (!ready->has_last_transition_time()) return false;
  const int64_t since = TimeUtil::TimestampToSeconds(ready->last_transition_time());
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return now_s - since >= min_ready_seconds;
}

void SortForDeletion(std::vector<v1::Pod>& pods) {
  std::stable_sort(pods.begin(), pods.end(), [](const v1::Pod& a, const v1::Pod& b) {
    const bool a_bound = !a.spec().node_name().empty();
    const bool b_bound = !b.spec().node_name().empty();
    if (a_bound != b_bound) return !a_bound;
    const int ra = PhaseRank(a.status().phase());
    const int rb = PhaseRank(b.status().phase());
    if (ra != rb) return ra < rb;
    const bool a_ready = IsReady(a);
    const bool b_ready = IsReady(b);
    if (a_ready != b_ready) return !a_ready;
    if (a_ready) {
      const auto* ca = ReadyCondition(a);
      const auto* cb = ReadyCondition(b);
      // Ready more recently first.
      if (TimeUtil::TimestampToNanoseconds(ca->last_transition_time()) !=
          TimeUtil::TimestampToNanoseconds(cb->last_transition_time())) {
        return TimeUtil::TimestampToNanoseconds(ca->last_transition_time()) >
               TimeUtil::TimestampToNanoseconds(cb->last_transition_time());
      }
    }
    if (Restarts(a) != Restarts(b)) return Restarts(a) > Restarts(b);
    return TimeUtil::TimestampToNanoseconds(a.metadata().creation_timestamp()) >
           TimeUtil::TimestampToNanoseconds(b.metadata().creation_timestamp());
  });
}

}  // namespace berth::control
