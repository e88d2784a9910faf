// Status structs <-> berth.v1 messages.
#include "convert.h"

#include <gtest/gtest.h>

#include "fake_backend.h"
#include "test_support.h"

namespace berth::nodeagent {
namespace {

using testing::SamplePod;

TEST(Convert, PodToProtoInKubernetesTerms) {
  v1::Pod p = PodToProto(SamplePod("prod", "web"));
  EXPECT_EQ(p.metadata().name(), "web");
  EXPECT_EQ(p.metadata().namespace_(), "prod");
  EXPECT_EQ(p.metadata().uid(), "uid-web");
  EXPECT_EQ(p.metadata().labels().at("app"), "web");
  EXPECT_EQ(p.source(), "/etc/berth/manifests/web.yaml");
  const v1::PodStatus& s = p.status();
  EXPECT_EQ(s.phase(), "Running");
  ASSERT_EQ(s.conditions_size(), 2);
  EXPECT_EQ(s.conditions(0).type(), "Initialized");
  EXPECT_EQ(s.conditions(0).status(), "True");
  EXPECT_EQ(s.conditions(1).type(), "Ready");
  EXPECT_EQ(s.conditions(1).status(), "True");
  EXPECT_EQ(s.pod_ip(), "10.88.0.5");
  ASSERT_EQ(s.pod_ips_size(), 2);
  EXPECT_EQ(s.pod_ips(1).ip(), "fd00::5");
  EXPECT_EQ(s.qos_class(), "Burstable");
  EXPECT_EQ(s.start_time().seconds(), 1795413600);
  ASSERT_EQ(s.init_container_statuses_size(), 1);
  EXPECT_EQ(s.init_container_statuses(0).state().terminated().reason(), "Completed");
  ASSERT_EQ(s.container_statuses_size(), 1);
  const v1::ContainerStatus& c = s.container_statuses(0);
  EXPECT_EQ(c.name(), "web");
  EXPECT_TRUE(c.state().has_running());
  EXPECT_EQ(c.state().running().started_at().seconds(), 1795413605);
  ASSERT_TRUE(c.has_last_state());
  EXPECT_EQ(c.last_state().terminated().exit_code(), 2);
  EXPECT_EQ(c.last_state().terminated().finished_at().nanos(), 123);
  EXPECT_TRUE(c.ready());
  EXPECT_TRUE(c.started());
  EXPECT_EQ(c.restart_count(), 1);
  EXPECT_EQ(c.pid(), 4242);
  EXPECT_EQ(c.cgroup(), "/berth/pods/uid-web/web");
  EXPECT_EQ(c.log_path(), "/var/log/berth/pods/prod_web/web/1.log");
}

TEST(Convert, NotReadyConditionNamesTheContainers) {
  PodStatus pod = SamplePod("default", "web");
  pod.ready = false;
  pod.containers[0].ready = false;
  pod.init_containers.clear();
  pod.start_time_ns = 0;
  v1::Pod p = PodToProto(pod);
  EXPECT_EQ(p.status().conditions(1).status(), "False");
  EXPECT_EQ(p.status().conditions(1).reason(), "ContainersNotReady");
  EXPECT_EQ(p.status().conditions(1).message(), "containers with unready status: [web]");
  EXPECT_FALSE(p.status().has_start_time());
}

TEST(Convert, PodRoundTrip) {
  PodStatus in = SamplePod("default", "web");
  auto out = PodFromProto(PodToProto(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->name, in.name);
  EXPECT_EQ(out->labels, in.labels);
  EXPECT_EQ(out->phase, in.phase);
  EXPECT_EQ(out->ready, in.ready);
  EXPECT_EQ(out->pod_ips, in.pod_ips);
  EXPECT_EQ(out->start_time_ns, in.start_time_ns);
  ASSERT_EQ(out->containers.size(), 1U);
  const ContainerStatus& c = out->containers[0];
  EXPECT_EQ(c.state.kind, ContainerState::Kind::kRunning);
  EXPECT_EQ(c.state.started_at_ns, in.containers[0].state.started_at_ns);
  ASSERT_TRUE(c.last_state.has_value());
  EXPECT_EQ(c.last_state->finished_at_ns, in.containers[0].last_state->finished_at_ns);
  EXPECT_EQ(c.last_state->reason, "Error");
  EXPECT_EQ(c.pid, 4242);
  ASSERT_EQ(out->init_containers.size(), 1U);
  EXPECT_TRUE(out->init_containers[0].init);
}

TEST(Convert, UnknownPhaseIsInvalid) {
  v1::Pod p = PodToProto(SamplePod("default", "web"));
  p.mutable_status()->set_phase("Sleeping");
  EXPECT_ERRNO(PodFromProto(p), EINVAL);
  p.mutable_status()->set_phase("Running");
  p.mutable_status()->mutable_conditions(0)->set_status("Maybe");
  EXPECT_ERRNO(PodFromProto(p), EINVAL);
}

TEST(Convert, NodeRoundTrip) {
  NodeStatus in = testing::SampleNode();
  v1::Node n = NodeToProto(in);
  EXPECT_EQ(n.metadata().name(), "node-1");
  EXPECT_EQ(n.status().capacity().cpu_milli(), 4000);
  EXPECT_EQ(n.status().allocatable().memory_bytes(), 7LL << 30);
  EXPECT_EQ(n.status().conditions(0).status(), "True");
  EXPECT_EQ(n.status().conditions(1).status(), "False");
  EXPECT_EQ(n.status().controllers_missing_size(), 3);
  auto out = NodeFromProto(n);
  ASSERT_OK(out);
  EXPECT_EQ(out->allocatable_cpu_milli, 3500);
  EXPECT_EQ(out->conditions[0].reason, "AgentReady");
  EXPECT_FALSE(out->conditions[1].status);
  EXPECT_EQ(out->controllers_enforced, in.controllers_enforced);
  EXPECT_EQ(out->running_pods, 2);
}

TEST(Convert, TimestampsBeforeTheEpoch) {
  auto ts = TimestampFromNs(-1);
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999'999'999);
  EXPECT_EQ(NsFromTimestamp(ts), -1);
  EXPECT_EQ(NsFromTimestamp(TimestampFromNs(1795413600123456789)), 1795413600123456789);
}

}  // namespace
}  // namespace berth::nodeagent
