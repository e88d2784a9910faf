// `berth-agent ctl` end to end: the CLI11 app runs in-process against a
// FakeBackend served on a unix socket; its output goes to temp files.
#include "ctl_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_backend.h"
#include "test_support.h"

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
using testing::SamplePod;
using testing::ServedFake;

struct CtlRun {
  int exit_code = -1;
  std::string out, err;
};

std::string ReadStream(FILE* f) {
  (void)std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

// Runs `berth-agent ctl --socket <socket> args...` (without --socket when
// `socket` is empty).
// `out`, when given, is the output stream (left open); else a temp file.
CtlRun RunCtl(const fs::path& socket, std::vector<std::string> args, int in_fd = -1,
              FILE* given_out = nullptr) {
  CLI::App app{"berth-agent: the Berth node agent", "berth-agent"};
  app.require_subcommand(1);
  CtlRun run;
  run.exit_code = 0;
  FILE* out = given_out != nullptr ? given_out : std::tmpfile();
  FILE* err = std::tmpfile();
  UniqueFd null_in(::memfd_create("stdin", MFD_CLOEXEC));
  AddCtlCommands(app, &run.exit_code, CtlIo{out, err, in_fd >= 0 ? in_fd : null_in.get()});
  if (!socket.empty()) args.insert(args.begin(), {"--socket", socket.string()});
  args.insert(args.begin(), "ctl");
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector last argument first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    std::ostringstream o, e_out;
    run.exit_code = app.exit(e, o, e_out);
    run.err = e_out.str();
  }
  run.out = ReadStream(out);
  run.err += ReadStream(err);
  if (given_out == nullptr) (void)std::fclose(out);
  (void)std::fclose(err);
  return run;
}

// The cells of a table row (columns are 3+ spaces apart).
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find("   ", pos);
    if (end == std::string::npos) end = line.size();
    cells.push_back(line.substr(pos, end - pos));
    pos = line.find_first_not_of(' ', end);
    if (pos == std::string::npos) break;
  }
  return cells;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(fake_.server(), nullptr);
    fake_.backend().SetPods({SamplePod("default", "web"), SamplePod("prod", "api")});
    const fs::path log = fake_.dir() / "web.log";
    std::ofstream(log) << "2026-11-23T06:00:00.000000001Z stdout F hello\n"
                          "2026-11-23T06:00:03.000000000Z stderr F bye\n";
    fake_.backend().SetLogPath("default", "web", "web", false, log);
    const fs::path previous = fake_.dir() / "previous.log";
    std::ofstream(previous) << "2026-11-23T05:59:00.000000000Z stdout F crashed\n";
    fake_.backend().SetLogPath("default", "web", "web", true, previous);
  }

  CtlRun Ctl(std::vector<std::string> args, int in_fd = -1, FILE* out = nullptr) {
    return RunCtl(fake_.socket(), std::move(args), in_fd, out);
  }

  ServedFake fake_;
};

