// Metadata rules (names per kind, namespaces, labels, annotations,
// ownerReferences, finalizers), the envelope (no kind, wrong apiVersion),
// the kind helpers and the kubectl-shaped InvalidMessage.
#include "validation_test_util.h"

namespace berth::control {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

v1::ObjectMeta& PodMeta(v1::Object& o) { return *o.mutable_pod()->mutable_metadata(); }

TEST(ValidateMetaTest, PodNames) {
  RunCases([] { return Pod(); },
           {
               {"subdomain with dots", [](v1::Object& o) { PodMeta(o).set_name("web.v1-2"); }, ""},
               {"missing", [](v1::Object& o) { PodMeta(o).clear_name(); },
                "metadata.name: Required value: name or generateName is required"},
               {"generateName instead",
                [](v1::Object& o) {
                  PodMeta(o).clear_name();
                  PodMeta(o).set_generate_name("web-");
                },
                ""},
               {"bad generateName",
                [](v1::Object& o) {
                  PodMeta(o).clear_name();
                  PodMeta(o).set_generate_name("Web_");
                },
                "metadata.generateName: Invalid value: \"Web_\": must be a DNS-1123 subdomain "
                "prefix"},
               {"upper case", [](v1::Object& o) { PodMeta(o).set_name("Web"); },
                "metadata.name: Invalid value: \"Web\": must be a DNS-1123 subdomain"},
               {"too long", [](v1::Object& o) { PodMeta(o).set_name(std::string(254, 'a')); },
                "metadata.name: Invalid value: \"" + std::string(254, 'a') +
                    "\": must be no more than 253 characters"},
               {"trailing dash", [](v1::Object& o) { PodMeta(o).set_name("web-"); },
                "metadata.name: Invalid value: \"web-\": must be a DNS-1123 subdomain"},
           });
}

TEST(ValidateMetaTest, NameRulesPerKind) {
  // Namespaces are DNS labels: no dots.
  v1::Object ns = Namespace("team.a");
  EXPECT_THAT(Check(ns), ElementsAre("metadata.name: Invalid value: \"team.a\": must be a "
                                     "DNS-1123 label"));
  EXPECT_THAT(Check(Namespace(std::string(64, 'a'))),
              ElementsAre("metadata.name: Invalid value: \"" + std::string(64, 'a') +
                          "\": must be no more than 63 characters"));
  // Services are DNS-1035 labels: they start with a letter.
  EXPECT_THAT(Check(Service("1web")),
              ElementsAre("metadata.name: Invalid value: \"1web\": must be a DNS-1035 label"));
  EXPECT_THAT(Check(Service("web.v1")),
              ElementsAre("metadata.name: Invalid value: \"web.v1\": must be a DNS-1035 label"));
  EXPECT_THAT(Check(Service("web-1")), IsEmpty());
  // ConfigMaps (like most kinds) are subdomains.
  EXPECT_THAT(Check(ConfigMap("app.settings")), IsEmpty());
}

TEST(ValidateMetaTest, Namespaces) {
  RunCases([] { return Pod(); },
           {
               {"explicit", [](v1::Object& o) { PodMeta(o).set_namespace_("team-a"); }, ""},
               {"not a label", [](v1::Object& o) { PodMeta(o).set_namespace_("Team_A"); },
                "metadata.namespace: Invalid value: \"Team_A\": must be a DNS-1123 label"},
           });
  // Without defaults, a namespaced kind needs one and a cluster-scoped one has none.
  v1::Object pod = Pod();
  EXPECT_THAT(Render(Validate(pod)), ::testing::Contains("metadata.namespace: Required value"));
  v1::Object node = Node();
  node.mutable_node()->mutable_metadata()->set_namespace_("default");
  EXPECT_THAT(Render(Validate(node)),
              ElementsAre("metadata.namespace: Forbidden: not allowed on this type"));
}

TEST(ValidateMetaTest, Labels) {
  RunCases(
      [] { return Pod(); },
      {
          {"prefixed key",
           [](v1::Object& o) { (*PodMeta(o).mutable_labels())["app.kubernetes.io/name"] = "web"; },
           ""},
          {"empty value", [](v1::Object& o) { (*PodMeta(o).mutable_labels())["tier"] = ""; }, ""},
          {"bad key", [](v1::Object& o) { (*PodMeta(o).mutable_labels())["bad key"] = "x"; },
           "metadata.labels: Invalid value: \"bad key\": a name of at most 63 characters "
           "[A-Za-z0-9-_.], starting and ending alphanumeric"},
          {"bad prefix",
           [](v1::Object& o) { (*PodMeta(o).mutable_labels())["Example.com/x"] = "x"; },
           "metadata.labels: Invalid value: \"Example.com/x\": the prefix must be a DNS "
           "subdomain (lower case, at most 253)"},
          {"bad value", [](v1::Object& o) { (*PodMeta(o).mutable_labels())["app"] = "-web"; },
           "metadata.labels: Invalid value: \"-web\": at most 63 characters [A-Za-z0-9-_.], "
           "starting and ending alphanumeric, or empty"},
      });
}

TEST(ValidateMetaTest, Annotations) {
  RunCases([] { return Pod(); },
           {
               {"upper case key allowed",
                [](v1::Object& o) { (*PodMeta(o).mutable_annotations())["Note"] = "x"; }, ""},
               {"bad key", [](v1::Object& o) { (*PodMeta(o).mutable_annotations())["a b"] = "x"; },
                "metadata.annotations: Invalid value: \"a b\": a name of at most 63 characters "
                "[A-Za-z0-9-_.], starting and ending alphanumeric"},
               {"at the limit",
                [](v1::Object& o) {
                  (*PodMeta(o).mutable_annotations())["k"] =
                      std::string(size_t{256} * 1024 - 1, 'x');
                },
                ""},
               {"too large",
                [](v1::Object& o) {
                  (*PodMeta(o).mutable_annotations())["k"] = std::string(size_t{256} * 1024, 'x');
                },
                "metadata.annotations: Too long: must have at most 262144 bytes"},
           });
}

v1::OwnerReference* AddOwner(v1::Object& o, const std::string& name, bool controller) {
  v1::OwnerReference* ref = PodMeta(o).add_owner_references();
  ref->set_api_version("apps/v1");
  ref->set_kind("ReplicaSet");
  ref->set_name(name);
  ref->set_uid("uid-" + name);
  if (controller) ref->set_controller(true);
  return ref;
}

TEST(ValidateMetaTest, OwnerReferences) {
  RunCases(
      [] { return Pod(); },
      {
          {"one controller, one plain",
           [](v1::Object& o) {
             AddOwner(o, "a", true);
             AddOwner(o, "b", false);
           },
           ""},
          {"two controllers",
           [](v1::Object& o) {
             AddOwner(o, "a", true);
             AddOwner(o, "b", true);
           },
           "metadata.ownerReferences: Invalid value: Only one reference can have Controller "
           "set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b"},
          {"no uid", [](v1::Object& o) { AddOwner(o, "a", true)->clear_uid(); },
           "metadata.ownerReferences[0].uid: Invalid value: \"\": uid must not be empty"},
          {"no version", [](v1::Object& o) { AddOwner(o, "a", true)->set_api_version("apps/"); },
           "metadata.ownerReferences[0].apiVersion: Invalid value: \"apps/\": version must "
           "not be empty"},
          {"no kind", [](v1::Object& o) { AddOwner(o, "a", true)->clear_kind(); },
           "metadata.ownerReferences[0].kind: Invalid value: \"\": kind must not be empty"},
      });
}

TEST(ValidateMetaTest, Finalizers) {
  RunCases(
      [] { return Pod(); },
      {
          {"qualified", [](v1::Object& o) { PodMeta(o).add_finalizers("berth.io/cleanup"); }, ""},
          {"standard", [](v1::Object& o) { PodMeta(o).add_finalizers("foregroundDeletion"); }, ""},
          {"unqualified", [](v1::Object& o) { PodMeta(o).add_finalizers("cleanup"); },
           "metadata.finalizers[0]: Invalid value: \"cleanup\": name is neither a standard "
           "finalizer name nor is it fully qualified"},
          {"orphan and foreground",
           [](v1::Object& o) {
             PodMeta(o).add_finalizers("orphan");
             PodMeta(o).add_finalizers("foregroundDeletion");
           },
           "metadata.finalizers: Invalid value: finalizer orphan and foregroundDeletion "
           "cannot be both set"},
      });
}

TEST(ValidateMetaTest, EnvelopeWithoutKind) {
  v1::Object empty;
  EXPECT_THAT(Render(Validate(empty)), ElementsAre("kind: Required value"));
  ApplyDefaults(empty);  // nothing to default, and no crash
  EXPECT_THAT(Render(ValidateUpdate(empty, Pod())), ElementsAre("kind: Required value"));
  EXPECT_EQ(KindOf(empty), "");
  EXPECT_EQ(MutableMetadataOf(empty), nullptr);
  EXPECT_EQ(MetadataOf(empty).name(), "");
}

TEST(ValidateMetaTest, TypeMetaMustNameTheKind) {
  v1::Object d = Deployment();
  d.mutable_deployment()->set_api_version("extensions/v1beta1");
  d.mutable_deployment()->set_kind("Pod");
  EXPECT_THAT(Check(d),
              ElementsAre("apiVersion: Unsupported value: \"extensions/v1beta1\": supported "
                          "values: \"apps/v1\"",
                          "kind: Unsupported value: \"Pod\": supported values: \"Deployment\""));
}

TEST(ValidateMetaTest, KindHelpers) {
  const std::vector<std::pair<v1::Object, std::string>> kinds = {
      {Pod(), "Pod"},
      {Deployment(), "Deployment"},
      {ReplicaSet(), "ReplicaSet"},
      {DaemonSet(), "DaemonSet"},
      {Job(), "Job"},
      {Service(), "Service"},
      {Endpoints(), "Endpoints"},
      {ConfigMap(), "ConfigMap"},
      {Secret(), "Secret"},
      {Namespace(), "Namespace"},
      {Node(), "Node"},
      {ResourceQuota(), "ResourceQuota"},
      {LimitRange(), "LimitRange"},
      {PriorityClass(), "PriorityClass"},
      {Event(), "Event"},
      {Lease(), "Lease"},
  };
  for (auto [o, kind] : kinds) {
    EXPECT_EQ(KindOf(o), kind);
    ASSERT_NE(MutableMetadataOf(o), nullptr) << kind;
    MutableMetadataOf(o)->set_uid("u-1");
    EXPECT_EQ(MetadataOf(o).uid(), "u-1") << kind;
    EXPECT_FALSE(ApiVersionOf(kind).empty()) << kind;
  }
  EXPECT_FALSE(IsNamespaced("Namespace"));
  EXPECT_FALSE(IsNamespaced("Node"));
  EXPECT_FALSE(IsNamespaced("PriorityClass"));
  EXPECT_TRUE(IsNamespaced("Pod"));
  EXPECT_TRUE(IsNamespaced("Lease"));
  EXPECT_FALSE(IsNamespaced("Widget"));
  EXPECT_EQ(ApiVersionOf("Job"), "batch/v1");
  EXPECT_EQ(ApiVersionOf("Widget"), "");
}

TEST(InvalidMessageTest, KubectlShape) {
  v1::Object d = Deployment();
  DeploySpec(d).set_replicas(-1);
  DeployPodSpec(d).mutable_containers(0)->clear_image();
  const std::vector<FieldError> errors = [&] {
    ApplyDefaults(d);
    return Validate(d);
  }();
  EXPECT_EQ(InvalidMessage(d, errors),
            "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be "
            "greater than or equal to 0, spec.template.spec.containers[0].image: Required value]");
}

TEST(InvalidMessageTest, OneErrorNoBrackets) {
  v1::Object job = Job();
  job.mutable_job()->mutable_spec()->set_backoff_limit(-2);
  ApplyDefaults(job);
  EXPECT_EQ(InvalidMessage(job, Validate(job)),
            "Job.batch \"pi\" is invalid: spec.backoffLimit: Invalid value: -2: must be greater "
            "than or equal to 0");
}

TEST(InvalidMessageTest, GroupsAndDuplicates) {
  const std::vector<FieldError> one = {{"spec.x", "Required value"}};
  EXPECT_EQ(InvalidMessage(Pod(), one), "Pod \"web\" is invalid: spec.x: Required value");
  EXPECT_EQ(InvalidMessage(DaemonSet(), one),
            "DaemonSet.apps \"agent\" is invalid: spec.x: Required value");
  EXPECT_EQ(InvalidMessage(ReplicaSet(), one),
            "ReplicaSet.apps \"web\" is invalid: spec.x: Required value");
  EXPECT_EQ(InvalidMessage(PriorityClass(), one),
            "PriorityClass.scheduling.k8s.io \"high\" is invalid: spec.x: Required value");
  EXPECT_EQ(InvalidMessage(Lease(), one),
            "Lease.coordination.k8s.io \"node-1\" is invalid: spec.x: Required value");
  // The same message twice is reported once; a path-less error is just its detail.
  const std::vector<FieldError> dup = {{"spec.x", "Required value"},
                                       {"spec.x", "Required value"},
                                       {"", "Too long: must have at most 1048576 bytes"}};
  EXPECT_EQ(InvalidMessage(ConfigMap(), dup),
            "ConfigMap \"settings\" is invalid: [spec.x: Required value, Too long: must have at "
            "most 1048576 bytes]");
  EXPECT_EQ(InvalidMessage(Service(), {}), "Service \"web\" is invalid");
}

}  // namespace
}  // namespace berth::control
