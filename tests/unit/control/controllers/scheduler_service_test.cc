#include "berth/control/scheduling/scheduler_service.h"

#include <thread>

#include "registry_fixture.h"

#include "berth/api/kinds.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

class SchedulerServiceTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    for (int i = 1; i <= 3; ++i) AddNode("node-" + std::to_string(i), 2000, 4LL << 30);
    nodes_ = std::make_unique<Informer>(*registry_, "Node");
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    AddPodIndexes(*pods_);
    events_ = std::make_unique<EventRecorder>(*registry_, "default-scheduler");
    scheduler_ = std::make_unique<SchedulerService>(*registry_, *nodes_, *pods_, *events_,
                                                    SchedulerOptions{.retry = milliseconds(200)});
    ASSERT_OK(nodes_->Start());
    ASSERT_OK(pods_->Start());
    ASSERT_OK(scheduler_->Start());
  }
  void TearDown() override {
    scheduler_.reset();
    events_.reset();
    pods_.reset();
    nodes_.reset();
    RegistryTest::TearDown();
  }

  void AddNode(const std::string& name, int64_t cpu_milli, int64_t memory) {
    v1::Object o;
    auto* node = o.mutable_node();
    node->mutable_metadata()->set_name(name);
    (*node->mutable_metadata()->mutable_labels())["kubernetes.io/hostname"] = name;
    auto* alloc = node->mutable_status()->mutable_allocatable();
    alloc->set_cpu_milli(cpu_milli);
    alloc->set_memory_bytes(memory);
    alloc->set_pods(110);
    auto* ready = node->mutable_status()->add_conditions();
    ready->set_type("Ready");
    ready->set_status("True");
    ASSERT_OK(registry_->Create(o));
  }

  v1::Object PodWith(const std::string& name, const std::string& memory, int priority = 0) {
    auto pod = Parse("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
                     "}\nspec:\n  priority: " + std::to_string(priority) +
                     "\n  containers: [{name: c, image: busybox, resources: {requests: {cpu: "
                     "100m, memory: " +
                     memory + "}}}]\n");
    return pod;
  }

  std::string NodeOf(const std::string& pod) {
    auto got = registry_->Get({"Pod", "default", pod});
    return got.ok() ? got->pod().spec().node_name() : "<gone>";
  }

  bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 200; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(25));
    }
    return done();
  }

  std::unique_ptr<Informer> nodes_, pods_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<SchedulerService> scheduler_;
};

TEST_F(SchedulerServiceTest, BindsPodsSpreadingAnOwnersReplicas) {
  for (int i = 0; i < 6; ++i) ASSERT_OK(registry_->Create(PodWith("p" + std::to_string(i), "1Gi")));
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < 6; ++i) {
      if (NodeOf("p" + std::to_string(i)).empty()) return false;
    }
    return true;
  }));
  std::map<std::string, int> per_node;
  for (int i = 0; i < 6; ++i) per_node[NodeOf("p" + std::to_string(i))]++;
  EXPECT_EQ(per_node.size(), 3u);  // spread: least allocated first
  for (const auto& [node, n] : per_node) EXPECT_EQ(n, 2) << node;
  auto pod = registry_->Get({"Pod", "default", "p0"});
  ASSERT_OK(pod);
  ASSERT_GT(pod->pod().status().conditions_size(), 0);
  EXPECT_EQ(pod->pod().status().conditions(0).type(), "PodScheduled");
  EXPECT_EQ(pod->pod().status().conditions(0).status(), "True");
  EXPECT_EQ(scheduler_->Stats().scheduled, 6u);
}

TEST_F(SchedulerServiceTest, UnschedulableUntilANodeFits) {
  ASSERT_OK(registry_->Create(PodWith("big", "8Gi")));
  ASSERT_TRUE(WaitFor([&] { return scheduler_->Stats().unschedulable >= 1; }));
  EXPECT_EQ(NodeOf("big"), "");
  events_->Flush();
  auto events = registry_->List({.kind = "Event", .field_selector = "reason=FailedScheduling"});
  ASSERT_OK(events);
  ASSERT_EQ(events->items.size(), 1u);
  EXPECT_EQ(events->items[0].event().message(), "0/3 nodes are available: 3 Insufficient memory.");
  auto pod = registry_->Get({"Pod", "default", "big"});
  ASSERT_OK(pod);
  EXPECT_EQ(pod->pod().status().conditions(0).reason(), "Unschedulable");

  AddNode("huge", 4000, 16LL << 30);
  ASSERT_TRUE(WaitFor([&] { return NodeOf("big") == "huge"; })) << NodeOf("big");
}

