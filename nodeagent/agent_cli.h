// `berth-agent run`: the node agent as a service (manifest directory, local
// gRPC API, /metrics /healthz /readyz, systemd notify and watchdog).
#pragma once

#include <CLI/CLI.hpp>

namespace berth::nodeagent {

void AddRunCommand(CLI::App& app, int* exit_code);
// `berth-agent join <address> --token T --ca-cert-hash sha256:...`
void AddJoinCommand(CLI::App& app, int* exit_code);

}  // namespace berth::nodeagent
