#include "berth/control/controllers/node_lifecycle.h"

#include <thread>

#include <google/protobuf/util/time_util.h>

#include "registry_fixture.h"

#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class NodeLifecycleTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    ASSERT_OK(registry_->Bootstrap({std::string(kNodeLeaseNamespace)}));
    nodes_ = std::make_unique<Informer>(*registry_, "Node");
    leases_ = std::make_unique<Informer>(*registry_, "Lease");
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    AddPodIndexes(*pods_);
    events_ = std::make_unique<EventRecorder>(*registry_, "node-controller");
    controller_ = std::make_unique<NodeLifecycleController>(
        *registry_, *nodes_, *leases_, *pods_, *events_,
        NodeLifecycleOptions{.grace = seconds(40), .eviction_timeout = seconds(60)});
    for (auto* i : {nodes_.get(), leases_.get(), pods_.get()}) ASSERT_OK(i->Start());
    // Not started: the test drives MonitorOnce with its own clock.
  }
  void TearDown() override {
    controller_.reset();
    events_.reset();
    pods_.reset();
    leases_.reset();
    nodes_.reset();
    RegistryTest::TearDown();
  }

  void Renew(const std::string& node) {
    const auto stamp = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now_.time_since_epoch()).count());
    auto renewed =
        registry_->Modify({"Lease", std::string(kNodeLeaseNamespace), node}, [&](v1::Object& o) {
          *o.mutable_lease()->mutable_spec()->mutable_renew_time() = stamp;
          return true;
        });
    if (renewed.ok()) return;
    v1::Object lease;
    lease.mutable_lease()->mutable_metadata()->set_name(node);
    lease.mutable_lease()->mutable_metadata()->set_namespace_(std::string(kNodeLeaseNamespace));
    lease.mutable_lease()->mutable_spec()->set_holder_identity(node);
    *lease.mutable_lease()->mutable_spec()->mutable_renew_time() = stamp;
    ASSERT_OK(registry_->Create(lease));
  }

  // Waits until the informers have caught up with the registry.
  void Settle() {
    const int64_t rev = registry_->Revision();
    for (int i = 0; i < 200; ++i) {
      if (nodes_->Revision() >= rev || leases_->Revision() >= rev || pods_->Revision() >= rev) {
        std::this_thread::sleep_for(milliseconds(50));
        return;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  v1::Node GetNode(const std::string& name) {
    auto got = registry_->Get({"Node", "", name});
    EXPECT_TRUE(got.ok());
    return got.ok() ? got->node() : v1::Node();
  }

  std::unique_ptr<Informer> nodes_, leases_, pods_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<NodeLifecycleController> controller_;
};

TEST_F(NodeLifecycleTest, SilentNodeIsTaintedThenEvictedAndComesBack) {
  v1::Object node;
  node.mutable_node()->mutable_metadata()->set_name("n1");
  auto* ready = node.mutable_node()->mutable_status()->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  ASSERT_OK(registry_->Create(node));
  Renew("n1");
  ASSERT_OK(registry_->Create(Pod("on-n1", "n1")));
  ASSERT_OK(registry_->Create(Pod("elsewhere", "n2")));
  Settle();
  controller_->MonitorOnce();
  EXPECT_EQ(GetNode("n1").spec().taints_size(), 0);

  now_ += seconds(41);  // no renewal for longer than the grace period
  controller_->MonitorOnce();
  v1::Node silent = GetNode("n1");
  ASSERT_EQ(silent.spec().taints_size(), 2);
  EXPECT_EQ(silent.spec().taints(0).key(), "node.kubernetes.io/unreachable");
  EXPECT_EQ(silent.status().conditions(0).status(), "Unknown");
  EXPECT_EQ(silent.status().conditions(0).reason(), "NodeStatusUnknown");
  ASSERT_OK(registry_->Get({"Pod", "default", "on-n1"}));  // not yet evicted
  Settle();

  now_ += seconds(61);  // past the eviction timeout
  controller_->MonitorOnce();
  EXPECT_ERRNO(registry_->Get({"Pod", "default", "on-n1"}), ENOENT);
  ASSERT_OK(registry_->Get({"Pod", "default", "elsewhere"}));
  events_->Flush();
  auto events = registry_->List({.kind = "Event", .field_selector = "reason=NodeNotReady"});
  ASSERT_OK(events);
  EXPECT_EQ(events->items.size(), 1u);

  Renew("n1");
  Settle();
  controller_->MonitorOnce();
  EXPECT_EQ(GetNode("n1").spec().taints_size(), 0);
}

}  // namespace
}  // namespace berth::control
