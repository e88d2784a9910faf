// top nodes|pods: the usage the agents report to berth-control (their
// UsageReport every window), shown as kubectl top shows metrics-server's.
#include <cstdio>

#include "commands.h"
#include "top.h"

namespace berth::cli {
namespace {

struct TopFlags {
  std::string name, selector, sort_by;
  bool all_namespaces = false, containers = false, no_headers = false;
};

int TopNodes(const GlobalFlags& g, const TopFlags& f) {
  auto sort = ParseTopSort(f.sort_by);
  if (!sort.ok()) return Fail(sort.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  std::vector<v1::Object> nodes;
  if (!f.name.empty()) {
    auto node = s->client->Get("Node", "", f.name);
    if (!node.ok()) return Fail(node.error());
    nodes.push_back(std::move(*node));
  } else {
    v1::ListRequest list;
    list.set_kind("Node");
    list.set_label_selector(f.selector);
    auto listed = s->client->List(list);
    if (!listed.ok()) return Fail(listed.error());
    nodes.assign(listed->items().begin(), listed->items().end());
  }
  v1::MetricsRequest req;
  req.set_kind("Node");
  req.set_name(f.name);
  req.set_label_selector(f.selector);
  auto metrics = s->client->GetMetrics(req);
  if (!metrics.ok()) return Fail(metrics.error());
  if (metrics->nodes().empty()) return Fail(Error::Msg("metrics not available yet"));
  std::vector<v1::NodeMetrics> m(metrics->nodes().begin(), metrics->nodes().end());
  (void)std::fputs(PrintTopNodes(nodes, m, {.no_headers = f.no_headers, .sort = *sort}).c_str(),
                   stdout);
  return 0;
}

int TopPods(const GlobalFlags& g, const TopFlags& f) {
  auto sort = ParseTopSort(f.sort_by);
  if (!sort.ok()) return Fail(sort.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  v1::MetricsRequest req;
  req.set_kind("Pod");
  req.set_namespace_(s->namespace_);
  req.set_all_namespaces(f.all_namespaces);
  req.set_name(f.name);
  req.set_label_selector(f.selector);
  auto metrics = s->client->GetMetrics(req);
  if (!metrics.ok()) return Fail(metrics.error());
  if (metrics->pods().empty()) {
    // Pods that just started have no window yet; no pods at all is not an
    // error (kubectl's verifyEmptyMetrics).
    v1::ListRequest list;
    list.set_kind("Pod");
    list.set_namespace_(s->namespace_);
    list.set_all_namespaces(f.all_namespaces);
    list.set_label_selector(f.selector);
    list.set_limit(1);
    auto pods = s->client->List(list);
    if (!pods.ok()) return Fail(pods.error());
    if (pods->items_size() > 0) return Fail(Error::Msg("metrics not available yet"));
    if (f.all_namespaces) {
      (void)std::fprintf(stderr, "No resources found\n");
    } else {
      (void)std::fprintf(stderr, "No resources found in %s namespace.\n", s->namespace_.c_str());
    }
    return 0;
  }
  std::vector<v1::PodMetrics> pods(metrics->pods().begin(), metrics->pods().end());
  (void)std::fputs(PrintTopPods(std::move(pods), {.no_headers = f.no_headers,
                                                  .with_namespace = f.all_namespaces,
                                                  .containers = f.containers,
                                                  .sort = *sort})
                       .c_str(),
                   stdout);
  return 0;
}

}  // namespace

void AddTopCommand(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  auto* top = app.add_subcommand("top", "display resource (CPU/memory) usage");
  top->require_subcommand(1);
  auto common = [](CLI::App* cmd, TopFlags* f) {
    cmd->add_option("-l,--selector", f->selector, "label selector (app=web, tier in (a,b))");
    cmd->add_option("--sort-by", f->sort_by, "cpu or memory (largest first)");
    cmd->add_flag("--no-headers", f->no_headers, "omit the header line");
  };
  auto nf = std::make_shared<TopFlags>();
  auto* nodes = top->add_subcommand("nodes", "CPU and memory of nodes")->alias("node")->alias("no");
  nodes->add_option("name", nf->name, "one node");
  common(nodes, nf.get());
  nodes->callback([&g, nf, exit_code] { *exit_code = TopNodes(g, *nf); });

  auto pf = std::make_shared<TopFlags>();
  auto* pods = top->add_subcommand("pods", "CPU and memory of pods")->alias("pod")->alias("po");
  pods->add_option("name", pf->name, "one pod");
  pods->add_flag("-A,--all-namespaces", pf->all_namespaces, "pods of every namespace");
  pods->add_flag("--containers", pf->containers, "one line per container");
  common(pods, pf.get());
  pods->callback([&g, pf, exit_code] { *exit_code = TopPods(g, *pf); });
}

}  // namespace berth::cli
