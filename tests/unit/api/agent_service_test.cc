// berth.v1.Agent end to end: a FakeBackend served on a unix socket in a temp
// dir, called over a real gRPC channel (AgentClient, or the raw stub where a
// test needs to cancel or drive the stream itself).
#include "agent_service.h"

#include <unistd.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "agent_client.h"
#include "convert.h"
#include "fake_backend.h"
#include "test_support.h"

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::AppendCri;
using testing::SamplePod;
using testing::ServedFake;
using Clock = std::chrono::steady_clock;

constexpr int64_t kSecond = 1'000'000'000;

// The current log of default/web, written by hand in CRI format.
constexpr const char* kWebLog =
    "2026-11-23T06:00:00.000000001Z stdout F hello\n"
    "2026-11-23T06:00:01.000000000Z stderr F warn one\n"
    "2026-11-23T06:00:02.000000000Z stdout P part-\n"
    "2026-11-23T06:00:02.500000000Z stdout F ial\n"
    "2026-11-23T06:00:03.000000000Z stdout F bye\n";
constexpr const char* kWebText = "hello\nwarn one\npart-ial\nbye\n";
// 2026-11-23T06:00:04Z: after every line of kWebLog.
constexpr int64_t kAfterWebLog = 1795413604LL * kSecond;

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  (void)::lseek(fd, 0, SEEK_SET);
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

UniqueFd MemFile(const std::string& contents = "") {
  UniqueFd fd(::memfd_create("api-test", MFD_CLOEXEC));
  if (!contents.empty()) {
    EXPECT_EQ(::write(fd.get(), contents.data(), contents.size()),
              static_cast<ssize_t>(contents.size()));
    (void)::lseek(fd.get(), 0, SEEK_SET);
  }
  return fd;
}

// Waits up to 5 s for `pred`.
template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(fake_.server(), nullptr);
    fake_.backend().SetPods(
        {SamplePod("default", "web"), SamplePod("prod", "api"), SamplePod("default", "db")});
    web_log_ = fake_.dir() / "web.log";
    WriteFile(web_log_, kWebLog);
    fake_.backend().SetLogPath("default", "web", "web", false, web_log_);
    const fs::path previous = fake_.dir() / "web-previous.log";
    WriteFile(previous, "2026-11-23T05:59:00.000000000Z stdout F before the restart\n");
    fake_.backend().SetLogPath("default", "web", "web", true, previous);
    auto client = AgentClient::Connect(fake_.socket());
    ASSERT_OK(client);
    client_.emplace(std::move(*client));
  }

  Result<std::string> Logs(v1::LogsRequest req) {
    if (req.pod().empty()) req.set_pod("web");
    std::string out;
    BERTH_TRY(client_->Logs(req, [&out](std::string_view d) {
      out += d;
      return Ok();
    }));
    return out;
  }

  struct ExecResult {
    int code = -1;
    std::string out, err;
  };
  Result<ExecResult> Exec(const std::vector<std::string>& command,
                          const std::string* stdin_data = nullptr) {
    v1::ExecStart start;
    start.set_pod("web");
    for (const auto& a : command) start.add_command(a);
    start.set_stdin(stdin_data != nullptr);
    UniqueFd in = MemFile(stdin_data != nullptr ? *stdin_data : "");
    UniqueFd out = MemFile();
    UniqueFd err = MemFile();
    ExecIo io;
    io.stdin_fd = stdin_data != nullptr ? in.get() : -1;
    io.stdout_fd = out.get();
    io.stderr_fd = err.get();
    BERTH_ASSIGN_OR_RETURN(int code, client_->Exec(start, io));
    return ExecResult{code, ReadAll(out.get()), ReadAll(err.get())};
  }

  ServedFake fake_;
  fs::path web_log_;
  std::optional<AgentClient> client_;
};

// ---- pods and node ----

TEST_F(AgentServiceTest, ListPodsSortedWithStatus) {
  auto pods = client_->ListPods();
  ASSERT_OK(pods);
  ASSERT_EQ(pods->items_size(), 3);
  EXPECT_EQ(pods->items(0).metadata().name(), "db");
  EXPECT_EQ(pods->items(1).metadata().name(), "web");
  EXPECT_EQ(pods->items(2).metadata().namespace_(), "prod");
  const v1::PodStatus& s = pods->items(1).status();
  EXPECT_EQ(s.phase(), "Running");
  EXPECT_EQ(s.pod_ip(), "10.88.0.5");
  EXPECT_EQ(s.pod_ips_size(), 2);
  EXPECT_EQ(s.qos_class(), "Burstable");
  EXPECT_EQ(s.start_time().seconds(), 1795413600);
  ASSERT_EQ(s.container_statuses_size(), 1);
  EXPECT_EQ(s.container_statuses(0).restart_count(), 1);
  EXPECT_EQ(s.container_statuses(0).last_state().terminated().exit_code(), 2);
  EXPECT_EQ(s.container_statuses(0).pid(), 4242);

  auto prod = client_->ListPods("prod");
  ASSERT_OK(prod);
  ASSERT_EQ(prod->items_size(), 1);
  EXPECT_EQ(prod->items(0).metadata().name(), "api");
}

