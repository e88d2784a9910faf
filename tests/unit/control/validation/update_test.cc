// ValidateUpdate: metadata immutability, workload selectors, Job
// templates, Service cluster IPs, Pod spec mutability, immutable
// ConfigMaps and Secrets, Node pod CIDRs and PriorityClass values.
#include "validation_test_util.h"

namespace berth::control {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

// The stored object: defaulted, with a uid.
v1::Object Stored(v1::Object o) {
  if (KindOf(o) != "Job") MutableMetadataOf(o)->set_uid("stored-uid");
  ApplyDefaults(o);
  return o;
}

// Errors of an update made by `mutate` on a copy of the stored object.
std::vector<std::string> UpdateErrors(const v1::Object& stored,
                                      const std::function<void(v1::Object&)>& mutate) {
  v1::Object updated = stored;
  mutate(updated);
  ApplyDefaults(updated);
  return Render(ValidateUpdate(updated, stored));
}

TEST(ValidateUpdateTest, UnchangedObjectsOfEveryKindAreValid) {
  for (const v1::Object& o : {Pod(), Deployment(), ReplicaSet(), DaemonSet(), Job(), Service(),
                              Endpoints(), ConfigMap(), Secret(), Namespace(), Node(),
                              ResourceQuota(), LimitRange(), PriorityClass(), Event(), Lease()}) {
    const v1::Object stored = Stored(o);
    EXPECT_THAT(Render(ValidateUpdate(stored, stored)), IsEmpty()) << KindOf(o);
  }
}

TEST(ValidateUpdateTest, Metadata) {
  const v1::Object stored = Stored(ConfigMap());
  EXPECT_THAT(UpdateErrors(stored, [](v1::Object& o) { MutableMetadataOf(o)->set_name("other"); }),
              ElementsAre("metadata.name: Invalid value: \"other\": field is immutable"));
  EXPECT_THAT(
      UpdateErrors(stored, [](v1::Object& o) { MutableMetadataOf(o)->set_namespace_("team-b"); }),
      ElementsAre("metadata.namespace: Invalid value: \"team-b\": field is immutable"));
  EXPECT_THAT(UpdateErrors(stored, [](v1::Object& o) { MutableMetadataOf(o)->set_uid("new"); }),
              ElementsAre("metadata.uid: Invalid value: \"new\": field is immutable"));
  // An omitted uid keeps the stored one.
  EXPECT_THAT(UpdateErrors(stored, [](v1::Object& o) { MutableMetadataOf(o)->clear_uid(); }),
              IsEmpty());
  // Labels and annotations may change; the update is validated like a create.
  EXPECT_THAT(
      UpdateErrors(
          stored, [](v1::Object& o) { (*MutableMetadataOf(o)->mutable_labels())["tier"] = "web"; }),
      IsEmpty());
  EXPECT_THAT(
      UpdateErrors(stored,
                   [](v1::Object& o) { (*MutableMetadataOf(o)->mutable_labels())["tier"] = "-"; }),
      Contains(::testing::StartsWith("metadata.labels: Invalid value: \"-\"")));
}

TEST(ValidateUpdateTest, NoNewFinalizersWhileDeleting) {
  v1::Object stored = Stored(ConfigMap());
  MutableMetadataOf(stored)->add_finalizers("berth.io/a");
  MutableMetadataOf(stored)->mutable_deletion_timestamp()->set_seconds(1700000000);
  EXPECT_THAT(UpdateErrors(stored, [](v1::Object& o) { MutableMetadataOf(o)->clear_finalizers(); }),
              IsEmpty());
  EXPECT_THAT(
      UpdateErrors(stored,
                   [](v1::Object& o) { MutableMetadataOf(o)->add_finalizers("berth.io/b"); }),
      ElementsAre("metadata.finalizers: Forbidden: no new finalizers can be added if the object "
                  "is being deleted, found new finalizers []string{\"berth.io/b\"}"));
}

TEST(ValidateUpdateTest, KindCannotChange) {
  const v1::Object stored = Stored(ConfigMap("web"));
  v1::Object other = Stored(Secret("web"));
  EXPECT_THAT(Render(ValidateUpdate(other, stored)),
              ElementsAre("kind: Invalid value: \"Secret\": may not be changed in an update, was "
                          "\"ConfigMap\""));
}

TEST(ValidateUpdateTest, WorkloadSelectorsImmutable) {
  const std::string want =
      "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":"
      "\"web\", \"tier\":\"fe\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is "
      "immutable";
  // Both the selector and the template change, so the update is otherwise valid.
  EXPECT_THAT(
      UpdateErrors(
          Stored(Deployment()),
          [](v1::Object& o) {
            (*DeploySpec(o).mutable_selector()->mutable_match_labels())["tier"] = "fe";
            (*DeploySpec(o).mutable_template_()->mutable_metadata()->mutable_labels())["tier"] =
                "fe";
          }),
      ElementsAre(want));
  EXPECT_THAT(
      UpdateErrors(Stored(ReplicaSet()),
                   [](v1::Object& o) {
                     auto& spec = *o.mutable_replica_set()->mutable_spec();
                     (*spec.mutable_selector()->mutable_match_labels())["tier"] = "fe";
                     (*spec.mutable_template_()->mutable_metadata()->mutable_labels())["tier"] =
                         "fe";
                   }),
      ElementsAre(want));
  EXPECT_THAT(
      UpdateErrors(Stored(DaemonSet()),
                   [](v1::Object& o) {
                     auto& spec = *o.mutable_daemon_set()->mutable_spec();
                     auto* r = spec.mutable_selector()->add_match_expressions();
                     r->set_key("app");
                     r->set_operator_("Exists");
                   }),
      ElementsAre("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]"
                  "string{\"app\":\"agent\"}, MatchExpressions:[]v1.LabelSelectorRequirement"
                  "{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"Exists\", "
                  "Values:[]string(nil)}}}: field is immutable"));
  // Scaling and a new template are ordinary updates.
  EXPECT_THAT(UpdateErrors(Stored(Deployment()),
                           [](v1::Object& o) {
                             DeploySpec(o).set_replicas(5);
                             DeployPodSpec(o).mutable_containers(0)->set_image("nginx:1.26");
                           }),
              IsEmpty());
}

TEST(ValidateUpdateTest, JobTemplateSelectorAndCompletionsImmutable) {
  const v1::Object stored = Stored(Job());
  EXPECT_THAT(UpdateErrors(stored,
                           [](v1::Object& o) {
                             o.mutable_job()
                                 ->mutable_spec()
                                 ->mutable_template_()
                                 ->mutable_spec()
                                 ->mutable_containers(0)
                                 ->set_image("perl:5.36");
                           }),
              ElementsAre("spec.template: Invalid value: field is immutable"));
  EXPECT_THAT(
      UpdateErrors(stored,
                   [](v1::Object& o) { o.mutable_job()->mutable_spec()->set_completions(3); }),
      ElementsAre("spec.completions: Invalid value: 3: field is immutable"));
  EXPECT_THAT(UpdateErrors(stored,
                           [](v1::Object& o) {
                             (*o.mutable_job()
                                   ->mutable_spec()
                                   ->mutable_selector()
                                   ->mutable_match_labels())["extra"] = "x";
                           }),
              Contains(::testing::HasSubstr("spec.selector: Invalid value: v1.LabelSelector{")));
  // Parallelism and the deadline may change.
  EXPECT_THAT(UpdateErrors(stored,
                           [](v1::Object& o) {
                             o.mutable_job()->mutable_spec()->set_parallelism(3);
                             o.mutable_job()->mutable_spec()->set_active_deadline_seconds(100);
                           }),
              IsEmpty());
}

TEST(ValidateUpdateTest, ServiceClusterIp) {
  v1::Object stored = Stored(Service());
  stored.mutable_service()->mutable_spec()->set_cluster_ip("10.96.0.10");
  EXPECT_THAT(UpdateErrors(stored,
                           [](v1::Object& o) {
                             o.mutable_service()->mutable_spec()->set_cluster_ip("10.96.0.11");
                           }),
              ElementsAre("spec.clusterIP: Invalid value: \"10.96.0.11\": field is immutable"));
  EXPECT_THAT(
      UpdateErrors(stored,
                   [](v1::Object& o) { o.mutable_service()->mutable_spec()->clear_cluster_ip(); }),
      ElementsAre("spec.clusterIP: Invalid value: \"\": field is immutable"));
  // Turning into an ExternalName drops the cluster IP.
  EXPECT_THAT(UpdateErrors(stored,
                           [](v1::Object& o) {
                             auto& spec = *o.mutable_service()->mutable_spec();
                             spec.set_type("ExternalName");
                             spec.set_external_name("db.example.com");
                             spec.clear_cluster_ip();
                           }),
              IsEmpty());
  // Not yet allocated: the allocator may set it.
  const v1::Object fresh = Stored(Service());
  EXPECT_THAT(UpdateErrors(fresh,
                           [](v1::Object& o) {
                             o.mutable_service()->mutable_spec()->set_cluster_ip("10.96.0.12");
                           }),
              IsEmpty());
}

TEST(ValidateUpdateTest, PodSpecMutability) {
  v1::Object stored = Pod();
  *PodSpecOf(stored).add_init_containers() = MakeContainer("init", "busybox:1.36");
  v1::Toleration* t = PodSpecOf(stored).add_tolerations();
  t->set_key("dedicated");
  t->set_value("gpu");
  stored = Stored(stored);
  const std::string forbidden =
      "spec: Forbidden: pod updates may not change fields other than "
      "`spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
      "`spec.tolerations` (only additions to existing tolerations), `spec.nodeName` (only from "
      "empty, by binding)";
  struct Row {
    std::string name;
    std::function<void(v1::Object&)> mutate;
    std::vector<std::string> want;
  };
  const std::vector<Row> rows = {
      {"images",
       [](v1::Object& o) {
         FirstContainer(o).set_image("nginx:1.26");
         PodSpecOf(o).mutable_init_containers(0)->set_image("busybox:1.37");
       },
       {}},
      {"deadline set", [](v1::Object& o) { PodSpecOf(o).set_active_deadline_seconds(60); }, {}},
      {"toleration added",
       [](v1::Object& o) {
         v1::Toleration* x = PodSpecOf(o).add_tolerations();
         x->set_key("node.kubernetes.io/unreachable");
         x->set_operator_("Exists");
       },
       {}},
      {"binding", [](v1::Object& o) { PodSpecOf(o).set_node_name("node-1"); }, {}},
      {"toleration removed", [](v1::Object& o) { PodSpecOf(o).clear_tolerations(); }, {forbidden}},
      {"env changed",
       [](v1::Object& o) {
         v1::EnvVar* e = FirstContainer(o).add_env();
         e->set_name("X");
         e->set_value("1");
       },
       {forbidden}},
      {"container added",
       [](v1::Object& o) { *PodSpecOf(o).add_containers() = MakeContainer("sidecar", "envoy:1"); },
       {forbidden}},
      {"restart policy",
       [](v1::Object& o) { PodSpecOf(o).set_restart_policy("Never"); },
       {forbidden}},
      {"empty image is still invalid",
       [](v1::Object& o) { FirstContainer(o).clear_image(); },
       {"spec.containers[0].image: Required value"}},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    EXPECT_THAT(UpdateErrors(stored, r.mutate), ::testing::ElementsAreArray(r.want));
  }

  v1::Object bound = stored;
  PodSpecOf(bound).set_node_name("node-1");
  EXPECT_THAT(UpdateErrors(bound, [](v1::Object& o) { PodSpecOf(o).set_node_name("node-2"); }),
              ElementsAre(forbidden));

  v1::Object deadline = stored;
  PodSpecOf(deadline).set_active_deadline_seconds(60);
  EXPECT_THAT(
      UpdateErrors(deadline, [](v1::Object& o) { PodSpecOf(o).set_active_deadline_seconds(30); }),
      IsEmpty());
  EXPECT_THAT(
      UpdateErrors(deadline, [](v1::Object& o) { PodSpecOf(o).set_active_deadline_seconds(90); }),
      ElementsAre("spec.activeDeadlineSeconds: Invalid value: 90: must be less than or "
                  "equal to previous value"));
  EXPECT_THAT(
      UpdateErrors(deadline, [](v1::Object& o) { PodSpecOf(o).clear_active_deadline_seconds(); }),
      ElementsAre("spec.activeDeadlineSeconds: Invalid value: null: must not update from a "
                  "positive integer to nil value"));
}

TEST(ValidateUpdateTest, ImmutableConfigMapAndSecret) {
  v1::Object cm = ConfigMap();
  cm.mutable_config_map()->set_immutable(true);
  cm = Stored(cm);
  EXPECT_THAT(
      UpdateErrors(cm, [](v1::Object& o) { (*o.mutable_config_map()->mutable_data())["k"] = "v"; }),
      ElementsAre("data: Forbidden: field is immutable when `immutable` is set"));
  EXPECT_THAT(UpdateErrors(cm, [](v1::Object& o) { o.mutable_config_map()->set_immutable(false); }),
              ElementsAre("immutable: Forbidden: field is immutable when `immutable` is set"));
  EXPECT_THAT(
      UpdateErrors(
          cm, [](v1::Object& o) { (*o.mutable_config_map()->mutable_binary_data())["b"] = "x"; }),
      ElementsAre("binaryData: Forbidden: field is immutable when `immutable` is set"));
  EXPECT_THAT(
      UpdateErrors(cm, [](v1::Object& o) { (*MutableMetadataOf(o)->mutable_labels())["a"] = "b"; }),
      IsEmpty());
  // A mutable ConfigMap may change its data and become immutable.
  const v1::Object mutable_cm = Stored(ConfigMap());
  EXPECT_THAT(UpdateErrors(mutable_cm,
                           [](v1::Object& o) {
                             (*o.mutable_config_map()->mutable_data())["k"] = "v";
                             o.mutable_config_map()->set_immutable(true);
                           }),
              IsEmpty());

  v1::Object secret = Secret();
  secret.mutable_secret()->set_immutable(true);
  secret = Stored(secret);
  EXPECT_THAT(UpdateErrors(secret,
                           [](v1::Object& o) {
                             (*o.mutable_secret()->mutable_string_data())["password"] = "new";
                           }),
              ElementsAre("data: Forbidden: field is immutable when `immutable` is set"));
  EXPECT_THAT(
      UpdateErrors(Stored(Secret()),
                   [](v1::Object& o) { o.mutable_secret()->set_type("kubernetes.io/ssh-auth"); }),
      Contains("type: Invalid value: \"kubernetes.io/ssh-auth\": field is immutable"));
}

TEST(ValidateUpdateTest, NodePodCidrAssignedOnce) {
  const v1::Object fresh = Stored(Node());
  EXPECT_THAT(UpdateErrors(fresh,
                           [](v1::Object& o) {
                             o.mutable_node()->mutable_spec()->set_pod_cidr("10.244.1.0/24");
                             o.mutable_node()->mutable_spec()->add_pod_cidrs("10.244.1.0/24");
                           }),
              IsEmpty());
  v1::Object assigned = fresh;
  assigned.mutable_node()->mutable_spec()->set_pod_cidr("10.244.1.0/24");
  assigned.mutable_node()->mutable_spec()->add_pod_cidrs("10.244.1.0/24");
  EXPECT_THAT(UpdateErrors(assigned,
                           [](v1::Object& o) {
                             o.mutable_node()->mutable_spec()->set_pod_cidr("10.244.2.0/24");
                             o.mutable_node()->mutable_spec()->set_pod_cidrs(0, "10.244.2.0/24");
                           }),
              ElementsAre("spec.podCIDR: Forbidden: node updates may not change podCIDR except "
                          "from \"\" to valid",
                          "spec.podCIDRs: Forbidden: node updates may not change podCIDR except "
                          "from \"\" to valid"));
  EXPECT_THAT(UpdateErrors(
                  assigned,
                  [](v1::Object& o) { o.mutable_node()->mutable_spec()->set_unschedulable(true); }),
              IsEmpty());
}

TEST(ValidateUpdateTest, PriorityClassValueAndPolicyImmutable) {
  const v1::Object stored = Stored(PriorityClass());
  EXPECT_THAT(UpdateErrors(stored, [](v1::Object& o) { o.mutable_priority_class()->set_value(5); }),
              ElementsAre("value: Forbidden: may not be changed in an update."));
  EXPECT_THAT(UpdateErrors(stored,
                           [](v1::Object& o) {
                             o.mutable_priority_class()->set_preemption_policy("Never");
                           }),
              ElementsAre("preemptionPolicy: Invalid value: \"Never\": field is immutable"));
  EXPECT_THAT(
      UpdateErrors(stored,
                   [](v1::Object& o) { o.mutable_priority_class()->set_description("for web"); }),
      IsEmpty());
}

}  // namespace
}  // namespace berth::control
