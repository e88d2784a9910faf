// `berth-agent ctl ...`: a kubectl-like client of the running agent's local
// API (berth.v1.Agent on --socket, default /run/berth/agent.sock):
//
//   ctl pods [-n NS] [-o wide|json|yaml]       NAMESPACE NAME READY STATUS RESTARTS IP AGE
//   ctl pod [-n NS] NAME | NS/NAME [-o json|yaml]
//   ctl logs [-n NS] POD [-c C] [-f] [--tail N] [--since 10s|5m|1h] [-p] [--timestamps]
//   ctl exec [-n NS] POD [-c C] [-i] [-t] -- CMD...   exits with the command's code
//   ctl attach [-n NS] POD [-c C]                    output only (stdin is /dev/null)
//   ctl node [-o json|yaml]
//
// An error prints "berth-agent ctl: <message>" on the error stream and sets
// the exit code to 1. Not thread-safe (one command per process); exec -t
// puts the local terminal in raw mode and forwards SIGWINCH while it runs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "berth/common/error.h"

namespace berth::nodeagent {

// Where ctl reads and writes; borrowed. exec writes the remote output to
// the fds of `out` and `err` (after flushing them).
struct CtlIo {
  FILE* out = stdout;
  FILE* err = stderr;
  int in_fd = STDIN_FILENO;
};

// Adds the `ctl` subcommand tree to `app`; the chosen command runs from its
// callback and stores its exit code in `*exit_code`.
void AddCtlCommands(CLI::App& app, int* exit_code, CtlIo io = {});

// A duration as kubectl's --since takes it ("10s", "5m", "1h30m", "250ms"),
// in whole seconds rounded up; EINVAL naming the text otherwise.
Result<int64_t> ParseSinceSeconds(const std::string& text);

// kubectl's short age: "45s", "5m3s", "3h", "2d4h", ...
std::string HumanAge(int64_t seconds);

}  // namespace berth::nodeagent
