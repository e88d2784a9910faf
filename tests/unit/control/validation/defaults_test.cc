// ApplyDefaults: Kubernetes' defaults for every kind, idempotence, and
// that a defaulted minimal object of every kind validates.
#include <google/protobuf/util/message_differencer.h>

#include "validation_test_util.h"

namespace berth::control {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

template <typename Map>
std::map<std::string, std::string> AsMap(const Map& m) {
  return {m.begin(), m.end()};
}

TEST(ApplyDefaultsTest, NamespaceDefaultForNamespacedKindsClearedForClusterScoped) {
  v1::Object pod = Pod();
  ApplyDefaults(pod);
  EXPECT_EQ(pod.pod().metadata().namespace_(), "default");

  v1::Object kept = Pod();
  kept.mutable_pod()->mutable_metadata()->set_namespace_("team-a");
  ApplyDefaults(kept);
  EXPECT_EQ(kept.pod().metadata().namespace_(), "team-a");

  v1::Object node = Node();
  node.mutable_node()->mutable_metadata()->set_namespace_("default");
  ApplyDefaults(node);
  EXPECT_EQ(node.node().metadata().namespace_(), "");
}

TEST(ApplyDefaultsTest, TypeMetaFilledIn) {
  v1::Object d = Deployment();
  ApplyDefaults(d);
  EXPECT_EQ(d.deployment().api_version(), "apps/v1");
  EXPECT_EQ(d.deployment().kind(), "Deployment");
  v1::Object job = Job();
  ApplyDefaults(job);
  EXPECT_EQ(job.job().api_version(), "batch/v1");
  v1::Object pc = PriorityClass();
  ApplyDefaults(pc);
  EXPECT_EQ(pc.priority_class().api_version(), "scheduling.k8s.io/v1");
}

TEST(ApplyDefaultsTest, PodSpec) {
  v1::Object o = Pod();
  v1::PodSpec& spec = PodSpecOf(o);
  *spec.add_init_containers() = MakeContainer("init", "busybox");
  v1::Container& c = *spec.mutable_containers(0);
  c.add_ports()->set_container_port(80);
  c.mutable_liveness_probe()->mutable_http_get()->mutable_port()->set_number_value(80);
  c.mutable_readiness_probe()->mutable_tcp_socket()->mutable_port()->set_number_value(80);
  spec.add_tolerations()->set_key("dedicated");
  spec.add_volumes()->mutable_config_map()->set_name("cfg");
  ApplyDefaults(o);

  const v1::PodSpec& got = o.pod().spec();
  EXPECT_EQ(got.restart_policy(), "Always");
  EXPECT_EQ(got.termination_grace_period_seconds(), 30);
  EXPECT_EQ(got.scheduler_name(), "default-scheduler");
  EXPECT_EQ(got.init_containers(0).image_pull_policy(), "Always");  // no tag
  EXPECT_EQ(got.containers(0).image_pull_policy(), "IfNotPresent");
  EXPECT_EQ(got.containers(0).ports(0).protocol(), "TCP");
  const v1::Probe& live = got.containers(0).liveness_probe();
  EXPECT_EQ(live.timeout_seconds(), 1);
  EXPECT_EQ(live.period_seconds(), 10);
  EXPECT_EQ(live.success_threshold(), 1);
  EXPECT_EQ(live.failure_threshold(), 3);
  EXPECT_EQ(live.http_get().path(), "/");
  EXPECT_EQ(live.http_get().scheme(), "HTTP");
  EXPECT_EQ(got.containers(0).readiness_probe().failure_threshold(), 3);
  EXPECT_EQ(got.tolerations(0).operator_(), "Equal");
  EXPECT_EQ(got.volumes(0).config_map().default_mode(), 0644);
}

TEST(ApplyDefaultsTest, PodKeepsGivenValues) {
  v1::Object o = Pod();
  v1::PodSpec& spec = PodSpecOf(o);
  spec.set_restart_policy("Never");
  spec.set_termination_grace_period_seconds(0);
  spec.mutable_containers(0)->set_image_pull_policy("Never");
  spec.mutable_containers(0)->mutable_liveness_probe()->set_period_seconds(3);
  ApplyDefaults(o);
  EXPECT_EQ(o.pod().spec().restart_policy(), "Never");
  EXPECT_EQ(o.pod().spec().termination_grace_period_seconds(), 0);
  EXPECT_EQ(o.pod().spec().containers(0).image_pull_policy(), "Never");
  EXPECT_EQ(o.pod().spec().containers(0).liveness_probe().period_seconds(), 3);
}

TEST(ApplyDefaultsTest, ImagePullPolicyByTag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nginx", "Always"},
      {"nginx:latest", "Always"},
      {"nginx:1.25", "IfNotPresent"},
      {"registry:5000/team/app", "Always"},
      {"registry:5000/team/app:v2", "IfNotPresent"},
      {"nginx@sha256:0123456789abcdef", "IfNotPresent"},
  };
  for (const auto& [image, want] : cases) {
    v1::Object o = Pod();
    FirstContainer(o).set_image(image);
    ApplyDefaults(o);
    EXPECT_EQ(o.pod().spec().containers(0).image_pull_policy(), want) << image;
  }
}

