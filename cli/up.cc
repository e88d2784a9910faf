#include "up.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "client_config.h"
#include "commands.h"

#include "berth/api/control_client.h"
#include "berth/common/file.h"

extern char** environ;

namespace berth::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Node {
  std::string name;
  std::string address;  // netns mode: 10.99.0.<i>
  std::string netns;    // netns mode: the `ip netns` name
  fs::path state, run;
};

struct Layout {
  fs::path control, pki, data, socket, control_log, control_pid, join_file;
  std::vector<Node> nodes;
  std::string fabric;  // netns mode
};

std::string HostName() {
  char host[HOST_NAME_MAX + 1] = {};
  (void)::gethostname(host, sizeof(host) - 1);
  return host;
}

Layout MakeLayout(const UpOptions& o) {
  Layout l;
  l.control = o.state_dir / "control";
  l.pki = l.control / "pki";
  l.data = l.control / "data";
  l.join_file = l.control / "join";
  l.socket = o.run_dir / "control.sock";
  l.control_log = o.log_dir / "control.log";
  l.control_pid = o.run_dir / "control.pid";
  l.fabric = o.prefix + "-fabric";
  const int n = std::max(o.nodes, 1);
  for (int i = 1; i <= n; ++i) {
    Node node;
    node.name = o.nodes == 0 ? HostName() : "node" + std::to_string(i);
    if (o.nodes > 0) {
      node.address = "10.99.0." + std::to_string(i);
      node.netns = o.prefix + "-" + node.name;
    }
    node.state = o.state_dir / "nodes" / node.name;
    node.run = o.run_dir / "nodes" / node.name;
    l.nodes.push_back(node);
  }
  return l;
}

// Runs argv to completion; its output (stdout and stderr) on success, an
// error quoting it otherwise.
Result<std::string> Run(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return Error::FromErrno("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return Error::Sys(rc, "run " + argv[0]);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Error::Msg(cmd + " failed: " + std::string(Trim(out)));
  }
  return out;
}

Status Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return StatusOf(Run(argv));
}

// Running: it exists and is not a zombie waiting for its parent to reap it.
bool Running(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) < 0) return false;
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  const size_t paren = stat->rfind(')');
  return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z';
}

bool Alive(const fs::path& pid_file) {
  auto text = ReadFile(pid_file);
  return text.ok() && Running(std::atoi(text->c_str()));
}

