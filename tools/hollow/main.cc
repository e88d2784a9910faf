// berth-hollow: N hollow nodes (kubemark-style) joined to a running
// berth-control, for trying scale and node failure without machines:
//   berth-hollow --control 10.0.0.1:6443 --token <id.secret> \
//     --ca-cert /etc/berth/control/ca.crt --nodes 100
#include <csignal>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "hollow_fleet.h"
#include "join.h"

#include "berth/common/log.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  using namespace berth;
  CLI::App app{"berth-hollow: simulated nodes for berth-control", "berth-hollow"};
  std::string control, token, ca_file, pin;
  hollow::HollowOptions options;
  double ready_delay_s = 0.5, lease_s = 10;
  app.add_option("--control", control, "berth-control address host:port (TLS)")->required();
  app.add_option("--token", token, "bootstrap token from berth-control init")->required();
  app.add_option("--ca-cert", ca_file, "the cluster CA certificate")->required();
  app.add_option("--ca-cert-hash", pin, "sha256:<hex> pin of the CA (from the join command)");
  app.add_option("--nodes", options.nodes, "how many nodes")->capture_default_str();
  app.add_option("--prefix", options.prefix, "node name prefix")->capture_default_str();
  app.add_option("--ready-delay", ready_delay_s, "seconds before a pod reports Running")
      ->capture_default_str();
  app.add_option("--lease-seconds", lease_s, "lease renewal period")->capture_default_str();
  app.add_option("--cpu-milli", options.cpu_milli, "allocatable CPU per node")
      ->capture_default_str();
  app.add_option("--memory-bytes", options.memory_bytes, "allocatable memory per node")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.ready_delay = std::chrono::milliseconds(static_cast<int64_t>(ready_delay_s * 1000));
  options.lease_period = std::chrono::milliseconds(static_cast<int64_t>(lease_s * 1000));
  IgnoreError(log::Init({}), "logging falls back to stderr defaults");

  std::ifstream in(ca_file);
  if (!in) {
    std::fprintf(stderr, "error: read %s: %s\n", ca_file.c_str(), std::strerror(errno));
    return 1;
  }
  const std::string ca((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::unique_ptr<api::ControlClient>> clients;
  for (int i = 0; i < options.nodes; ++i) {
    auto creds = nodeagent::JoinCluster({.address = control,
                                         .token = token,
                                         .ca_pem = ca,
                                         .ca_pin = pin,
                                         .node_name = options.prefix + std::to_string(i)});
    if (!creds.ok()) {
      std::fprintf(stderr, "error: %s\n", creds.error().ToString().c_str());
      return 1;
    }
    auto client = api::ControlClient::Connect(control, *creds);
    if (!client.ok()) {
      std::fprintf(stderr, "error: %s\n", client.error().ToString().c_str());
      return 1;
    }
    clients.push_back(std::move(*client));
  }
  hollow::HollowFleet fleet(options, [&](int i) -> api::ControlClient& { return *clients[i]; });
  if (auto st = fleet.Start(); !st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.error().ToString().c_str());
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::printf("%d hollow nodes joined %s; Ctrl-C stops them\n", options.nodes, control.c_str());
  std::fflush(stdout);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fleet.Stop();
  return 0;
}
