// berth-metrics: serves the per-container collector over HTTP until the agent
// serves it itself. GET /metrics (gzip when the scraper accepts it) and
// /healthz. Targets come from --target flags and/or a JSON file re-read on
// every scrape, so the list can change while it runs.
//   berth-metrics [--listen 127.0.0.1:9101] [--targets-file F] [--target /cg[,key=value...]]...
//                 [--netstat-cgroup /sys/fs/cgroup/berth] [--runqueue-latency]
//                 [--bpf-pin-dir /sys/fs/bpf/berth/metrics]
#include <httplib.h>
#include <malloc.h>

#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "collector.h"
#include "ebpf_sources.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"

namespace {

namespace fs = std::filesystem;

berth::Result<berth::metrics::Target> ParseTargetFlag(const std::string& flag) {
  berth::metrics::Target t;
  size_t comma = flag.find(',');
  t.cgroup = flag.substr(0, comma);
  if (t.cgroup.empty() || t.cgroup[0] != '/') {
    return berth::Error::Invalid("--target " + flag + ": start with the cgroup path, e.g. /x/y");
  }
  while (comma != std::string::npos) {
    size_t next = flag.find(',', comma + 1);
    std::string kv = flag.substr(comma + 1, next == std::string::npos ? next : next - comma - 1);
    size_t eq = kv.find('=');
    if (eq == std::string::npos)
      return berth::Error::Invalid("--target " + flag + (": \"" + kv) + "\" is not key=value");
    t.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
    comma = next;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-metrics: per-container metrics with cAdvisor's names"};
  std::string listen = "127.0.0.1:9101", targets_file, cgroup_mount;
  std::vector<std::string> target_flags;
  app.add_option("--listen", listen, "host:port")->capture_default_str();
  app.add_option("--targets-file", targets_file, "JSON targets, re-read each scrape");
  app.add_option("--target", target_flags, "/cgroup/path[,label=value...] (repeatable)");
  app.add_option("--cgroup-mount", cgroup_mount, "cgroup2 mount (default: discovered)");
  std::string netstat_cgroup, bpf_pin_dir = "/sys/fs/bpf/berth/metrics";
  app.add_option("--netstat-cgroup", netstat_cgroup,
                 "attach the eBPF network counters here (a cgroup2 directory; off when empty)");
  app.add_option("--bpf-pin-dir", bpf_pin_dir, "bpffs directory for the counters' pins")
      ->capture_default_str();
  std::string service_lb_pin_dir;
  app.add_option("--service-lb-pin-dir", service_lb_pin_dir,
                 "serve the connection counters of the service LB pinned here");
  bool runqueue_latency = false;
  app.add_flag("--runqueue-latency", runqueue_latency,
               "serve berth_container_runqueue_latency_seconds (scheduler tracepoints)");
  CLI11_PARSE(app, argc, argv);

  std::vector<berth::metrics::Target> fixed;
  for (const auto& f : target_flags) {
    auto t = ParseTargetFlag(f);
    if (!t.ok()) {
      (void)std::fprintf(stderr, "berth-metrics: %s\n", t.error().ToString().c_str());
      return 2;
    }
    fixed.push_back(*t);
  }
  berth::metrics::CollectorOptions options;
  if (cgroup_mount.empty()) {
    auto h = berth::cgroups::Discover();
    if (!h.ok()) {
      (void)std::fprintf(stderr, "berth-metrics: %s\n", h.error().ToString().c_str());
      return 1;
    }
    options.cgroup_mount = h->mount;
  } else {
    options.cgroup_mount = cgroup_mount;
  }
  // The eBPF owners live for the whole run; the sources borrow them.
  std::unique_ptr<berth::ebpf::NetStats> netstat;
  std::unique_ptr<berth::metrics::EbpfNetworkSource> network;
  if (!netstat_cgroup.empty()) {
    auto stats = berth::ebpf::NetStats::Open({netstat_cgroup, fs::path(bpf_pin_dir) / "netstat"});
    if (!stats.ok()) {
      (void)std::fprintf(stderr, "berth-metrics: %s\n", stats.error().ToString().c_str());
      return 1;
    }
    netstat = std::move(*stats);
    network = std::make_unique<berth::metrics::EbpfNetworkSource>(*netstat);
    options.network = network.get();
  }
  std::unique_ptr<berth::ebpf::Runqlat> runqlat;
  std::unique_ptr<berth::metrics::EbpfRunqueueSource> runqueue;
  if (runqueue_latency) {
    auto r = berth::ebpf::Runqlat::Open({fs::path(bpf_pin_dir) / "runqlat"});
    if (!r.ok()) {
      (void)std::fprintf(stderr, "berth-metrics: %s\n", r.error().ToString().c_str());
      return 1;
    }
    runqlat = std::move(*r);
    runqueue = std::make_unique<berth::metrics::EbpfRunqueueSource>(*runqlat);
    options.runqueue = runqueue.get();
  }
  std::unique_ptr<berth::metrics::PinnedServicesSource> services;
  if (!service_lb_pin_dir.empty()) {
    services = std::make_unique<berth::metrics::PinnedServicesSource>(service_lb_pin_dir);
    options.services = services.get();
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    (void)std::fprintf(stderr, "berth-metrics: --listen %s: expected host:port\n", listen.c_str());
    return 2;
  }
  const std::string host = listen.substr(0, colon);
  const int port = std::atoi(listen.c_str() + colon + 1);
  berth::metrics::Collector collector(options);

  // Scrapes are few and sequential: two workers, one malloc arena between
  // them, so a large scrape's memory is reused rather than spread over
  // per-thread arenas (RSS is part of the budget).
  (void)mallopt(M_ARENA_MAX, 1);
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    std::vector<berth::metrics::Target> targets = fixed;
    if (!targets_file.empty()) {
      auto text = berth::ReadFile(targets_file);
      auto parsed =
          text.ok() ? berth::metrics::ParseTargets(*text, targets_file)
                    : berth::Result<std::vector<berth::metrics::Target>>(std::move(text).error());
      if (!parsed.ok()) {
        res.status = 500;
        res.set_content(parsed.error().ToString() + "\n", "text/plain");
        return;
      }
      targets.insert(targets.end(), parsed->begin(), parsed->end());
    }
    auto body = collector.Collect(targets);
    if (!body.ok()) {
      res.status = 500;
      res.set_content(body.error().ToString() + "\n", "text/plain");
      return;
    }
    res.set_content(*body, "text/plain; version=0.0.4; charset=utf-8");
  });
  (void)std::signal(SIGPIPE, SIG_IGN);
  (void)std::fprintf(stderr, "berth-metrics: listening on %s\n", listen.c_str());
  if (!server.listen(host, port)) {
    (void)std::fprintf(stderr, "berth-metrics: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  return 0;
}