TEST(ApplyDefaultsTest, PodRequestsDefaultToLimits) {
  v1::Object o = Pod();
  auto& res = *FirstContainer(o).mutable_resources();
  (*res.mutable_limits())["cpu"] = "500m";
  (*res.mutable_limits())["memory"] = "128Mi";
  (*res.mutable_requests())["cpu"] = "100m";
  ApplyDefaults(o);
  EXPECT_THAT(AsMap(o.pod().spec().containers(0).resources().requests()),
              UnorderedElementsAre(Pair("cpu", "100m"), Pair("memory", "128Mi")));
}

TEST(ApplyDefaultsTest, ReplicaSetAndDeployment) {
  v1::Object rs = ReplicaSet();
  ApplyDefaults(rs);
  EXPECT_EQ(rs.replica_set().spec().replicas(), 1);
  EXPECT_EQ(rs.replica_set().spec().template_().spec().restart_policy(), "Always");

  v1::Object d = Deployment();
  ApplyDefaults(d);
  const v1::DeploymentSpec& spec = d.deployment().spec();
  EXPECT_EQ(spec.replicas(), 1);
  EXPECT_EQ(spec.strategy().type(), "RollingUpdate");
  EXPECT_EQ(spec.strategy().rolling_update().max_unavailable().string_value(), "25%");
  EXPECT_EQ(spec.strategy().rolling_update().max_surge().string_value(), "25%");
  EXPECT_EQ(spec.revision_history_limit(), 10);
  EXPECT_EQ(spec.progress_deadline_seconds(), 600);
  EXPECT_EQ(spec.template_().spec().containers(0).image_pull_policy(), "IfNotPresent");

  v1::Object zero = Deployment();
  DeploySpec(zero).set_replicas(0);
  DeploySpec(zero).mutable_strategy()->set_type("Recreate");
  ApplyDefaults(zero);
  EXPECT_EQ(zero.deployment().spec().replicas(), 0);
  EXPECT_FALSE(zero.deployment().spec().strategy().has_rolling_update());
}

TEST(ApplyDefaultsTest, SelectorlessWorkloadsGetNoSelector) {
  v1::Object d = Deployment();
  DeploySpec(d).clear_selector();
  ApplyDefaults(d);
  EXPECT_FALSE(d.deployment().spec().has_selector());
  EXPECT_THAT(Render(Validate(d)), ::testing::Contains("spec.selector: Required value"));
}

