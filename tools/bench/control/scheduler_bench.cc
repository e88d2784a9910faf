// Scheduler core throughput: N nodes, P pods of R-replica owners placed one
// after the other with berth::control::scheduler::Schedule (filters, scores,
// owner spreading), in memory. Prints pods/s and per-pod latency p50/p99.
// Binding writes are not part of this figure (the control service's store
// adds them; see issue 9's benchmark).
//   scheduler_bench [--nodes 5000] [--pods 50000] [--policy spread|pack|balanced]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "berth/control/scheduler/scheduler.h"

namespace sched = berth::control::scheduler;

int main(int argc, char** argv) {
  CLI::App app{"scheduler_bench: pods placed per second by the scheduler core"};
  int nodes = 5000, pods = 50000, replicas = 10;
  std::string policy = "spread";
  app.add_option("--nodes", nodes);
  app.add_option("--pods", pods);
  app.add_option("--replicas", replicas, "pods per owner");
  app.add_option("--policy", policy)->check(CLI::IsMember({"spread", "pack", "balanced"}));
  bool all = false;
  app.add_flag("--all-nodes", all, "score every feasible node (no sampling)");
  CLI11_PARSE(app, argc, argv);
  const sched::ScorePolicy p = policy == "pack"       ? sched::ScorePolicy::kPack
                               : policy == "balanced" ? sched::ScorePolicy::kBalanced
                                                      : sched::ScorePolicy::kSpread;
  std::vector<sched::NodeInfo> cluster(static_cast<size_t>(nodes));
  for (int i = 0; i < nodes; ++i) {
    auto& n = cluster[static_cast<size_t>(i)];
    n.name = "node-" + std::to_string(i);
    n.labels = {{"kubernetes.io/hostname", n.name}, {"zone", "z" + std::to_string(i % 3)}};
    n.allocatable = {32000, int64_t{128} << 30, 110};
  }
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(pods));
  int placed = 0;
  size_t next_node = 0;
  const size_t to_find = all ? 0 : sched::FeasibleNodesToFind(cluster.size());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < pods; ++i) {
    sched::PodInfo pod;
    pod.namespace_ = "default";
    pod.name = "pod-" + std::to_string(i);
    pod.uid = "uid-" + std::to_string(i);
    pod.owner_uid = "rs-" + std::to_string(i / replicas);
    pod.requests = {100 + (i % 4) * 100, (int64_t{128} << 20) * (1 + i % 4), 0};
    const auto t0 = std::chrono::steady_clock::now();
    sched::Decision d = sched::Schedule(pod, cluster, p, {next_node, to_find}, &next_node);
    if (d.node && d.victims.empty()) {
      auto it = std::find_if(cluster.begin(), cluster.end(),
                             [&](const sched::NodeInfo& n) { return n.name == *d.node; });
      sched::AddPod(*it, std::move(pod));
      ++placed;
    }
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(ms.begin(), ms.end());
  std::printf("nodes %d pods %d placed %d policy %s, feasible nodes scored per pod: %zu\n", nodes,
              pods, placed, policy.c_str(), all ? cluster.size() : to_find);
  std::printf("pods/s %.0f  latency p50 %.3f ms  p99 %.3f ms\n", pods / secs, ms[ms.size() / 2],
              ms[static_cast<size_t>(static_cast<double>(ms.size()) * 0.99)]);
  std::printf(
      "kube-scheduler CI floor at 5,000 nodes: 810 pods/s; goal 2,000 pods/s: ratio %.2fx\n",
      pods / secs / 2000.0);
  return 0;
}