// Starts argv in the background, in its own session, with its output
// appended to `log`; records its pid.
Status Daemon(const std::vector<std::string>& argv, const fs::path& log, const fs::path& pid_file) {
  const pid_t pid = ::fork();
  if (pid < 0) return Error::FromErrno("fork");
  if (pid == 0) {
    ::setsid();
    const int null = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (null >= 0) ::dup2(null, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  return WriteFileReplace(pid_file, std::to_string(pid) + "\n", 0644);
}

void StopPid(const fs::path& pid_file, std::chrono::seconds grace) {
  auto text = ReadFile(pid_file);
  if (!text.ok()) return;
  const pid_t pid = std::atoi(text->c_str());
  if (pid <= 0 || ::kill(pid, SIGTERM) < 0) {
    fs::remove(pid_file);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (Running(pid) && std::chrono::steady_clock::now() < deadline) {
    ::waitpid(pid, nullptr, WNOHANG);  // reaps it when it is our child
    std::this_thread::sleep_for(50ms);
  }
  if (Running(pid)) ::kill(pid, SIGKILL);
  fs::remove(pid_file);
}

Result<fs::path> FindBinary(const std::string& name, const fs::path& bin_dir) {
  std::vector<fs::path> dirs;
  if (!bin_dir.empty()) dirs.push_back(bin_dir);
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    const fs::path here = fs::path(self).parent_path();
    // Installed side by side, or the build tree (cli/, nodeagent/, control/cmd/).
    for (const fs::path& d :
         {here, here.parent_path() / "nodeagent", here.parent_path() / "control" / "cmd"}) {
      dirs.push_back(d);
    }
  }
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      const size_t colon = p.find(':', start);
      dirs.emplace_back(p.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  for (const auto& d : dirs) {
    if (::access((d / name).c_str(), X_OK) == 0) return d / name;
  }
  return Error::Msg(name + " not found (build it, install it, or pass --bin-dir)");
}

fs::path Cgroup2Mount() {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream f(line);
    std::string field;
    for (int i = 0; i < 5; ++i) f >> field;
    return field;
  }
  return {};
}

std::string AgentConfig(const UpOptions& o, const Node& n, size_t index) {
  std::string c = "nodeName: " + n.name + "\nmanifestDir: " + (n.state / "manifests").string() +
                  "\nstateDir: " + (n.state / "agent").string() + "\nrunDir: " + n.run.string() +
                  "\nconfigDir: " + (n.state / "config").string() +
                  "\nlogDir: " + (o.log_dir / "pods" / n.name).string() +
                  "\nimageStore: " + (n.state / "images").string() +
                  "\ncgroupRoot: " + o.cgroup_root + "/" + n.name +
                  "\nsocket: " + (n.run / "agent.sock").string() +
                  "\nhttpListen: 127.0.0.1:" + std::to_string(10255 + index) +
                  "\nbpfPinDir: " + (o.bpf_dir / n.name).string() +
                  "\nnetwork:\n  stateDir: " + (n.state / "netns").string() +
                  "\n  netnsDir: " + (n.run / "netns").string() + "\n";
  if (!n.netns.empty()) {
    c += "  nodeNetns: /run/netns/" + n.netns + "\nnodeIP: " + n.address +
         "\nnodePortInterface: uplink\n";
  }
  return c;
}

Status MakeFabric(const Layout& l) {
  if (fs::exists("/run/netns/" + l.fabric)) return {};
  BERTH_TRY(Ip({"netns", "add", l.fabric}));
  BERTH_TRY(Ip({"-n", l.fabric, "link", "set", "lo", "up"}));
  BERTH_TRY(Ip({"-n", l.fabric, "link", "add", "fab0", "type", "bridge"}));
  return Ip({"-n", l.fabric, "link", "set", "fab0", "up"});
}

Status MakeNodeNamespace(const Layout& l, const Node& n, size_t index) {
  if (fs::exists("/run/netns/" + n.netns)) return {};
  const std::string veth = "f" + std::to_string(index + 1);
  BERTH_TRY(Ip({"netns", "add", n.netns}));
  BERTH_TRY(Ip({"-n", n.netns, "link", "set", "lo", "up"}));
  BERTH_TRY(Ip({"-n", l.fabric, "link", "add", veth, "type", "veth", "peer", "name", "uplink",
                "netns", n.netns}));
  BERTH_TRY(Ip({"-n", l.fabric, "link", "set", veth, "master", "fab0", "up"}));
  BERTH_TRY(Ip({"-n", n.netns, "addr", "add", n.address + "/24", "dev", "uplink"}));
  return Ip({"-n", n.netns, "link", "set", "uplink", "up"});
}

Result<std::unique_ptr<api::ControlClient>> WaitForControl(const Layout& l, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (true) {
    auto c = api::ControlClient::Connect("unix:" + l.socket.string());
    if (c.ok()) {
      (*c)->set_timeout(2s);
      auto ns = (*c)->Get("Namespace", "", "default");
      if (ns.ok()) return std::move(*c);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Error::Msg("berth-control did not answer at " + l.socket.string() + " (see " +
                        l.control_log.string() + ")");
    }
    std::this_thread::sleep_for(100ms);
  }
}

Status WriteClientConfig(const UpOptions& o, const Layout& l) {
  const fs::path path = o.client_config.empty() ? DefaultConfigPath() : o.client_config;
  ClientConfig c;
  if (auto existing = LoadClientConfig(path); existing.ok()) c = *existing;
  auto upsert = [](auto& list, auto entry) {
    for (auto& e : list) {
      if (e.name == entry.name) {
        e = entry;
        return;
      }
    }
    list.push_back(entry);
  };
  upsert(c.clusters,
         ClusterEntry{"berth", "127.0.0.1:" + std::to_string(o.port), (l.pki / "ca.crt").string()});
  upsert(c.users, UserEntry{"berth-admin", (l.pki / "admin.crt").string(),
                            (l.pki / "admin.key").string(), ""});
  upsert(c.contexts, ContextEntry{"berth", "berth", "berth-admin", "default"});
  c.current_context = "berth";
  return SaveClientConfig(c, path);
}

// The service load balancers pin under bpf_dir, which must be on a bpffs;
// a host without one at /sys/fs/bpf gets it mounted there, as Cilium does.
Status EnsureBpffs(const fs::path& bpf_dir) {
  constexpr long kBpfFsMagic = 0xcafe4a11;
  struct statfs st {};
  for (fs::path p = bpf_dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (::statfs(p.c_str(), &st) == 0) {
      if (static_cast<long>(st.f_type) == kBpfFsMagic) return {};
      if (p == "/sys/fs/bpf") {
        if (::mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) < 0) {
          return Error::FromErrno("mount bpffs at /sys/fs/bpf");
        }
        return {};
      }
      return Error::Msg(bpf_dir.string() + " is not on a bpffs (mount one, or pass --bpf-dir)");
    }
  }
  return Error::Msg(bpf_dir.string() + " is not on a bpffs");
}

}  // namespace