TEST_F(CtlTest, PodsTable) {
  CtlRun r = Ctl({"pods"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3U) << r.out;
  EXPECT_EQ(Cells(lines[0]), (std::vector<std::string>{"NAMESPACE", "NAME", "READY", "STATUS",
                                                       "RESTARTS", "IP", "AGE"}));
  auto web = Cells(lines[1]);
  ASSERT_EQ(web.size(), 7U) << lines[1];
  EXPECT_EQ(web[0], "default");
  EXPECT_EQ(web[1], "web");
  EXPECT_EQ(web[2], "1/1");
  EXPECT_EQ(web[3], "Running");
  EXPECT_EQ(web[4].substr(0, 3), "1 (");
  EXPECT_EQ(web[5], "10.88.0.5");
  EXPECT_EQ(Cells(lines[2])[0], "prod");

  // --socket after the command works too.
  r = RunCtl("", {"pods", "--socket", fake_.socket().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = Ctl({"pods", "-n", "prod", "-o", "wide"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(Cells(lines[0]).back(), "SOURCE");
  EXPECT_EQ(Cells(lines[1])[7], "Burstable");
}

TEST_F(CtlTest, PodsStatusColumnShowsTheBlockingReason) {
  PodStatus p = SamplePod("default", "crashy");
  p.containers[0].state = ContainerState{};
  p.containers[0].state.reason = "CrashLoopBackOff";
  p.containers[0].ready = false;
  PodStatus init = SamplePod("default", "starting");
  init.init_containers[0].state = ContainerState{};
  init.init_containers[0].state.kind = ContainerState::Kind::kRunning;
  fake_.backend().SetPods({p, init});
  CtlRun r = Ctl({"pods"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(Cells(lines[1])[2], "0/1");
  EXPECT_EQ(Cells(lines[1])[3], "CrashLoopBackOff");
  EXPECT_EQ(Cells(lines[2])[3], "Init:0/1");
}

TEST_F(CtlTest, PodsJson) {
  CtlRun r = Ctl({"pods", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["items"].size(), 2U);
  const auto& web = j["items"][0];
  EXPECT_EQ(web["metadata"]["name"], "web");
  EXPECT_EQ(web["status"]["podIP"], "10.88.0.5");
  EXPECT_EQ(web["status"]["podIPs"][1]["ip"], "fd00::5");
  EXPECT_EQ(web["status"]["qosClass"], "Burstable");
  EXPECT_EQ(web["status"]["startTime"], "2026-11-23T06:00:00Z");
  EXPECT_EQ(web["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 2);
  EXPECT_EQ(web["status"]["containerStatuses"][0]["restartCount"], 1);
}

TEST_F(CtlTest, PodDetails) {
  CtlRun r = Ctl({"pod", "default/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Name:         web\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Labels:       app=web\n              tier=front\n"), std::string::npos);
  EXPECT_NE(r.out.find("Restart Count:  1\n"), std::string::npos);
  EXPECT_NE(r.out.find("Last State:     Terminated\n      Reason:     Error\n"), std::string::npos);
  EXPECT_NE(r.out.find("Init Containers:\n  setup:\n"), std::string::npos);

  r = Ctl({"pod", "-n", "prod", "api", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["metadata"]["uid"], "uid-api");

  r = Ctl({"pod", "-n", "prod", "api", "-o", "yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("metadata:\n  name: api\n  namespace: prod\n  uid: uid-api\n  labels:\n"
                       "    app: api\n    tier: front\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  - ip: fd00::5\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  conditions:\n  - type: Initialized\n    status: \"True\"\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  startTime: \"2026-11-23T06:00:00Z\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  podIP: 10.88.0.5\n"), std::string::npos) << r.out;
}

TEST_F(CtlTest, PodMissingIsAnErrorWithTheAgentsMessage) {
  CtlRun r = Ctl({"pod", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "berth-agent ctl: get pod default/nope: pod not found on this node: No such file or "
            "directory (ENOENT)\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CtlTest, Logs) {
  CtlRun r = Ctl({"logs", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\nbye\n");
  r = Ctl({"logs", "-n", "default", "web", "-c", "web", "--tail", "1", "--timestamps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2026-11-23T06:00:03.000000000Z bye\n");
  r = Ctl({"logs", "default/web", "-p"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "crashed\n");
  // The sample lines are from 2026-11-23: --since an hour ago shows what
  // is newer than now - 1h.
  r = Ctl({"logs", "web", "--since", "1h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = Ctl({"logs", "web", "--since", "10x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("berth-agent ctl: duration \"10x\""), std::string::npos) << r.err;
}

TEST_F(CtlTest, ExecExitsWithTheRemoteCode) {
  CtlRun r = Ctl({"exec", "web", "--", "/bin/sh", "-c", "echo hi; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "err\n");

  UniqueFd in(::memfd_create("stdin", MFD_CLOEXEC));
  ASSERT_EQ(::write(in.get(), "abc\n", 4), 4);
  ASSERT_EQ(::lseek(in.get(), 0, SEEK_SET), 0);
  r = Ctl({"exec", "-i", "web", "--", "cat"}, in.get());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "abc\n");

  // -t needs a terminal on stdin; without one kubectl warns and goes on.
  ASSERT_EQ(::lseek(in.get(), 0, SEEK_SET), 0);
  r = Ctl({"exec", "-it", "web", "--", "cat"}, in.get());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "abc\n");
  EXPECT_NE(r.err.find("Unable to use a TTY"), std::string::npos) << r.err;

  r = Ctl({"exec", "nope", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("berth-agent ctl: exec in pod default/nope"), std::string::npos) << r.err;
}

// exec -it on a local terminal (a pty here): raw mode while it runs, the
// terminal's size at the start and again after SIGWINCH.
TEST_F(CtlTest, ExecOnTheLocalTerminal) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  char name[64];
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  ASSERT_EQ(::ptsname_r(master.get(), name, sizeof(name)), 0);
  UniqueFd terminal(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(terminal.valid());
  struct winsize ws {};
  ws.ws_row = 33;
  ws.ws_col = 101;
  ASSERT_EQ(::ioctl(master.get(), TIOCSWINSZ, &ws), 0);

  FILE* out = std::tmpfile();
  auto output = [out] {
    std::string s;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::pread(::fileno(out), buf, sizeof(buf), static_cast<off_t>(s.size()))) > 0) {
      s.append(buf, static_cast<size_t>(n));
    }
    return s;
  };
  std::thread typist([&] {
    EXPECT_EQ(::write(master.get(), "a\n", 2), 2);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (output().find("33 101") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ws.ws_row = 44;
    ws.ws_col = 120;
    EXPECT_EQ(::ioctl(master.get(), TIOCSWINSZ, &ws), 0);
    // Not the test's controlling terminal: the kernel sends no SIGWINCH.
    EXPECT_EQ(::kill(::getpid(), SIGWINCH), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(::write(master.get(), "b\n", 2), 2);
  });
  CtlRun r = Ctl(
      {"exec", "-it", "web", "--", "/bin/sh", "-c", "read x; stty size; read y; stty size; exit 5"},
      terminal.get(), out);
  typist.join();
  (void)std::fclose(out);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.out.find("33 101\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("44 120\r\n"), std::string::npos) << r.out;
  struct termios t {};
  ASSERT_EQ(::tcgetattr(terminal.get(), &t), 0);
  EXPECT_NE(t.c_lflag & ICANON, 0U) << "the terminal is out of raw mode again";
}

TEST_F(CtlTest, Node) {
  CtlRun r = Ctl({"node"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Name:          node-1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Capacity:      cpu 4000m, memory 8.0Gi, pods 110\n"), std::string::npos);
  EXPECT_NE(r.out.find("enforced: pids; missing: cpu memory io"), std::string::npos);
  EXPECT_NE(r.out.find("  Ready            True     AgentReady   berth-agent is ready\n"),
            std::string::npos)
      << r.out;
  r = Ctl({"node", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"]["capacity"]["cpuMilli"], "4000");  // int64 is a string in proto3 JSON
  EXPECT_EQ(j["status"]["runningPods"], 2);
}

TEST(Ctl, MissingSocketAndBadUsage) {
  CtlRun r = RunCtl("/nonexistent/agent.sock", {"pods"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "berth-agent ctl: connect to berth-agent at /nonexistent/agent.sock: No such file or "
            "directory (ENOENT)\n");
  r = RunCtl("/nonexistent/agent.sock", {"pods", "-o", "xml"});
  EXPECT_NE(r.exit_code, 0);
  r = RunCtl("/nonexistent/agent.sock", {"exec", "web"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(Ctl, ParseSinceSeconds) {
  EXPECT_EQ(*ParseSinceSeconds("10s"), 10);
  EXPECT_EQ(*ParseSinceSeconds("5m"), 300);
  EXPECT_EQ(*ParseSinceSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseSinceSeconds("1.5s"), 2);
  EXPECT_EQ(*ParseSinceSeconds("250ms"), 1);
  for (const char* bad : {"", "10", "s", "10x", "0s", "-5s", "5 m"}) {
    EXPECT_ERRNO(ParseSinceSeconds(bad), EINVAL);
  }
}

TEST(Ctl, HumanAge) {
  constexpr int64_t kMin = 60, kHour = 3600, kDay = 86400, kYear = 365 * kDay;
  EXPECT_EQ(HumanAge(-3), "0s");
  EXPECT_EQ(HumanAge(45), "45s");
  EXPECT_EQ(HumanAge(119), "119s");
  EXPECT_EQ(HumanAge(5 * kMin + 3), "5m3s");
  EXPECT_EQ(HumanAge(6 * kMin), "6m");
  EXPECT_EQ(HumanAge(2 * kHour + 59 * kMin), "179m");
  EXPECT_EQ(HumanAge(3 * kHour + 5 * kMin), "3h5m");
  EXPECT_EQ(HumanAge(30 * kHour), "30h");
  EXPECT_EQ(HumanAge(3 * kDay + 4 * kHour), "3d4h");
  EXPECT_EQ(HumanAge(40 * kDay), "40d");
  EXPECT_EQ(HumanAge(3 * kYear + kDay), "3y1d");
  EXPECT_EQ(HumanAge(10 * kYear), "10y");
}

}  // namespace
}  // namespace berth::nodeagent