TEST_F(AgentServiceTest, GetPodRoundTrip) {
  auto pod = client_->GetPod("prod", "api");
  ASSERT_OK(pod);
  EXPECT_EQ(pod->metadata().uid(), "uid-api");
  EXPECT_EQ(pod->metadata().labels().at("tier"), "front");
  EXPECT_EQ(pod->source(), "/etc/berth/manifests/api.yaml");
  EXPECT_EQ(pod->status().container_statuses(0).cgroup(), "/berth/pods/uid-api/web");
  auto back = PodFromProto(*pod);
  ASSERT_OK(back);
  EXPECT_EQ(back->containers[0].state.started_at_ns,
            SamplePod("prod", "api").containers[0].state.started_at_ns);
  // An empty namespace is "default".
  EXPECT_OK(client_->GetPod("", "web"));
}

TEST_F(AgentServiceTest, GetPodMissingIsNotFoundWithTheMessage) {
  grpc::ClientContext ctx;
  v1::GetPodRequest req;
  req.set_namespace_("default");
  req.set_name("nope");
  v1::Pod pod;
  grpc::Status s = client_->stub().GetPod(&ctx, req, &pod);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(),
            "get pod default/nope: pod not found on this node: No such file or directory (ENOENT)");
  auto r = client_->GetPod("default", "nope");
  EXPECT_ERRNO(r, ENOENT);
  EXPECT_EQ(r.error().ToString(), s.error_message());
  EXPECT_ERRNO(client_->GetPod("default", ""), EINVAL);
}

TEST_F(AgentServiceTest, GetNode) {
  auto node = client_->GetNode();
  ASSERT_OK(node);
  EXPECT_EQ(node->metadata().name(), "node-1");
  EXPECT_EQ(node->status().capacity().cpu_milli(), 4000);
  EXPECT_EQ(node->status().controllers_enforced(0), "pids");
  EXPECT_EQ(node->status().conditions(0).type(), "Ready");
}

// ---- logs ----

TEST_F(AgentServiceTest, LogsAllTailSincePrevious) {
  v1::LogsRequest req;
  auto all = Logs(req);
  ASSERT_OK(all);
  EXPECT_EQ(*all, kWebText);

  req.set_tail_lines(2);
  auto tail = Logs(req);
  ASSERT_OK(tail);
  EXPECT_EQ(*tail, "part-ial\nbye\n");
  req.set_tail_lines(-1);
  EXPECT_EQ(*Logs(req), kWebText);
  req.set_tail_lines(0);
  EXPECT_EQ(*Logs(req), "");
  req.clear_tail_lines();

  req.mutable_since_time()->set_seconds(1795413601);  // 06:00:01
  auto since = Logs(req);
  ASSERT_OK(since);
  EXPECT_EQ(*since, "warn one\npart-ial\nbye\n");
  req.clear_since_time();

  req.set_previous(true);
  auto previous = Logs(req);
  ASSERT_OK(previous);
  EXPECT_EQ(*previous, "before the restart\n");
}

TEST_F(AgentServiceTest, LogsTimestampsAndContainerByName) {
  v1::LogsRequest req;
  req.set_container("web");
  req.set_timestamps(true);
  req.set_tail_lines(2);
  auto out = Logs(req);
  ASSERT_OK(out);
  EXPECT_EQ(*out,
            "2026-11-23T06:00:02.000000000Z part-ial\n"
            "2026-11-23T06:00:03.000000000Z bye\n");
}

TEST_F(AgentServiceTest, LogsSinceSeconds) {
  const fs::path path = fake_.dir() / "db.log";
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  AppendCri(path, now - 100 * kSecond, "stdout", 'F', "old");
  AppendCri(path, now - 1 * kSecond, "stdout", 'F', "new");
  fake_.backend().SetLogPath("default", "db", "web", false, path);
  v1::LogsRequest req;
  req.set_pod("db");
  req.set_since_seconds(10);
  auto out = Logs(req);
  ASSERT_OK(out);
  EXPECT_EQ(*out, "new\n");
}