Status Up(const UpOptions& o) {
  if (::geteuid() != 0) return Error::Msg("berth up must run as root");
  BERTH_TRY(EnsureBpffs(o.bpf_dir.parent_path()));
  BERTH_ASSIGN_OR_RETURN(fs::path control_bin, FindBinary("berth-control", o.bin_dir));
  BERTH_ASSIGN_OR_RETURN(fs::path agent_bin, FindBinary("berth-agent", o.bin_dir));
  const Layout l = MakeLayout(o);
  for (const auto& d : {o.state_dir, o.run_dir, o.log_dir, l.control}) BERTH_TRY(MakeDirs(d, 0755));
  BERTH_TRY(MakeDirs(o.bpf_dir, 0700));
  const std::string address = "127.0.0.1:" + std::to_string(o.port);

  // The control plane: initialised once, then started.
  if (!fs::exists(l.pki / "ca.crt")) {
    std::printf("Initialising berth-control in %s\n", l.control.c_str());
    BERTH_ASSIGN_OR_RETURN(std::string out,
                           Run({control_bin.string(), "init", "--dir", l.pki.string(), "--data-dir",
                                l.data.string(), "--advertise-address", address}));
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("--token (\\S+) --ca-cert-hash (\\S+)"))) {
      return Error::Msg("berth-control init printed no join command: " + out);
    }
    BERTH_TRY(WriteFileReplace(l.join_file, m[1].str() + " " + m[2].str() + "\n", 0600));
  }
  if (!Alive(l.control_pid)) {
    std::vector<std::string> argv = {control_bin.string(),
                                     "--log-level",
                                     "info",
                                     "serve",
                                     "--dir",
                                     l.pki.string(),
                                     "--data-dir",
                                     l.data.string(),
                                     "--listen",
                                     address,
                                     "--listen",
                                     "unix:" + l.socket.string()};
    if (o.node_grace_seconds > 0) {
      argv.insert(argv.end(), {"--node-grace-seconds", std::to_string(o.node_grace_seconds)});
    }
    if (o.eviction_timeout_seconds > 0) {
      argv.insert(argv.end(),
                  {"--eviction-timeout-seconds", std::to_string(o.eviction_timeout_seconds)});
    }
    BERTH_TRY(Daemon(argv, l.control_log, l.control_pid));
    std::printf("Started berth-control at %s (log %s)\n", address.c_str(), l.control_log.c_str());
  }
  BERTH_ASSIGN_OR_RETURN(auto client, WaitForControl(l, 30));

  BERTH_ASSIGN_OR_RETURN(std::string join, ReadFile(l.join_file));
  std::istringstream js(join);
  std::string token, hash;
  js >> token >> hash;
  if (o.nodes > 0) BERTH_TRY(MakeFabric(l));
  for (size_t i = 0; i < l.nodes.size(); ++i) {
    const Node& n = l.nodes[i];
    BERTH_TRY(MakeDirs(n.state, 0755));
    BERTH_TRY(MakeDirs(n.run, 0755));
    BERTH_TRY(MakeDirs(o.log_dir / "pods" / n.name, 0755));
    if (!n.netns.empty()) BERTH_TRY(MakeNodeNamespace(l, n, i));
    BERTH_TRY(WriteFileReplace(n.state / "agent.yaml", AgentConfig(o, n, i), 0644));
    for (const auto& image : o.images) {
      BERTH_TRY(StatusOf(Run({agent_bin.string(), "image", "--root", (n.state / "images").string(),
                              "import", image.string()})));
    }
    if (!fs::exists(n.state / "agent" / "cluster" / "address")) {
      BERTH_TRY(StatusOf(
          Run({agent_bin.string(), "join", address, "--token", token, "--ca-cert-hash", hash,
               "--node-name", n.name, "--state-dir", (n.state / "agent").string()})));
    }
    const fs::path pid = n.run / "agent.pid";
    if (!Alive(pid)) {
      BERTH_TRY(Daemon({agent_bin.string(), "--log-level", "info", "run", "--config",
                        (n.state / "agent.yaml").string()},
                       o.log_dir / (n.name + ".log"), pid));
      std::printf("Started the agent of node %s (log %s)\n", n.name.c_str(),
                  (o.log_dir / (n.name + ".log")).c_str());
    }
  }
  BERTH_TRY(WriteClientConfig(o, l));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.wait_seconds);
  for (const Node& n : l.nodes) {
    while (true) {
      auto node = client->Get("Node", "", n.name);
      bool ready = false;
      if (node.ok()) {
        for (const auto& c : node->node().status().conditions()) {
          ready = ready || (c.type() == "Ready" && c.status() == "True");
        }
      }
      if (ready) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return Error::Msg("node " + n.name + " is not Ready after " +
                          std::to_string(o.wait_seconds) + " s (see " +
                          (o.log_dir / (n.name + ".log")).string() + ")");
      }
      std::this_thread::sleep_for(200ms);
    }
  }
  std::string names;
  for (const Node& n : l.nodes) names += (names.empty() ? "" : " ") + n.name;
  std::printf("Berth is up: berth-control at %s, %zu node(s) Ready (%s).\n", address.c_str(),
              l.nodes.size(), names.c_str());
  std::printf(
      "Try: berth get nodes; berth apply -f examples/web. Stop: berth down (--purge "
      "removes everything).\n");
  return {};
}

