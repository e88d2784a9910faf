// kill -9 of the agent: containers keep running, logs keep flowing, an exit
// that happens while no agent runs is recorded, and the next agent adopts
// everything without restarting what still runs.
#include <unistd.h>

#include <sys/wait.h>

#include <csignal>

#include "agent_fixture.h"
#include "cri_reader.h"
#include "test_support.h"

#include "berth/common/file.h"
#include "berth/runtime/shim/cri_log.h"
#include "berth/runtime/shim/shim.h"

namespace berth::nodeagent::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// The shim.state of instance 0 of `container`, once written.
std::optional<runtime::shim::ShimState> ShimOf(const fs::path& pods, const std::string& container) {
  std::error_code ec;
  for (const auto& pod : fs::directory_iterator(pods, ec)) {
    auto s = runtime::shim::ReadShimState(pod.path() / "containers" / container / "0");
    if (s.ok()) return *s;
  }
  return std::nullopt;
}

TEST_F(AgentTest, KilledAgentLeavesContainersRunningAndAdoptsThem) {
  WriteManifest("survivor.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: survivor}
spec:
  restartPolicy: OnFailure
  containers:
    - name: steady
      image: busybox
      command: [sh, -c, "i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.1; done"]
    - name: leaver
      image: busybox
      command: [sh, -c, "sleep 1.5; echo bye; exit 4"]
)");
  // The first agent runs in a child process, so it can be SIGKILLed.
  const AgentConfig config = Config();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto a = Agent::Create(config);
    if (!a.ok() || !(*a)->Start().ok()) ::_exit(3);
    for (;;) ::pause();
  }
  const fs::path pods = dir_ / "state" / "pods";
  ASSERT_TRUE(WaitFor([&] { return ShimOf(pods, "steady") && ShimOf(pods, "leaver"); }))
      << "the child agent did not start both containers";
  const runtime::shim::ShimState steady = *ShimOf(pods, "steady");
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  const int64_t killed_at = runtime::shim::RealtimeNanos();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  // With no agent: the leaver exits and its shim records it.
  fs::path leaver_dir;
  for (const auto& pod : fs::directory_iterator(pods))
    leaver_dir = pod.path() / "containers/leaver/0";
  ASSERT_TRUE(WaitFor(
      [&] {
        auto e = runtime::shim::ReadExitStatus(leaver_dir);
        return e.ok() && e->has_value();
      },
      seconds(10)));
  EXPECT_EQ(::kill(steady.init_pid, 0), 0) << "steady died with the agent";

  const int64_t restarted_at = runtime::shim::RealtimeNanos();
  StartAgent();
  PodStatus pod;
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("survivor");
    if (!p.ok()) return false;
    pod = *p;
    const ContainerStatus* l = Container(pod, "leaver");
    return l->last_state.has_value() || l->state.kind == ContainerState::Kind::kTerminated;
  }));
  const ContainerStatus* leaver = Container(pod, "leaver");
  const ContainerState& ended = leaver->last_state ? *leaver->last_state : leaver->state;
  EXPECT_EQ(ended.exit_code, 4);
  EXPECT_EQ(ended.reason, "Error");
  auto lines = ReadLogs(
      pods / pod.uid / "../../../logs" / ("default_survivor_" + pod.uid) / "leaver/0.log", {});
  ASSERT_OK(lines);
  ASSERT_FALSE(lines->empty());
  EXPECT_EQ(lines->back().content, "bye");
  // steady was adopted, not restarted: same process, restart count 0, and
  // its log kept flowing while no agent ran.
  const ContainerStatus* s = Container(pod, "steady");
  EXPECT_EQ(s->restart_count, 0);
  EXPECT_EQ(s->pid, steady.init_pid);
  EXPECT_EQ(s->state.kind, ContainerState::Kind::kRunning);
  auto ticks = ReadLogs(s->log_path, {});
  ASSERT_OK(ticks);
  size_t while_down = 0;
  for (const auto& l : *ticks) while_down += l.time_ns > killed_at && l.time_ns < restarted_at;
  EXPECT_GE(while_down, 5u) << "lines logged while no agent ran";
  // OnFailure: the leaver is started again after its back-off.
  EXPECT_TRUE(WaitFor([&] {
    auto p = Pod("survivor");
    return p.ok() && Container(*p, "leaver")->restart_count >= 1;
  }));
}

}  // namespace
}  // namespace berth::nodeagent::testing
