// Pod network set-up + teardown, Berth (netns/ library, one process) vs the
// CNI bridge + host-local plugins from containernetworking-plugins (invoked
// as a container runtime does: CNI_COMMAND=ADD/DEL, config on stdin), in the
// same private node namespace. Each iteration creates the pod's namespace,
// sets it up, tears it down and deletes the namespace; the two are
// interleaved. Then N pods set up at once (threads for Berth, processes for
// CNI) and torn down. Nothing touches the host's own network namespace.
//   netns_bench [--pods 200] [--concurrent 100] [--cni-path /usr/lib/cni]
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <net/if.h>

#include "berth/common/file.h"
#include "berth/netns/namespace.h"
#include "berth/netns/pod_network.h"

namespace fs = std::filesystem;
using berth::Error;
using berth::Result;
using berth::Status;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Cni {
  fs::path plugin_dir;
  fs::path node_ns;
  fs::path data_dir;
  std::string config;

  // Starts the bridge plugin for one pod; returns its pid.
  Result<pid_t> Start(const char* command, const std::string& id, const fs::path& netns) const {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return Error::FromErrno("pipe");
    pid_t pid = ::fork();
    if (pid < 0) return Error::FromErrno("fork");
    if (pid == 0) {
      int ns = ::open(node_ns.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) < 0) _exit(120);
      ::dup2(in[0], 0);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      const std::string plugin = (plugin_dir / "bridge").string();
      std::vector<std::string> env = {
          "CNI_COMMAND=" + std::string(command), "CNI_CONTAINERID=" + id,
          "CNI_NETNS=" + netns.string(),         "CNI_IFNAME=eth0",
          "CNI_PATH=" + plugin_dir.string(),     "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
      std::vector<char*> envp;
      envp.reserve(env.size() + 1);
      for (auto& e : env) envp.push_back(e.data());
      envp.push_back(nullptr);
      char* argv[] = {const_cast<char*>(plugin.c_str()), nullptr};
      ::execve(plugin.c_str(), argv, envp.data());
      _exit(127);
    }
    ::close(in[0]);
    (void)!::write(in[1], config.data(), config.size());
    ::close(in[1]);
    return pid;
  }

  static Status Wait(pid_t pid, const std::string& what) {
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0) return Error::FromErrno("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return Error::Msg("CNI " + what + " failed with status " + std::to_string(status));
    }
    return {};
  }

  Status Run(const char* command, const std::string& id, const fs::path& netns) const {
    BERTH_ASSIGN_OR_RETURN(pid_t pid, Start(command, id, netns));
    return Wait(pid, std::string(command) + " " + id);
  }
};

// Links named bth* in the node namespace.
int HostLinks(const fs::path& node) {
  int n = 0;
  auto fd = berth::netns::OpenNetns(node);
  if (!fd.ok()) return -1;
  berth::IgnoreError(berth::netns::InNetns(fd->get(),
                                           [&]() -> Status {
                                             struct if_nameindex* names = ::if_nameindex();
                                             for (struct if_nameindex* i = names;
                                                  i && i->if_index != 0; ++i) {
                                               if (std::string(i->if_name).rfind("bth", 0) == 0)
                                                 ++n;
                                             }
                                             if (names) ::if_freenameindex(names);
                                             return {};
                                           }),
                     "counting only");
  return n;
}

