// berth-agent: the node agent. `run` serves pods, `ctl ...` talks to a
// running agent over its socket, `image ...` manages the image store.
#include <CLI/CLI.hpp>

#include "agent_cli.h"
#include "ctl_commands.h"
#include "image_cli.h"

#include "berth/common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"berth-agent: the Berth node agent", "berth-agent"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  app.set_version_flag("--version", "berth-agent version 0.1.0");
  int exit_code = 0;
  berth::nodeagent::ImageCliOptions image;
  berth::nodeagent::AddImageCommands(app, image, &exit_code);
  berth::nodeagent::AddRunCommand(app, &exit_code);
  berth::nodeagent::AddJoinCommand(app, &exit_code);
  berth::nodeagent::AddCtlCommands(app, &exit_code);
  app.parse_complete_callback([&] {
    auto level = berth::log::ParseLevel(log_level);
    berth::log::Options opts;
    if (level.ok()) opts.level = *level;
    if (berth::log::StderrIsJournal()) opts.format = berth::log::Format::kJournal;
    IgnoreError(berth::log::Init(opts), "logging falls back to stderr defaults");
  });
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
