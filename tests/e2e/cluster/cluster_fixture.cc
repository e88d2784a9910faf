#include "cluster_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "cri_reader.h"
#include "nl.h"
#include "test_support.h"

#include "berth/api/codec.h"
#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/netns/namespace.h"
#include "berth/runtime/image/import.h"

extern char** environ;

namespace berth::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string RandomHex(int digits) {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < digits; ++i) s += "0123456789abcdef"[rd() % 16];
  return s;
}

// Output and exit status of a shell command.
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// Starts `args` with stdout and stderr appended to `log`.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// SIGTERM, then SIGKILL after `grace`; reaps the process.
void Stop(pid_t* pid, std::chrono::milliseconds grace) {
  if (*pid <= 0) return;
  ::kill(*pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(*pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  *pid = -1;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

Status InNs(const fs::path& ns, const std::function<Status(const netns::detail::NlSocket&)>& fn) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, netns::OpenNetns(ns));
  return netns::InNetns(fd.get(), [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto nl, netns::detail::NlSocket::Open());
    return fn(nl);
  });
}

std::string Tail(const fs::path& file, size_t bytes) {
  auto text = ReadFile(file);
  if (!text.ok()) return "(no log)";
  return text->size() > bytes ? text->substr(text->size() - bytes) : *text;
}

}  // namespace

fs::path* ClusterTest::images_ = nullptr;

void ClusterTest::SetUpTestSuite() {
  if (!berth::testing::IsRoot() ||
      !berth::testing::MissingFeature(berth::testing::Feature::kBusybox).empty()) {
    return;  // SetUp skips with the reason
  }
  char tmpl[] = "/tmp/berth-e2e-images-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return;
  auto [rc, out] = Shell(std::string("bash ") + BERTH_MKIMAGE + " all " + tmpl);
  if (rc != 0) {
    ADD_FAILURE() << "mkimage failed: " << out;
    return;
  }
  images_ = new fs::path(tmpl);
}

void ClusterTest::TearDownTestSuite() {
  if (images_ == nullptr) return;
  std::error_code ec;
  fs::remove_all(*images_, ec);
  delete images_;
  images_ = nullptr;
}

void ClusterTest::SetUp() {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kBusybox);
  REQUIRE_FEATURE(berth::testing::Feature::kOverlayfs);
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  ASSERT_NE(images_, nullptr) << "the demo images are missing";
  char tmpl[] = "/tmp/berth-e2e-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  suffix_ = RandomHex(6);
  fs::create_directories(dir_ / "bpffs");
  if (::mount("bpf", (dir_ / "bpffs").c_str(), "bpf", 0, nullptr) < 0) {
    GTEST_SKIP() << "cannot mount a bpffs: " << std::strerror(errno);
  }
  bpffs_mounted_ = true;
  auto h = cgroups::Discover();
  ASSERT_OK(h);
  cgroup_mount_ = h->mount;
  cgroup_root_ = "/berth-e2e-" + suffix_;
  ASSERT_OK(StatusOf(cgroups::Cgroup::Create(cgroup_mount_, cgroup_root_)));
  fabric_ = dir_ / "fabric.ns";
  ASSERT_OK(netns::CreateNetns(fabric_));
  ASSERT_OK(
      InNs(fabric_, [](const auto& nl) { return netns::detail::CreateBridge(nl, "fab0", 1500); }));
}

