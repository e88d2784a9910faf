// Single probe attempts against loopback servers only: TCP connect
// (accepted, refused, timed out on a full accept queue), HTTP GET against an
// httplib server (200, 302, 404, 500, a handler slower than the timeout, IPv6)
// and against hand-rolled peers (silent, trickling, interim 1xx, garbage),
// exec through a fake ExecFn, and RunProbe's dispatch.
#include "prober.h"

#include <httplib.h>
#include <poll.h>
#include <signal.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "test_support.h"

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

IpAddress Ip(const char* text) {
  auto ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << text;
  return ip.ok() ? *ip : IpAddress{};
}

// A TCP socket on an ephemeral port of `ip`: listening with `backlog`, or
// merely bound (so connecting to it is refused) when backlog < 0.
struct Bound {
  UniqueFd fd;
  int port = 0;
};

Result<Bound> Bind(const IpAddress& ip, int backlog) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::copy_n(ip.bytes.begin(), 4, reinterpret_cast<uint8_t*>(&sin->sin_addr));
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::copy_n(ip.bytes.begin(), 16, reinterpret_cast<uint8_t*>(&sin6->sin6_addr));
    len = sizeof(sockaddr_in6);
  }
  Bound out;
  out.fd = UniqueFd(::socket(ip.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!out.fd) return Error::FromErrno("socket");
  if (::bind(out.fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error::FromErrno("bind " + ip.String());
  }
  if (backlog >= 0 && ::listen(out.fd.get(), backlog) != 0) return Error::FromErrno("listen");
  if (::getsockname(out.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return Error::FromErrno("getsockname");
  }
  out.port = ntohs(ip.is_v4() ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                              : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return out;
}

// Skips the test when the host has no IPv6 loopback (containers often don't).
#define REQUIRE_IPV6_LOOPBACK()                                                      \
  do {                                                                               \
    auto berth_v6_ = Bind(Ip("::1"), 1);                                             \
    if (!berth_v6_.ok()) {                                                           \
      GTEST_SKIP() << "IPv6 loopback unavailable: " << berth_v6_.error().ToString(); \
    }                                                                                \
  } while (0)

bool WaitReadable(int fd, milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  return ::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0;
}

// A scripted HTTP peer: accepts one connection on `listener` (borrowed),
// reads the request headers, writes `reply` verbatim and keeps the connection
// open until the client closes it, so the client alone decides when it is
// done. Returns the request it received.
std::future<std::string> ServeOnce(int listener, std::string reply) {
  return std::async(std::launch::async, [listener, reply = std::move(reply)] {
    std::string request;
    if (!WaitReadable(listener, 5s)) return request;
    UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && WaitReadable(conn.get(), 5s)) {
      const ssize_t n = ::recv(conn.get(), buf, sizeof(buf), 0);
      if (n <= 0) return request;
      request.append(buf, static_cast<size_t>(n));
    }
    if (!reply.empty() &&
        ::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL) != ssize_t(reply.size())) {
      return request;
    }
    if (reply.empty()) return request;  // close at once: EOF before any response
    while (WaitReadable(conn.get(), 5s) && ::recv(conn.get(), buf, sizeof(buf), 0) > 0) {
    }
    return request;
  });
}

// ---------------------------------------------------------------- TCP

TEST(ProbeTcpTest, SucceedsWhenSomethingListens) {
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  ProbeOutcome out = ProbeTcp(Ip("127.0.0.1"), listener->port, 1s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
}

TEST(ProbeTcpTest, SucceedsOverIpv6Loopback) {
  REQUIRE_IPV6_LOOPBACK();
  auto listener = Bind(Ip("::1"), 16);
  ASSERT_OK(listener);
  ProbeOutcome out = ProbeTcp(Ip("::1"), listener->port, 1s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  EXPECT_EQ(out.message, "connected to [::1]:" + std::to_string(listener->port));
}

TEST(ProbeTcpTest, RefusedPortFailsWithDialMessage) {
  // Bound but not listening: the kernel answers the SYN with a reset.
  auto closed = Bind(Ip("127.0.0.1"), -1);
  ASSERT_OK(closed);
  ProbeOutcome out = ProbeTcp(Ip("127.0.0.1"), closed->port, 1s);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message,
            "dial tcp 127.0.0.1:" + std::to_string(closed->port) + ": connect: connection refused");
}

TEST(ProbeTcpTest, TimesOutWhenTheAcceptQueueIsFull) {
  // Linux drops a SYN while the listener's accept queue is full (backlog 0
  // holds one connection), so a connect stays pending without any packet
  // leaving the host.
  auto listener = Bind(Ip("127.0.0.1"), 0);
  ASSERT_OK(listener);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(listener->port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<UniqueFd> fillers;
  bool full = false;
  for (int i = 0; i < 32 && !full; ++i) {
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(c.valid());
    (void)::connect(c.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
    pollfd pfd{c.get(), POLLOUT, 0};
    full = ::poll(&pfd, 1, 200) == 0;
    fillers.push_back(std::move(c));
  }
  if (!full) GTEST_SKIP() << "the kernel completed every handshake; no pending connect to time out";

  const auto start = Clock::now();
  ProbeOutcome out = ProbeTcp(Ip("127.0.0.1"), listener->port, 300ms);
  const auto took = Clock::now() - start;
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message,
            "dial tcp 127.0.0.1:" + std::to_string(listener->port) + ": timeout after 300ms");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
}

TEST(ProbeTcpTest, BadInputIsAFailureNotACrash) {
  EXPECT_EQ(ProbeTcp(Ip("127.0.0.1"), 0, 1s).message, "dial tcp 127.0.0.1:0: invalid port 0");
  EXPECT_EQ(ProbeTcp(Ip("127.0.0.1"), 70000, 1s).result, ProbeResult::kFailure);
  ProbeOutcome out = ProbeTcp(IpAddress{}, 80, 1s);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_NE(out.message.find("neither IPv4 nor IPv6"), std::string::npos) << out.message;
}

// ---------------------------------------------------------------- HTTP (httplib)

class HttpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // httplib's server writes without MSG_NOSIGNAL; a probe that gave up has
    // closed its end by the time the slow handler answers.
    (void)::signal(SIGPIPE, SIG_IGN);
    server_.Get("/healthz", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      host_ = req.get_header_value("Host");
      user_agent_ = req.get_header_value("User-Agent");
      target_ = req.target;
      res.set_content("ok\n", "text/plain");
    });
    server_.Get("/redirect", [this](const httplib::Request&, httplib::Response& res) {
      ++redirects_;
      // Nothing listens on port 1: a client that followed this would fail.
      res.set_redirect("http://127.0.0.1:1/elsewhere", 302);
    });
    server_.Get("/error", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("broken\n", "text/plain");
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      (void)release_.wait_for(lock, 10s, [this] { return released_; });
      res.set_content("late\n", "text/plain");
    });
  }

  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    release_.notify_all();
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  // Serves on `host`; returns the port, or -1 when `host` cannot be bound.
  int Start(const std::string& host) {
    const int port = server_.bind_to_any_port(host);
    if (port < 0) return -1;
    thread_ = std::thread([this] { (void)server_.listen_after_bind(); });
    // stop() is a no-op until the loop runs; wait so TearDown can end it.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(10ms);
    return port;
  }

  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable release_;
  bool released_ = false;
  std::string host_, user_agent_, target_;
  std::atomic<int> redirects_{0};
};

