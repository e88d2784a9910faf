#include "lifecycle_fixture.h"

#include "berth/control/controllers/namespace.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kDeployment = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: httpd, image: "berth/httpd:1"}]
)";

class NamespaceControllerTest : public LifecycleTest {
 protected:
  void SetUp() override {
    LifecycleTest::SetUp();
    namespaces_ = std::make_unique<Informer>(*registry_, "Namespace");
    controller_ = std::make_unique<NamespaceController>(
        *registry_, *namespaces_, NamespaceControllerOptions{.recheck = milliseconds(50)});
    ASSERT_OK(namespaces_->Start());
    ASSERT_OK(controller_->Start());
    ASSERT_OK(registry_->Bootstrap({"team"}));
  }
  void TearDown() override {
    controller_.reset();
    namespaces_.reset();
    LifecycleTest::TearDown();
  }

  // Objects of every namespaced kind left in `ns`.
  size_t Content(const std::string& ns) {
    size_t n = 0;
    for (const auto& kind : api::AllKinds()) {
      if (!kind.namespaced) continue;
      auto list = registry_->List({.kind = std::string(kind.kind), .namespace_ = ns});
      EXPECT_TRUE(list.ok());
      if (list.ok()) n += list->items.size();
    }
    return n;
  }

  std::unique_ptr<Informer> namespaces_;
  std::unique_ptr<NamespaceController> controller_;
};

TEST_F(NamespaceControllerTest, DeletesEverythingThenTheNamespace) {
  for (const char* name : {"a", "b"}) {
    v1::Object pod = Pod(name);
    pod.mutable_pod()->mutable_metadata()->set_namespace_("team");
    ASSERT_OK(registry_->Create(pod));
  }
  // A pod on a node stops gracefully: its agent finishes the deletion.
  v1::Object bound = Pod("bound", "n1");
  bound.mutable_pod()->mutable_metadata()->set_namespace_("team");
  ASSERT_OK(registry_->Create(bound));
  ASSERT_OK(registry_->Create(ConfigMap("settings", "team")));
  ASSERT_OK(registry_->Create(ConfigMap("more", "team")));
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  // Other namespaces are not touched.
  ASSERT_OK(registry_->Create(ConfigMap("settings", "default")));
  ASSERT_EQ(Content("team"), 6u);

  ASSERT_OK(registry_->Delete({"Namespace", "", "team"}));
  ASSERT_TRUE(WaitFor([&] { return Content("team") == 1; })) << Content("team");
  // Only the terminating pod is left, and the namespace waits for it.
  auto pods = Pods("team");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].metadata().name(), "bound");
  EXPECT_TRUE(pods[0].metadata().has_deletion_timestamp());
  std::this_thread::sleep_for(milliseconds(200));
  auto ns = registry_->Get({"Namespace", "", "team"});
  ASSERT_OK(ns);
  EXPECT_EQ(ns->namespace_().status().phase(), "Terminating");
  // Nothing new gets in meanwhile.
  EXPECT_ERRNO(registry_->Create(ConfigMap("late", "team")), EACCES);

  FinishDeletions("team");
  ASSERT_TRUE(WaitFor([&] { return !Exists("Namespace", "", "team"); }));
  EXPECT_EQ(Content("team"), 0u);
  EXPECT_TRUE(Exists("ConfigMap", "default", "settings"));
  EXPECT_TRUE(Exists("Namespace", "", "default"));
}

TEST_F(NamespaceControllerTest, WaitsForFinalizersOfItsContent) {
  v1::Object held = ConfigMap("held", "team");
  held.mutable_config_map()->mutable_metadata()->add_finalizers("berth.test/hold");
  ASSERT_OK(registry_->Create(held));
  ASSERT_OK(registry_->Delete({"Namespace", "", "team"}));
  ASSERT_TRUE(WaitFor([&] {
    auto cm = registry_->Get({"ConfigMap", "team", "held"});
    return cm.ok() && cm->config_map().metadata().has_deletion_timestamp();
  }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(Exists("Namespace", "", "team"));
  ASSERT_OK(registry_->Modify({"ConfigMap", "team", "held"}, [](v1::Object& o) {
    o.mutable_config_map()->mutable_metadata()->clear_finalizers();
    return true;
  }));
  ASSERT_TRUE(WaitFor([&] { return !Exists("Namespace", "", "team"); }));
}

TEST_F(NamespaceControllerTest, SyncOfALiveNamespaceChangesNothing) {
  ASSERT_OK(registry_->Create(ConfigMap("settings", "team")));
  ASSERT_OK(controller_->Sync("team"));
  ASSERT_OK(controller_->Sync("no-such-namespace"));
  EXPECT_TRUE(Exists("ConfigMap", "team", "settings"));
  EXPECT_TRUE(Exists("Namespace", "", "team"));
}

}  // namespace
}  // namespace berth::control
