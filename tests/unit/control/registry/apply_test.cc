#include <cerrno>

#include "registry_fixture.h"

namespace berth::control {
namespace {

nlohmann::json Manifest(std::string_view yaml) {
  auto docs = api::YamlDocumentsToJson(yaml, "m.yaml");
  EXPECT_TRUE(docs.ok());
  return docs.ok() ? (*docs)[0] : nlohmann::json();
}

constexpr std::string_view kV1 = R"(
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: {app: web, team: a}
data: {mode: fast, level: "3"}
)";

constexpr std::string_view kV2 = R"(
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: {app: web}
data: {mode: slow, level: "3"}
)";

TEST_F(RegistryTest, ApplyCreatesConfiguresAndRemovesDroppedFields) {
  auto first = registry_->Apply(Manifest(kV1), "prod");
  ASSERT_OK(first);
  EXPECT_EQ(first->result, "created");
  EXPECT_EQ(first->object.config_map().metadata().namespace_(), "prod");

  auto again = registry_->Apply(Manifest(kV1), "prod");
  ASSERT_OK(again);
  EXPECT_EQ(again->result, "unchanged");

  // Another writer adds a label the user never applied: it survives.
  ASSERT_OK(registry_->Modify({"ConfigMap", "prod", "cfg"}, [](v1::Object& o) {
    (*o.mutable_config_map()->mutable_metadata()->mutable_labels())["owner"] = "ops";
    return true;
  }));
  auto second = registry_->Apply(Manifest(kV2), "prod");
  ASSERT_OK(second);
  EXPECT_EQ(second->result, "configured");
  const auto& labels = second->object.config_map().metadata().labels();
  EXPECT_EQ(labels.count("team"), 0u);  // dropped by the user: removed
  EXPECT_EQ(labels.at("owner"), "ops");
  EXPECT_EQ(second->object.config_map().data().at("mode"), "slow");
  EXPECT_EQ(second->object.config_map().metadata().uid(),
            first->object.config_map().metadata().uid());
}

TEST_F(RegistryTest, ApplyRefusesBadManifestsAndLeavesTheObject) {
  ASSERT_OK(registry_->Apply(Manifest(kV1), "default"));
  auto bad = Manifest(kV1);
  bad["data"]["mode"] = 5;
  auto refused = registry_->Apply(bad, "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().err(), EINVAL);
  EXPECT_NE(refused.error().message().find("data[mode]"), std::string::npos);
  auto kept = registry_->Get({"ConfigMap", "default", "cfg"});
  ASSERT_OK(kept);
  EXPECT_EQ(kept->config_map().data().at("mode"), "fast");
  auto nameless = Manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n");
  EXPECT_ERRNO(registry_->Apply(nameless, "default"), EINVAL);
}

TEST_F(RegistryTest, ApplyDryRunWritesNothing) {
  const int64_t rev = registry_->Revision();
  auto dry = registry_->Apply(Manifest(kV1), "default", /*dry_run=*/true);
  ASSERT_OK(dry);
  EXPECT_EQ(dry->result, "created");
  EXPECT_EQ(registry_->Revision(), rev);
  EXPECT_ERRNO(registry_->Get({"ConfigMap", "default", "cfg"}), ENOENT);
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

TEST_F(RegistryTest, ReapplyKeepsAllocatedServiceFields) {
  constexpr std::string_view kService = R"(
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80}]
)";
  auto first = registry_->Apply(Manifest(kService), "default");
  ASSERT_OK(first);
  // What an allocator would have written.
  ASSERT_OK(registry_->Modify({"Service", "default", "web"}, [](v1::Object& o) {
    auto* spec = o.mutable_service()->mutable_spec();
    spec->set_cluster_ip("10.96.0.10");
    spec->add_cluster_ips("10.96.0.10");
    spec->mutable_ports(0)->set_node_port(30080);
    return true;
  }));
  auto again = registry_->Apply(Manifest(kService), "default");
  ASSERT_OK(again);
  EXPECT_EQ(again->result, "unchanged");
  EXPECT_EQ(again->object.service().spec().cluster_ip(), "10.96.0.10");
  EXPECT_EQ(again->object.service().spec().ports(0).node_port(), 30080);
}

}  // namespace
}  // namespace berth::control
