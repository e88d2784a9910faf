#include "berth/api/codec.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/kinds.h"

namespace berth::api {
namespace {

constexpr std::string_view kDeployment = R"(# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: "25%"}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: httpd
        image: "berth/httpd:1"
        ports: [{containerPort: 80, name: http}]
        resources:
          requests: {cpu: 100m, memory: 64Mi}
        readinessProbe:
          httpGet: {path: /, port: http}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
)";

TEST(Codec, DecodesKubernetesManifests) {
  auto manifests = DecodeManifests(kDeployment, "web.yaml");
  ASSERT_OK(manifests);
  ASSERT_EQ(manifests->size(), 2u);
  const auto& deploy = (*manifests)[0].object.deployment();
  EXPECT_EQ(deploy.metadata().name(), "web");
  EXPECT_TRUE(deploy.spec().has_replicas());
  EXPECT_EQ(deploy.spec().replicas(), 3);
  EXPECT_EQ(deploy.spec().strategy().rolling_update().max_surge().number_value(), 1);
  EXPECT_EQ(deploy.spec().strategy().rolling_update().max_unavailable().string_value(), "25%");
  const auto& c = deploy.spec().template_().spec().containers(0);
  EXPECT_EQ(c.image(), "berth/httpd:1");
  EXPECT_EQ(c.resources().requests().at("memory"), "64Mi");
  EXPECT_EQ(c.readiness_probe().http_get().port().string_value(), "http");
  EXPECT_EQ((*manifests)[1].document, 2);
  EXPECT_EQ((*manifests)[1].object.service().spec().cluster_ip(), "None");
  // The last-applied JSON is the document as written: no defaults added.
  EXPECT_EQ((*manifests)[1].json["spec"]["ports"][0]["targetPort"], 8080);
  EXPECT_FALSE((*manifests)[1].json["spec"].contains("type"));
}

TEST(Codec, ZeroButPresentIsKept) {
  auto object = DecodeJson(
      R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"a"},"spec":{"replicas":0}})",
      "rs.json");
  ASSERT_OK(object);
  EXPECT_TRUE(object->replica_set().spec().has_replicas());
  EXPECT_EQ(ToJson(*object)["spec"]["replicas"], 0);
}

struct BadCase {
  const char* text;
  const char* error;
};

TEST(Codec, ErrorsNameSourceDocumentAndPath) {
  const BadCase cases[] = {
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    "
       "imag: x\n",
       "p.yaml: spec.containers[0].imag: unknown field \"imag\""},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\n"
       "metadata: {name: b, labels: {v: 1.0}}\n",
       "p.yaml: document 2: metadata.labels[v]: expected a string, got a number"},
      {"apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: three}\n",
       "p.yaml: spec.replicas: expected an integer, got a string"},
      {"apiVersion: v1\nkind: Deployment\n",
       "no matches for kind \"Deployment\" in version \"v1\""},
      {"apiVersion: v1\nkind: Gadget\n", "no matches for kind \"Gadget\""},
      {"apiVersion: v1\nmetadata: {}\n", "p.yaml: kind: Required value"},
      {"kind: Pod\n", "p.yaml: apiVersion: Required value"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, name: b}\n", "appears twice"},
      {"apiVersion: v1\nkind: Pod\nmetadata: [1\n", "p.yaml: line"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {creationTimestamp: 5}\n",
       "metadata.creationTimestamp: expected an RFC 3339 time"},
      {"apiVersion: v1\nkind: Pod\nspec: {restart_policy: Always}\n",
       "spec.restart_policy: unknown field"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xbb\"}\n", "p.yaml: not valid UTF-8"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {labels: {\"\xc0\xaf\": x}}\n",
       "p.yaml: not valid UTF-8"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: \"a\x02\"}\n",
       "line 3: control character 0x02"},
      {"apiVersion: v1\nkind: List\nkind: x\n", "appears twice"},
      {"kind: ~\napiVersion: v1\n", "kind: Required value"},
      {"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, "
       "*c]\n"
       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, "
       "*e]\n",
       "too many nodes"},
  };
  for (const auto& c : cases) {
    auto result = DecodeManifests(c.text, "p.yaml");
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_EQ(result.error().err(), EINVAL);
    EXPECT_NE(result.error().message().find(c.error), std::string::npos)
        << "got: " << result.error().message() << "\nwant: " << c.error;
  }
}

TEST(Codec, ListsArraysAndEmptyDocuments) {
  auto list = DecodeManifests(
      "---\n---\nkind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: ConfigMap, "
      "metadata: {name: a}}\n- {apiVersion: v1, kind: Secret, metadata: {name: b}, data: {k: "
      "aGk=}}\n",
      "l.yaml");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].object.secret().data().at("k"), "hi");
  auto array = DecodeManifests(
      R"([{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}])", "a.json");
  ASSERT_OK(array);
  EXPECT_EQ((*array)[0].object.namespace_().metadata().name(), "x");
}

TEST(Codec, YamlRoundTripKeepsTypes) {
  v1::Object object;
  auto* cm = object.mutable_config_map();
  cm->mutable_metadata()->set_name("cfg");
  (*cm->mutable_data())["port"] = "8080";
  (*cm->mutable_data())["flag"] = "true";
  (*cm->mutable_data())["empty"] = "";
  (*cm->mutable_data())["multi"] = "a: b\nc";
  const std::string yaml = EncodeYaml(object);
  auto back = DecodeManifests(yaml, "cfg.yaml");
  ASSERT_OK(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].object.config_map().data().at("port"), "8080");
  EXPECT_EQ((*back)[0].object.config_map().data().at("flag"), "true");
  EXPECT_EQ((*back)[0].object.config_map().data().at("empty"), "");
  EXPECT_EQ((*back)[0].object.config_map().data().at("multi"), "a: b\nc");
  EXPECT_NE(yaml.find("kind: ConfigMap"), std::string::npos);
}

TEST(Kinds, LookupByEveryName) {
  for (const char* name : {"Deployment", "deployments", "deployment", "deploy"}) {
    ASSERT_NE(FindKind(name), nullptr) << name;
    EXPECT_EQ(FindKind(name)->kind, "Deployment");
  }
  EXPECT_EQ(FindKind("svc")->kind, "Service");
  EXPECT_EQ(FindKind("gadget"), nullptr);
  EXPECT_FALSE(FindKind("Node")->namespaced);
  v1::Object object;
  object.mutable_deployment()->mutable_metadata()->set_name("web");
  EXPECT_EQ(ResourceName(object), "deployment.apps/web");
  EXPECT_EQ(QualifiedKind(*KindOf(object)), "Deployment.apps");
  MutableMeta(object)->set_namespace_("prod");
  EXPECT_EQ(object.deployment().metadata().namespace_(), "prod");
  EXPECT_EQ(&MetaOf(object), &object.deployment().metadata());
}

}  // namespace
}  // namespace berth::api
