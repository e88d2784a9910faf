// Scheduling with the whole control plane and thousands of hollow nodes:
// berth-control (store, registry with its watch cache, controllers,
// scheduler, gRPC service) in this process, N hollow agents that join,
// renew leases, keep a pod watch open each over gRPC and report their
// pods Running; then P pods are created and the clock runs until every one
// is bound (durably) and until every one is reported Running. With
// --backlog the pods are created first and the clock starts with the
// scheduler, which isolates its throughput as scheduler_perf does.
// Kubernetes' scheduler_perf floor for 5,000 nodes / 50,000 pods is
// 810 pods/s; kubemark runs its hollow nodes the same way.
//
//   hollow_cluster_bench --nodes 5000 --pods 50000 [--backlog] [--dir /var/tmp]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <google/protobuf/util/time_util.h>

#include "hollow_fleet.h"

#include "berth/api/control_client.h"
#include "berth/control/control_plane.h"
#include "berth/control/registry.h"
#include "berth/control/secret_box.h"

namespace {

using namespace berth;
using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

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

// Counts pods by state from one list (paged).
struct Census {
  int bound = 0, running = 0;
  std::vector<double> latency_ms;  // bind time - creation time
};

// Latencies: each pod's bind (PodScheduled=True) after its creation.
Census Count(control::Registry& registry, bool latencies) {
  Census c;
  std::string token;
  do {
    auto page = registry.List({.kind = "Pod", .limit = 5000, .continue_token = token});
    if (!page.ok()) return c;
    for (const auto& o : page->items) {
      const v1::Pod& p = o.pod();
      if (p.spec().node_name().empty()) continue;
      ++c.bound;
      if (p.status().phase() == "Running") ++c.running;
      if (!latencies) continue;
      for (const auto& cond : p.status().conditions()) {
        if (cond.type() != "PodScheduled" || cond.status() != "True") continue;
        c.latency_ms.push_back(
            static_cast<double>(TimeUtil::DurationToMicroseconds(
                cond.last_transition_time() - p.metadata().creation_timestamp())) /
            1000.0);
      }
    }
    token = page->continue_token;
  } while (!token.empty());
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scheduling with the whole control plane and hollow nodes"};
  int nodes = 5000, pods = 50000, channels = 64, writers = 16;
  std::string dir = "/var/tmp";
  app.add_option("--nodes", nodes)->capture_default_str();
  app.add_option("--pods", pods)->capture_default_str();
  app.add_option("--channels", channels, "gRPC connections the hollow nodes share")
      ->capture_default_str();
  app.add_option("--create-threads", writers, "threads creating pods")->capture_default_str();
  app.add_option("--dir", dir, "where the temporary store lives")->capture_default_str();
  bool backlog = false;
  app.add_flag("--backlog", backlog,
               "create every pod first, then start the scheduler: its throughput alone, as "
               "scheduler_perf and durable_scheduling_bench measure it");
  CLI11_PARSE(app, argc, argv);
  // One watch thread per hollow node and one per server stream.
  rlimit nofile{65536, 65536};
  (void)setrlimit(RLIMIT_NOFILE, &nofile);

  const std::filesystem::path root =
      std::filesystem::path(dir) / ("berth-hollow-bench-" + std::to_string(getpid()));
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() { std::filesystem::remove_all(p); }
  } cleanup{root};
  std::filesystem::create_directories(root);
  if (auto st = control::SecretBox::GenerateKeyFile(root / "key"); !st.ok()) return 1;
  control::ControlPlaneOptions o;
  o.data_dir = root / "db";
  o.encryption_key = root / "key";
  o.listen = {"unix:" + (root / "control.sock").string()};
  o.cluster_cidr = "10.0.0.0/8";  // a /24 for each of up to 65,536 nodes
  o.hold_scheduler = backlog;
  auto plane = control::ControlPlane::Start(o);
  if (!plane.ok()) {
    std::fprintf(stderr, "control plane: %s\n", plane.error().ToString().c_str());
    return 1;
  }
  control::Registry& registry = (*plane)->registry();