TEST_F(AgentServiceTest, LogsErrors) {
  v1::LogsRequest req;
  req.set_tail_lines(-2);
  EXPECT_ERRNO(Logs(req), EINVAL);
  req.clear_tail_lines();
  req.set_since_seconds(5);
  req.mutable_since_time()->set_seconds(1);
  EXPECT_ERRNO(Logs(req), EINVAL);
  req.Clear();
  req.set_pod("nope");
  EXPECT_ERRNO(Logs(req), ENOENT);
  req.set_pod("web");
  req.set_container("sidecar");
  auto r = Logs(req);
  EXPECT_ERRNO(r, ENOENT);
  EXPECT_NE(r.error().ToString().find("logs of pod default/web container sidecar"),
            std::string::npos)
      << r.error().ToString();
}

TEST_F(AgentServiceTest, LogsFollowGetsAppendedLinesUntilCancelled) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::LogsRequest req;
  req.set_pod("web");
  req.set_follow(true);
  auto reader = client_->stub().Logs(&ctx, req);
  v1::LogChunk chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  EXPECT_EQ(chunk.data(), kWebText);

  AppendCri(web_log_, kAfterWebLog, "stdout", 'F', "appended");
  ASSERT_TRUE(reader->Read(&chunk));
  EXPECT_EQ(chunk.data(), "appended\n");
  // A long line in P chunks shows as it comes.
  AppendCri(web_log_, kAfterWebLog + 1, "stderr", 'P', "long ");
  AppendCri(web_log_, kAfterWebLog + 2, "stderr", 'F', "line");
  std::string rest;
  while (rest.size() < std::string("long line\n").size() && reader->Read(&chunk)) {
    rest += chunk.data();
  }
  EXPECT_EQ(rest, "long line\n");

  ctx.TryCancel();
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The handler saw the cancellation itself: shutting down does not need
  // its one-second grace to cancel it.
  const auto start = Clock::now();
  fake_.StopServer();
  EXPECT_LT(Clock::now() - start, milliseconds(900));
}

TEST_F(AgentServiceTest, LogsFollowEndsWhenTheContainerEnds) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::LogsRequest req;
  req.set_pod("web");
  req.set_follow(true);
  req.set_tail_lines(1);
  auto reader = client_->stub().Logs(&ctx, req);
  v1::LogChunk chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  EXPECT_EQ(chunk.data(), "bye\n");

  AppendCri(web_log_, kAfterWebLog, "stdout", 'F', "last words");
  ContainerState ended;
  ended.kind = ContainerState::Kind::kTerminated;
  ended.reason = "Completed";
  fake_.backend().SetContainerState("default", "web", "web", ended);
  std::string rest;
  while (reader->Read(&chunk)) rest += chunk.data();
  grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rest, "last words\n");
}

TEST_F(AgentServiceTest, AttachStreamsOnlyNewOutput) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::AttachRequest req;
  req.set_pod("web");
  auto reader = client_->stub().Attach(&ctx, req);
  // Attach starts at the end of the log: keep writing until lines arrive.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      AppendCri(web_log_, kAfterWebLog + i, "stdout", 'F', "tick");
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  v1::LogChunk chunk;
  const bool got = reader->Read(&chunk);
  stop.store(true);
  writer.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(chunk.data().substr(0, 5), "tick\n");
  EXPECT_EQ(chunk.data().find("hello"), std::string::npos);
  ctx.TryCancel();
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// ---- exec ----

TEST_F(AgentServiceTest, ExecOutputAndExitCode) {
  auto r = Exec({"/bin/sh", "-c", "echo hi; echo err >&2; exit 3"});
  ASSERT_OK(r);
  EXPECT_EQ(r->code, 3);
  EXPECT_EQ(r->out, "hi\n");
  EXPECT_EQ(r->err, "err\n");

  r = Exec({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_OK(r);
  EXPECT_EQ(r->code, 128 + 9);
}

TEST_F(AgentServiceTest, ExecForwardsStdin) {
  std::string input;
  for (int i = 0; i < 20000; ++i) input += "line " + std::to_string(i) + "\n";
  auto r = Exec({"cat"}, &input);
  ASSERT_OK(r);
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->out, input);

  const std::string none;
  r = Exec({"wc", "-c"}, &none);
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "0\n");
}

