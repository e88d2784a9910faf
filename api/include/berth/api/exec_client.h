// The client side of berth.v1.Agent's Exec: a command in a pod's
// container with its output streamed back, stdin forwarded, and with a TTY
// the terminal's size sent at the start and on every SIGWINCH. Shared by
// `berth exec` and `berth-agent ctl exec`.
//
// RunExec is synchronous; it reads stdin on a thread of its own while it
// runs. LocalTerminal changes process-wide state (the terminal's mode, the
// SIGWINCH handler): one at a time, restored when it is destroyed.
#pragma once

#include <unistd.h>

#include <memory>

#include "agent.grpc.pb.h"

#include "berth/common/error.h"

namespace berth::api {

// The local side of an exec. Every fd is borrowed.
struct ExecIo {
  int stdin_fd = -1;  // read until EOF and forwarded when the start asks for stdin
  int stdout_fd = STDOUT_FILENO;
  int stderr_fd = STDERR_FILENO;
  // With a TTY: the local terminal, whose size (TIOCGWINSZ) is sent at the
  // start and whenever `resize_fd` becomes readable (a SIGWINCH self-pipe;
  // non-blocking, its bytes are drained). -1: none.
  int terminal_fd = -1;
  int resize_fd = -1;
};

// The command's exit code (128 + signal when it was killed); an error when
// the call failed (the agent's errno: ENOENT for a pod it does not run).
Result<int> RunExec(v1::Agent::Stub& stub, const v1::ExecStart& start, const ExecIo& io);

// `exec -t` on a local terminal: SIGWINCH as a readable fd (resize_fd) and,
// when `raw`, the terminal in raw mode (no echo, no line editing, no
// signals from ^C: they go to the remote side), both undone on destruction.
class LocalTerminal {
 public:
  static Result<std::unique_ptr<LocalTerminal>> Open(int fd, bool raw);
  ~LocalTerminal();
  LocalTerminal(const LocalTerminal&) = delete;
  LocalTerminal& operator=(const LocalTerminal&) = delete;
  int resize_fd() const;

 private:
  struct Parts;
  explicit LocalTerminal(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace berth::api
