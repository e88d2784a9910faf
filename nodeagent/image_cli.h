// `berth-agent image ...`: the node's image store from the command line
// (pull, import, export, ls, inspect, rm, prune, bundle, unbundle), operating
// on the store directory directly. Output is for people by default, JSON with
// -o json. Not thread-safe (one command per process).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "berth/common/error.h"

namespace berth::nodeagent {

struct ImageCliOptions {
  std::string root = "/var/lib/berth/images";
  std::string output = "text";  // text or json
  // pull
  std::string reference;
  std::string platform;
  std::vector<std::string> insecure_registries;
  std::string registries_config = "/etc/berth/registries.json";
  std::string authfile;
  int parallel = 4;         // pull: layers downloaded at once
  int unpack_parallel = 0;  // unpack: layers unpacked at once, 0 = one per CPU
  bool unpack = false;
  bool quiet = false;
  // import / export / rm / bundle
  std::string path;
  std::string name;
  std::vector<std::string> references;
  std::string id;
  std::vector<std::string> command;  // bundle: replaces Entrypoint + Cmd
  std::string cgroups_path;          // bundle: linux.cgroupsPath
};

// Adds the `image` subcommand tree to `app`; the chosen command runs from
// the callback and stores its exit code in `*exit_code`.
void AddImageCommands(CLI::App& app, ImageCliOptions& options, int* exit_code);

// Human-readable sizes as docker prints them: "1.2 MB", "512 B".
std::string HumanBytes(int64_t bytes);

}  // namespace berth::nodeagent