TEST_F(SchedulerServiceTest, PreemptsLowerPriorityPods) {
  // Fill every node with a low-priority pod of 3Gi.
  for (int i = 1; i <= 3; ++i)
    ASSERT_OK(registry_->Create(PodWith("low" + std::to_string(i), "3Gi")));
  ASSERT_TRUE(WaitFor([&] { return scheduler_->Stats().scheduled == 3; }));
  ASSERT_OK(registry_->Create(PodWith("high", "3Gi", 1000)));
  // One victim is deleted (not bound to a real agent here: its graceful
  // deletion is finished as an agent would, with grace 0).
  ASSERT_TRUE(WaitFor([&] { return scheduler_->Stats().preemptions >= 1; }));
  int deleting = 0;
  for (int i = 1; i <= 3; ++i) {
    auto low = registry_->Get({"Pod", "default", "low" + std::to_string(i)});
    if (low.ok() && low->pod().metadata().has_deletion_timestamp()) {
      ++deleting;
      ASSERT_OK(registry_->Delete({"Pod", "default", "low" + std::to_string(i)},
                                  {.grace_period_seconds = 0}));
    }
  }
  EXPECT_EQ(deleting, 1);
  ASSERT_TRUE(WaitFor([&] { return !NodeOf("high").empty(); }));
}

// After a restart the pods may be listed before their nodes: they still
// take their room once the node appears, and so do the pods of a node that
// was deleted and registered again.
TEST_F(SchedulerServiceTest, PodsSeenBeforeTheirNodeStillTakeItsRoom) {
  for (int i = 1; i <= 3; ++i)
    ASSERT_OK(registry_->Create(PodWith("fill" + std::to_string(i), "3Gi")));
  ASSERT_TRUE(WaitFor([&] { return scheduler_->Stats().scheduled == 3; }));

  // A new scheduler whose pod informer syncs before its node informer.
  scheduler_.reset();
  pods_.reset();
  nodes_.reset();
  pods_ = std::make_unique<Informer>(*registry_, "Pod");
  AddPodIndexes(*pods_);
  nodes_ = std::make_unique<Informer>(*registry_, "Node");
  scheduler_ = std::make_unique<SchedulerService>(*registry_, *nodes_, *pods_, *events_,
                                                  SchedulerOptions{.retry = milliseconds(200)});
  ASSERT_OK(pods_->Start());
  ASSERT_TRUE(WaitFor([&] { return pods_->HasSynced(); }));
  ASSERT_OK(nodes_->Start());
  ASSERT_OK(scheduler_->Start());
  ASSERT_OK(registry_->Create(PodWith("late", "3Gi")));
  ASSERT_TRUE(WaitFor([&] { return scheduler_->Stats().unschedulable >= 1; }));
  EXPECT_EQ(NodeOf("late"), "");

  // node-1 leaves and registers again: its pod is still on it.
  const std::string full = NodeOf("fill1");
  ASSERT_OK(registry_->Delete({"Node", "", full}, {}));
  ASSERT_TRUE(WaitFor([&] { return !nodes_->Get("", full).has_value(); }));
  AddNode(full, 2000, 4LL << 30);
  ASSERT_TRUE(WaitFor([&] { return nodes_->Get("", full).has_value(); }));
  std::this_thread::sleep_for(milliseconds(500));  // retries of "late" come and go
  EXPECT_EQ(NodeOf("late"), "");
}

// A pod that fits nowhere is retried after 200, 400, 800 ms... (the
// fixture's base retry), not every 200 ms, and a node's status heartbeat,
// which changes nothing placement reads, does not requeue it.
TEST_F(SchedulerServiceTest, UnschedulablePodsBackOffAndIgnoreHeartbeats) {
  ASSERT_OK(registry_->Create(PodWith("big", "8Gi")));
  ASSERT_TRUE(WaitFor([&] { return scheduler_->Stats().unschedulable >= 1; }));
  std::this_thread::sleep_for(milliseconds(2000));
  const auto attempts = scheduler_->Stats().unschedulable;
  EXPECT_GE(attempts, 2u);
  EXPECT_LE(attempts, 5u);  // without back-off: about 10
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(registry_->Modify({"Node", "", "node-1"},
                                [&](v1::Object& o) {
                                  o.mutable_node()->mutable_status()->set_running_pods(i + 1);
                                  return true;
                                },
                                {.status = true}));
  }
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_LE(scheduler_->Stats().unschedulable, attempts + 1);  // its own timer at most
}

}  // namespace
}  // namespace berth::control
