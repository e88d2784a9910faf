#include "agent_cli.h"

#include <httplib.h>
#include <malloc.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include <systemd/sd-daemon.h>

#include "agent.h"
#include "agent_service.h"
#include "collector.h"
#include "join.h"
#include "membership.h"

#include "berth/common/file.h"
#include "berth/common/log.h"

namespace berth::nodeagent {
namespace {

struct RunFlags {
  std::string config;
  std::string manifest_dir, state_dir, run_dir, log_dir, image_store, cgroup_root, socket,
      http_listen, node_name, pod_cidr, node_netns, config_dir, bridge, node_ip, bpf_pin_dir,
      node_port_interface;
  double join_wait_s = 60;
  int usage_report_s = 0;
};

Result<AgentConfig> BuildConfig(const RunFlags& f) {
  AgentConfig c;
  if (!f.config.empty()) {
    BERTH_ASSIGN_OR_RETURN(c, LoadAgentConfig(f.config));
  } else if (::access("/etc/berth/agent.yaml", R_OK) == 0) {
    BERTH_ASSIGN_OR_RETURN(c, LoadAgentConfig("/etc/berth/agent.yaml"));
  }
  auto set = [](const std::string& flag, auto* out) {
    if (!flag.empty()) *out = flag;
  };
  set(f.manifest_dir, &c.manifest_dir);
  set(f.state_dir, &c.state_dir);
  set(f.run_dir, &c.run_dir);
  set(f.log_dir, &c.log_dir);
  set(f.image_store, &c.image_store);
  set(f.cgroup_root, &c.cgroup_root);
  set(f.socket, &c.socket);
  set(f.http_listen, &c.http_listen);
  set(f.node_name, &c.node_name);
  set(f.node_netns, &c.network.node_netns);
  set(f.config_dir, &c.config_dir);
  set(f.bridge, &c.network.bridge);
  set(f.node_ip, &c.node_ip);
  set(f.bpf_pin_dir, &c.bpf_pin_dir);
  set(f.node_port_interface, &c.node_port_interface);
  if (f.usage_report_s > 0) c.usage_report_interval = std::chrono::seconds(f.usage_report_s);
  // A node that joined a cluster (berth-agent join) takes pods from it too.
  c.cluster = ::access(ClusterDir(c.state_dir).c_str(), F_OK) == 0;
  if (!f.pod_cidr.empty()) {
    auto p = IpPrefix::Parse(f.pod_cidr);
    if (!p.ok()) return std::move(p).error().Wrap("--pod-cidr");
    c.network.pod_cidr_v4 = *p;
  }
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n < 0) return Error::FromErrno("readlink /proc/self/exe");
  self[n] = '\0';
  BERTH_TRY(FinishAgentConfig(&c, self));
  return c;
}

// /metrics: the collector over every running container, with the labels
// cAdvisor puts on them (namespace, pod, container, image).
std::vector<metrics::Target> Targets(const Agent& agent) {
  std::vector<metrics::Target> out;
  for (const auto& pod : agent.ListPods()) {
    for (const auto& c : pod.containers) {
      if (c.cgroup.empty() || c.state.kind != ContainerState::Kind::kRunning) continue;
      metrics::Target t;
      t.cgroup = c.cgroup;
      t.labels = {{"namespace", pod.namespace_},
                  {"pod", pod.name},
                  {"container", c.name},
                  {"image", c.image},
                  {"name", pod.namespace_ + "_" + pod.name + "_" + c.name}};
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

int Run(const RunFlags& f) {
  // One thread per pod plus gRPC's: glibc would give busy threads their own
  // malloc arenas (up to 8 per CPU), each keeping freed memory resident.
  // Two arenas hold the agent's small, short-lived allocations as well.
  (void)mallopt(M_ARENA_MAX, 2);
  auto config = BuildConfig(f);
  if (!config.ok()) {
    log::Error("configuration", {{"error", config.error().ToString()}});
    return 2;
  }
  std::unique_ptr<Membership> membership;
  if (config->cluster) {
    auto joined =
        Membership::Join(&*config, std::chrono::seconds(static_cast<int64_t>(f.join_wait_s)));
    if (!joined.ok()) {
      log::Error("cluster", {{"error", joined.error().ToString()}});
      return 1;
    }
    membership = std::move(joined).value();
  }
  auto agent = Agent::Create(*config);
  if (!agent.ok()) {
    log::Error("agent start", {{"error", agent.error().ToString()}});
    return 1;
  }
  Agent& a = **agent;
  if (auto node = a.GetNodeStatus(); node.ok() && !node->controllers_missing.empty()) {
    std::string missing;
    for (const auto& c : node->controllers_missing) missing += (missing.empty() ? "" : ",") + c;
    log::Warn("cgroup controllers missing: limits are not enforced, scheduling uses requests",
              {{"missing", missing}, {"cgroup_root", node->cgroup_root}});
  }
  Status started = a.Start();
  if (started.ok() && membership) started = membership->Start(a, *config);
  if (!started.ok()) {
    log::Error("agent start", {{"error", started.error().ToString()}});
    if (membership) membership->Stop();
    a.Shutdown();
    return 1;
  }

  auto server = AgentServer::Start(a, config->socket);
  if (!server.ok()) {
    log::Error("gRPC socket", {{"error", server.error().ToString()}});
    a.Shutdown();
    return 1;
  }
  std::unique_ptr<httplib::Server> http;
  std::thread http_thread;
  metrics::CollectorOptions mo;
  mo.cgroup_mount = a.context().sandbox.cgroup_mount;
  metrics::Collector collector(mo);
  if (!config->http_listen.empty()) {
    const size_t colon = config->http_listen.rfind(':');
    const std::string host = config->http_listen.substr(0, colon);
    const int port = std::atoi(config->http_listen.c_str() + colon + 1);
    http = std::make_unique<httplib::Server>();
    http->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    http->Get("/readyz", [&a](const httplib::Request&, httplib::Response& res) {
      res.status = a.Ready() ? 200 : 503;
      res.set_content(a.Ready() ? "ok\n" : "initial sync not done\n", "text/plain");
    });
    http->Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
      auto text = collector.Collect(Targets(a));
      if (!text.ok()) {
        res.status = 500;
        res.set_content(text.error().ToString() + "\n", "text/plain");
        return;
      }
      res.set_content(*text, "text/plain; version=0.0.4");
    });
    if (!http->bind_to_port(host, port)) {
      log::Error("http listen failed", {{"listen", config->http_listen}});
      (*server)->Shutdown();
      a.Shutdown();
      return 1;
    }
    http_thread = std::thread([&] { http->listen_after_bind(); });
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  (void)sd_notify(0, "READY=1\nSTATUS=watching pods");
  log::Info("agent ready", {{"node", config->node_name},
                            {"cluster", config->cluster ? "joined" : "no"},
                            {"manifests", config->manifest_dir.string()},
                            {"cgroup_root", a.context().sandbox.cgroup_root}});
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  while (!g_stop.load()) {
    // Half the watchdog interval, as sd_watchdog_enabled(3) advises.
    ::usleep(watchdog ? static_cast<useconds_t>(watchdog_usec / 2) : 200000);
    if (watchdog) (void)sd_notify(0, "WATCHDOG=1");
  }
  (void)sd_notify(0, "STOPPING=1");
  log::Info("agent stopping; containers keep running", {});
  if (http) {
    http->stop();
    http_thread.join();
  }
  if (membership) membership->Stop();
  (*server)->Shutdown();
  a.Shutdown();
  return 0;
}

}  // namespace

void AddJoinCommand(CLI::App& app, int* exit_code) {
  struct JoinFlags {
    std::string address, token, ca_hash, ca_file, node_name, state_dir = "/var/lib/berth/agent";
  };
  auto* join = app.add_subcommand(
      "join", "join a cluster: get this node's certificate from berth-control (then run)");
  auto f = std::make_shared<JoinFlags>();
  join->add_option("address", f->address, "berth-control host:port")->required();
  join->add_option("--token", f->token, "bootstrap token (from berth-control init)")->required();
  join->add_option("--ca-cert-hash", f->ca_hash, "sha256:<hex> pin of the cluster CA");
  join->add_option("--ca-cert", f->ca_file, "the cluster CA file (instead of discovering it)");
  join->add_option("--node-name", f->node_name, "node name (default: host name)");
  join->add_option("--state-dir", f->state_dir, "agent state (/var/lib/berth/agent)");
  join->callback([f, exit_code] {
    auto fail = [&](const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.ToString().c_str());
      *exit_code = 1;
    };
    JoinOptions o;
    o.address = f->address;
    o.token = f->token;
    o.ca_pin = f->ca_hash;
    o.node_name = f->node_name;
    if (o.node_name.empty()) {
      char host[HOST_NAME_MAX + 1] = {};
      (void)::gethostname(host, sizeof(host) - 1);
      o.node_name = host;
    }
    if (!f->ca_file.empty()) {
      auto ca = ReadFile(f->ca_file);
      if (!ca.ok()) return fail(ca.error());
      o.ca_pem = *ca;
    }
    auto creds = JoinCluster(o);
    if (!creds.ok()) return fail(creds.error());
    if (auto st = SaveCredentials(f->state_dir, {f->address, *creds}); !st.ok()) {
      return fail(st.error());
    }
    std::printf(
        "Node %s joined the cluster at %s (credentials in %s).\n"
        "Start the agent: systemctl start berth-agent, or berth-agent run --state-dir %s\n",
        o.node_name.c_str(), f->address.c_str(), ClusterDir(f->state_dir).c_str(),
        f->state_dir.c_str());
  });
}

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto* run = app.add_subcommand("run", "run the node agent (pods from the manifest directory)");
  auto f = std::make_shared<RunFlags>();
  run->add_option("--config", f->config, "YAML configuration (default /etc/berth/agent.yaml)");
  run->add_option("--manifest-dir", f->manifest_dir, "static pod manifests (/etc/berth/pods)");
  run->add_option("--state-dir", f->state_dir, "agent state (/var/lib/berth/agent)");
  run->add_option("--run-dir", f->run_dir, "runtime files (/run/berth)");
  run->add_option("--log-dir", f->log_dir, "container logs (/var/log/berth/pods)");
  run->add_option("--config-dir", f->config_dir, "configmaps/ and secrets/ (/etc/berth)");
  run->add_option("--image-store", f->image_store, "image store (/var/lib/berth/images)");
  run->add_option("--cgroup-root", f->cgroup_root, "cgroup for pods (default: own, delegated)");
  run->add_option("--socket", f->socket, "gRPC unix socket (/run/berth/agent.sock)");
  run->add_option("--http-listen", f->http_listen, "metrics/health address (127.0.0.1:10255)");
  run->add_option("--node-name", f->node_name, "node name (default: host name)");
  run->add_option("--pod-cidr", f->pod_cidr, "the node's IPv4 pod CIDR");
  run->add_option("--node-netns", f->node_netns, "network namespace acting as the node");
  run->add_option("--bridge", f->bridge, "pod bridge name (berth0)");
  run->add_option("--node-ip", f->node_ip, "cluster: the node's InternalIP (default: detected)");
  run->add_option("--bpf-pin-dir", f->bpf_pin_dir,
                  "cluster: service LB pins (/sys/fs/bpf/berth/<node>)");
  run->add_option("--nodeport-interface", f->node_port_interface,
                  "cluster: serve NodePorts on this interface");
  run->add_option("--join-wait", f->join_wait_s,
                  "cluster: seconds to wait for berth-control at start (60)");
  run->add_option("--usage-report-seconds", f->usage_report_s,
                  "cluster: report usage for berth top this often (10)")
      ->check(CLI::Range(1, 3600));
  run->callback([f, exit_code] { *exit_code = Run(*f); });
}

}  // namespace berth::nodeagent
