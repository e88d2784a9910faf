// Kubernetes container probes, one attempt each: TCP connect, HTTP GET and exec
// (the last through a caller-supplied ExecFn, since running a command inside a
// container is the runtime's job, not this library's).
//
// Ownership: every socket is opened, owned and closed within one call; nothing
// outlives it. Thread-safety: the functions keep no state and may run
// concurrently (one probe per thread). Each call blocks for at most its timeout
// (ProbeExec: as long as the ExecFn takes, which is handed the same timeout).
// Errors: a probe never fails as a call; every problem, including bad input (a
// port outside 1..65535, an address that is neither IPv4 nor IPv6), is a
// ProbeResult::kFailure whose message says what happened, worded like the
// kubelet's ("dial tcp 10.0.0.5:80: connect: connection refused",
// "HTTP probe failed with statuscode: 500", "... timeout after 1s").
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "manifest.h"

#include "berth/common/error.h"
#include "berth/common/ip.h"

namespace berth::nodeagent {

enum class ProbeResult { kSuccess, kFailure };

struct ProbeOutcome {
  ProbeResult result = ProbeResult::kFailure;
  // Why a probe failed (or a short note on success); shown in pod events.
  std::string message;
};

// Connects to host:port without sending anything; success once the TCP
// handshake completes (the connection is then closed), as kubelet's tcpSocket
// probe does.
ProbeOutcome ProbeTcp(const IpAddress& host, int port, std::chrono::milliseconds timeout);

// One HTTP/1.1 GET http://host:port/path with "Host: host:port",
// "User-Agent: berth-probe/0.1" and "Connection: close". Success for a final
// status 200..399; redirects are not followed, so a 3xx counts as success (as
// kubelet does for a redirect to another host). Interim 1xx responses are
// skipped. The timeout bounds the whole probe (connect, send, and reading the
// response headers); the body is not read. `path` is sent as given with bytes
// that may not appear in a request line percent-encoded; a missing leading "/"
// is added and a "#fragment" dropped, as a URL parser would.
ProbeOutcome ProbeHttpGet(const IpAddress& host, int port, const std::string& path,
                          std::chrono::milliseconds timeout);

// Runs `command` in the container and returns its exit code, or an error
// (ETIMEDOUT when it outlived `timeout`). Supplied by whoever can enter the
// container (the runtime shim).
using ExecFn = std::function<Result<int>(const std::vector<std::string>& command,
                                         std::chrono::milliseconds timeout)>;

// Exit code 0 is success; any other code is a failure
// ("command \"cat /tmp/healthy\" exited with 1"), and so is an error from
// `exec`, carrying its message. An empty `exec` or `command` is a failure.
ProbeOutcome ProbeExec(const ExecFn& exec, const std::vector<std::string>& command,
                       std::chrono::milliseconds timeout);

// One attempt of `spec` against the pod at `pod_ip`, with the timeout
// spec.timeout_seconds (at least 1s, the Kubernetes minimum).
ProbeOutcome RunProbe(const Probe& spec, const IpAddress& pod_ip, const ExecFn& exec);

}  // namespace berth::nodeagent
