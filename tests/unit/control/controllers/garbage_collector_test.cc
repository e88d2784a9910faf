#include "berth/control/controllers/garbage_collector.h"

#include "lifecycle_fixture.h"

#include "berth/control/controllers/pods.h"
#include "berth/control/controllers/replicaset.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kReplicaSet = R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: httpd, image: "berth/httpd:1"}]
)";

// A finalizer of the test's own, to hold a dependent while it is deleted.
constexpr std::string_view kHold = "berth.test/hold";

class GarbageCollectorTest : public LifecycleTest {
 protected:
  void TearDown() override {
    gc_.reset();
    LifecycleTest::TearDown();
  }

  void StartGc(GarbageCollectorOptions options = {}) {
    gc_ = std::make_unique<GarbageCollector>(*registry_, std::move(options));
    ASSERT_OK(gc_->Start());
  }

  // A pod (unbound, so deleted at once) owned by each of `owners`.
  v1::Object OwnedPod(const std::string& name, const std::vector<const v1::Object*>& owners,
                      bool hold = false) {
    v1::Object pod = Pod(name);
    for (const auto* owner : owners) AddOwner(pod, *owner);
    if (hold) pod.mutable_pod()->mutable_metadata()->add_finalizers(std::string(kHold));
    auto created = registry_->Create(pod);
    EXPECT_TRUE(created.ok()) << created.error().ToString();
    return created.ok() ? *created : pod;
  }

  void Release(const std::string& kind, const std::string& name) {
    ASSERT_OK(registry_->Modify({kind, "default", name}, [](v1::Object& o) {
      api::MutableMeta(o)->clear_finalizers();
      return true;
    }));
  }

  bool Deleting(const std::string& kind, const std::string& name) {
    auto got = registry_->Get({kind, "default", name});
    return got.ok() && api::MetaOf(*got).has_deletion_timestamp();
  }

  std::unique_ptr<GarbageCollector> gc_;
};

TEST_F(GarbageCollectorTest, BackgroundDeleteOfReplicaSetRemovesItsPods) {
  Informer pods(*registry_, "Pod");
  Informer replicasets(*registry_, "ReplicaSet");
  AddPodIndexes(pods);
  EventRecorder events(*registry_, "replicaset-controller");
  ReplicaSetController rs(*registry_, replicasets, pods, events);
  ASSERT_OK(pods.Start());
  ASSERT_OK(replicasets.Start());
  ASSERT_OK(rs.Start());
  StartGc();

  ASSERT_OK(registry_->Create(Parse(kReplicaSet)));
  ASSERT_TRUE(WaitFor([&] { return Pods("default", "app=web").size() == 2; }));
  // Background: the owner goes at once, its pods after it.
  ASSERT_OK(registry_->Delete({"ReplicaSet", "default", "web"}));
  EXPECT_FALSE(Exists("ReplicaSet", "default", "web"));
  ASSERT_TRUE(WaitFor([&] { return Pods("default", "app=web").empty(); }))
      << Pods("default", "app=web").size() << " pods left";
  rs.Stop();
}

TEST_F(GarbageCollectorTest, ForegroundDeletesDependentsBottomUpBeforeTheOwner) {
  StartGc();
  // top <- middle <- bottom (a pod that holds on with a finalizer), plus a
  // second pod of middle that goes at once.
  auto top = registry_->Create(ConfigMap("top"));
  ASSERT_OK(top);
  v1::Object middle_cm = ConfigMap("middle");
  AddOwner(middle_cm, *top);
  auto middle = registry_->Create(middle_cm);
  ASSERT_OK(middle);
  OwnedPod("bottom", {&*middle}, /*hold=*/true);
  OwnedPod("sibling", {&*middle});

  ASSERT_OK(registry_->Delete({"ConfigMap", "default", "top"}, {.propagation = "Foreground"}));
  // The GC works down the chain: middle is deleted in the foreground too
  // (it has dependents), its pods are deleted.
  ASSERT_TRUE(WaitFor([&] { return Deleting("Pod", "bottom"); }));
  ASSERT_TRUE(WaitFor([&] { return !Exists("Pod", "sibling"); }));
  std::this_thread::sleep_for(milliseconds(300));
  // bottom still exists (held), so middle and top wait for it.
  auto mid = registry_->Get({"ConfigMap", "default", "middle"});
  ASSERT_OK(mid);
  EXPECT_TRUE(mid->config_map().metadata().has_deletion_timestamp());
  ASSERT_EQ(mid->config_map().metadata().finalizers_size(), 1);
  EXPECT_EQ(mid->config_map().metadata().finalizers(0), "foregroundDeletion");
  EXPECT_TRUE(Deleting("ConfigMap", "top"));

  Release("Pod", "bottom");
  ASSERT_TRUE(WaitFor([&] { return !Exists("ConfigMap", "top"); }));
  EXPECT_FALSE(Exists("ConfigMap", "middle"));
  EXPECT_FALSE(Exists("Pod", "bottom"));
}

