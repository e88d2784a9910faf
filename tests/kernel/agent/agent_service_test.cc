// berth-agent as a service, the binary itself: sd_notify READY/WATCHDOG/
// STOPPING on $NOTIFY_SOCKET, /healthz /readyz /metrics, `ctl pods` over the
// gRPC socket, SIGTERM leaving containers running for the next agent.
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>

#include "agent_fixture.h"
#include "test_support.h"

#include "berth/common/file.h"

extern char** environ;

namespace berth::nodeagent::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

class AgentServiceTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    notify_path_ = dir_ / "notify.sock";
    notify_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(notify_);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(notify_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::ofstream(dir_ / "agent.yaml")
        << "network:\n  stateDir: " << (dir_ / "state/netns").string()
        << "\n  netnsDir: " << (dir_ / "netns").string() << "\n  bridge: bt" << suffix_
        << "\nrestartBackoff: {base: 200ms}\n";
  }
  void TearDown() override {
    if (agent_pid_ > 0) StopBinary(SIGKILL);
    AgentTest::TearDown();
  }

  std::vector<std::string> Flags() const {
    return {"--config",       (dir_ / "agent.yaml").string(),
            "--manifest-dir", (dir_ / "manifests").string(),
            "--state-dir",    (dir_ / "state").string(),
            "--run-dir",      (dir_ / "run").string(),
            "--log-dir",      (dir_ / "logs").string(),
            "--config-dir",   (dir_ / "config").string(),
            "--image-store",  (*images_ / "store").string(),
            "--cgroup-root",  cgroup_root_,
            "--pod-cidr",     "10.231.9.0/24",
            "--node-netns",   node_netns_.string(),
            "--socket",       (dir_ / "run/agent.sock").string(),
            "--http-listen",  "127.0.0.1:" + std::to_string(port_)};
  }

  // Starts berth-agent run with a watchdog of 300 ms, as systemd would.
  void StartBinary() {
    std::vector<std::string> args = {BERTH_AGENT_BINARY, "run"};
    for (auto& f : Flags()) args.push_back(f);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
      ::setenv("WATCHDOG_USEC", "300000", 1);
      ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
      int log = ::open((dir_ / "agent.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    agent_pid_ = pid;
  }

  int StopBinary(int sig) {
    ::kill(agent_pid_, sig);
    int status = 0;
    ::waitpid(agent_pid_, &status, 0);
    agent_pid_ = -1;
    return status;
  }

  // The next datagram on the notify socket ("" after `timeout`).
  std::string Notification(std::chrono::milliseconds timeout = seconds(10)) {
    pollfd p{notify_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[512];
    ssize_t n = ::recv(notify_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  std::string Ctl(const std::string& args) {
    std::string cmd = std::string(BERTH_AGENT_BINARY) + " ctl --socket " +
                      (dir_ / "run/agent.sock").string() + " " + args + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
  }

  fs::path notify_path_;
  UniqueFd notify_;
  pid_t agent_pid_ = -1;
  int port_ = 20000 + static_cast<int>(::getpid() % 20000);
};

TEST_F(AgentServiceTest, NotifiesServesAndLeavesContainersOnStop) {
  WriteManifest("svc.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: svc}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "1000"]}]
)");
  StartBinary();
  std::string ready = Notification();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(Notification().find("WATCHDOG=1"), std::string::npos);

  httplib::Client http("127.0.0.1", port_);
  auto readyz = http.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
  ASSERT_TRUE(WaitFor([&] { return Ctl("pods").find("Running") != std::string::npos; }))
      << Ctl("pods");
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("container_cpu_usage_seconds_total{container=\"c\""),
            std::string::npos);
  EXPECT_NE(metrics->body.find("pod=\"svc\""), std::string::npos);
  const std::string pods = Ctl("pods -o json");
  const size_t at = pods.find("\"pid\": ");
  ASSERT_NE(at, std::string::npos) << pods;
  const pid_t pid = std::stoi(pods.substr(at + 7));

  // systemd's stop (KillMode=process): only the agent ends.
  int status = StopBinary(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::string stopping;
  for (std::string m = Notification(seconds(1)); !m.empty(); m = Notification(seconds(1)))
    stopping += m;
  EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos) << stopping;
  EXPECT_EQ(::kill(pid, 0), 0) << "the container died with the agent";

  StartBinary();
  EXPECT_NE(Notification().find("READY=1"), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return Ctl("pods").find("Running") != std::string::npos; }));
  const std::string again = Ctl("pods -o json");
  EXPECT_NE(again.find("\"pid\": " + std::to_string(pid)), std::string::npos) << again;
  // proto3 JSON leaves out zero values: no restartCount means 0 restarts.
  EXPECT_EQ(again.find("\"restartCount\""), std::string::npos) << again;
}

}  // namespace
}  // namespace berth::nodeagent::testing
