// berth: Berth's command line, kubectl's verbs over berth-control.
#include <CLI/CLI.hpp>

#include "commands.h"

#include "berth/common/log.h"

int main(int argc, char** argv) {
  using namespace berth::cli;
  CLI::App app{"berth: drive a Berth cluster (kubectl's verbs)", "berth"};
  app.require_subcommand(1);
  // Global flags anywhere on the line, as kubectl takes them (berth get pods -n x).
  app.fallthrough();
  GlobalFlags global;
  app.add_option("--config", global.config, "client configuration (default ~/.berth/config)");
  app.add_option("--context", global.context, "the context to use");
  app.add_option("-n,--namespace", global.namespace_, "the namespace (default: the context's)");
  app.add_option("-s,--server", global.server, "berth-control's address (host:port or unix:path)");
  int exit_code = 0;
  AddObjectCommands(app, global, &exit_code);
  AddWorkloadCommands(app, global, &exit_code);
  AddNodeCommands(app, global, &exit_code);
  AddClusterCommands(app, global, &exit_code);
  AddLogsCommand(app, global, &exit_code);
  AddExecCommand(app, global, &exit_code);
  AddTopCommand(app, global, &exit_code);
  AddUpCommands(app, &exit_code);
  AddCompletionCommand(app, &exit_code);
  berth::log::Options opts;
  opts.level = berth::log::Level::kError;
  IgnoreError(berth::log::Init(opts), "logging falls back to stderr defaults");
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
