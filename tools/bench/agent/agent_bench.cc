// berth-agent pod start latency and memory, as tools/bench/agent/bench.sh
// runs it: starts the real berth-agent binary on a throw-away node (a
// network namespace, a cgroup and directories under one temp dir), then
//   - single: one pod at a time, time from the manifest's rename into the
//     watched directory to its container running (shim.state written by
//     berth-shim once the container's process has exec'd);
//   - burst: 50 manifests at once, each pod's latency from its own rename;
//   - idle: 100 pods running, then the agent's and the shims' RSS.
// Prints "key value" lines for bench.sh. Everything made is removed at exit.
//   agent_bench --agent BIN --image-store DIR [--runs N] [--burst N] [--idle N]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/netns/namespace.h"
#include "berth/runtime/shim/shim.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Node {
  fs::path dir;
  fs::path mount;
  std::string cgroup;
  pid_t agent = -1;
};

std::string Manifest(const std::string& name) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", uid: " + name +
         "}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n"
         "    - {name: c, image: busybox, command: [sleep, \"100000\"]}\n";
}

// Writes atomically (rename), as tools that drop manifests do; returns the
// time of the rename.
Clock::time_point Drop(const Node& n, const std::string& name) {
  const fs::path tmp = n.dir / "staging" / (name + ".yaml");
  std::ofstream(tmp) << Manifest(name);
  const auto t = Clock::now();
  fs::rename(tmp, n.dir / "manifests" / (name + ".yaml"));
  return t;
}

fs::path ShimState(const Node& n, const std::string& name) {
  return n.dir / "state/pods" / name / "containers/c/0" / berth::runtime::shim::kShimStateFile;
}

// Polls (every 200 us) until every pod's shim.state exists; latencies in ms.
std::vector<double> WaitRunning(const Node& n, const std::vector<std::string>& names,
                                const std::vector<Clock::time_point>& dropped) {
  std::vector<double> ms(names.size(), -1);
  size_t left = names.size();
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (left > 0 && Clock::now() < deadline) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (ms[i] >= 0) continue;
      struct stat st {};
      if (::stat(ShimState(n, names[i]).c_str(), &st) == 0) {
        ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - dropped[i]).count();
        --left;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (left > 0) {
    (void)std::fprintf(stderr, "agent_bench: %zu pods never ran (see %s/agent.log)\n", left,
                       n.dir.c_str());
    std::exit(1);
  }
  return ms;
}

