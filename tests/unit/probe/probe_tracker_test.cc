// The Kubernetes probe state machine with time passed in: initial delay on the
// period grid, thresholds, initial states, liveness/startup stopping after
// failure, startup gating liveness and readiness, and NextDue for the timer.
#include "probe_tracker.h"

#include <chrono>

#include <gtest/gtest.h>

namespace berth::nodeagent {
namespace {

using namespace std::chrono_literals;
using TimePoint = ProbeTracker::TimePoint;

const TimePoint kT0 = TimePoint{} + 1000s;  // the container's start

ProbeOutcome Ok() { return {ProbeResult::kSuccess, "ok"}; }
ProbeOutcome Fail(const std::string& why = "HTTP probe failed with statuscode: 500") {
  return {ProbeResult::kFailure, why};
}

Probe Spec(int64_t delay, int64_t period, int64_t success = 1, int64_t failure = 3) {
  Probe p;
  p.kind = ProbeKind::kHttpGet;
  p.port = 8080;
  p.initial_delay_seconds = delay;
  p.period_seconds = period;
  p.success_threshold = success;
  p.failure_threshold = failure;
  return p;
}

// ---------------------------------------------------------------- ProbeTracker

TEST(ProbeTrackerTest, InitialStates) {
  ProbeTracker readiness(ProbeType::kReadiness, Spec(0, 10), kT0);
  EXPECT_FALSE(readiness.Healthy());
  EXPECT_EQ(readiness.state(), ProbeResult::kFailure);
  ProbeTracker liveness(ProbeType::kLiveness, Spec(0, 10), kT0);
  EXPECT_TRUE(liveness.Healthy());
  EXPECT_EQ(liveness.state(), ProbeResult::kSuccess);
  ProbeTracker startup(ProbeType::kStartup, Spec(0, 10), kT0);
  EXPECT_TRUE(startup.Healthy());
  EXPECT_EQ(startup.state(), std::nullopt);
  EXPECT_EQ(startup.last_message(), "");
}

TEST(ProbeTrackerTest, FirstRunIsTheFirstPeriodGridPointAfterTheInitialDelay) {
  EXPECT_EQ(ProbeTracker(ProbeType::kLiveness, Spec(0, 10), kT0).NextDue(), kT0);
  EXPECT_EQ(ProbeTracker(ProbeType::kLiveness, Spec(20, 10), kT0).NextDue(), kT0 + 20s);
  EXPECT_EQ(ProbeTracker(ProbeType::kLiveness, Spec(15, 10), kT0).NextDue(), kT0 + 20s);
  // periodSeconds > initialDelaySeconds: the delay is absorbed by the period.
  EXPECT_EQ(ProbeTracker(ProbeType::kLiveness, Spec(5, 10), kT0).NextDue(), kT0 + 10s);
  ProbeTracker t(ProbeType::kReadiness, Spec(30, 5), kT0);
  EXPECT_FALSE(t.Due(kT0 + 29s));
  EXPECT_TRUE(t.Due(kT0 + 30s));
}

TEST(ProbeTrackerTest, RunsEveryPeriodOnAFixedGrid) {
  ProbeTracker t(ProbeType::kLiveness, Spec(0, 10), kT0);
  t.Record(Ok(), kT0);
  EXPECT_EQ(t.NextDue(), kT0 + 10s);
  EXPECT_FALSE(t.Due(kT0 + 9s));
  // An attempt that took 3s does not push the schedule back.
  t.Record(Ok(), kT0 + 13s);
  EXPECT_EQ(t.NextDue(), kT0 + 20s);
  // One that overran whole periods skips them instead of bursting.
  t.Record(Ok(), kT0 + 45s);
  EXPECT_EQ(t.NextDue(), kT0 + 50s);
}

TEST(ProbeTrackerTest, LivenessFailsAfterFailureThresholdConsecutiveFailures) {
  ProbeTracker t(ProbeType::kLiveness, Spec(0, 10, 1, 3), kT0);
  EXPECT_FALSE(t.Record(Fail(), kT0));
  EXPECT_FALSE(t.Record(Fail(), kT0 + 10s));
  EXPECT_EQ(t.consecutive_failures(), 2);
  EXPECT_TRUE(t.Healthy());
  // A success in between restarts the count.
  EXPECT_FALSE(t.Record(Ok(), kT0 + 20s));
  EXPECT_EQ(t.consecutive_failures(), 0);
  EXPECT_EQ(t.consecutive_successes(), 1);
  EXPECT_FALSE(t.Record(Fail(), kT0 + 30s));
  EXPECT_FALSE(t.Record(Fail(), kT0 + 40s));
  EXPECT_TRUE(t.Record(Fail("dial tcp 10.0.0.5:80: connect: connection refused"), kT0 + 50s));
  EXPECT_FALSE(t.Healthy());
  EXPECT_EQ(t.consecutive_failures(), 3);
  EXPECT_EQ(t.last_message(), "dial tcp 10.0.0.5:80: connect: connection refused");
  // On hold until the container is replaced.
  EXPECT_TRUE(t.Stopped());
  EXPECT_EQ(t.NextDue(), TimePoint::max());
  EXPECT_FALSE(t.Record(Ok(), kT0 + 60s));
  EXPECT_FALSE(t.Healthy());
}

TEST(ProbeTrackerTest, ReadinessNeedsSuccessThresholdConsecutiveSuccesses) {
  ProbeTracker t(ProbeType::kReadiness, Spec(0, 5, 3, 2), kT0);
  EXPECT_FALSE(t.Record(Ok(), kT0));
  EXPECT_FALSE(t.Record(Ok(), kT0 + 5s));
  EXPECT_FALSE(t.Record(Fail(), kT0 + 10s));  // count restarts
  EXPECT_FALSE(t.Record(Ok(), kT0 + 15s));
  EXPECT_FALSE(t.Record(Ok(), kT0 + 20s));
  EXPECT_FALSE(t.Healthy());
  EXPECT_TRUE(t.Record(Ok(), kT0 + 25s));
  EXPECT_TRUE(t.Healthy());
  EXPECT_FALSE(t.Record(Ok(), kT0 + 30s));  // no change, no report
  // failureThreshold 2: one failure keeps it ready, the second does not.
  EXPECT_FALSE(t.Record(Fail(), kT0 + 35s));
  EXPECT_TRUE(t.Healthy());
  EXPECT_TRUE(t.Record(Fail(), kT0 + 40s));
  EXPECT_FALSE(t.Healthy());
  // Readiness never stops: it can become ready again.
  EXPECT_FALSE(t.Stopped());
  EXPECT_EQ(t.NextDue(), kT0 + 45s);
}

TEST(ProbeTrackerTest, LivenessAndStartupIgnoreSuccessThreshold) {
  ProbeTracker liveness(ProbeType::kLiveness, Spec(0, 10, 5, 1), kT0);
  EXPECT_EQ(liveness.spec().success_threshold, 1);
  EXPECT_TRUE(liveness.Record(Fail(), kT0));

  ProbeTracker startup(ProbeType::kStartup, Spec(0, 10, 5, 3), kT0);
  EXPECT_TRUE(startup.Record(Ok(), kT0));
  EXPECT_EQ(startup.state(), ProbeResult::kSuccess);
  EXPECT_TRUE(startup.Stopped());  // never again for this container
}

TEST(ProbeTrackerTest, OutOfRangeSpecValuesAreClamped) {
  ProbeTracker t(ProbeType::kReadiness, Spec(-5, 0, 0, 0), kT0);
  EXPECT_EQ(t.NextDue(), kT0);
  t.Record(Ok(), kT0);
  EXPECT_TRUE(t.Healthy());  // successThreshold 1
  EXPECT_EQ(t.NextDue(), kT0 + 1s);
}

// ---------------------------------------------------------------- ContainerProbes

TEST(ContainerProbesTest, NoProbesMeansStartedAndReady) {
  ContainerProbes c(std::nullopt, std::nullopt, std::nullopt, kT0);
  EXPECT_TRUE(c.Started());
  EXPECT_TRUE(c.Ready());
  EXPECT_TRUE(c.Due(kT0 + 1h).empty());
  EXPECT_EQ(c.NextDue(), TimePoint::max());
  EXPECT_EQ(c.RestartReason(), std::nullopt);
}

TEST(ContainerProbesTest, ReadinessStartsNotReady) {
  ContainerProbes c(std::nullopt, std::nullopt, Spec(5, 5), kT0);
  EXPECT_TRUE(c.Started());
  EXPECT_FALSE(c.Ready());
  EXPECT_TRUE(c.Due(kT0 + 4s).empty());
  EXPECT_EQ(c.Due(kT0 + 5s), std::vector<ProbeType>{ProbeType::kReadiness});
  c.Record(ProbeType::kReadiness, Ok(), kT0 + 5s);
  EXPECT_TRUE(c.Ready());
}

TEST(ContainerProbesTest, LivenessFailureGivesARestartReason) {
  ContainerProbes c(std::nullopt, Spec(0, 10, 1, 2), std::nullopt, kT0);
  EXPECT_TRUE(c.Ready());
  c.Record(ProbeType::kLiveness, Fail("HTTP probe failed with statuscode: 503"), kT0);
  EXPECT_EQ(c.RestartReason(), std::nullopt);
  c.Record(ProbeType::kLiveness, Fail("HTTP probe failed with statuscode: 500"), kT0 + 10s);
  EXPECT_EQ(c.RestartReason(), "Liveness probe failed: HTTP probe failed with statuscode: 500");
  EXPECT_TRUE(c.Due(kT0 + 1h).empty());
  EXPECT_EQ(c.NextDue(), TimePoint::max());
}

TEST(ContainerProbesTest, StartupGatesLivenessAndReadiness) {
  ContainerProbes c(Spec(0, 2, 1, 30), Spec(10, 10), Spec(0, 5), kT0);
  EXPECT_FALSE(c.Started());
  EXPECT_FALSE(c.Ready());
  EXPECT_EQ(c.tracker(ProbeType::kLiveness), nullptr);
  EXPECT_EQ(c.Due(kT0), std::vector<ProbeType>{ProbeType::kStartup});

  // Liveness and readiness are neither due nor recorded while starting.
  c.Record(ProbeType::kStartup, Fail(), kT0);
  c.Record(ProbeType::kLiveness, Fail(), kT0);
  c.Record(ProbeType::kReadiness, Ok(), kT0);
  EXPECT_EQ(c.NextDue(), kT0 + 2s);
  EXPECT_EQ(c.Due(kT0 + 2s), std::vector<ProbeType>{ProbeType::kStartup});
  EXPECT_FALSE(c.Ready());

  // Success at +4s: started; their delays count from here.
  c.Record(ProbeType::kStartup, Ok(), kT0 + 4s);
  EXPECT_TRUE(c.Started());
  EXPECT_FALSE(c.Ready());  // readiness starts as not ready
  EXPECT_EQ(c.Due(kT0 + 4s), std::vector<ProbeType>{ProbeType::kReadiness});
  EXPECT_EQ(c.tracker(ProbeType::kLiveness)->NextDue(), kT0 + 14s);
  c.Record(ProbeType::kReadiness, Ok(), kT0 + 4s);
  EXPECT_TRUE(c.Ready());
  EXPECT_EQ(c.NextDue(), kT0 + 9s);
  EXPECT_EQ(c.Due(kT0 + 14s),
            (std::vector<ProbeType>{ProbeType::kLiveness, ProbeType::kReadiness}));
  // The startup probe never runs again for this container.
  EXPECT_TRUE(c.tracker(ProbeType::kStartup)->Stopped());
  c.Record(ProbeType::kStartup, Fail(), kT0 + 20s);
  EXPECT_TRUE(c.Started());
  EXPECT_EQ(c.RestartReason(), std::nullopt);
}

TEST(ContainerProbesTest, StartupFailureGivesARestartReason) {
  ContainerProbes c(Spec(0, 1, 1, 3), Spec(0, 10), Spec(0, 10), kT0);
  c.Record(ProbeType::kStartup, Fail("dial tcp 10.0.0.5:80: connect: connection refused"), kT0);
  c.Record(ProbeType::kStartup, Fail("dial tcp 10.0.0.5:80: connect: connection refused"),
           kT0 + 1s);
  EXPECT_EQ(c.RestartReason(), std::nullopt);
  c.Record(ProbeType::kStartup, Fail("dial tcp 10.0.0.5:80: timeout after 1s"), kT0 + 2s);
  EXPECT_EQ(c.RestartReason(), "Startup probe failed: dial tcp 10.0.0.5:80: timeout after 1s");
  EXPECT_FALSE(c.Started());
  EXPECT_FALSE(c.Ready());
  EXPECT_TRUE(c.Due(kT0 + 1h).empty());
  EXPECT_EQ(c.NextDue(), TimePoint::max());
}

TEST(ContainerProbesTest, NextDueIsTheEarliestRunnableProbe) {
  ContainerProbes c(std::nullopt, Spec(0, 10), Spec(3, 3), kT0);
  EXPECT_EQ(c.NextDue(), kT0);  // liveness, no delay
  c.Record(ProbeType::kLiveness, Ok(), kT0);
  EXPECT_EQ(c.NextDue(), kT0 + 3s);  // readiness
  c.Record(ProbeType::kReadiness, Ok(), kT0 + 3s);
  EXPECT_EQ(c.NextDue(), kT0 + 6s);
  c.Record(ProbeType::kReadiness, Ok(), kT0 + 6s);
  c.Record(ProbeType::kReadiness, Ok(), kT0 + 9s);
  EXPECT_EQ(c.NextDue(), kT0 + 10s);  // liveness again
}

}  // namespace
}  // namespace berth::nodeagent