Status Down(const UpOptions& o, bool purge) {
  if (::geteuid() != 0) return Error::Msg("berth down must run as root");
  const Layout l = MakeLayout(o);
  std::error_code ec;
  // Agents first (they leave their pods running), then every pod process,
  // then the control plane.
  for (const auto& e : fs::directory_iterator(o.run_dir / "nodes", ec)) {
    StopPid(e.path() / "agent.pid", 10s);
  }
  const fs::path mount = Cgroup2Mount();
  const fs::path root = mount / o.cgroup_root.substr(1);
  if (!mount.empty() && fs::exists(root)) {
    if (fs::exists(root / "cgroup.kill")) (void)WriteFile(root / "cgroup.kill", "1");
    for (int i = 0; i < 100; ++i) {
      auto events = ReadFile(root / "cgroup.events");
      if (!events.ok() || events->find("populated 0") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
  }
  StopPid(l.control_pid, 10s);
  // Mounts the agents made (pod namespaces, overlays, secret tmpfs).
  std::vector<std::string> targets;
  {
    std::ifstream mounts("/proc/self/mounts");
    std::string dev, target, rest;
    while (mounts >> dev >> target && std::getline(mounts, rest)) {
      if (target.rfind(o.run_dir.string() + "/", 0) == 0 ||
          target.rfind(o.state_dir.string() + "/", 0) == 0) {
        targets.push_back(target);
      }
    }
  }
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  // BPF pins (detaches the service programs), then the cgroups.
  for (const auto& e : fs::directory_iterator(o.bpf_dir, ec)) fs::remove_all(e.path(), ec);
  if (!mount.empty() && fs::exists(root)) {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::recursive_directory_iterator(root, ec)) {
      if (e.is_directory()) dirs.push_back(e.path());
    }
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.string().size() > b.string().size();
    });
    for (const auto& d : dirs) ::rmdir(d.c_str());
    ::rmdir(root.c_str());
  }
  // Network namespaces of nodes started with --nodes.
  for (const auto& e : fs::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(o.prefix + "-", 0) == 0) (void)Ip({"netns", "del", name});
  }
  std::printf("Berth is down.\n");
  if (purge) {
    for (const auto& d : {o.state_dir, o.run_dir, o.log_dir, o.bpf_dir}) fs::remove_all(d, ec);
    const fs::path config = o.client_config.empty() ? DefaultConfigPath() : o.client_config;
    if (auto c = LoadClientConfig(config); c.ok()) {
      auto drop = [](auto& list, const std::string& name) {
        list.erase(
            std::remove_if(list.begin(), list.end(), [&](const auto& e) { return e.name == name; }),
            list.end());
      };
      drop(c->clusters, "berth");
      drop(c->users, "berth-admin");
      drop(c->contexts, "berth");
      if (c->current_context == "berth") c->current_context.clear();
      if (c->contexts.empty()) {
        fs::remove(config, ec);
        fs::remove(config.parent_path(), ec);  // only when empty
      } else {
        (void)SaveClientConfig(*c, config);
      }
    }
    std::printf("Removed %s, %s, %s and the client configuration.\n", o.state_dir.c_str(),
                o.run_dir.c_str(), o.log_dir.c_str());
  }
  return {};
}

