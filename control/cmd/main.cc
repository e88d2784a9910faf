// berth-control: the control service. `serve` runs the store, the API
// (berth.v1.Control over gRPC), the scheduler and the controllers;
// `keygen` writes the key Secrets are sealed with.
#include <atomic>
#include <csignal>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <systemd/sd-daemon.h>

#include "berth/common/log.h"
#include "berth/control/control_service.h"
#include "berth/control/controllers/event_recorder.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/controllers/replicaset.h"
#include "berth/control/informer.h"
#include "berth/control/registry.h"
#include "berth/control/scheduling/scheduler_service.h"
#include "berth/control/secret_box.h"
#include "berth/control/store.h"

namespace berth::control {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct ServeFlags {
  std::string data_dir = "/var/lib/berth/control";
  std::string listen = "unix:/run/berth/control.sock";
  std::string encryption_key = "/etc/berth/control/encryption.key";
  std::string policy = "spread";
  int64_t history = 100000;
};

int Serve(const ServeFlags& f) {
  auto box = SecretBox::FromKeyFile(f.encryption_key);
  if (!box.ok()) {
    log::Error("encryption key (make one with `berth-control keygen`)",
               {{"error", box.error().ToString()}});
    return 1;
  }
  auto store = OpenRocksStore({f.data_dir, f.history});
  if (!store.ok()) {
    log::Error("open store", {{"error", store.error().ToString()}});
    return 1;
  }
  RegistryOptions ro;
  ro.secrets = &*box;
  Registry registry(**store, ro);
  if (auto st = registry.Bootstrap({"default", "berth-system"}); !st.ok()) {
    log::Error("bootstrap namespaces", {{"error", st.error().ToString()}});
    return 1;
  }
  SchedulerOptions so;
  if (f.policy == "pack") {
    so.policy = scheduler::ScorePolicy::kPack;
  } else if (f.policy == "balanced") {
    so.policy = scheduler::ScorePolicy::kBalanced;
  } else if (f.policy != "spread") {
    log::Error("--policy must be spread, pack or balanced", {{"policy", f.policy}});
    return 1;
  }

  // Controllers register their handlers before the informers start.
  Informer pods(registry, "Pod");
  Informer nodes(registry, "Node");
  Informer replicasets(registry, "ReplicaSet");
  AddPodIndexes(pods);
  EventRecorder rs_events(registry, "replicaset-controller");
  EventRecorder sched_events(registry, "default-scheduler");
  ReplicaSetController rs(registry, replicasets, pods, rs_events);
  SchedulerService sched(registry, nodes, pods, sched_events, so);
  for (Informer* i : {&pods, &nodes, &replicasets}) {
    if (auto st = i->Start(); !st.ok()) {
      log::Error("informer", {{"kind", i->kind()}, {"error", st.error().ToString()}});
      return 1;
    }
  }
  if (auto st = rs.Start(); !st.ok()) {
    log::Error("replicaset controller", {{"error", st.error().ToString()}});
    return 1;
  }
  if (auto st = sched.Start(); !st.ok()) {
    log::Error("scheduler", {{"error", st.error().ToString()}});
    return 1;
  }

  ControlService service(registry);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(f.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    log::Error("listen failed", {{"listen", f.listen}});
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  (void)sd_notify(0, "READY=1\nSTATUS=serving");
  log::Info("berth-control ready",
            {{"listen", f.listen}, {"data_dir", f.data_dir}, {"revision", registry.Revision()}});
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  while (!g_stop.load()) {
    ::usleep(watchdog ? static_cast<useconds_t>(watchdog_usec / 2) : 200000);
    if (watchdog) (void)sd_notify(0, "WATCHDOG=1");
  }
  (void)sd_notify(0, "STOPPING=1");
  log::Info("berth-control stopping", {});
  service.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  sched.Stop();
  rs.Stop();
  return 0;
}

}  // namespace
}  // namespace berth::control

int main(int argc, char** argv) {
  using namespace berth;
  CLI::App app{"berth-control: the Berth control service", "berth-control"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  app.set_version_flag("--version", "berth-control version 0.1.0");
  int exit_code = 0;

  control::ServeFlags flags;
  auto* serve = app.add_subcommand("serve", "run the store, API, scheduler and controllers");
  serve->add_option("--data-dir", flags.data_dir, "the store (RocksDB)")->capture_default_str();
  serve->add_option("--listen", flags.listen, "gRPC address (unix:PATH or HOST:PORT)")
      ->capture_default_str();
  serve->add_option("--encryption-key", flags.encryption_key, "key file Secrets are sealed with")
      ->capture_default_str();
  serve->add_option("--policy", flags.policy, "scheduling score: spread, pack or balanced")
      ->capture_default_str();
  serve->add_option("--history", flags.history, "revisions of watch history kept")
      ->capture_default_str();
  serve->callback([&] { exit_code = control::Serve(flags); });

  std::string key_path;
  auto* keygen = app.add_subcommand("keygen", "write a new encryption key file (mode 0600)");
  keygen->add_option("path", key_path, "where to write it")->required();
  keygen->callback([&] {
    auto st = control::SecretBox::GenerateKeyFile(key_path);
    if (!st.ok()) {
      std::fprintf(stderr, "error: %s\n", st.error().ToString().c_str());
      exit_code = 1;
    }
  });

  app.parse_complete_callback([&] {
    auto level = log::ParseLevel(log_level);
    log::Options opts;
    if (level.ok()) opts.level = *level;
    if (log::StderrIsJournal()) opts.format = log::Format::kJournal;
    IgnoreError(log::Init(opts), "logging falls back to stderr defaults");
  });
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