  std::vector<std::unique_ptr<api::ControlClient>> clients;
  for (int i = 0; i < channels; ++i) {
    auto c = api::ControlClient::Connect("unix:" + (root / "control.sock").string());
    if (!c.ok()) return 1;
    clients.push_back(std::move(*c));
  }
  hollow::HollowOptions ho;
  ho.nodes = nodes;
  ho.cpu_milli = 32000;
  ho.memory_bytes = 128LL << 30;
  ho.pods = 110;
  ho.ready_delay = std::chrono::milliseconds(100);
  ho.workers = 16;
  hollow::HollowFleet fleet(ho,
                            [&](int i) -> api::ControlClient& { return *clients[i % channels]; });
  auto t0 = Clock::now();
  if (auto st = fleet.Start(); !st.ok()) {
    std::fprintf(stderr, "hollow nodes: %s\n", st.error().ToString().c_str());
    return 1;
  }
  std::printf("%d hollow nodes joined, each with a lease and a pod watch, in %.1f s\n", nodes,
              Seconds(Clock::now() - t0));
  std::fflush(stdout);

  t0 = Clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < pods; i = next++) {
        auto created = registry.Create(Pod(i));
        if (!created.ok()) std::fprintf(stderr, "create: %s\n", created.error().ToString().c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double created_s = Seconds(Clock::now() - t0);
  std::printf("%d pods created in %.1f s (%.0f/s, each synced) %s\n", pods, created_s,
              pods / created_s,
              backlog ? "before the scheduler started" : "while the scheduler ran");
  std::fflush(stdout);
  if (backlog) {
    t0 = Clock::now();
    if (auto st = (*plane)->StartScheduler(); !st.ok()) {
      std::fprintf(stderr, "scheduler: %s\n", st.error().ToString().c_str());
      return 1;
    }
  }
  // Progress from counters (the scheduler's durable binds, the fleet's
  // Running reports): listing 50,000 pods every few hundred ms would cost
  // the machine a tenth of its time.
  double bound_s = 0, running_s = 0;
  while (true) {
    const double now = Seconds(Clock::now() - t0);
    if (bound_s == 0 && (*plane)->scheduler_stats().scheduled >= static_cast<uint64_t>(pods))
      bound_s = now;
    if (bound_s > 0 && fleet.RunningPods() >= static_cast<size_t>(pods)) {
      running_s = now;
      break;
    }
    if (now > 1800) {
      std::fprintf(stderr, "timed out: %llu bound, %zu running\n",
                   static_cast<unsigned long long>((*plane)->scheduler_stats().scheduled),
                   fleet.RunningPods());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Census done = Count(registry, true);
  if (done.bound != pods || done.running != pods) {
    std::fprintf(stderr, "the store disagrees: %d bound, %d running of %d\n", done.bound,
                 done.running, pods);
    return 1;
  }
  std::sort(done.latency_ms.begin(), done.latency_ms.end());
  auto pct = [&](double p) {
    const auto& v = done.latency_ms;
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  std::printf(
      "all %d pods bound %.1f s after %s: %.0f pods/s (durable binds, %d hollow nodes "
      "watching and reporting)\n",
      pods, bound_s, backlog ? "the scheduler started" : "the first create (creation included)",
      pods / bound_s, nodes);
  std::printf("all Running (reported by their hollow nodes) after %.1f s: %.0f pods/s end to end\n",
              running_s, pods / running_s);
  if (!backlog) {
    std::printf("created -> bound per pod: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", pct(0.5),
                pct(0.99), pct(1.0));
  }
  std::printf("vs goal 2000 pods/s: %.2fx; vs kube-scheduler CI floor 810 pods/s: %.2fx\n",
              pods / bound_s / 2000.0, pods / bound_s / 810.0);
  fleet.Stop();
  (*plane)->Stop();
  return 0;
}