int Fail(const Error& e) {
  (void)std::fprintf(stderr, "netns_bench: %s\n", e.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pod network set-up: Berth vs the CNI bridge plugin"};
  int pods = 200, concurrent = 100;
  std::string cni_path = "/usr/lib/cni";
  app.add_option("--pods", pods, "sequential set-up + teardown iterations")->capture_default_str();
  app.add_option("--concurrent", concurrent, "pods set up at once")->capture_default_str();
  app.add_option("--cni-path", cni_path, "CNI plugin directory")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (::geteuid() != 0) return Fail(Error::Msg("run as root"));
  if (!fs::exists(fs::path(cni_path) / "bridge")) {
    return Fail(
        Error::Msg(cni_path + "/bridge missing: apt-get install containernetworking-plugins"));
  }

  std::string tmpl = (fs::temp_directory_path() / "berth-netns-bench-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return Fail(Error::FromErrno("mkdtemp"));
  const fs::path root = tmpl;
  const fs::path node = root / "node.ns";
  const fs::path cni_netns = root / "cni-netns";
  auto cleanup = [&] {
    std::error_code ec;
    for (const fs::path& dir : {root / "netns", cni_netns}) {
      for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) {
        berth::IgnoreError(berth::netns::DeleteNetns(it->path()), "bench cleanup");
      }
    }
    berth::IgnoreError(berth::netns::DeleteNetns(node), "bench cleanup");
    fs::remove_all(root, ec);
  };
  auto fail = [&](const Error& e) {
    cleanup();
    return Fail(e);
  };
  if (Status s = berth::netns::CreateNetns(node); !s.ok()) return fail(s.error());
  fs::create_directories(cni_netns);

  berth::netns::NodeConfig config;
  config.state_dir = root / "state";
  config.netns_dir = root / "netns";
  config.node_netns = node;
  config.pod_cidr_v4 = *berth::netns::IpPrefix::Parse("10.200.0.0/16");
  auto net = berth::netns::PodNetwork::Open(config);
  if (!net.ok()) return fail(net.error());

  Cni cni;
  cni.plugin_dir = cni_path;
  cni.node_ns = node;
  cni.data_dir = root / "cni-ipam";
  cni.config = R"({"cniVersion":"1.0.0","name":"bench","type":"bridge","bridge":"cnibench0",)"
               R"("isGateway":true,"ipMasq":false,"ipam":{"type":"host-local",)"
               R"("ranges":[[{"subnet":"10.210.0.0/16"}]],"dataDir":")" +
               cni.data_dir.string() + R"("}})";

  std::vector<double> berth_ms, cni_ms;
  for (int i = 0; i < pods; ++i) {
    const std::string id = "pod" + std::to_string(i);
    auto t0 = Clock::now();
    auto up = (*net)->SetUpPod(id);
    if (!up.ok()) return fail(up.error());
    if (Status s = (*net)->TearDownPod(id); !s.ok()) return fail(s.error());
    berth_ms.push_back(Ms(Clock::now() - t0));

    const fs::path ns = cni_netns / id;
    t0 = Clock::now();
    if (Status s = berth::netns::CreateNetns(ns); !s.ok()) return fail(s.error());
    if (Status s = cni.Run("ADD", id, ns); !s.ok()) return fail(s.error());
    if (Status s = cni.Run("DEL", id, ns); !s.ok()) return fail(s.error());
    if (Status s = berth::netns::DeleteNetns(ns); !s.ok()) return fail(s.error());
    cni_ms.push_back(Ms(Clock::now() - t0));
  }
  (void)std::printf("set-up + teardown of one pod, %d pods each, interleaved (ms):\n", pods);
  (void)std::printf("  %-22s p50 %7.2f  p99 %7.2f\n", "berth (netns/)", Percentile(berth_ms, 0.5),
                    Percentile(berth_ms, 0.99));
  (void)std::printf("  %-22s p50 %7.2f  p99 %7.2f\n", "CNI bridge+host-local",
                    Percentile(cni_ms, 0.5), Percentile(cni_ms, 0.99));
  (void)std::printf("  berth/CNI p50 = %.3f (goal <= 0.2)\n",
                    Percentile(berth_ms, 0.5) / Percentile(cni_ms, 0.5));

  // N pods at once.
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(concurrent));
  std::vector<Status> results(static_cast<size_t>(concurrent));
  for (int i = 0; i < concurrent; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<size_t>(i)] = berth::StatusOf((*net)->SetUpPod("c" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  const double berth_up = Ms(Clock::now() - t0);
  for (auto& r : results) {
    if (!r.ok()) return fail(r.error());
  }
  t0 = Clock::now();
  for (int i = 0; i < concurrent; ++i) {
    if (Status s = (*net)->TearDownPod("c" + std::to_string(i)); !s.ok()) return fail(s.error());
  }
  const double berth_down = Ms(Clock::now() - t0);
  // The kernel frees the veth pairs with the namespaces, in the background:
  // report when the last host end is gone too.
  double berth_gone = -1;
  for (int i = 0; i < 2000 && berth_gone < 0; ++i) {
    if (HostLinks(node) == 0) berth_gone = Ms(Clock::now() - t0);
    if (berth_gone < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  t0 = Clock::now();
  std::vector<pid_t> pids;
  for (int i = 0; i < concurrent; ++i) {
    const std::string id = "c" + std::to_string(i);
    if (Status s = berth::netns::CreateNetns(cni_netns / id); !s.ok()) return fail(s.error());
    auto pid = cni.Start("ADD", id, cni_netns / id);
    if (!pid.ok()) return fail(pid.error());
    pids.push_back(*pid);
  }
  for (int i = 0; i < concurrent; ++i) {
    if (Status s = Cni::Wait(pids[static_cast<size_t>(i)], "ADD"); !s.ok()) return fail(s.error());
  }
  const double cni_up = Ms(Clock::now() - t0);
  t0 = Clock::now();
  for (int i = 0; i < concurrent; ++i) {
    const std::string id = "c" + std::to_string(i);
    if (Status s = cni.Run("DEL", id, cni_netns / id); !s.ok()) return fail(s.error());
    berth::IgnoreError(berth::netns::DeleteNetns(cni_netns / id), "bench cleanup");
  }
  const double cni_down = Ms(Clock::now() - t0);
  (void)std::printf("%d pods set up at once, then torn down one by one (ms):\n", concurrent);
  (void)std::printf("  %-22s up %8.1f  down %8.1f  (all host links gone after %.1f)\n",
                    "berth (threads)", berth_up, berth_down, berth_gone);
  (void)std::printf("  %-22s up %8.1f  down %8.1f\n", "CNI (processes)", cni_up, cni_down);
  (void)std::printf("  berth/CNI up = %.3f\n", berth_up / cni_up);
  cleanup();
  return 0;
}
