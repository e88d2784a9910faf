// ReplicaSet, Deployment, DaemonSet and Job: selectors against template
// labels, counts, strategies and the Job's generated selector.
#include "validation_test_util.h"

namespace berth::control {
namespace {

using ::testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

v1::Object MakeDeployment() { return Deployment(); }
v1::Object MakeReplicaSet() { return ReplicaSet(); }
v1::Object MakeDaemonSet() { return DaemonSet(); }
v1::Object MakeJob() { return Job(); }

v1::ReplicaSetSpec& RsSpec(v1::Object& o) { return *o.mutable_replica_set()->mutable_spec(); }
v1::DaemonSetSpec& DsSpec(v1::Object& o) { return *o.mutable_daemon_set()->mutable_spec(); }
v1::JobSpec& JobSpec(v1::Object& o) { return *o.mutable_job()->mutable_spec(); }
v1::RollingUpdateDeployment& DeployRolling(v1::Object& o) {
  return *DeploySpec(o).mutable_strategy()->mutable_rolling_update();
}
v1::RollingUpdateDaemonSet& DsRolling(v1::Object& o) {
  return *DsSpec(o).mutable_update_strategy()->mutable_rolling_update();
}

TEST(ValidateWorkloadsTest, SelectorAndTemplateLabels) {
  RunCases(
      MakeDeployment,
      {
          {"matchExpressions select the template",
           [](v1::Object& o) {
             auto* r = DeploySpec(o).mutable_selector()->add_match_expressions();
             r->set_key("app");
             r->set_operator_("In");
             r->add_values("web");
             r->add_values("api");
           },
           ""},
          {"no selector", [](v1::Object& o) { DeploySpec(o).clear_selector(); },
           "spec.selector: Required value"},
          {"empty selector", [](v1::Object& o) { DeploySpec(o).mutable_selector()->Clear(); },
           "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
           "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid "
           "for deployment"},
          {"selector does not match",
           [](v1::Object& o) {
             (*DeploySpec(o).mutable_selector()->mutable_match_labels())["app"] = "api";
           },
           "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: "
           "`selector` does not match template `labels`"},
          {"NotIn excludes the template",
           [](v1::Object& o) {
             auto* r = DeploySpec(o).mutable_selector()->add_match_expressions();
             r->set_key("app");
             r->set_operator_("NotIn");
             r->add_values("web");
           },
           "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: "
           "`selector` does not match template `labels`"},
          {"In without values",
           [](v1::Object& o) {
             auto* r = DeploySpec(o).mutable_selector()->add_match_expressions();
             r->set_key("app");
             r->set_operator_("In");
           },
           "spec.selector.matchExpressions[0].values: Required value: must be specified when "
           "`operator` is 'In' or 'NotIn'"},
          {"Exists with values",
           [](v1::Object& o) {
             auto* r = DeploySpec(o).mutable_selector()->add_match_expressions();
             r->set_key("app");
             r->set_operator_("Exists");
             r->add_values("web");
           },
           "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when "
           "`operator` is 'Exists' or 'DoesNotExist'"},
          {"bad template label",
           [](v1::Object& o) {
             (*DeploySpec(o).mutable_template_()->mutable_metadata()->mutable_labels())["x"] =
                 "a b";
           },
           "spec.template.metadata.labels: Invalid value: \"a b\": at most 63 characters "
           "[A-Za-z0-9-_.], starting and ending alphanumeric, or empty"},
          {"template restart policy",
           [](v1::Object& o) { DeployPodSpec(o).set_restart_policy("Never"); },
           "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported "
           "values: \"Always\""},
          {"template active deadline",
           [](v1::Object& o) { DeployPodSpec(o).set_active_deadline_seconds(10); },
           "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
           "Deployment is not Supported"},
          {"template container checked",
           [](v1::Object& o) { DeployPodSpec(o).mutable_containers(0)->clear_image(); },
           "spec.template.spec.containers[0].image: Required value"},
      });
}

TEST(ValidateWorkloadsTest, DeploymentCountsAndStrategy) {
  RunCases(
      MakeDeployment,
      {
          {"scaled to zero", [](v1::Object& o) { DeploySpec(o).set_replicas(0); }, ""},
          {"recreate",
           [](v1::Object& o) { DeploySpec(o).mutable_strategy()->set_type("Recreate"); }, ""},
          {"absolute surge, zero unavailable",
           [](v1::Object& o) {
             *DeployRolling(o).mutable_max_surge() = IntValue(2);
             *DeployRolling(o).mutable_max_unavailable() = IntValue(0);
           },
           ""},
          {"negative replicas", [](v1::Object& o) { DeploySpec(o).set_replicas(-1); },
           "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
          {"negative minReadySeconds",
           [](v1::Object& o) { DeploySpec(o).set_min_ready_seconds(-1); },
           "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"},
          {"negative revisionHistoryLimit",
           [](v1::Object& o) { DeploySpec(o).set_revision_history_limit(-1); },
           "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"},
          {"progress deadline not above minReady",
           [](v1::Object& o) {
             DeploySpec(o).set_min_ready_seconds(30);
             DeploySpec(o).set_progress_deadline_seconds(30);
           },
           "spec.progressDeadlineSeconds: Invalid value: 30: must be greater than "
           "minReadySeconds"},
          {"unknown strategy",
           [](v1::Object& o) { DeploySpec(o).mutable_strategy()->set_type("BlueGreen"); },
           "spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: "
           "\"Recreate\", \"RollingUpdate\""},
          {"recreate with rollingUpdate",
           [](v1::Object& o) {
             DeploySpec(o).mutable_strategy()->set_type("Recreate");
             *DeployRolling(o).mutable_max_surge() = IntValue(1);
           },
           "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy "
           "`type` is 'Recreate'"},
          {"both zero",
           [](v1::Object& o) {
             *DeployRolling(o).mutable_max_surge() = StringValue("0%");
             *DeployRolling(o).mutable_max_unavailable() = IntValue(0);
           },
           "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
           "`maxSurge` is 0"},
          {"not a percent",
           [](v1::Object& o) { *DeployRolling(o).mutable_max_surge() = StringValue("25"); },
           "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"25\": a valid percent "
           "string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
           "regex used for validation is '[0-9]+%')"},
          {"negative surge",
           [](v1::Object& o) { *DeployRolling(o).mutable_max_surge() = IntValue(-1); },
           "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or "
           "equal to 0"},
          {"unavailable above 100%",
           [](v1::Object& o) { *DeployRolling(o).mutable_max_unavailable() = StringValue("110%"); },
           "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"110%\": must not be "
           "greater than 100%"},
          {"surge above 100% is fine",
           [](v1::Object& o) { *DeployRolling(o).mutable_max_surge() = StringValue("200%"); }, ""},
      });
}

TEST(ValidateWorkloadsTest, ReplicaSet) {
  RunCases(
      MakeReplicaSet,
      {
          {"valid", [](v1::Object& o) { RsSpec(o).set_replicas(3); }, ""},
          {"negative replicas", [](v1::Object& o) { RsSpec(o).set_replicas(-3); },
           "spec.replicas: Invalid value: -3: must be greater than or equal to 0"},
          {"empty selector says deployment, as Kubernetes does",
           [](v1::Object& o) { RsSpec(o).mutable_selector()->Clear(); },
           "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
           "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid "
           "for deployment"},
          {"no selector", [](v1::Object& o) { RsSpec(o).clear_selector(); },
           "spec.selector: Required value"},
          {"mismatch",
           [](v1::Object& o) {
             (*RsSpec(o).mutable_selector()->mutable_match_labels())["tier"] = "db";
           },
           "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: "
           "`selector` does not match template `labels`"},
          {"restart policy",
           [](v1::Object& o) {
             RsSpec(o).mutable_template_()->mutable_spec()->set_restart_policy("OnFailure");
           },
           "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported "
           "values: \"Always\""},
      });
}

TEST(ValidateWorkloadsTest, DaemonSet) {
  RunCases(
      MakeDaemonSet,
      {
          {"on delete",
           [](v1::Object& o) { DsSpec(o).mutable_update_strategy()->set_type("OnDelete"); }, ""},
          {"surge instead",
           [](v1::Object& o) {
             *DsRolling(o).mutable_max_unavailable() = IntValue(0);
             *DsRolling(o).mutable_max_surge() = StringValue("10%");
           },
           ""},
          {"empty selector", [](v1::Object& o) { DsSpec(o).mutable_selector()->Clear(); },
           "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
           "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid "
           "for daemonset"},
          {"unknown strategy",
           [](v1::Object& o) { DsSpec(o).mutable_update_strategy()->set_type("Recreate"); },
           "spec.updateStrategy.type: Unsupported value: \"Recreate\": supported values: "
           "\"RollingUpdate\", \"OnDelete\""},
          {"both zero",
           [](v1::Object& o) { *DsRolling(o).mutable_max_unavailable() = IntValue(0); },
           "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 "
           "when maxSurge is 0"},
          {"both set", [](v1::Object& o) { *DsRolling(o).mutable_max_surge() = IntValue(1); },
           "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set "
           "when maxUnavailable is non-zero"},
          {"unavailable above 100%",
           [](v1::Object& o) { *DsRolling(o).mutable_max_unavailable() = StringValue("101%"); },
           "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"101%\": must "
           "not be greater than 100%"},
          {"negative minReadySeconds", [](v1::Object& o) { DsSpec(o).set_min_ready_seconds(-1); },
           "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"},
          {"template restart policy",
           [](v1::Object& o) {
             DsSpec(o).mutable_template_()->mutable_spec()->set_restart_policy("Never");
           },
           "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported "
           "values: \"Always\""},
      });
}

TEST(ValidateWorkloadsTest, Job) {
  RunCases(
      MakeJob,
      {
          {"OnFailure with deadline",
           [](v1::Object& o) {
             JobSpec(o).mutable_template_()->mutable_spec()->set_restart_policy("OnFailure");
             JobSpec(o).set_active_deadline_seconds(600);
             JobSpec(o).mutable_template_()->mutable_spec()->set_active_deadline_seconds(60);
           },
           ""},
          {"Always is not for jobs",
           [](v1::Object& o) {
             JobSpec(o).mutable_template_()->mutable_spec()->set_restart_policy("Always");
           },
           "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported "
           "values: \"OnFailure\", \"Never\""},
          {"negative parallelism", [](v1::Object& o) { JobSpec(o).set_parallelism(-1); },
           "spec.parallelism: Invalid value: -1: must be greater than or equal to 0"},
          {"negative completions", [](v1::Object& o) { JobSpec(o).set_completions(-1); },
           "spec.completions: Invalid value: -1: must be greater than or equal to 0"},
          {"negative backoffLimit", [](v1::Object& o) { JobSpec(o).set_backoff_limit(-1); },
           "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"},
          {"zero deadline", [](v1::Object& o) { JobSpec(o).set_active_deadline_seconds(0); },
           "spec.activeDeadlineSeconds: Invalid value: 0: must be greater than 0"},
          {"negative ttl", [](v1::Object& o) { JobSpec(o).set_ttl_seconds_after_finished(-1); },
           "spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal "
           "to 0"},
          {"conflicting controller-uid label",
           [](v1::Object& o) {
             (*JobSpec(o)
                   .mutable_template_()
                   ->mutable_metadata()
                   ->mutable_labels())["controller-uid"] = "other";
           },
           "spec.template.metadata.labels[controller-uid]: Invalid value: \"other\": must be "
           "'0b6a4c1e-uid'"},
          {"manual selector must be given",
           [](v1::Object& o) { JobSpec(o).set_manual_selector(true); },
           "spec.selector: Required value"},
          {"manual selector must match",
           [](v1::Object& o) {
             JobSpec(o).set_manual_selector(true);
             (*JobSpec(o).mutable_selector()->mutable_match_labels())["app"] = "pi";
           },
           "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` "
           "does not match template `labels`"},
      });
}

TEST(ValidateWorkloadsTest, JobWithoutUidCannotGenerateSelector) {
  v1::Object o = Job();
  o.mutable_job()->mutable_metadata()->clear_uid();
  EXPECT_THAT(Check(o), ::testing::Contains("metadata.uid: Required value"));
}

TEST(ValidateWorkloadsTest, JobSelectorNotAutoGenerated) {
  // A selector on controller-uid with another value, validated without defaults.
  v1::Object o = Job();
  ApplyDefaults(o);
  (*JobSpec(o).mutable_selector()->mutable_match_labels())["controller-uid"] = "other";
  (*JobSpec(o).mutable_template_()->mutable_metadata()->mutable_labels())["controller-uid"] =
      "other";
  EXPECT_THAT(Render(Validate(o)),
              ::testing::Contains(::testing::HasSubstr("`selector` not auto-generated")));
}

TEST(ValidateWorkloadsTest, ValidWorkloadsHaveNoErrors) {
  for (const v1::Object& o : {Deployment(), ReplicaSet(), DaemonSet(), Job()}) {
    EXPECT_THAT(Check(o), IsEmpty()) << KindOf(o);
  }
}

}  // namespace
}  // namespace berth::control