TEST_F(HttpProbeTest, Status200SucceedsAndSendsHostAndUserAgent) {
  const int port = Start("127.0.0.1");
  ASSERT_GT(port, 0);
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), port, "/healthz?verbose=1", 1s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  EXPECT_EQ(out.message, "HTTP probe succeeded with statuscode: 200");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(host_, "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(user_agent_, "berth-probe/0.1");
  EXPECT_EQ(target_, "/healthz?verbose=1");
}

TEST_F(HttpProbeTest, RedirectIsSuccessAndNotFollowed) {
  const int port = Start("127.0.0.1");
  ASSERT_GT(port, 0);
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), port, "/redirect", 1s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  EXPECT_EQ(out.message, "HTTP probe succeeded with statuscode: 302");
  EXPECT_EQ(redirects_.load(), 1);
}

TEST_F(HttpProbeTest, ClientAndServerErrorsFail) {
  const int port = Start("127.0.0.1");
  ASSERT_GT(port, 0);
  ProbeOutcome missing = ProbeHttpGet(Ip("127.0.0.1"), port, "/missing", 1s);
  EXPECT_EQ(missing.result, ProbeResult::kFailure);
  EXPECT_EQ(missing.message, "HTTP probe failed with statuscode: 404");
  ProbeOutcome error = ProbeHttpGet(Ip("127.0.0.1"), port, "/error", 1s);
  EXPECT_EQ(error.result, ProbeResult::kFailure);
  EXPECT_EQ(error.message, "HTTP probe failed with statuscode: 500");
}

