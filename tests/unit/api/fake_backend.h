// A fake AgentBackend for the API tests, served over a real unix socket in a
// temp dir: pods set by the test, CRI log files written by hand, and exec
// as a real child process (posix_spawn with pipes, or a pty with tty) that
// needs no root. Thread-safe like the real one: gRPC calls it from many
// threads while the test changes it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent_backend.h"
#include "agent_service.h"

namespace berth::nodeagent::testing {

class FakeBackend final : public AgentBackend {
 public:
  std::vector<PodStatus> ListPods() const override;
  Result<PodStatus> GetPod(const std::string& ns, const std::string& name) const override;
  Result<std::filesystem::path> LogPath(const std::string& ns, const std::string& pod,
                                        const std::string& container, bool previous) const override;
  Result<std::unique_ptr<ExecProcess>> StartExec(const std::string& ns, const std::string& pod,
                                                 const std::string& container,
                                                 const std::vector<std::string>& command, bool tty,
                                                 bool stdin,
                                                 std::optional<runtime::ConsoleSize> size) override;
  Result<NodeStatus> GetNodeStatus() const override;

  void SetPods(std::vector<PodStatus> pods);
  // Sets the state of container `container` of pod ns/name.
  void SetContainerState(const std::string& ns, const std::string& name,
                         const std::string& container, const ContainerState& state);
  // The log of ns/pod/container (current or previous).
  void SetLogPath(const std::string& ns, const std::string& pod, const std::string& container,
                  bool previous, std::filesystem::path path);

  int kills() const { return kills_->load(); }
  int exec_processes_alive() const { return alive_->load(); }
  int exec_starts() const { return exec_starts_.load(); }

 private:
  mutable std::mutex mu_;
  std::vector<PodStatus> pods_;
  std::map<std::string, std::filesystem::path> logs_;
  std::shared_ptr<std::atomic<int>> kills_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> alive_ = std::make_shared<std::atomic<int>>(0);
  std::atomic<int> exec_starts_{0};
};

// A pod like the agent reports it: one running container "web", ready,
// restarted once after an error.
PodStatus SamplePod(const std::string& ns, const std::string& name);
NodeStatus SampleNode();

// Appends CRI records "<time> <stream> <tag> <content>\n" to `path`.
void AppendCri(const std::filesystem::path& path, int64_t time_ns, const std::string& stream,
               char tag, const std::string& content);

// A temp dir with a FakeBackend served on <dir>/agent.sock.
class ServedFake {
 public:
  ServedFake();
  ~ServedFake();
  ServedFake(const ServedFake&) = delete;
  ServedFake& operator=(const ServedFake&) = delete;

  FakeBackend& backend() { return backend_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path socket() const { return dir_ / "run" / "agent.sock"; }
  AgentServer* server() { return server_.get(); }
  void StopServer() { server_.reset(); }

 private:
  std::filesystem::path dir_;
  FakeBackend backend_;
  std::unique_ptr<AgentServer> server_;
};

}  // namespace berth::nodeagent::testing
