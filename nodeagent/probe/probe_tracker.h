// When to run a container's probes and what their results mean, as Kubernetes
// defines it (kubernetes.io "Configure Liveness, Readiness and Startup
// Probes"; kubelet pkg/kubelet/prober/worker.go):
//  - A probe runs every periodSeconds on a fixed grid from its anchor (the
//    container's start; for liveness and readiness behind a startup probe, the
//    moment the startup probe succeeded, since "liveness and readiness probe
//    delays do not begin until the startup probe has succeeded"). The first
//    run is the first grid point not before initialDelaySeconds, which is why
//    "if periodSeconds is greater than initialDelaySeconds then
//    initialDelaySeconds will be ignored". A run that finishes late does not
//    shift the grid; grid points it overran are skipped, like kubelet's ticker.
//  - A result only takes effect after successThreshold consecutive successes
//    or failureThreshold consecutive failures; a different result restarts
//    the count. Liveness and startup use successThreshold 1 whatever the spec
//    says (Kubernetes validation demands it).
//  - Readiness starts as failure (not ready); liveness starts as success; a
//    startup probe starts unknown and the container counts as started once it
//    succeeds. Liveness and readiness do not run before that, and startup never
//    runs again after it.
//  - Once liveness or startup reaches failure it stops (kubelet puts the worker
//    "on hold"): the container is to be restarted, and the new container
//    instance gets new trackers.
// Out-of-range spec values are clamped to the Kubernetes minimums (period,
// thresholds and timeout 1, initial delay 0) rather than rejected.
//
// Pure logic: no I/O and no clock reads; every time is a parameter, so callers
// drive it from their own timer and tests from fixed time points. Values;
// not thread-safe (one owner, normally the agent's per-container loop).
// Nothing here fails.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "manifest.h"
#include "prober.h"

namespace berth::nodeagent {

enum class ProbeType { kLiveness, kReadiness, kStartup };

// "Liveness", "Readiness", "Startup" (as in kubelet's event messages).
const char* ProbeTypeName(ProbeType type);

class ProbeTracker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `anchor` is when the probe's clock starts: the container's start, or for
  // liveness/readiness behind a startup probe, when that probe succeeded.
  ProbeTracker(ProbeType type, const Probe& spec, TimePoint anchor);

  ProbeType type() const { return type_; }
  // The spec as applied (clamped; successThreshold 1 for liveness/startup).
  const Probe& spec() const { return spec_; }

  // When the probe should run next; TimePoint::max() once it has stopped.
  TimePoint NextDue() const;
  bool Due(TimePoint now) const { return now >= NextDue(); }
  // True once it will never run again: startup after success, liveness or
  // startup after failure.
  bool Stopped() const;

  // Records one attempt that finished at `now`; returns true when the
  // overall state (state()) changed. Ignored (false) once Stopped().
  bool Record(const ProbeOutcome& outcome, TimePoint now);

  // The result in effect: nullopt while unknown (a startup probe before its
  // first verdict).
  std::optional<ProbeResult> state() const { return state_; }
  // Readiness: ready. Liveness and startup: not failed.
  bool Healthy() const;

  int consecutive_failures() const;
  int consecutive_successes() const;
  // Message of the latest recorded attempt ("" before any).
  const std::string& last_message() const { return last_message_; }

 private:
  ProbeType type_;
  Probe spec_;
  TimePoint first_due_;
  TimePoint next_due_;
  std::optional<ProbeResult> state_;
  std::optional<ProbeResult> last_result_;  // of the latest attempt
  int run_ = 0;                             // attempts in a row with last_result_
  std::string last_message_;
};

// The probes of one container instance: an optional startup, liveness and
// readiness probe, with startup gating the other two. The caller runs what
// Due() lists (e.g. with RunProbe), Record()s the outcomes, re-arms its timer
// for NextDue(), restarts the container when RestartReason() is set and then
// builds a new ContainerProbes for the new instance.
class ContainerProbes {
 public:
  using TimePoint = ProbeTracker::TimePoint;

  ContainerProbes(const std::optional<Probe>& startup, const std::optional<Probe>& liveness,
                  const std::optional<Probe>& readiness, TimePoint started);

  // The probes to run at `now`, in the order startup, liveness, readiness.
  std::vector<ProbeType> Due(TimePoint now) const;
  // Earliest time any probe can run; TimePoint::max() when none will.
  TimePoint NextDue() const;
  // Outcome of a probe that finished at `now`. Ignored for a probe the
  // container does not have, or that may not run now (gated or stopped).
  void Record(ProbeType type, const ProbeOutcome& outcome, TimePoint now);

  // The startup probe has succeeded, or there is none.
  bool Started() const;
  // Started and the readiness probe passes (no readiness probe: ready once
  // started).
  bool Ready() const;
  // "Liveness probe failed: <message>" / "Startup probe failed: <message>"
  // once that probe reached its failureThreshold; nullopt otherwise.
  std::optional<std::string> RestartReason() const;

  // The tracker of `type`, or nullptr when the container has no such probe or
  // (liveness, readiness) it is still waiting for the startup probe.
  const ProbeTracker* tracker(ProbeType type) const;

 private:
  ProbeTracker* Mutable(ProbeType type);

  // Liveness and readiness trackers are built when they may first run: at
  // construction, or when the startup probe succeeds.
  std::optional<Probe> liveness_spec_, readiness_spec_;
  std::optional<ProbeTracker> startup_, liveness_, readiness_;
};

}  // namespace berth::nodeagent