TEST_F(AgentServiceTest, ExecErrors) {
  EXPECT_ERRNO(Exec({}), EINVAL);
  v1::ExecStart start;
  start.set_pod("nope");
  start.add_command("true");
  EXPECT_ERRNO(client_->Exec(start, ExecIo{}), ENOENT);

  grpc::ClientContext ctx;
  auto stream = client_->stub().Exec(&ctx);
  v1::ExecRequest req;
  req.set_stdin("no start");
  ASSERT_TRUE(stream->Write(req));
  (void)stream->WritesDone();
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("the first message must be start"), std::string::npos);
}

TEST_F(AgentServiceTest, ExecCancelKillsTheProcess) {
  grpc::ClientContext ctx;
  auto stream = client_->stub().Exec(&ctx);
  v1::ExecRequest req;
  req.mutable_start()->set_pod("web");
  req.mutable_start()->add_command("sleep");
  req.mutable_start()->add_command("30");
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(Eventually([&] { return fake_.backend().exec_processes_alive() == 1; }));
  ctx.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(Eventually([&] { return fake_.backend().exec_processes_alive() == 0; }));
  EXPECT_GE(fake_.backend().kills(), 1);
}

TEST_F(AgentServiceTest, ExecCancelKillsAProcessThatClosedItsOutput) {
  grpc::ClientContext ctx;
  auto stream = client_->stub().Exec(&ctx);
  v1::ExecRequest req;
  req.mutable_start()->set_pod("web");
  for (const char* a : {"/bin/sh", "-c", "exec >&- 2>&-; sleep 30"}) {
    req.mutable_start()->add_command(a);
  }
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(Eventually([&] { return fake_.backend().exec_processes_alive() == 1; }));
  std::this_thread::sleep_for(milliseconds(300));  // past the end of its output
  ctx.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(Eventually([&] { return fake_.backend().exec_processes_alive() == 0; }));
  EXPECT_GE(fake_.backend().kills(), 1);
}

TEST_F(AgentServiceTest, ExecOnATerminalWithResize) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = client_->stub().Exec(&ctx);
  v1::ExecRequest req;
  v1::ExecStart* start = req.mutable_start();
  start->set_pod("web");
  for (const char* a : {"/bin/sh", "-c", "read x; stty size; test -t 1 && echo on-a-tty"}) {
    start->add_command(a);
  }
  start->set_tty(true);
  start->set_stdin(true);
  start->mutable_terminal_size()->set_width(100);
  start->mutable_terminal_size()->set_height(30);
  ASSERT_TRUE(stream->Write(req));
  req.Clear();
  req.mutable_resize()->set_width(120);
  req.mutable_resize()->set_height(40);
  ASSERT_TRUE(stream->Write(req));
  req.Clear();
  req.set_stdin("go\n");
  ASSERT_TRUE(stream->Write(req));

  std::string out;
  std::optional<int> code;
  v1::ExecResponse resp;
  while (stream->Read(&resp)) {
    EXPECT_FALSE(resp.has_stderr()) << "a terminal merges stderr into stdout";
    out += resp.stdout();
    if (resp.has_exit()) {
      code = resp.exit().exit_code();
      (void)stream->WritesDone();
    }
  }
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("40 120\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("on-a-tty\r\n"), std::string::npos) << out;
}

// ---- the server ----

TEST(AgentServer, SocketModeStaleSocketAndShutdown) {
  ServedFake fake;
  ASSERT_NE(fake.server(), nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(fake.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660U);

  // A second agent on the same socket is refused while the first answers.
  testing::FakeBackend other;
  EXPECT_ERRNO(AgentServer::Start(other, fake.socket()), EADDRINUSE);

  fake.StopServer();
  EXPECT_FALSE(fs::exists(fake.socket()));

  // A socket file nobody serves (an agent that crashed) is replaced.
  {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    fake.socket().string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ASSERT_TRUE(fs::exists(fake.socket()));
  auto again = AgentServer::Start(other, fake.socket());
  ASSERT_OK(again);
  auto client = AgentClient::Connect(fake.socket());
  ASSERT_OK(client);
  EXPECT_OK(client->GetNode());
  (*again)->Shutdown();

  // Anything else at the path is left alone.
  WriteFile(fake.socket(), "not a socket");
  EXPECT_ERRNO(AgentServer::Start(other, fake.socket()), EEXIST);
}

TEST(AgentClient, MissingSocketNamesIt) {
  auto c = AgentClient::Connect("/nonexistent/berth/agent.sock");
  EXPECT_ERRNO(c, ENOENT);
  EXPECT_NE(c.error().ToString().find("/nonexistent/berth/agent.sock"), std::string::npos);
}

}  // namespace
}  // namespace berth::nodeagent
