// berth-runtime: the OCI runtime command line (crun/runc compatible).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "verbs.h"

#include "berth/common/log.h"

namespace cli = berth::runtime::cli;

namespace {

bool g_log_to_file = false;

int Report(berth::Result<int> r) {
  if (r.ok()) return *r;
  std::string msg = r.error().ToString();
  // podman reads errors from the --log file; without one, stderr is enough.
  if (g_log_to_file) berth::log::Error(msg);
  (void)std::fprintf(stderr, "berth-runtime: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-runtime: run OCI bundles in Linux namespaces and cgroup v2", "berth-runtime"};
  app.require_subcommand(1);
  cli::GlobalOptions g;
  std::string log_path, log_format = "text";
  bool debug = false, systemd_cgroup = false;
  app.add_option("--root", g.root, "state directory")->capture_default_str();
  app.add_option("--log", log_path, "log file (default stderr)");
  app.add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", debug, "debug logging");
  app.add_flag("--systemd-cgroup", systemd_cgroup, "use systemd for cgroups (not supported)");
  app.set_version_flag("--version", "berth-runtime version 0.1.0\nspec: 1.0.2");

  cli::CreateFlags create;
  auto add_create_flags = [&](CLI::App* c) {
    c->add_option("id", create.id, "container id")->required();
    c->add_option("-b,--bundle", create.bundle, "bundle directory");
    c->add_option("--console-socket", create.console_socket,
                  "unix socket receiving the pty master");
    c->add_option("--pid-file", create.pid_file, "write the init's pid here");
    c->add_option("--preserve-fds", create.preserve_fds, "pass fds 3..3+N-1 to the container");
    c->add_flag("--no-new-keyring", "accepted for compatibility (no keyring is created)");
    c->add_flag("--no-pivot", "accepted for compatibility (pivot_root is always used)");
  };
  auto* c_create = app.add_subcommand("create", "create a container");
  add_create_flags(c_create);

  cli::RunFlags run;
  auto* c_run = app.add_subcommand("run", "create and start a container, wait for it");
  add_create_flags(c_run);
  c_run->add_flag("-d,--detach", run.detach, "do not wait");
  c_run->add_flag("--keep", run.keep, "keep the container's state after it exits");

  std::string id, signal = "TERM", format = "table";
  bool all = false, force = false, quiet = false;
  auto* c_start = app.add_subcommand("start", "start a created container");
  c_start->add_option("id", id)->required();
  auto* c_state = app.add_subcommand("state", "print a container's state as JSON");
  c_state->add_option("id", id)->required();
  auto* c_kill = app.add_subcommand("kill", "send a signal to a container's init");
  c_kill->add_option("id", id)->required();
  c_kill->add_option("signal", signal, "signal name or number")->capture_default_str();
  c_kill->add_flag("-a,--all", all, "signal every process in the container");
  auto* c_delete = app.add_subcommand("delete", "delete a container");
  c_delete->add_option("id", id)->required();
  c_delete->add_flag("-f,--force", force, "kill a running container first");
  auto* c_list = app.add_subcommand("list", "list containers");
  c_list->add_option("-f,--format", format, "table or json");
  c_list->add_flag("-q,--quiet", quiet, "ids only");
  auto* c_ps = app.add_subcommand("ps", "list a container's processes");
  c_ps->add_option("id", id)->required();
  c_ps->add_option("-f,--format", format, "table or json");
  auto* c_pause = app.add_subcommand("pause", "freeze a container");
  c_pause->add_option("id", id)->required();
  auto* c_resume = app.add_subcommand("resume", "thaw a paused container");
  c_resume->add_option("id", id)->required();
  std::string bundle = ".";
  auto* c_spec = app.add_subcommand("spec", "write a default config.json");
  c_spec->add_option("-b,--bundle", bundle, "bundle directory");

  cli::ExecFlags exec;
  auto* c_exec = app.add_subcommand("exec", "run a process in a running container");
  c_exec->add_option("id", exec.id)->required();
  c_exec->add_option("-p,--process", exec.process_file, "process.json");
  c_exec->add_flag("-t,--tty", exec.tty, "allocate a pty");
  c_exec->add_option("--console-socket", exec.console_socket, "unix socket for the pty master");
  c_exec->add_option("-e,--env", exec.env, "extra environment KEY=value");
  c_exec->add_option("--cwd", exec.cwd, "working directory");
  c_exec->add_option("-u,--user", exec.user, "uid[:gid]");
  c_exec->add_flag("-d,--detach", exec.detach, "do not wait");
  c_exec->add_option("--pid-file", exec.pid_file, "write the process's pid here");
  c_exec->add_option("--preserve-fds", exec.preserve_fds, "pass extra fds");
  // Everything after the id belongs to the command, flags included.
  c_exec->prefix_command();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  berth::log::Options lo;
  lo.level = debug ? berth::log::Level::kDebug : berth::log::Level::kWarn;
  lo.format = log_format == "json" ? berth::log::Format::kJson : berth::log::Format::kText;
  lo.path = log_path;
  g_log_to_file = !log_path.empty();
  if (auto s = berth::log::Init(lo); !s.ok()) {
    (void)std::fprintf(stderr, "berth-runtime: %s\n", s.error().ToString().c_str());
    return 1;
  }
  if (systemd_cgroup) {
    return Report(berth::Error::Sys(ENOTSUP,
                                    "--systemd-cgroup is not supported; "
                                    "give linux.cgroupsPath as a cgroupfs path"));
  }
  if (*c_create) return Report(cli::Create(g, create));
  if (*c_run) {
    run.create = create;
    return Report(cli::Run(g, run));
  }
  if (*c_start) return Report(cli::Start(g, id));
  if (*c_state) return Report(cli::State(g, id));
  if (*c_kill) return Report(cli::Kill(g, id, signal, all));
  if (*c_delete) return Report(cli::Delete(g, id, force));
  if (*c_list) return Report(cli::List(g, format, quiet));
  if (*c_ps) return Report(cli::Ps(g, id, format));
  if (*c_pause) return Report(cli::Pause(g, id));
  if (*c_resume) return Report(cli::Resume(g, id));
  if (*c_exec) {
    exec.args = c_exec->remaining();  // the command, verbatim after the id
    return Report(cli::Exec(g, exec));
  }
  if (*c_spec) return Report(cli::WriteSpec(bundle));
  return 1;
}
