// Events derived from successive pod statuses, as kubelet records them.
#include "pod_events.h"

#include <gtest/gtest.h>

namespace berth::nodeagent {
namespace {

using Kind = ContainerState::Kind;

PodStatus Pod(Kind kind, const std::string& reason = "", int restarts = 0, int64_t started = 0) {
  PodStatus p;
  p.name = "web-1";
  p.namespace_ = "shop";
  ContainerStatus c;
  c.name = "httpd";
  c.restart_count = restarts;
  c.state.kind = kind;
  c.state.reason = reason;
  c.state.started_at_ns = started;
  p.containers.push_back(c);
  return p;
}

std::vector<std::string> Reasons(const std::vector<PodEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.reason);
  return out;
}

TEST(PodEvents, StartedOncePerInstance) {
  const PodStatus creating = Pod(Kind::kWaiting, "ContainerCreating");
  const PodStatus running = Pod(Kind::kRunning, "", 0, 100);
  auto events = StatusEvents(&creating, running);
  ASSERT_EQ(Reasons(events), std::vector<std::string>{"Started"});
  EXPECT_EQ(events[0].type, "Normal");
  EXPECT_EQ(events[0].message, "Started container httpd");
  EXPECT_EQ(events[0].field_path, "spec.containers{httpd}");
  EXPECT_TRUE(StatusEvents(&running, running).empty());
  // A restart is a new instance: a new start time.
  EXPECT_EQ(Reasons(StatusEvents(&running, Pod(Kind::kRunning, "", 1, 200))),
            std::vector<std::string>{"Started"});
  // First sight of a running container (an agent restart) counts too.
  EXPECT_EQ(Reasons(StatusEvents(nullptr, running)), std::vector<std::string>{"Started"});
}

TEST(PodEvents, BackOffOnEveryCrashLoopRound) {
  const PodStatus running = Pod(Kind::kRunning, "", 0, 100);
  const PodStatus loop1 = Pod(Kind::kWaiting, "CrashLoopBackOff", 1);
  auto events = StatusEvents(&running, loop1);
  ASSERT_EQ(Reasons(events), std::vector<std::string>{"BackOff"});
  EXPECT_EQ(events[0].type, "Warning");
  EXPECT_EQ(events[0].message, "Back-off restarting failed container httpd in pod web-1_shop");
  EXPECT_TRUE(StatusEvents(&loop1, loop1).empty()) << "the same wait is not repeated";
  EXPECT_EQ(Reasons(StatusEvents(&loop1, Pod(Kind::kWaiting, "CrashLoopBackOff", 2))),
            std::vector<std::string>{"BackOff"})
      << "the next round is";
}

TEST(PodEvents, FailuresCarryTheirMessage) {
  PodStatus failed = Pod(Kind::kWaiting, "ErrImagePull");
  failed.containers[0].state.message = "pull docker.io/x: not found";
  auto events = StatusEvents(nullptr, failed);
  ASSERT_EQ(Reasons(events), std::vector<std::string>{"Failed"});
  EXPECT_EQ(events[0].message, "Error: pull docker.io/x: not found");
  EXPECT_TRUE(StatusEvents(nullptr, Pod(Kind::kWaiting, "ContainerCreating")).empty());
  EXPECT_TRUE(StatusEvents(nullptr, Pod(Kind::kTerminated, "Completed")).empty());
}

TEST(PodEvents, KillingNamesEachRunningContainer) {
  PodStatus p = Pod(Kind::kRunning, "", 0, 100);
  ContainerStatus done;
  done.name = "sidecar";
  done.state.kind = Kind::kTerminated;
  p.containers.push_back(done);
  auto events = KillingEvents(p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, "Killing");
  EXPECT_EQ(events[0].message, "Stopping container httpd");
}

}  // namespace
}  // namespace berth::nodeagent