TEST_F(GarbageCollectorTest, ForegroundDoesNotWaitForNonBlockingDependents) {
  StartGc();
  auto owner = registry_->Create(ConfigMap("owner"));
  ASSERT_OK(owner);
  v1::Object pod = Pod("loose");
  AddOwner(pod, *owner);
  pod.mutable_pod()->mutable_metadata()->mutable_owner_references(0)->set_block_owner_deletion(
      false);
  pod.mutable_pod()->mutable_metadata()->add_finalizers(std::string(kHold));
  ASSERT_OK(registry_->Create(pod));

  ASSERT_OK(registry_->Delete({"ConfigMap", "default", "owner"}, {.propagation = "Foreground"}));
  // The owner does not wait for the dependent, which is deleted too (as
  // an orphan, if the owner was quicker).
  ASSERT_TRUE(WaitFor([&] { return !Exists("ConfigMap", "owner"); }));
  ASSERT_TRUE(WaitFor([&] { return Deleting("Pod", "loose"); }));
  Release("Pod", "loose");
  ASSERT_TRUE(WaitFor([&] { return !Exists("Pod", "loose"); }));
}

TEST_F(GarbageCollectorTest, OrphanKeepsDependentsWithoutTheReference) {
  StartGc();
  auto owner = registry_->Create(ConfigMap("owner"));
  ASSERT_OK(owner);
  auto other = registry_->Create(ConfigMap("other"));
  ASSERT_OK(other);
  OwnedPod("a", {&*owner});
  OwnedPod("b", {&*owner, &*other});

  ASSERT_OK(registry_->Delete({"ConfigMap", "default", "owner"}, {.propagation = "Orphan"}));
  ASSERT_TRUE(WaitFor([&] { return !Exists("ConfigMap", "owner"); }));
  auto a = registry_->Get({"Pod", "default", "a"});
  ASSERT_OK(a);
  EXPECT_EQ(a->pod().metadata().owner_references_size(), 0);
  auto b = registry_->Get({"Pod", "default", "b"});
  ASSERT_OK(b);
  ASSERT_EQ(b->pod().metadata().owner_references_size(), 1);
  EXPECT_EQ(b->pod().metadata().owner_references(0).name(), "other");
  // And they stay: nothing about them is dangling now.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(Exists("Pod", "a"));
  EXPECT_TRUE(Exists("Pod", "b"));
}

TEST_F(GarbageCollectorTest, OwnerWithAnotherUidCountsAsGone) {
  StartGc();
  auto owner = registry_->Create(ConfigMap("owner"));
  ASSERT_OK(owner);
  OwnedPod("current", {&*owner});
  v1::Object stale_owner = *owner;
  stale_owner.mutable_config_map()->mutable_metadata()->set_uid(
      "00000000-0000-4000-8000-000000000000");
  OwnedPod("stale", {&stale_owner});
  // Two owners, one of them gone: only the reference to it goes.
  OwnedPod("mixed", {&*owner, &stale_owner});

  ASSERT_TRUE(WaitFor([&] { return !Exists("Pod", "stale"); }));
  ASSERT_TRUE(WaitFor([&] {
    auto mixed = registry_->Get({"Pod", "default", "mixed"});
    return mixed.ok() && mixed->pod().metadata().owner_references_size() == 1;
  }));
  auto mixed = registry_->Get({"Pod", "default", "mixed"});
  ASSERT_OK(mixed);
  EXPECT_EQ(mixed->pod().metadata().owner_references(0).uid(),
            owner->config_map().metadata().uid());
  EXPECT_TRUE(Exists("Pod", "current"));
}

TEST_F(GarbageCollectorTest, OwnerMissingFromTheCachesIsLookedUpBeforeDeleting) {
  // The GC watches pods only: the ConfigMap owner is never in its index,
  // as when the owner's informer lags. The live lookup keeps the pod.
  auto owner = registry_->Create(ConfigMap("owner"));
  ASSERT_OK(owner);
  v1::Object pod = OwnedPod("kept", {&*owner});
  StartGc({.kinds = {"Pod"}});
  ASSERT_OK(gc_->Sync(pod.pod().metadata().uid()));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(Exists("Pod", "kept"));

  // Once the owner is really gone, the same lookup lets the pod go (the
  // resync or any pod event brings it back to the GC).
  ASSERT_OK(registry_->Delete({"ConfigMap", "default", "owner"}));
  ASSERT_OK(gc_->Sync(pod.pod().metadata().uid()));
  EXPECT_FALSE(Exists("Pod", "kept"));
}

TEST_F(GarbageCollectorTest, TracksDependentsByOwnerUid) {
  StartGc();
  auto owner = registry_->Create(ConfigMap("owner"));
  ASSERT_OK(owner);
  v1::Object a = OwnedPod("a", {&*owner});
  ASSERT_TRUE(
      WaitFor([&] { return gc_->DependentsOf(owner->config_map().metadata().uid()).size() == 1; }));
  EXPECT_EQ(gc_->DependentsOf(owner->config_map().metadata().uid())[0], a.pod().metadata().uid());
  ASSERT_OK(registry_->Delete({"Pod", "default", "a"}));
  ASSERT_TRUE(
      WaitFor([&] { return gc_->DependentsOf(owner->config_map().metadata().uid()).empty(); }));
}

}  // namespace
}  // namespace berth::control
