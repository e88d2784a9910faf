// exec: a command in a pod's container, as kubectl exec runs it, through
// the agent of the pod's node (agent_link.h). With -t on a terminal, the terminal goes raw and its
// size follows SIGWINCH; berth exits with the command's exit code.
#include <unistd.h>

#include <cstdio>

#include "agent_link.h"
#include "commands.h"

#include "berth/api/exec_client.h"

namespace berth::cli {
namespace {

struct ExecFlags {
  std::string pod, container;
  bool stdin = false, tty = false;
  std::vector<std::string> command;
};

int Exec(const GlobalFlags& g, const ExecFlags& f) {
  if (f.command.empty()) {
    return Fail(Error::Msg("you must specify at least one command for the container"));
  }
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto o = s->client->Get("Pod", s->namespace_, f.pod);
  if (!o.ok()) return Fail(o.error());
  const v1::Pod& pod = o->pod();
  if (pod.spec().node_name().empty()) {
    return Fail(Error::Msg("pod " + f.pod + " is not scheduled to a node yet"));
  }
  if (pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed") {
    return Fail(Error::Msg("cannot exec into a container in a completed pod; current phase is " +
                           pod.status().phase()));
  }
  auto stub = ConnectAgent(*s->client, pod.spec().node_name(), f.pod, "exec into pods");
  if (!stub.ok()) return Fail(stub.error());

  bool tty = f.tty;
  const bool local_tty = ::isatty(STDIN_FILENO) == 1;
  if (tty && f.stdin && !local_tty) {
    std::fprintf(stderr,
                 "Unable to use a TTY - input is not a terminal or the right kind of file\n");
    tty = false;
  }
  v1::ExecStart start;
  start.set_namespace_(pod.metadata().namespace_());
  start.set_pod(pod.metadata().name());
  start.set_container(f.container);
  for (const auto& arg : f.command) start.add_command(arg);
  start.set_tty(tty);
  start.set_stdin(f.stdin);
  api::ExecIo io;
  io.stdin_fd = f.stdin ? STDIN_FILENO : -1;
  std::unique_ptr<api::LocalTerminal> terminal;
  if (tty && local_tty) {
    auto opened = api::LocalTerminal::Open(STDIN_FILENO, f.stdin);
    if (!opened.ok()) return Fail(opened.error());
    terminal = std::move(*opened);
    io.terminal_fd = STDIN_FILENO;
    io.resize_fd = terminal->resize_fd();
  }
  (void)std::fflush(stdout);
  auto code = api::RunExec(**stub, start, io);
  terminal.reset();  // the terminal as it was before any message
  if (!code.ok()) return Fail(code.error());
  if (*code != 0) std::fprintf(stderr, "command terminated with exit code %d\n", *code);
  return *code;
}

}  // namespace

void AddExecCommand(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  auto* cmd = app.add_subcommand("exec", "run a command in a container");
  auto f = std::make_shared<ExecFlags>();
  cmd->add_option("pod", f->pod, "pod name")->required();
  cmd->add_option("-c,--container", f->container, "container (default: the only one)");
  cmd->add_flag("-i,--stdin", f->stdin, "pass stdin to the container");
  cmd->add_flag("-t,--tty", f->tty, "stdin is a TTY");
  cmd->add_option("command", f->command, "the command and its arguments, after --");
  cmd->callback([&g, f, exit_code] { *exit_code = Exec(g, *f); });
}

}  // namespace berth::cli
