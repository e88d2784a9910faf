// What every pod on a node shares: where things live, the image store, the
// shim binary, limits for logs and restarts. Built once by the agent; read
// concurrently by pod workers (immutable after construction).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "backoff.h"
#include "pod_sandbox.h"
#include "seccomp_cache.h"

#include "berth/runtime/image/store.h"

namespace berth::nodeagent {

struct NodeContext {
  SandboxConfig sandbox;
  const runtime::image::ImageStore* images = nullptr;  // not owned
  // Fetches an image missing from the store (the agent wires the registry
  // client here); empty: images must already be stored.
  std::function<Status(const std::string& image)> pull;
  std::filesystem::path shim_binary;
  // The network namespace pods are reachable from (the node's; empty: the
  // agent's own). HTTP and TCP probes connect from there, as kubelet's do
  // from the host.
  std::filesystem::path node_netns;
  std::filesystem::path log_dir = "/var/log/berth/pods";
  uint64_t log_max_bytes = 10 << 20;
  int log_max_files = 5;
  int64_t node_memory_bytes = 0;
  BackoffPolicy backoff;
  std::chrono::milliseconds shim_start_timeout{std::chrono::seconds(30)};
  SeccompCache* seccomp = nullptr;  // not owned; null: each shim compiles its filter
};

}  // namespace berth::nodeagent