void ClusterTest::TearDown() {
  if (HasFailure()) {
    if (!dir_.empty()) {
      std::printf("---- berth-control log (tail) ----\n%s\n",
                  Tail(dir_ / "control.log", 6000).c_str());
    }
    for (const auto& n : nodes_) {
      std::printf("---- %s agent log (tail) ----\n%s\n", n.name.c_str(),
                  Tail(n.dir / "agent.log", 8000).c_str());
    }
  }
  admin_.reset();
  for (auto& n : nodes_) Stop(&n.pid, 10s);
  Stop(&control_pid_, 10s);
  if (!cgroup_root_.empty()) {
    cgroups::Cgroup root(cgroup_mount_, cgroup_root_);
    IgnoreError(root.Kill(), "ENOENT: nothing was created");
    IgnoreError(root.WaitEmpty(5s), "ENOENT: already gone");
    IgnoreError(root.Remove(), "ENOENT: already gone");
  }
  for (const auto& n : nodes_) IgnoreError(netns::DeleteNetns(n.netns), "test cleanup");
  if (!client_.empty()) IgnoreError(netns::DeleteNetns(client_), "test cleanup");
  if (!fabric_.empty()) IgnoreError(netns::DeleteNetns(fabric_), "test cleanup");
  if (dir_.empty()) return;
  // Mounts the agents left (pod namespaces, overlays, volumes, the bpffs).
  std::ifstream mounts("/proc/self/mounts");
  std::vector<std::string> targets;
  std::string dev, target, rest;
  while (mounts >> dev >> target && std::getline(mounts, rest)) {
    if (target.rfind(dir_.string(), 0) == 0) targets.push_back(target);
  }
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void ClusterTest::StartCluster(int count) {
  const int port = FreePort();
  control_address_ = "127.0.0.1:" + std::to_string(port);
  const std::string control = BERTH_CONTROL_BINARY;
  auto [rc, out] = Shell(control + " init --dir " + (dir_ / "pki").string() + " --data-dir " +
                         (dir_ / "data").string() + " --advertise-address " + control_address_);
  ASSERT_EQ(rc, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("--token (\\S+) --ca-cert-hash (\\S+)"))) << out;
  join_token_ = m[1];
  ca_hash_ = m[2];
  const std::string socket = "unix:" + (dir_ / "control.sock").string();
  control_pid_ = Spawn(
      {control, "--log-level", "info", "serve", "--dir", (dir_ / "pki").string(), "--data-dir",
       (dir_ / "data").string(), "--listen", control_address_, "--listen", socket},
      dir_ / "control.log");
  ASSERT_GT(control_pid_, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto c = api::ControlClient::Connect(socket);
        if (!c.ok() || !(*c)->Get("Namespace", "", "default").ok()) return false;
        admin_ = std::move(*c);
        return true;
      },
      20s))
      << "berth-control did not come up";

  for (int i = 1; i <= count; ++i) {
    NodeProcess n;
    n.name = "n" + std::to_string(i) + "-" + suffix_;
    n.address = "10.99.0." + std::to_string(i);
    n.dir = dir_ / ("n" + std::to_string(i));
    n.netns = dir_ / ("n" + std::to_string(i) + ".ns");
    n.cgroup_root = cgroup_root_ + "/n" + std::to_string(i);
    fs::create_directories(n.dir);
    ASSERT_OK(netns::CreateNetns(n.netns));
    auto node_fd = netns::OpenNetns(n.netns);
    ASSERT_OK(node_fd);
    ASSERT_OK(InNs(fabric_, [&](const netns::detail::NlSocket& nl) -> Status {
      netns::detail::VethSpec v;
      v.host_name = "f" + std::to_string(i);
      v.peer_name = "uplink";
      v.peer_ns_fd = node_fd->get();
      BERTH_ASSIGN_OR_RETURN(v.master, netns::detail::LinkIndex(nl, "fab0"));
      v.host_up = true;
      return netns::detail::CreateVeth(nl, v);
    }));
    ASSERT_OK(InNs(n.netns, [&](const netns::detail::NlSocket& nl) -> Status {
      BERTH_ASSIGN_OR_RETURN(int lo, netns::detail::LinkIndex(nl, "lo"));
      BERTH_TRY(netns::detail::SetLinkUp(nl, lo));
      BERTH_ASSIGN_OR_RETURN(int up, netns::detail::LinkIndex(nl, "uplink"));
      BERTH_TRY(
          netns::detail::AddAddress(nl, up, IpPrefix{*IpAddress::Parse(n.address), 24}, false));
      return netns::detail::SetLinkUp(nl, up);
    }));
    auto store = runtime::image::ImageStore::Open(n.dir / "images");
    ASSERT_OK(store);
    for (const char* image : {"busybox", "httpd"}) {
      ASSERT_OK(StatusOf(runtime::image::ImportOciLayout(*store, *images_ / image)));
    }
    const std::string config =
        "nodeName: " + n.name + "\nmanifestDir: " + (n.dir / "manifests").string() +
        "\nstateDir: " + (n.dir / "state").string() + "\nrunDir: " + (n.dir / "run").string() +
        "\nconfigDir: " + (n.dir / "config").string() + "\nlogDir: " + (n.dir / "logs").string() +
        "\nimageStore: " + (n.dir / "images").string() + "\ncgroupRoot: " + n.cgroup_root +
        "\nsocket: " + (n.dir / "agent.sock").string() +
        "\nhttpListen: \"\"\nnodeIP: " + n.address +
        "\nbpfPinDir: " + (dir_ / "bpffs" / n.name).string() +
        "\nnetwork:\n  nodeNetns: " + n.netns.string() +
        "\n  stateDir: " + (n.dir / "netns-state").string() +
        "\n  netnsDir: " + (n.dir / "netns").string() +
        "\nnodePortInterface: uplink\nrestartBackoff:\n  base: 200ms\n  max: 2s\n";
    ASSERT_OK(WriteFileReplace(n.dir / "agent.yaml", config, 0644));
    auto [jrc, jout] =
        Shell(std::string(BERTH_AGENT_BINARY) + " join " + control_address_ + " --token " +
              join_token_ + " --ca-cert-hash " + ca_hash_ + " --node-name " + n.name +
              " --state-dir " + (n.dir / "state").string());
    ASSERT_EQ(jrc, 0) << jout;
    nodes_.push_back(std::move(n));
    StartAgent(nodes_.size() - 1);
  }
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& n : nodes_) {
      auto node = admin_->Get("Node", "", n.name);
      if (!node.ok() || node->node().spec().pod_cidr().empty()) return false;
      bool ready = false;
      for (const auto& c : node->node().status().conditions()) {
        ready = ready || (c.type() == "Ready" && c.status() == "True");
      }
      if (!ready) return false;
    }
    return true;
  })) << "nodes did not become Ready";
}

