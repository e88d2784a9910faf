#include "berth/control/controllers/replicaset.h"

#include <thread>

#include "registry_fixture.h"

#include "berth/api/kinds.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kReplicaSet = R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: httpd, image: "berth/httpd:1"}]
)";

class ReplicaSetTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    replicasets_ = std::make_unique<Informer>(*registry_, "ReplicaSet");
    AddPodIndexes(*pods_);
    events_ = std::make_unique<EventRecorder>(*registry_, "replicaset-controller");
    controller_ =
        std::make_unique<ReplicaSetController>(*registry_, *replicasets_, *pods_, *events_);
    ASSERT_OK(pods_->Start());
    ASSERT_OK(replicasets_->Start());
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    controller_.reset();
    events_.reset();
    replicasets_.reset();
    pods_.reset();
    RegistryTest::TearDown();
  }

  // Active pods the ReplicaSet owns, from the registry.
  std::vector<v1::Pod> Owned() {
    std::vector<v1::Pod> out;
    auto list = registry_->List({.kind = "Pod", .label_selector = "app=web"});
    EXPECT_TRUE(list.ok());
    for (auto& o : list->items) {
      if (IsActive(o.pod()) && ControllerOf(o.pod().metadata()) != nullptr) {
        out.push_back(o.pod());
      }
    }
    return out;
  }

  bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 200; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(25));
    }
    return done();
  }

  void SetReplicas(int n) {
    ASSERT_OK(registry_->Modify({"ReplicaSet", "default", "web"}, [&](v1::Object& o) {
      o.mutable_replica_set()->mutable_spec()->set_replicas(n);
      return true;
    }));
  }

  std::unique_ptr<Informer> pods_, replicasets_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<ReplicaSetController> controller_;
};

TEST_F(ReplicaSetTest, CreatesScalesAndReplaces) {
  auto rs = registry_->Create(Parse(kReplicaSet));
  ASSERT_OK(rs);
  ASSERT_TRUE(WaitFor([&] { return Owned().size() == 3; })) << Owned().size();
  for (const auto& pod : Owned()) {
    EXPECT_EQ(pod.metadata().owner_references(0).uid(), rs->replica_set().metadata().uid());
    EXPECT_EQ(pod.metadata().name().rfind("web-", 0), 0u);
  }
  // Stays at 3: no double creation while the informer catches up.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(Owned().size(), 3u);

  // Self-healing: a deleted pod and a failed pod are replaced.
  const auto victims = Owned();
  ASSERT_OK(registry_->Delete({"Pod", "default", victims[0].metadata().name()}));
  ASSERT_OK(registry_->Modify({"Pod", "default", victims[1].metadata().name()},
                              [](v1::Object& o) {
                                o.mutable_pod()->mutable_status()->set_phase("Failed");
                                return true;
                              },
                              {.status = true}));
  ASSERT_TRUE(WaitFor([&] { return Owned().size() == 3; }));
  for (const auto& pod : Owned()) {
    EXPECT_NE(pod.metadata().name(), victims[0].metadata().name());
    EXPECT_NE(pod.metadata().name(), victims[1].metadata().name());
  }

  SetReplicas(1);
  ASSERT_TRUE(WaitFor([&] { return Owned().size() == 1; }));
  SetReplicas(0);
  ASSERT_TRUE(WaitFor([&] { return Owned().empty(); }));
  SetReplicas(2);
  ASSERT_TRUE(WaitFor([&] { return Owned().size() == 2; }));
}

TEST_F(ReplicaSetTest, StatusCountsReadyPods) {
  ASSERT_OK(registry_->Create(Parse(kReplicaSet)));
  ASSERT_TRUE(WaitFor([&] { return Owned().size() == 3; }));
  for (const auto& pod : Owned()) {
    ASSERT_OK(registry_->Modify({"Pod", "default", pod.metadata().name()},
                                [](v1::Object& o) {
                                  auto* status = o.mutable_pod()->mutable_status();
                                  status->set_phase("Running");
                                  auto* ready = status->add_conditions();
                                  ready->set_type("Ready");
                                  ready->set_status("True");
                                  return true;
                                },
                                {.status = true}));
  }
  ASSERT_TRUE(WaitFor([&] {
    auto rs = registry_->Get({"ReplicaSet", "default", "web"});
    return rs.ok() && rs->replica_set().status().available_replicas() == 3 &&
           rs->replica_set().status().ready_replicas() == 3 &&
           rs->replica_set().status().replicas() == 3 &&
           rs->replica_set().status().observed_generation() == 1;
  }));
  events_->Flush();
  auto events = registry_->List({.kind = "Event", .field_selector = "reason=SuccessfulCreate"});
  ASSERT_OK(events);
  EXPECT_EQ(events->items.size(), 3u);
}

TEST_F(ReplicaSetTest, AdoptsOrphansInsteadOfCreating) {
  ASSERT_OK(registry_->Create(Pod("orphan")));  // labels app=web, no owner
  ASSERT_OK(registry_->Create(Parse(kReplicaSet)));
  ASSERT_TRUE(WaitFor([&] { return Owned().size() == 3; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(Owned().size(), 3u);
  auto orphan = registry_->Get({"Pod", "default", "orphan"});
  ASSERT_OK(orphan);
  ASSERT_NE(ControllerOf(orphan->pod().metadata()), nullptr);
  EXPECT_EQ(ControllerOf(orphan->pod().metadata())->name(), "web");
}

}  // namespace
}  // namespace berth::control
