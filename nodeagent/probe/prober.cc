#include "prober.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include <netinet/in.h>

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kUserAgent = "berth-probe/0.1";
// Go's net/http allows far more, but a health endpoint's headers are small; a
// peer sending more than this is not answering a probe.
constexpr size_t kMaxHeaderBytes = size_t{64} * 1024;

// "1s", "1500ms": how long the probe waited, for its failure message.
std::string FormatTimeout(milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + "s";
  return std::to_string(timeout.count()) + "ms";
}

// strerror text in Go's style ("connection refused"), which is what kubelet
// messages look like. strerrordesc_np is thread-safe, unlike strerror.
std::string ErrnoText(int err) {
  const char* desc = strerrordesc_np(err);
  std::string text = desc != nullptr ? desc : "errno " + std::to_string(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// ETIMEDOUT stands for our deadline (the kernel's own connect timeout is
// minutes, far beyond any probe's); other errors read "<what>: <errno text>".
std::string Describe(const Error& error, milliseconds timeout) {
  if (error.err() == ETIMEDOUT) return "timeout after " + FormatTimeout(timeout);
  if (error.err() == 0) return error.ToString();
  return error.Chain() + ": " + ErrnoText(error.err());
}

// "10.0.0.5:80", "[::1]:80": the authority of a URL and of "dial tcp" messages.
std::string HostPort(const IpAddress& host, int port) {
  if (host.is_v4()) return host.String() + ":" + std::to_string(port);
  return "[" + host.String() + "]:" + std::to_string(port);
}

bool ValidPort(int port) { return port >= 1 && port <= 65535; }

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

Result<SocketAddress> ToSocketAddress(const IpAddress& host, int port) {
  // sockaddr_storage is sized and aligned to hold any sockaddr_*.
  SocketAddress out;
  if (host.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    std::copy_n(host.bytes.begin(), 4, reinterpret_cast<uint8_t*>(&sin->sin_addr));
    out.length = sizeof(sockaddr_in);
  } else if (host.family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::copy_n(host.bytes.begin(), 16, reinterpret_cast<uint8_t*>(&sin6->sin6_addr));
    out.length = sizeof(sockaddr_in6);
  } else {
    return Error::Invalid("address family " + std::to_string(host.family) +
                          " is neither IPv4 nor IPv6");
  }
  return out;
}

// Waits until `fd` reports `events` (or an error/hangup, which the following
// call then reports); ETIMEDOUT once `deadline` has passed.
Status WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return Error::Sys(ETIMEDOUT, "poll");
    // Rounded up so that a sub-millisecond remainder still waits.
    const auto ms = std::chrono::ceil<milliseconds>(left).count();
    pollfd pfd{fd, events, 0};
    // Capped so the int argument cannot overflow; the loop waits again.
    const int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(ms, 60'000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("poll");
    }
    if (n > 0) return Ok();
  }
}

// A connected TCP socket (non-blocking), or an error: ETIMEDOUT at `deadline`.
Result<UniqueFd> Dial(const IpAddress& host, int port, Clock::time_point deadline) {
  BERTH_ASSIGN_OR_RETURN(SocketAddress addr, ToSocketAddress(host, port));
  UniqueFd fd(::socket(host.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error::FromErrno("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage), addr.length) == 0) {
    return fd;
  }
  // see man 2 connect: a non-blocking connect (or an interrupted one)
  // completes asynchronously; SO_ERROR then holds its outcome.
  if (errno != EINPROGRESS && errno != EINTR) return Error::FromErrno("connect");
  BERTH_TRY(WaitFor(fd.get(), POLLOUT, deadline));
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    return Error::FromErrno("getsockopt SO_ERROR");
  }
  if (err != 0) return Error::Sys(err, "connect");
  return fd;
}

Status SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a peer that already closed must fail the probe, not raise
    // SIGPIPE in the agent.
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Error::FromErrno("write");
    BERTH_TRY(WaitFor(fd, POLLOUT, deadline));
  }
  return Ok();
}

// The request target: what a URL parser would make of `path` (leading "/",
// no fragment), with bytes that cannot appear in a request line (controls,
// space, non-ASCII) percent-encoded so a path can never inject a header.
std::string RequestTarget(const std::string& path) {
  std::string_view p = path;
  if (const size_t hash = p.find('#'); hash != std::string_view::npos) p = p.substr(0, hash);
  std::string out;
  if (p.empty() || p.front() != '/') out.push_back('/');
  for (const char c : p) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f) {
      char buf[4];
      (void)std::snprintf(buf, sizeof(buf), "%%%02X", b);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The status code of "HTTP/1.1 200 OK" (RFC 9112 section 4).
Result<int> ParseStatusLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto malformed = [&] {
    return Error::Msg("malformed HTTP response \"" +
                      std::string(line.substr(0, std::min<size_t>(line.size(), 64))) + "\"");
  };
  // "HTTP/1.x NNN" and then the end or " reason".
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." ||
      !std::isdigit(static_cast<unsigned char>(line[7])) || line[8] != ' ') {
    return malformed();
  }
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return malformed();
    code = code * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') return malformed();
  if (code < 100) return malformed();
  return code;
}