TEST_F(HttpProbeTest, HandlerSlowerThanTheTimeoutFails) {
  const int port = Start("127.0.0.1");
  ASSERT_GT(port, 0);
  const auto start = Clock::now();
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), port, "/slow", 300ms);
  const auto took = Clock::now() - start;
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message,
            "Get \"http://127.0.0.1:" + std::to_string(port) + "/slow\": timeout after 300ms");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
}

TEST_F(HttpProbeTest, WorksOverIpv6Loopback) {
  REQUIRE_IPV6_LOOPBACK();
  const int port = Start("::1");
  ASSERT_GT(port, 0) << "httplib could not bind [::1]";
  ProbeOutcome out = ProbeHttpGet(Ip("::1"), port, "/healthz", 1s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(host_, "[::1]:" + std::to_string(port));
}

// ---------------------------------------------------------------- HTTP (scripted peers)

TEST(ProbeHttpGetTest, RefusedPortFailsWithDialMessage) {
  auto closed = Bind(Ip("127.0.0.1"), -1);
  ASSERT_OK(closed);
  const std::string hp = "127.0.0.1:" + std::to_string(closed->port);
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), closed->port, "/healthz", 1s);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message,
            "Get \"http://" + hp + "/healthz\": dial tcp " + hp + ": connect: connection refused");
}

TEST(ProbeHttpGetTest, PeerThatAcceptsButNeverAnswersTimesOut) {
  // The kernel completes the handshake from the backlog; nobody reads.
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  const auto start = Clock::now();
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), listener->port, "/", 250ms);
  const auto took = Clock::now() - start;
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message, "Get \"http://127.0.0.1:" + std::to_string(listener->port) +
                             "/\": timeout after 250ms");
  EXPECT_GE(took, 240ms);
  EXPECT_LT(took, 2s);
}

TEST(ProbeHttpGetTest, TimeoutBoundsTheWholeProbeNotEachRead) {
  // The status line arrives at once, the rest never: still one deadline.
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  auto served = ServeOnce(listener->fd.get(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
  const auto start = Clock::now();
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), listener->port, "/", 300ms);
  const auto took = Clock::now() - start;
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_NE(out.message.find("timeout after 300ms"), std::string::npos) << out.message;
  EXPECT_LT(took, 2s);
}

TEST(ProbeHttpGetTest, InterimResponsesAreSkipped) {
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  auto served = ServeOnce(listener->fd.get(),
                          "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                          "HTTP/1.1 204 No Content\r\n\r\n");
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), listener->port, "/", 2s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  EXPECT_EQ(out.message, "HTTP probe succeeded with statuscode: 204");
}

TEST(ProbeHttpGetTest, NonHttpPeerFailsAtOnce) {
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  auto served = ServeOnce(listener->fd.get(), "SSH-2.0-OpenSSH_9.2\r\n");
  const auto start = Clock::now();
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), listener->port, "/", 5s);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_NE(out.message.find("malformed HTTP response \"SSH-2.0-OpenSSH_9.2\""), std::string::npos)
      << out.message;
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(ProbeHttpGetTest, PeerClosingBeforeAnsweringFails) {
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  auto served = ServeOnce(listener->fd.get(), "");
  ProbeOutcome out = ProbeHttpGet(Ip("127.0.0.1"), listener->port, "/", 5s);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_NE(out.message.find("connection closed before the response headers ended"),
            std::string::npos)
      << out.message;
}

