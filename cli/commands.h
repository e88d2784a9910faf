// The `berth` verbs, grouped by what they work on; each Add* registers its
// subcommands on the app. A command's exit status lands in *exit_code (0,
// or 1 with kubectl's error text on stderr).
#pragma once

#include <CLI/CLI.hpp>

#include "session.h"

namespace berth::cli {

// apply, create, delete, get, describe, events
void AddObjectCommands(CLI::App& app, const GlobalFlags& global, int* exit_code);
// scale, rollout, set image, label, annotate
void AddWorkloadCommands(CLI::App& app, const GlobalFlags& global, int* exit_code);
// cordon, uncordon, drain
void AddNodeCommands(CLI::App& app, const GlobalFlags& global, int* exit_code);
// version, cluster-info, config
void AddClusterCommands(CLI::App& app, const GlobalFlags& global, int* exit_code);
// logs
void AddLogsCommand(CLI::App& app, const GlobalFlags& global, int* exit_code);
// exec
void AddExecCommand(CLI::App& app, const GlobalFlags& global, int* exit_code);
// top nodes|pods
void AddTopCommand(CLI::App& app, const GlobalFlags& global, int* exit_code);
// completion bash|zsh
void AddCompletionCommand(CLI::App& app, int* exit_code);
// up, down
void AddUpCommands(CLI::App& app, int* exit_code);

}  // namespace berth::cli