void ClusterTest::StartAgent(size_t i) {
  NodeProcess& n = nodes_[i];
  n.pid = Spawn({BERTH_AGENT_BINARY, "--log-level", "info", "run", "--config",
                 (n.dir / "agent.yaml").string()},
                n.dir / "agent.log");
  ASSERT_GT(n.pid, 0);
}

void ClusterTest::StopAgent(size_t i) { Stop(&nodes_[i].pid, 10s); }

void ClusterTest::Apply(const std::string& yaml, const std::string& ns) {
  auto manifests = api::DecodeManifests(yaml, "test manifest");
  ASSERT_OK(manifests);
  for (const auto& m : *manifests) ASSERT_OK(StatusOf(admin_->Apply(m.json.dump(), ns)));
}

std::vector<v1::Pod> ClusterTest::Pods(const std::string& label_selector, const std::string& ns) {
  v1::ListRequest req;
  req.set_kind("Pod");
  req.set_namespace_(ns);
  req.set_label_selector(label_selector);
  std::vector<v1::Pod> out;
  auto list = admin_->List(req);
  if (!list.ok()) return out;
  for (const auto& o : list->items()) out.push_back(o.pod());
  return out;
}

bool ClusterTest::WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

std::string ClusterTest::HttpGetFromNode(size_t i, const std::string& url) {
  const NodeProcess& n = nodes_[i];
  const fs::path cg = cgroup_mount_ / (n.cgroup_root.substr(1) + "/client");
  std::error_code ec;
  fs::create_directories(cg, ec);
  auto [rc, out] =
      Shell("sh -c 'echo $$ > " + (cg / "cgroup.procs").string() +
            " && exec nsenter --net=" + n.netns.string() + " curl -sS --max-time 5 " + url + "'");
  if (rc != 0) {
    std::printf("GET %s from %s failed (%d): %s\n", url.c_str(), n.name.c_str(), rc, out.c_str());
    return "";
  }
  return out;
}

fs::path ClusterTest::ClientNamespace() {
  if (!client_.empty()) return client_;
  const fs::path ns = dir_ / "client.ns";
  EXPECT_OK(netns::CreateNetns(ns));
  auto fd = netns::OpenNetns(ns);
  EXPECT_OK(fd);
  if (!fd.ok()) return {};
  client_ = ns;
  EXPECT_OK(InNs(fabric_, [&](const netns::detail::NlSocket& nl) -> Status {
    netns::detail::VethSpec v;
    v.host_name = "fclient";
    v.peer_name = "eth0";
    v.peer_ns_fd = fd->get();
    BERTH_ASSIGN_OR_RETURN(v.master, netns::detail::LinkIndex(nl, "fab0"));
    v.host_up = true;
    return netns::detail::CreateVeth(nl, v);
  }));
  EXPECT_OK(InNs(ns, [&](const netns::detail::NlSocket& nl) -> Status {
    BERTH_ASSIGN_OR_RETURN(int lo, netns::detail::LinkIndex(nl, "lo"));
    BERTH_TRY(netns::detail::SetLinkUp(nl, lo));
    BERTH_ASSIGN_OR_RETURN(int eth, netns::detail::LinkIndex(nl, "eth0"));
    BERTH_TRY(
        netns::detail::AddAddress(nl, eth, IpPrefix{*IpAddress::Parse("10.99.0.200"), 24}, false));
    return netns::detail::SetLinkUp(nl, eth);
  }));
  return client_;
}

std::string ClusterTest::HttpGetFrom(const fs::path& ns, const std::string& url) {
  auto [rc, out] = Shell("nsenter --net=" + ns.string() + " curl -sS --max-time 5 " + url);
  if (rc != 0) {
    std::printf("GET %s from %s failed (%d): %s\n", url.c_str(), ns.c_str(), rc, out.c_str());
    return "";
  }
  return out;
}

std::string ClusterTest::LogText(const std::string& path) {
  auto lines = nodeagent::ReadLogs(path, {});
  if (!lines.ok()) return "";
  std::string out;
  for (const auto& l : *lines) out += l.content + "\n";
  return out;
}

}  // namespace berth::e2e