void AddUpCommands(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<UpOptions>();
  auto add_paths = [o](CLI::App* cmd) {
    cmd->add_option("--state-dir", o->state_dir, "state (/var/lib/berth)");
    cmd->add_option("--run-dir", o->run_dir, "sockets and pid files (/run/berth)");
    cmd->add_option("--log-dir", o->log_dir, "logs (/var/log/berth)");
    cmd->add_option("--bpf-dir", o->bpf_dir, "BPF pins, on a bpffs (/sys/fs/bpf/berth)");
    cmd->add_option("--cgroup-root", o->cgroup_root, "cgroup of every node's pods (/berth)");
    cmd->add_option("--prefix", o->prefix, "prefix of network namespace names (berth)");
    cmd->add_option("--client-config", o->client_config, "client configuration (~/.berth/config)");
    cmd->add_option("--nodes", o->nodes, "N nodes in network namespaces (default: this host)");
  };
  auto* up = app.add_subcommand("up", "start a cluster on this machine (as root)");
  add_paths(up);
  up->add_option("--port", o->port, "berth-control's port on 127.0.0.1 (6443)");
  up->add_option("--bin-dir", o->bin_dir, "where berth-control and berth-agent are");
  up->add_option("--image", o->images, "an OCI layout to import into every node");
  up->add_option("--wait", o->wait_seconds, "seconds to wait for Ready nodes (120)");
  up->add_option("--node-grace-seconds", o->node_grace_seconds,
                 "berth-control: lease silence before NotReady");
  up->add_option("--eviction-timeout-seconds", o->eviction_timeout_seconds,
                 "berth-control: NotReady time before pods are evicted");
  up->callback([o, exit_code] {
    if (o->nodes < 0) {
      *exit_code = Fail(Error::Msg("--nodes must be at least 1"));
      return;
    }
    Status s = Up(*o);
    if (!s.ok()) *exit_code = Fail(s.error());
  });
  auto* down = app.add_subcommand("down", "stop the cluster berth up started");
  add_paths(down);
  auto purge = std::make_shared<bool>(false);
  down->add_flag("--purge", *purge, "also remove its state, logs and client configuration");
  down->callback([o, purge, exit_code] {
    Status s = Down(*o, *purge);
    if (!s.ok()) *exit_code = Fail(s.error());
  });
}

}  // namespace berth::cli