// Offset just past the blank line ending the header block that starts at
// `from`, if it has arrived yet. Bare "\n" line ends are accepted, as Go's
// reader accepts them.
std::optional<size_t> HeaderBlockEnd(std::string_view buf, size_t from) {
  size_t line = from;
  for (;;) {
    const size_t nl = buf.find('\n', line);
    if (nl == std::string_view::npos) return std::nullopt;
    const size_t len = nl - line;
    if (line != from && (len == 0 || (len == 1 && buf[line] == '\r'))) return nl + 1;
    line = nl + 1;
  }
}

// Reads response headers until the final (non-1xx) response's block is
// complete and returns its status code.
Result<int> ReadFinalStatus(int fd, Clock::time_point deadline) {
  std::string buf;
  size_t start = 0;  // where the current response begins in `buf`
  char chunk[4096];
  for (;;) {
    // Reject garbage as soon as its first line is in, rather than at timeout.
    if (const size_t nl = buf.find('\n', start); nl != std::string::npos) {
      BERTH_ASSIGN_OR_RETURN(int code,
                             ParseStatusLine(std::string_view(buf).substr(start, nl - start)));
      if (auto end = HeaderBlockEnd(buf, start)) {
        // 1xx responses are interim (RFC 9110 section 15.2); 101 would switch
        // protocols and is final.
        if (code >= 200 || code == 101) return code;
        start = *end;
        continue;
      }
    }
    if (buf.size() - start > kMaxHeaderBytes) {
      return Error::Msg("response headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes");
    }
    BERTH_TRY(WaitFor(fd, POLLIN, deadline));
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Error::FromErrno("read");
    }
    if (n == 0) return Error::Msg("connection closed before the response headers ended");
    buf.append(chunk, static_cast<size_t>(n));
  }
}

ProbeOutcome Failure(std::string message) { return {ProbeResult::kFailure, std::move(message)}; }

std::string JoinCommand(const std::vector<std::string>& command) {
  std::string out;
  for (const auto& arg : command) {
    if (!out.empty()) out.push_back(' ');
    out += arg;
  }
  return out;
}

}  // namespace

ProbeOutcome ProbeTcp(const IpAddress& host, int port, milliseconds timeout) {
  const std::string dial = "dial tcp " + HostPort(host, port) + ": ";
  if (!ValidPort(port)) return Failure(dial + "invalid port " + std::to_string(port));
  auto fd = Dial(host, port, Clock::now() + timeout);
  if (!fd.ok()) return Failure(dial + Describe(fd.error(), timeout));
  return {ProbeResult::kSuccess, "connected to " + HostPort(host, port)};
}

ProbeOutcome ProbeHttpGet(const IpAddress& host, int port, const std::string& path,
                          milliseconds timeout) {
  const std::string authority = HostPort(host, port);
  const std::string target = RequestTarget(path);
  const std::string get = "Get \"http://" + authority + target + "\": ";
  if (!ValidPort(port)) return Failure(get + "invalid port " + std::to_string(port));

  const auto deadline = Clock::now() + timeout;
  auto fd = Dial(host, port, deadline);
  if (!fd.ok())
    return Failure(get + "dial tcp " + authority + ": " + Describe(fd.error(), timeout));

  // Connection: close, as kubelet disables keep-alive: one request per probe.
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + authority +
                        "\r\nUser-Agent: " + std::string(kUserAgent) +
                        "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  if (auto sent = SendAll(fd->get(), request, deadline); !sent.ok()) {
    return Failure(get + Describe(sent.error(), timeout));
  }
  auto code = ReadFinalStatus(fd->get(), deadline);
  if (!code.ok()) return Failure(get + Describe(code.error(), timeout));
  if (*code >= 200 && *code < 400) {
    return {ProbeResult::kSuccess,
            "HTTP probe succeeded with statuscode: " + std::to_string(*code)};
  }
  return Failure("HTTP probe failed with statuscode: " + std::to_string(*code));
}

ProbeOutcome ProbeExec(const ExecFn& exec, const std::vector<std::string>& command,
                       milliseconds timeout) {
  const std::string what = "command \"" + JoinCommand(command) + "\"";
  if (command.empty()) return Failure("exec probe has an empty command");
  if (!exec) return Failure(what + ": exec probes are not available here");
  auto code = exec(command, timeout);
  if (!code.ok()) {
    if (code.error().err() == ETIMEDOUT) {
      return Failure(what + ": timeout after " + FormatTimeout(timeout));
    }
    return Failure(what + ": " + code.error().ToString());
  }
  if (*code != 0) return Failure(what + " exited with " + std::to_string(*code));
  return {ProbeResult::kSuccess, what + " exited with 0"};
}

ProbeOutcome RunProbe(const Probe& spec, const IpAddress& pod_ip, const ExecFn& exec) {
  // Kubernetes validation requires timeoutSeconds >= 1; never probe with none.
  const milliseconds timeout = std::chrono::seconds(std::max<int64_t>(spec.timeout_seconds, 1));
  switch (spec.kind) {
    case ProbeKind::kExec:
      return ProbeExec(exec, spec.command, timeout);
    case ProbeKind::kHttpGet:
      return ProbeHttpGet(pod_ip, spec.port, spec.path, timeout);
    case ProbeKind::kTcpSocket:
      return ProbeTcp(pod_ip, spec.port, timeout);
  }
  return Failure("unknown probe kind " + std::to_string(static_cast<int>(spec.kind)));
}

}  // namespace berth::nodeagent
