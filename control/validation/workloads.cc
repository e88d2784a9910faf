// ReplicaSet, Deployment, DaemonSet and Job: selectors that must select
// their own template, update strategies, counts, and the update-time
// immutability of selectors (and of a Job's template and completions),
// after Kubernetes' pkg/apis/apps/validation and pkg/apis/batch/validation.
#include <google/protobuf/util/message_differencer.h>

#include "validation_internal.h"

namespace berth::control::internal {
namespace {

using google::protobuf::util::MessageDifferencer;

// What a workload's template may use as restartPolicy.
const std::vector<std::string_view> kAlwaysOnly = {"Always"};
const std::vector<std::string_view> kJobRestart = {"OnFailure", "Never"};

void ValidateNonNegative(const std::string& path, int64_t value, ErrorList& errs) {
  if (value < 0) errs.InvalidInt(path, value, kNonNegative);
}

// spec.selector and spec.template of a workload: the selector must be set,
// non-empty and select the template's labels. `what` names the kind in the
// empty-selector message as Kubernetes does ("deployment" for ReplicaSets too).
void ValidateSelectorAndTemplate(bool has_selector, const v1::LabelSelector& selector,
                                 const v1::PodTemplateSpec& tmpl, std::string_view what,
                                 const PodSpecRules& rules, ErrorList& errs) {
  if (!has_selector) {
    errs.Required("spec.selector");
  } else if (SelectorIsEmpty(selector)) {
    errs.Invalid("spec.selector", RenderSelector(selector),
                 "empty selector is invalid for " + std::string(what));
  } else {
    ErrorList selector_errs;
    ValidateLabelSelector(selector, "spec.selector", selector_errs);
    const bool selector_ok = selector_errs.empty();
    errs.Append(std::move(selector_errs));
    if (selector_ok && !SelectorMatches(selector, tmpl.metadata().labels())) {
      errs.Invalid("spec.template.metadata.labels", RenderLabels(tmpl.metadata().labels()),
                   "`selector` does not match template `labels`");
    }
  }
  ValidateLabels(tmpl.metadata().labels(), "spec.template.metadata.labels", errs);
  ValidateAnnotations(tmpl.metadata().annotations(), "spec.template.metadata.annotations", errs);
  ValidatePodSpec(tmpl.spec(), "spec.template.spec", rules, errs);
}

struct IntOrPercent {
  int64_t value = 0;
  bool percent = false;
  bool ok = true;
};

// maxSurge / maxUnavailable: an integer >= 0 or "N%". An unset Value is 0.
IntOrPercent ValidateIntOrPercent(const google::protobuf::Value& v, const std::string& path,
                                  ErrorList& errs) {
  IntOrPercent out;
  switch (v.kind_case()) {
    case google::protobuf::Value::KIND_NOT_SET:
    case google::protobuf::Value::kNullValue:
      return out;
    case google::protobuf::Value::kNumberValue: {
      const std::optional<int64_t> n = IntegerOf(v);
      if (!n) {
        errs.Invalid(path, RenderIntOrString(v), "must be an integer or percentage");
        out.ok = false;
      } else if (*n < 0) {
        errs.InvalidInt(path, *n, kNonNegative);
        out.ok = false;
      } else {
        out.value = *n;
      }
      return out;
    }
    case google::protobuf::Value::kStringValue: {
      const std::string& s = v.string_value();
      const bool percent =
          s.size() >= 2 && s.back() == '%' &&
          std::all_of(s.begin(), s.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
      if (!percent || s.size() > 12) {
        errs.InvalidString(path, s,
                           "a valid percent string must be a numeric string followed by an ending "
                           "'%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
        out.ok = false;
        return out;
      }
      out.value = std::stoll(s.substr(0, s.size() - 1));
      out.percent = true;
      return out;
    }
    default:
      errs.Invalid(path, RenderIntOrString(v), "must be an integer or percentage");
      out.ok = false;
      return out;
  }
}

void NotMoreThan100Percent(const IntOrPercent& v, const google::protobuf::Value& raw,
                           const std::string& path, ErrorList& errs) {
  if (v.ok && v.percent && v.value > 100) {
    errs.Invalid(path, RenderIntOrString(raw), "must not be greater than 100%");
  }
}

void ValidateDeploymentStrategy(const v1::DeploymentStrategy& strategy, ErrorList& errs) {
  const std::string path = "spec.strategy";
  if (strategy.type() == "Recreate") {
    if (strategy.has_rolling_update()) {
      errs.Forbidden(Child(path, "rollingUpdate"),
                     "may not be specified when strategy `type` is 'Recreate'");
    }
    return;
  }
  if (strategy.type() != "RollingUpdate") {
    errs.Unsupported(Child(path, "type"), strategy.type(), {"Recreate", "RollingUpdate"});
    return;
  }
  const std::string ru = Child(path, "rollingUpdate");
  if (!strategy.has_rolling_update()) {
    errs.Required(ru, "this should be defaulted and never be nil");
    return;
  }
  const auto& r = strategy.rolling_update();
  const IntOrPercent unavailable =
      ValidateIntOrPercent(r.max_unavailable(), Child(ru, "maxUnavailable"), errs);
  const IntOrPercent surge = ValidateIntOrPercent(r.max_surge(), Child(ru, "maxSurge"), errs);
  if (unavailable.ok && surge.ok && unavailable.value == 0 && surge.value == 0) {
    errs.Invalid(Child(ru, "maxUnavailable"), RenderIntOrString(r.max_unavailable()),
                 "may not be 0 when `maxSurge` is 0");
  }
  NotMoreThan100Percent(unavailable, r.max_unavailable(), Child(ru, "maxUnavailable"), errs);
}

void ValidateDaemonSetStrategy(const v1::DaemonSetUpdateStrategy& strategy, ErrorList& errs) {
  const std::string path = "spec.updateStrategy";
  if (strategy.type() == "OnDelete") return;
  if (strategy.type() != "RollingUpdate") {
    errs.Unsupported(Child(path, "type"), strategy.type(), {"RollingUpdate", "OnDelete"});
    return;
  }
  const std::string ru = Child(path, "rollingUpdate");
  if (!strategy.has_rolling_update()) {
    errs.Required(ru);
    return;
  }
  const auto& r = strategy.rolling_update();
  const std::string unavailable_path = Child(ru, "maxUnavailable");
  const std::string surge_path = Child(ru, "maxSurge");
  const IntOrPercent unavailable =
      ValidateIntOrPercent(r.max_unavailable(), unavailable_path, errs);
  const IntOrPercent surge = ValidateIntOrPercent(r.max_surge(), surge_path, errs);
  NotMoreThan100Percent(unavailable, r.max_unavailable(), unavailable_path, errs);
  NotMoreThan100Percent(surge, r.max_surge(), surge_path, errs);
  if (!unavailable.ok || !surge.ok) return;
  // A DaemonSet either replaces in place (maxUnavailable) or surges on a
  // node (maxSurge), never both.
  if (unavailable.value != 0 && surge.value != 0) {
    errs.Invalid(surge_path, RenderIntOrString(r.max_surge()),
                 "may not be set when maxUnavailable is non-zero");
  } else if (unavailable.value == 0 && surge.value == 0) {
    errs.Required(unavailable_path, "cannot be 0 when maxSurge is 0");
  }
}

void ValidateSelectorImmutable(const v1::LabelSelector& updated, const v1::LabelSelector& old,
                               ErrorList& errs) {
  if (!MessageDifferencer::Equals(updated, old)) {
    errs.Invalid("spec.selector", RenderSelector(updated), kImmutable);
  }
}

}  // namespace

void ValidateKind(const v1::ReplicaSet& rs, ErrorList& errs) {
  const v1::ReplicaSetSpec& spec = rs.spec();
  if (spec.has_replicas()) ValidateNonNegative("spec.replicas", spec.replicas(), errs);
  ValidateNonNegative("spec.minReadySeconds", spec.min_ready_seconds(), errs);
  ValidateSelectorAndTemplate(spec.has_selector(), spec.selector(), spec.template_(), "deployment",
                              PodSpecRules{kAlwaysOnly, "ReplicaSet"}, errs);
}

void ValidateKind(const v1::Deployment& d, ErrorList& errs) {
  const v1::DeploymentSpec& spec = d.spec();
  if (spec.has_replicas()) ValidateNonNegative("spec.replicas", spec.replicas(), errs);
  ValidateSelectorAndTemplate(spec.has_selector(), spec.selector(), spec.template_(), "deployment",
                              PodSpecRules{kAlwaysOnly, "Deployment"}, errs);
  ValidateDeploymentStrategy(spec.strategy(), errs);
  ValidateNonNegative("spec.minReadySeconds", spec.min_ready_seconds(), errs);
  if (spec.has_revision_history_limit()) {
    ValidateNonNegative("spec.revisionHistoryLimit", spec.revision_history_limit(), errs);
  }
  if (spec.has_progress_deadline_seconds()) {
    const std::string at = "spec.progressDeadlineSeconds";
    ValidateNonNegative(at, spec.progress_deadline_seconds(), errs);
    if (spec.progress_deadline_seconds() <= spec.min_ready_seconds()) {
      errs.InvalidInt(at, spec.progress_deadline_seconds(), "must be greater than minReadySeconds");
    }
  }
}

void ValidateKind(const v1::DaemonSet& ds, ErrorList& errs) {
  const v1::DaemonSetSpec& spec = ds.spec();
  ValidateSelectorAndTemplate(spec.has_selector(), spec.selector(), spec.template_(), "daemonset",
                              PodSpecRules{kAlwaysOnly, "DaemonSet"}, errs);
  ValidateNonNegative("spec.minReadySeconds", spec.min_ready_seconds(), errs);
  if (spec.has_revision_history_limit()) {
    ValidateNonNegative("spec.revisionHistoryLimit", spec.revision_history_limit(), errs);
  }
  ValidateDaemonSetStrategy(spec.update_strategy(), errs);
}

void ValidateKind(const v1::Job& job, ErrorList& errs) {
  const v1::JobSpec& spec = job.spec();
  if (spec.has_parallelism()) ValidateNonNegative("spec.parallelism", spec.parallelism(), errs);
  if (spec.has_completions()) ValidateNonNegative("spec.completions", spec.completions(), errs);
  if (spec.has_backoff_limit())
    ValidateNonNegative("spec.backoffLimit", spec.backoff_limit(), errs);
  if (spec.has_active_deadline_seconds() && spec.active_deadline_seconds() <= 0) {
    errs.InvalidInt("spec.activeDeadlineSeconds", spec.active_deadline_seconds(),
                    "must be greater than 0");
  }
  if (spec.has_ttl_seconds_after_finished()) {
    ValidateNonNegative("spec.ttlSecondsAfterFinished", spec.ttl_seconds_after_finished(), errs);
  }
  ValidateSelectorAndTemplate(spec.has_selector(), spec.selector(), spec.template_(), "job",
                              PodSpecRules{kJobRestart, {}}, errs);
  if (spec.has_manual_selector() && spec.manual_selector()) return;
  // A generated selector (see defaults.cc) selects this Job's uid and its
  // pods carry that uid and the Job's name: no other controller's pods match.
  const std::string& uid = job.metadata().uid();
  if (uid.empty()) {
    errs.Required("metadata.uid");
    return;
  }
  const auto& labels = job.spec().template_().metadata().labels();
  for (const auto& [key, want] : {std::pair<std::string, std::string>{"controller-uid", uid},
                                  {"job-name", job.metadata().name()}}) {
    const std::string at = Key("spec.template.metadata.labels", key);
    auto it = labels.find(key);
    if (it == labels.end()) {
      errs.Required(at, "must be '" + want + "'");
    } else if (it->second != want) {
      errs.InvalidString(at, it->second, "must be '" + want + "'");
    }
  }
  google::protobuf::Map<std::string, std::string> expected;
  expected["controller-uid"] = uid;
  expected["job-name"] = job.metadata().name();
  if (spec.has_selector() && !SelectorMatches(spec.selector(), expected)) {
    errs.Invalid("spec.selector", RenderSelector(spec.selector()), "`selector` not auto-generated");
  }
}

void ValidateKindUpdate(const v1::ReplicaSet& updated, const v1::ReplicaSet& old, ErrorList& errs) {
  ValidateSelectorImmutable(updated.spec().selector(), old.spec().selector(), errs);
}

void ValidateKindUpdate(const v1::Deployment& updated, const v1::Deployment& old, ErrorList& errs) {
  ValidateSelectorImmutable(updated.spec().selector(), old.spec().selector(), errs);
}

void ValidateKindUpdate(const v1::DaemonSet& updated, const v1::DaemonSet& old, ErrorList& errs) {
  ValidateSelectorImmutable(updated.spec().selector(), old.spec().selector(), errs);
}

void ValidateKindUpdate(const v1::Job& updated, const v1::Job& old, ErrorList& errs) {
  const v1::JobSpec& u = updated.spec();
  const v1::JobSpec& o = old.spec();
  if (u.has_completions() != o.has_completions() || u.completions() != o.completions()) {
    errs.Invalid("spec.completions", u.has_completions() ? std::to_string(u.completions()) : "null",
                 kImmutable);
  }
  ValidateSelectorImmutable(u.selector(), o.selector(), errs);
  if (!MessageDifferencer::Equals(u.template_(), o.template_())) {
    errs.InvalidOmitted("spec.template", kImmutable);
  }
}

}  // namespace berth::control::internal