TEST(ProbeHttpGetTest, PathCannotInjectHeaders) {
  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  auto served = ServeOnce(listener->fd.get(), "HTTP/1.0 200 OK\r\n\r\n");
  ProbeOutcome out =
      ProbeHttpGet(Ip("127.0.0.1"), listener->port, "health check\r\nX-Evil: 1#frag", 2s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  const std::string request = served.get();
  EXPECT_EQ(request.substr(0, request.find("\r\n")),
            "GET /health%20check%0D%0AX-Evil:%201 HTTP/1.1");
  EXPECT_NE(request.find("\r\nHost: 127.0.0.1:" + std::to_string(listener->port) + "\r\n"),
            std::string::npos);
  EXPECT_NE(request.find("\r\nConnection: close\r\n"), std::string::npos);
}

// ---------------------------------------------------------------- exec

struct FakeExec {
  Result<int> reply = 0;
  std::vector<std::string> command;
  milliseconds timeout{0};
  int calls = 0;

  ExecFn Fn() {
    return [this](const std::vector<std::string>& cmd, milliseconds t) -> Result<int> {
      ++calls;
      command = cmd;
      timeout = t;
      return reply;
    };
  }
};

TEST(ProbeExecTest, ExitZeroSucceeds) {
  FakeExec fake;
  ProbeOutcome out = ProbeExec(fake.Fn(), {"cat", "/tmp/healthy"}, 2s);
  EXPECT_EQ(out.result, ProbeResult::kSuccess) << out.message;
  EXPECT_EQ(fake.command, (std::vector<std::string>{"cat", "/tmp/healthy"}));
  EXPECT_EQ(fake.timeout, 2s);
}

TEST(ProbeExecTest, NonZeroExitFails) {
  FakeExec fake;
  fake.reply = 3;
  ProbeOutcome out = ProbeExec(fake.Fn(), {"cat", "/tmp/healthy"}, 1s);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message, "command \"cat /tmp/healthy\" exited with 3");
}

TEST(ProbeExecTest, ErrorsFailWithTheirMessage) {
  FakeExec fake;
  fake.reply = Error::Sys(ETIMEDOUT, "exec in container web");
  ProbeOutcome timeout = ProbeExec(fake.Fn(), {"sleep", "9"}, 1s);
  EXPECT_EQ(timeout.result, ProbeResult::kFailure);
  EXPECT_EQ(timeout.message, "command \"sleep 9\": timeout after 1s");

  fake.reply = Error::Sys(ENOENT, "exec in container web");
  ProbeOutcome missing = ProbeExec(fake.Fn(), {"healthcheck"}, 1s);
  EXPECT_EQ(missing.result, ProbeResult::kFailure);
  EXPECT_NE(missing.message.find("exec in container web"), std::string::npos) << missing.message;
  EXPECT_NE(missing.message.find("ENOENT"), std::string::npos) << missing.message;
}

TEST(ProbeExecTest, NoExecFnOrNoCommandFails) {
  EXPECT_EQ(ProbeExec(ExecFn(), {"true"}, 1s).result, ProbeResult::kFailure);
  FakeExec fake;
  EXPECT_EQ(ProbeExec(fake.Fn(), {}, 1s).result, ProbeResult::kFailure);
  EXPECT_EQ(fake.calls, 0);
}

// ---------------------------------------------------------------- RunProbe

TEST(RunProbeTest, DispatchesByKindWithTheSpecTimeout) {
  FakeExec fake;
  Probe exec;
  exec.kind = ProbeKind::kExec;
  exec.command = {"true"};
  exec.timeout_seconds = 4;
  EXPECT_EQ(RunProbe(exec, Ip("127.0.0.1"), fake.Fn()).result, ProbeResult::kSuccess);
  EXPECT_EQ(fake.timeout, 4s);
  exec.timeout_seconds = 0;  // below the Kubernetes minimum: 1s
  EXPECT_EQ(RunProbe(exec, Ip("127.0.0.1"), fake.Fn()).result, ProbeResult::kSuccess);
  EXPECT_EQ(fake.timeout, 1s);

  auto listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(listener);
  Probe tcp;
  tcp.kind = ProbeKind::kTcpSocket;
  tcp.port = listener->port;
  EXPECT_EQ(RunProbe(tcp, Ip("127.0.0.1"), nullptr).result, ProbeResult::kSuccess);

  // A listener of its own: the TCP probe's closed connection is still queued
  // on the first one.
  auto http_listener = Bind(Ip("127.0.0.1"), 16);
  ASSERT_OK(http_listener);
  auto served = ServeOnce(http_listener->fd.get(), "HTTP/1.1 500 Internal Server Error\r\n\r\n");
  Probe http;
  http.kind = ProbeKind::kHttpGet;
  http.port = http_listener->port;
  http.path = "/ready";
  ProbeOutcome out = RunProbe(http, Ip("127.0.0.1"), nullptr);
  EXPECT_EQ(out.result, ProbeResult::kFailure);
  EXPECT_EQ(out.message, "HTTP probe failed with statuscode: 500");
  EXPECT_EQ(served.get().substr(0, 21), "GET /ready HTTP/1.1\r\n");
}

}  // namespace
}  // namespace berth::nodeagent
