#include "agent_fixture.h"

#include <unistd.h>

#include <sys/mount.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "cri_reader.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/netns/namespace.h"
#include "berth/runtime/image/import.h"

namespace berth::nodeagent::testing {
namespace {

namespace fs = std::filesystem;

std::string RandomHex(int digits) {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < digits; ++i) s += "0123456789abcdef"[rd() % 16];
  return s;
}

}  // namespace

fs::path* AgentTest::images_ = nullptr;

void AgentTest::SetUpTestSuite() {
  if (!berth::testing::IsRoot() ||
      !berth::testing::MissingFeature(berth::testing::Feature::kBusybox).empty() ||
      !berth::testing::MissingFeature(berth::testing::Feature::kOverlayfs).empty()) {
    return;  // SetUp skips each test with the reason
  }
  char tmpl[] = "/tmp/berth-agent-images-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return;
  images_ = new fs::path(tmpl);
  const std::string layout = (*images_ / "layout").string();
  const std::string cmd =
      std::string("bash ") + BERTH_MKIMAGE + " busybox " + layout + " >/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "mkimage failed: " << cmd;
    return;
  }
  auto store = runtime::image::ImageStore::Open(*images_ / "store");
  if (!store.ok()) {
    ADD_FAILURE() << store.error().ToString();
    return;
  }
  auto imported = runtime::image::ImportOciLayout(*store, layout);
  if (!imported.ok()) ADD_FAILURE() << imported.error().ToString();
}

void AgentTest::TearDownTestSuite() {
  if (images_ == nullptr) return;
  std::error_code ec;
  fs::remove_all(*images_, ec);
  delete images_;
  images_ = nullptr;
}

void AgentTest::SetUp() {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kBusybox);
  REQUIRE_FEATURE(berth::testing::Feature::kOverlayfs);
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  ASSERT_NE(images_, nullptr) << "the suite's busybox image is missing";
  char tmpl[] = "/tmp/berth-agent-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  suffix_ = RandomHex(6);
  for (const char* d : {"manifests", "state", "run", "logs", "config", "netns"}) {
    fs::create_directories(dir_ / d);
  }
  auto h = cgroups::Discover();
  ASSERT_OK(h);
  cgroup_mount_ = h->mount;
  cgroup_root_ = "/berth-agent-test-" + suffix_;
  node_netns_ = dir_ / "node";
  ASSERT_OK(netns::CreateNetns(node_netns_));
}

void AgentTest::TearDown() {
  if (agent_) StopAgent();
  if (!cgroup_root_.empty()) {
    cgroups::Cgroup root(cgroup_mount_, cgroup_root_);
    IgnoreError(root.Kill(), "ENOENT: nothing was created");
    IgnoreError(root.WaitEmpty(std::chrono::seconds(5)), "ENOENT: already gone");
    IgnoreError(root.Remove(), "ENOENT: already gone");
  }
  if (dir_.empty()) return;
  // Mounts the agent left (namespaces, overlays, volumes): detach them all.
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

AgentConfig AgentTest::Config() const {
  AgentConfig c;
  c.node_name = "node-" + suffix_;
  c.manifest_dir = dir_ / "manifests";
  c.state_dir = dir_ / "state";
  c.run_dir = dir_ / "run";
  c.log_dir = dir_ / "logs";
  c.config_dir = dir_ / "config";
  c.image_store = *images_ / "store";
  c.cgroup_root = cgroup_root_;
  c.shim_binary = BERTH_SHIM_BINARY;
  c.network.state_dir = dir_ / "state" / "netns";
  c.network.netns_dir = dir_ / "netns";
  c.network.node_netns = node_netns_;
  c.network.bridge = "bt" + suffix_;
  c.network.pod_cidr_v4 = *IpPrefix::Parse("10.231.7.0/24");
  c.backoff.base = backoff_base_;
  c.backoff.max = backoff_base_ * 8;
  c.log_max_bytes = log_max_bytes_;
  c.log_max_files = log_max_files_;
  return c;
}

void AgentTest::StartAgent() {
  auto a = Agent::Create(Config());
  ASSERT_OK(a);
  agent_ = std::move(a).value();
  ASSERT_OK(agent_->Start());
}

void AgentTest::StopAgent() {
  agent_->Shutdown();
  agent_.reset();
}

void AgentTest::WriteManifest(const std::string& file, const std::string& yaml) const {
  // Atomically, as an operator's editor or config management would.
  ASSERT_OK(WriteFileAtomic(dir_ / "manifests" / file, yaml, 0644));
}

void AgentTest::RemoveManifest(const std::string& file) const {
  ASSERT_EQ(::unlink((dir_ / "manifests" / file).c_str()), 0);
}

bool AgentTest::WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

Result<PodStatus> AgentTest::Pod(const std::string& name) const {
  return agent_->GetPod("default", name);
}

const ContainerStatus* AgentTest::Container(const PodStatus& p, const std::string& name) const {
  for (const auto& c : p.containers) {
    if (c.name == name) return &c;
  }
  for (const auto& c : p.init_containers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string AgentTest::LogText(const std::string& path) {
  auto lines = ReadLogs(path, {});
  if (!lines.ok()) return "";
  std::string out;
  for (const auto& l : *lines) out += l.content + "\n";
  return out;
}

fs::path AgentTest::PodDir(const std::string& uid) const { return dir_ / "state" / "pods" / uid; }

std::string AgentTest::CgroupDir() const { return cgroup_mount_.string() + cgroup_root_; }

}  // namespace berth::nodeagent::testing