void RemoveAll(const Node& n, const std::vector<std::string>& names) {
  for (const auto& name : names) fs::remove(n.dir / "manifests" / (name + ".yaml"));
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (const auto& name : names) {
    while (fs::exists(n.dir / "state/pods" / name) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(std::lround(p * static_cast<double>(v.size() - 1))))];
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void Cleanup(Node& n) {
  if (n.agent > 0) {
    ::kill(n.agent, SIGTERM);
    ::waitpid(n.agent, nullptr, 0);
  }
  berth::cgroups::Cgroup root(n.mount, n.cgroup);
  IgnoreError(root.Kill(), "ENOENT: nothing started");
  IgnoreError(root.WaitEmpty(std::chrono::seconds(10)), "best effort");
  IgnoreError(root.Remove(), "best effort");
  std::ifstream mounts("/proc/self/mounts");
  std::vector<std::string> targets;
  std::string dev, target, rest;
  while (mounts >> dev >> target && std::getline(mounts, rest)) {
    if (target.rfind(n.dir.string(), 0) == 0) targets.push_back(target);
  }
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(n.dir, ec);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agent_bench: berth-agent pod start latency and RSS"};
  std::string agent_bin, store;
  int runs = 30, burst = 50, idle = 100;
  app.add_option("--agent", agent_bin)->required();
  app.add_option("--image-store", store, "store holding docker.io/library/busybox")->required();
  app.add_option("--runs", runs);
  app.add_option("--burst", burst);
  app.add_option("--idle", idle);
  CLI11_PARSE(app, argc, argv);

  Node n;
  char tmpl[] = "/tmp/berth-agent-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  n.dir = tmpl;
  for (const char* d : {"manifests", "staging", "state", "run", "logs", "config", "netns"}) {
    fs::create_directories(n.dir / d);
  }
  auto h = berth::cgroups::Discover();
  if (!h.ok()) return 1;
  n.mount = h->mount;
  n.cgroup = "/berth-agent-bench-" + std::to_string(::getpid());
  if (!berth::netns::CreateNetns(n.dir / "node").ok()) return 1;
  // Network state and namespaces stay inside the temp dir too.
  std::ofstream(n.dir / "agent.yaml")
      << "network:\n  stateDir: " << (n.dir / "netns-state").string()
      << "\n  netnsDir: " << (n.dir / "netns").string() << "\n";
  std::vector<std::string> args = {agent_bin,        "--log-level",
                                   "warn",           "run",
                                   "--config",       (n.dir / "agent.yaml").string(),
                                   "--manifest-dir", (n.dir / "manifests").string(),
                                   "--state-dir",    (n.dir / "state").string(),
                                   "--run-dir",      (n.dir / "run").string(),
                                   "--log-dir",      (n.dir / "logs").string(),
                                   "--config-dir",   (n.dir / "config").string(),
                                   "--image-store",  store,
                                   "--cgroup-root",  n.cgroup,
                                   "--pod-cidr",     "10.232.0.0/22",
                                   "--node-netns",   (n.dir / "node").string(),
                                   "--bridge",       "bbench" + std::to_string(::getpid() % 100000),
                                   "--socket",       (n.dir / "run/agent.sock").string(),
                                   "--http-listen",  "127.0.0.1:0"};
  std::vector<char*> argvp;
  argvp.reserve(args.size() + 1);
  for (auto& a : args) argvp.push_back(a.data());
  argvp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string log = (n.dir / "agent.log").string();
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (posix_spawn(&n.agent, agent_bin.c_str(), &fa, nullptr, argvp.data(), environ) != 0) {
    std::perror("spawn berth-agent");
    Cleanup(n);
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // Warm-up: the first pod unpacks the image's layer snapshot.
  {
    std::vector<std::string> w = {"warmup"};
    WaitRunning(n, w, {Drop(n, "warmup")});
    RemoveAll(n, w);
  }
  std::vector<double> single;
  for (int i = 0; i < runs; ++i) {
    std::vector<std::string> one = {"single-" + std::to_string(i)};
    auto t = Drop(n, one[0]);
    single.push_back(WaitRunning(n, one, {t})[0]);
    RemoveAll(n, one);
    // The kernel frees a pod's network namespace asynchronously (and holds
    // rtnl meanwhile): measure each start on a settled node.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::printf("single_p50_ms %.2f\nsingle_p99_ms %.2f\nsingle_runs %d\n", Percentile(single, 0.5),
              Percentile(single, 0.99), runs);

  std::vector<std::string> names;
  std::vector<Clock::time_point> dropped;
  names.reserve(burst);
  dropped.reserve(burst);
  for (int i = 0; i < burst; ++i) names.push_back("burst-" + std::to_string(i));
  for (const auto& name : names) dropped.push_back(Drop(n, name));
  auto lat = WaitRunning(n, names, dropped);
  std::printf("burst_pods %d\nburst_p50_ms %.2f\nburst_p99_ms %.2f\n", burst, Percentile(lat, 0.5),
              Percentile(lat, 0.99));
  RemoveAll(n, names);

  names.clear();
  dropped.clear();
  names.reserve(idle);
  dropped.reserve(idle);
  for (int i = 0; i < idle; ++i) names.push_back("idle-" + std::to_string(i));
  for (const auto& name : names) dropped.push_back(Drop(n, name));
  WaitRunning(n, names, dropped);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  long shim_total = 0, shim_max = 0;
  for (const auto& name : names) {
    auto st = berth::runtime::shim::ReadShimState(ShimState(n, name).parent_path());
    if (!st.ok()) continue;
    const long r = RssKb(st->shim_pid);
    shim_total += r;
    shim_max = std::max(shim_max, r);
  }
  std::printf("idle_pods %d\nagent_rss_kb %ld\nshim_rss_avg_kb %ld\nshim_rss_max_kb %ld\n", idle,
              RssKb(n.agent), shim_total / idle, shim_max);
  RemoveAll(n, names);
  Cleanup(n);
  return 0;
}
