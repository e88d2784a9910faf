// Scheduler throughput with durable binds: N nodes and P pending pods in a
// real RocksDB store; the scheduler service places every pod and writes
// each bind (spec.nodeName + PodScheduled) synced to disk before it counts.
// This is what Kubernetes' scheduler_perf measures against a real
// apiserver and etcd with fake nodes (no kubelets): the 5,000-node /
// 50,000-pod floor there is 810 pods/s.
//
//   durable_scheduling_bench --nodes 5000 --pods 50000 [--dir /var/tmp]
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>

#include "berth/control/controllers/event_recorder.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/informer.h"
#include "berth/control/registry.h"
#include "berth/control/scheduling/scheduler_service.h"
#include "berth/control/store.h"

namespace {

using namespace berth;
using namespace berth::control;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

v1::Object Node(int i) {
  v1::Object o;
  auto* node = o.mutable_node();
  node->mutable_metadata()->set_name("hollow-" + std::to_string(i));
  (*node->mutable_metadata()->mutable_labels())["kubernetes.io/hostname"] = node->metadata().name();
  auto* alloc = node->mutable_status()->mutable_allocatable();
  alloc->set_cpu_milli(32000);
  alloc->set_memory_bytes(128LL << 30);
  alloc->set_pods(110);
  auto* ready = node->mutable_status()->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  return o;
}

v1::Object Pod(int i) {
  v1::Object o;
  auto* pod = o.mutable_pod();
  pod->mutable_metadata()->set_name("pod-" + std::to_string(i));
  pod->mutable_metadata()->set_namespace_("default");
  auto* c = pod->mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("registry.local/pause:3.9");
  (*c->mutable_resources()->mutable_requests())["cpu"] = "100m";
  (*c->mutable_resources()->mutable_requests())["memory"] = "128Mi";
  return o;
}

// Runs fn(i) for i in [0, n) on `threads` threads; the store serializes the
// writes, several writers only keep it busy.
Status Parallel(int n, int threads, const std::function<Status(int)>& fn) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < n && !failed; i = next++) {
        auto st = fn(i);
        if (!st.ok()) {
          std::lock_guard lock(mu);
          failed = true;
          error = st.error().ToString();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  if (failed) return Error::Msg(error);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scheduler throughput with durable binds"};
  int nodes = 5000;
  int pods = 50000;
  int threads = 8;
  std::string dir = "/var/tmp";
  std::string policy = "spread";
  app.add_option("--nodes", nodes)->capture_default_str();
  app.add_option("--pods", pods)->capture_default_str();
  app.add_option("--create-threads", threads, "writers creating nodes and pods")
      ->capture_default_str();
  app.add_option("--dir", dir, "where the temporary store lives")->capture_default_str();
  app.add_option("--policy", policy, "spread, pack or balanced")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::filesystem::path db =
      std::filesystem::path(dir) / ("berth-sched-bench-" + std::to_string(getpid()));
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() { std::filesystem::remove_all(p); }
  } cleanup{db};
  auto store = OpenRocksStore({db, 0});
  if (!store.ok()) {
    std::fprintf(stderr, "store: %s\n", store.error().ToString().c_str());
    return 1;
  }
  Registry registry(**store, {});
  if (auto st = registry.Bootstrap(); !st.ok()) return 1;

  auto t0 = Clock::now();
  if (auto st = Parallel(nodes, threads, [&](int i) { return StatusOf(registry.Create(Node(i))); });
      !st.ok()) {
    std::fprintf(stderr, "create nodes: %s\n", st.error().ToString().c_str());
    return 1;
  }
  if (auto st = Parallel(pods, threads, [&](int i) { return StatusOf(registry.Create(Pod(i))); });
      !st.ok()) {
    std::fprintf(stderr, "create pods: %s\n", st.error().ToString().c_str());
    return 1;
  }
  const double setup = Seconds(Clock::now() - t0);
  std::printf("setup: %d nodes + %d pods created in %.1f s (%.0f creates/s, each synced)\n", nodes,
              pods, setup, (nodes + pods) / setup);

  Informer node_informer(registry, "Node");
  Informer pod_informer(registry, "Pod");
  AddPodIndexes(pod_informer);
  EventRecorder events(registry, "default-scheduler");
  SchedulerOptions options;
  options.record_latency = true;
  options.policy = policy == "pack"       ? scheduler::ScorePolicy::kPack
                   : policy == "balanced" ? scheduler::ScorePolicy::kBalanced
                                          : scheduler::ScorePolicy::kSpread;
  SchedulerService sched(registry, node_informer, pod_informer, events, options);
  if (!node_informer.Start().ok() || !pod_informer.Start().ok()) return 1;
  if (!node_informer.WaitForSync(std::chrono::minutes(5)) ||
      !pod_informer.WaitForSync(std::chrono::minutes(5))) {
    return 1;
  }
  t0 = Clock::now();
  if (!sched.Start().ok()) return 1;
  while (sched.Stats().scheduled + sched.Stats().unschedulable < static_cast<uint64_t>(pods)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double elapsed = Seconds(Clock::now() - t0);
  sched.Stop();
  auto lat = sched.Latencies();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty()
               ? 0.0
               : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))] / 1000.0;
  };
  const auto stats = sched.Stats();
  std::printf(
      "scheduled %lu pods on %d nodes in %.2f s: %.0f pods/s (durable binds), unschedulable %lu\n",
      static_cast<unsigned long>(stats.scheduled), nodes, elapsed, stats.scheduled / elapsed,
      static_cast<unsigned long>(stats.unschedulable));
  std::printf("per pod (decision + synced bind): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", pct(0.5),
              pct(0.99), pct(1.0));
  std::printf("vs goal 2000 pods/s: %.2fx; vs kube-scheduler CI floor 810 pods/s: %.2fx\n",
              stats.scheduled / elapsed / 2000.0, stats.scheduled / elapsed / 810.0);
  return 0;
}
