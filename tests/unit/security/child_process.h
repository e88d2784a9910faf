// Runs a check in a forked child, so tests can change the process's seccomp
// filter, capabilities or namespaces without touching the test runner.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "berth/common/unique_fd.h"

namespace berth::runtime::testing {

// Runs `check` in a child process; it returns "" on success or what went
// wrong. Returns the child's answer, or why the child did not answer.
inline std::string RunInChild(const std::function<std::string()>& check) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    rd.reset();
    std::string answer = check();
    if (answer.empty()) answer = "ok";
    ssize_t n = write(wr.get(), answer.data(), answer.size());
    _exit(n == static_cast<ssize_t>(answer.size()) ? 0 : 1);
  }
  wr.reset();
  std::string answer;
  char buf[512];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return "child killed by signal " + std::to_string(WTERMSIG(status));
  if (answer == "ok") return "";
  return answer.empty() ? "child exited " + std::to_string(WEXITSTATUS(status)) : answer;
}

}  // namespace berth::runtime::testing
