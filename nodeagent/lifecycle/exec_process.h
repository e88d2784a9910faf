// An interactive process inside a container (exec with or without a TTY),
// as the Agent API streams it. Implementations own the process's fds and
// kill and reap it in their destructor if it still runs. Not thread-safe
// except Kill(), which may race with Wait().
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/container.h"

namespace berth::nodeagent {

// A process started inside a container for an interactive exec. With a
// TTY, stdout_fd() is the pty master (and stdin_fd() too when stdin was
// requested); without one, stdin (-1 when not requested), stdout and stderr
// are pipes.
class ExecProcess {
 public:
  virtual ~ExecProcess() = default;
  virtual int stdin_fd() const = 0;                            // -1 when stdin was not requested
  virtual int stdout_fd() const = 0;                           // the pty master with a TTY
  virtual int stderr_fd() const = 0;                           // -1 with a TTY
  virtual Status Resize(unsigned width, unsigned height) = 0;  // TTY only
  virtual void CloseStdin() = 0;
  // Blocks until the process exits; its exit code (128 + signal if killed).
  virtual Result<int> Wait() = 0;
  virtual void Kill() = 0;
};

// Starts `options.process` in a running container (runtime::SpawnExec).
// With `tty` the pty master arrives over a console socket made in
// `socket_dir` (removed again before this returns).
Result<std::unique_ptr<ExecProcess>> StartExecProcess(runtime::ExecOptions options, bool tty,
                                                      bool stdin,
                                                      const std::filesystem::path& socket_dir);

}  // namespace berth::nodeagent