TEST(ApplyDefaultsTest, DaemonSet) {
  v1::Object ds = DaemonSet();
  ApplyDefaults(ds);
  const v1::DaemonSetSpec& spec = ds.daemon_set().spec();
  EXPECT_EQ(spec.update_strategy().type(), "RollingUpdate");
  EXPECT_EQ(spec.update_strategy().rolling_update().max_unavailable().number_value(), 1);
  EXPECT_EQ(spec.update_strategy().rolling_update().max_surge().number_value(), 0);
  EXPECT_TRUE(spec.update_strategy().rolling_update().max_surge().has_number_value());
  EXPECT_EQ(spec.revision_history_limit(), 10);
}

TEST(ApplyDefaultsTest, JobCountsAndGeneratedSelector) {
  v1::Object o = Job();
  (*o.mutable_job()
        ->mutable_spec()
        ->mutable_template_()
        ->mutable_metadata()
        ->mutable_labels())["app"] = "pi";
  ApplyDefaults(o);
  const v1::Job& job = o.job();
  EXPECT_EQ(job.spec().parallelism(), 1);
  EXPECT_EQ(job.spec().completions(), 1);
  EXPECT_EQ(job.spec().backoff_limit(), 6);
  EXPECT_EQ(job.spec().template_().spec().restart_policy(), "Never");
  EXPECT_THAT(AsMap(job.spec().selector().match_labels()),
              UnorderedElementsAre(Pair("controller-uid", "0b6a4c1e-uid"), Pair("job-name", "pi")));
  EXPECT_THAT(AsMap(job.spec().template_().metadata().labels()),
              UnorderedElementsAre(Pair("app", "pi"), Pair("controller-uid", "0b6a4c1e-uid"),
                                   Pair("job-name", "pi")));
  // The Job's own labels come from the template's user labels.
  EXPECT_THAT(AsMap(job.metadata().labels()), UnorderedElementsAre(Pair("app", "pi")));
  EXPECT_THAT(Render(Validate(o)), IsEmpty());
}

TEST(ApplyDefaultsTest, JobRestartPolicyNotDefaulted) {
  v1::Object o = Job();
  o.mutable_job()->mutable_spec()->mutable_template_()->mutable_spec()->clear_restart_policy();
  ApplyDefaults(o);
  EXPECT_EQ(o.job().spec().template_().spec().restart_policy(), "");
  EXPECT_THAT(Render(Validate(o)),
              ::testing::Contains("spec.template.spec.restartPolicy: Required value"));
}

TEST(ApplyDefaultsTest, JobWorkQueueKeepsCompletionsUnset) {
  v1::Object o = Job();
  o.mutable_job()->mutable_spec()->set_parallelism(4);
  ApplyDefaults(o);
  EXPECT_EQ(o.job().spec().parallelism(), 4);
  EXPECT_FALSE(o.job().spec().has_completions());
}

TEST(ApplyDefaultsTest, JobManualSelectorLeftAlone) {
  v1::Object o = Job();
  v1::JobSpec& spec = *o.mutable_job()->mutable_spec();
  spec.set_manual_selector(true);
  (*spec.mutable_selector()->mutable_match_labels())["app"] = "pi";
  (*spec.mutable_template_()->mutable_metadata()->mutable_labels())["app"] = "pi";
  ApplyDefaults(o);
  EXPECT_THAT(AsMap(o.job().spec().selector().match_labels()),
              UnorderedElementsAre(Pair("app", "pi")));
  EXPECT_THAT(AsMap(o.job().spec().template_().metadata().labels()),
              UnorderedElementsAre(Pair("app", "pi")));
  EXPECT_THAT(Render(Validate(o)), IsEmpty());
}

TEST(ApplyDefaultsTest, Service) {
  v1::Object o = Service();
  v1::ServiceSpec& spec = *o.mutable_service()->mutable_spec();
  v1::ServicePort* named = spec.add_ports();
  named->set_name("metrics");
  named->set_port(9090);
  *named->mutable_target_port() = StringValue("prom");
  spec.mutable_ports(0)->set_name("http");
  ApplyDefaults(o);
  const v1::ServiceSpec& got = o.service().spec();
  EXPECT_EQ(got.type(), "ClusterIP");
  EXPECT_EQ(got.session_affinity(), "None");
  EXPECT_FALSE(got.has_session_affinity_config());
  EXPECT_EQ(got.ports(0).protocol(), "TCP");
  EXPECT_EQ(got.ports(0).target_port().number_value(), 80);
  EXPECT_EQ(got.ports(1).target_port().string_value(), "prom");

  v1::Object sticky = Service();
  sticky.mutable_service()->mutable_spec()->set_session_affinity("ClientIP");
  ApplyDefaults(sticky);
  EXPECT_EQ(sticky.service().spec().session_affinity_config().client_ip().timeout_seconds(), 10800);
}

