// Writes berth-control acknowledged before a kill -9 are all there after
// a restart, and a watch resumes from a revision across the restart.
// Several clients write at once, so acknowledgements come from group
// commits.
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/control_client.h"
#include "berth/control/secret_box.h"

extern char** environ;

namespace berth::control {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class ControlProcess {
 public:
  explicit ControlProcess(fs::path dir) : dir_(std::move(dir)) {}
  ~ControlProcess() { Kill(SIGKILL); }

  void Start() {
    const std::string data = (dir_ / "db").string();
    const std::string listen = "unix:" + (dir_ / "run" / "control.sock").string();
    std::vector<std::string> args = {
        BERTH_CONTROL_BINARY, "--log-level", "warn", "serve",    "--dir",
        dir_.string(),        "--data-dir",  data,   "--listen", listen};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    address_ = listen;
  }

  void Kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // A client once the socket answers.
  std::unique_ptr<api::ControlClient> Client() {
    for (int i = 0; i < 200; ++i) {
      auto client = api::ControlClient::Connect(address_);
      if (client.ok()) {
        (*client)->set_timeout(milliseconds(2000));
        if ((*client)->Get("Namespace", "", "default").ok()) return std::move(*client);
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "berth-control did not come up at " << address_;
    return nullptr;
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  std::string address_;
};

v1::Object ConfigMap(const std::string& name) {
  v1::Object o;
  o.mutable_config_map()->mutable_metadata()->set_name(name);
  (*o.mutable_config_map()->mutable_data())["value"] = name;
  return o;
}

TEST(ControlProcessTest, AcknowledgedWritesSurviveKill9AndWatchesResume) {
  char tmpl[] = "/tmp/berth-control-kill-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{dir};
  ASSERT_OK(SecretBox::GenerateKeyFile(dir / "encryption.key"));
  fs::create_directories(dir / "run");

  ControlProcess control(dir);
  control.Start();
  auto first = control.Client();
  ASSERT_NE(first, nullptr);
  const int64_t before = std::stoll(first
                                        ->List([] {
                                          v1::ListRequest r;
                                          r.set_kind("ConfigMap");
                                          return r;
                                        }())
                                        ->resource_version());

  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto client = api::ControlClient::Connect("unix:" + (dir / "run" / "control.sock").string());
      if (!client.ok()) return;
      (*client)->set_timeout(milliseconds(2000));
      for (int i = 0; !stop; ++i) {
        const std::string name = "w" + std::to_string(w) + "-" + std::to_string(i);
        if (!(*client)->Create(ConfigMap(name)).ok()) return;  // the server died
        std::lock_guard lock(mu);
        acknowledged.push_back(name);
      }
    });
  }
  std::mt19937 rng(std::random_device{}());
  std::this_thread::sleep_for(milliseconds(300 + rng() % 700));
  control.Kill(SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GT(acknowledged.size(), 10u);

  control.Start();
  auto client = control.Client();
  ASSERT_NE(client, nullptr);
  for (const auto& name : acknowledged) {
    auto got = client->Get("ConfigMap", "default", name);
    ASSERT_TRUE(got.ok()) << name << " was acknowledged and is gone: " << got.error().ToString();
    EXPECT_EQ(got->config_map().data().at("value"), name);
  }

  // A watch from the revision before the writes replays every one of them.
  v1::WatchRequest req;
  req.set_kind("ConfigMap");
  req.set_resource_version(std::to_string(before));
  req.set_bookmark_seconds(1);  // progress even if something were missing
  auto watch = client->Watch(req);
  ASSERT_OK(watch);
  // The replay holds the acknowledged writes and perhaps a few more that
  // were committed but whose answer the kill cut off.
  std::set<std::string> missing(acknowledged.begin(), acknowledged.end());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!missing.empty() && std::chrono::steady_clock::now() < deadline) {
    auto event = (*watch)->Next();
    ASSERT_OK(event);
    ASSERT_TRUE(event->has_value());
    missing.erase((**event).object().config_map().metadata().name());
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged writes not replayed, e.g. "
                               << (missing.empty() ? "" : *missing.begin());
  (*watch)->Cancel();
}

}  // namespace
}  // namespace berth::control