TEST(ApplyDefaultsTest, SecretStringDataMergedAndCleared) {
  v1::Object o = Secret();
  (*o.mutable_secret()->mutable_string_data())["username"] = "admin";
  (*o.mutable_secret()->mutable_string_data())["password"] = "override";
  ApplyDefaults(o);
  EXPECT_EQ(o.secret().type(), "Opaque");
  EXPECT_TRUE(o.secret().string_data().empty());
  EXPECT_THAT(AsMap(o.secret().data()),
              UnorderedElementsAre(Pair("username", "admin"), Pair("password", "override")));
}

TEST(ApplyDefaultsTest, CoreKinds) {
  v1::Object ns = Namespace();
  ApplyDefaults(ns);
  EXPECT_EQ(ns.namespace_().status().phase(), "Active");

  v1::Object ev = Event();
  ApplyDefaults(ev);
  EXPECT_EQ(ev.event().count(), 1);

  v1::Object pc = PriorityClass();
  ApplyDefaults(pc);
  EXPECT_EQ(pc.priority_class().preemption_policy(), "PreemptLowerPriority");

  v1::Object lease = Lease();
  v1::Object before = lease;
  ApplyDefaults(lease);
  before.mutable_lease()->mutable_metadata()->set_namespace_("default");
  before.mutable_lease()->set_api_version("coordination.k8s.io/v1");
  before.mutable_lease()->set_kind("Lease");
  EXPECT_TRUE(MessageDifferencer::Equals(lease, before)) << "a Lease has no defaults";

  v1::Object ep = Endpoints();
  ApplyDefaults(ep);
  EXPECT_EQ(ep.endpoints().subsets(0).ports(0).protocol(), "TCP");
}

TEST(ApplyDefaultsTest, LimitRangeContainerDefaults) {
  v1::Object o = LimitRange();
  ApplyDefaults(o);
  const v1::LimitRangeItem& item = o.limit_range().spec().limits(0);
  EXPECT_THAT(AsMap(item.default_()), UnorderedElementsAre(Pair("cpu", "2")));
  EXPECT_THAT(AsMap(item.default_request()), UnorderedElementsAre(Pair("cpu", "2")));

  v1::Object min_only = LimitRange();
  min_only.mutable_limit_range()->mutable_spec()->mutable_limits(0)->mutable_max()->clear();
  ApplyDefaults(min_only);
  EXPECT_THAT(AsMap(min_only.limit_range().spec().limits(0).default_request()),
              UnorderedElementsAre(Pair("cpu", "100m")));
}

std::vector<v1::Object> EveryKind() {
  return {Pod(),        Deployment(),    ReplicaSet(), DaemonSet(), Job(),  Service(),
          Endpoints(),  ConfigMap(),     Secret(),     Namespace(), Node(), ResourceQuota(),
          LimitRange(), PriorityClass(), Event(),      Lease()};
}

TEST(ApplyDefaultsTest, EveryKindValidAfterDefaultsAndIdempotent) {
  for (v1::Object o : EveryKind()) {
    SCOPED_TRACE(std::string(KindOf(o)));
    ApplyDefaults(o);
    EXPECT_THAT(Render(Validate(o)), IsEmpty());
    v1::Object again = o;
    ApplyDefaults(again);
    EXPECT_TRUE(MessageDifferencer::Equals(o, again));
  }
}

}  // namespace
}  // namespace berth::control
