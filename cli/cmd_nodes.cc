// cordon, uncordon, drain.
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "commands.h"

#include "berth/api/kinds.h"

namespace berth::cli {
namespace {

Result<bool> SetUnschedulable(Session& s, const std::string& node, bool value) {
  for (int attempt = 0;; ++attempt) {
    BERTH_ASSIGN_OR_RETURN(v1::Object o, s.client->Get("Node", "", node));
    if (o.node().spec().unschedulable() == value) return false;
    o.mutable_node()->mutable_spec()->set_unschedulable(value);
    auto updated = s.client->Update(o);
    if (updated.ok()) return true;
    if (updated.error().err() != ESTALE || attempt == 5) return updated.error();
  }
}

int Cordon(const GlobalFlags& g, const std::vector<std::string>& nodes, bool value) {
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  int rc = 0;
  for (const auto& n : nodes) {
    auto changed = SetUnschedulable(*s, n, value);
    if (!changed.ok()) {
      rc = Fail(changed.error());
      continue;
    }
    std::printf("node/%s %s%s\n", n.c_str(), *changed ? "" : "already ",
                value ? "cordoned" : "uncordoned");
  }
  return rc;
}

struct DrainFlags {
  std::string node;
  bool ignore_daemonsets = false, delete_emptydir = false, force = false;
  int64_t grace = -1;
  int timeout_s = 0;
};

std::string ControllerKind(const v1::Pod& p) {
  for (const auto& ref : p.metadata().owner_references()) {
    if (ref.has_controller() && ref.controller()) return ref.kind();
  }
  return "";
}

int Drain(const GlobalFlags& g, const DrainFlags& f) {
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto changed = SetUnschedulable(*s, f.node, true);
  if (!changed.ok()) return Fail(changed.error());
  std::printf("node/%s %scordoned\n", f.node.c_str(), *changed ? "" : "already ");
  v1::ListRequest req;
  req.set_kind("Pod");
  req.set_all_namespaces(true);
  req.set_field_selector("spec.nodeName=" + f.node);
  auto list = s->client->List(req);
  if (!list.ok()) return Fail(list.error());
  std::vector<v1::Pod> evict;
  std::vector<std::string> daemons, unmanaged, emptydir;
  for (const auto& o : list->items()) {
    const v1::Pod& p = o.pod();
    const std::string name = p.metadata().namespace_() + "/" + p.metadata().name();
    if (p.status().phase() == "Succeeded" || p.status().phase() == "Failed") {
      evict.push_back(p);
      continue;
    }
    const std::string owner = ControllerKind(p);
    if (owner == "DaemonSet") {
      daemons.push_back(name);
      continue;
    }
    if (owner.empty()) unmanaged.push_back(name);
    for (const auto& v : p.spec().volumes()) {
      if (v.has_empty_dir()) {
        emptydir.push_back(name);
        break;
      }
    }
    evict.push_back(p);
  }
  auto list_text = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::vector<std::string> errors;
  if (!daemons.empty() && !f.ignore_daemonsets) {
    errors.push_back("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " +
                     list_text(daemons));
  }
  if (!unmanaged.empty() && !f.force) {
    errors.push_back("cannot delete Pods that declare no controller (use --force to override): " +
                     list_text(unmanaged));
  }
  if (!emptydir.empty() && !f.delete_emptydir) {
    errors.push_back(
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): " +
        list_text(emptydir));
  }
  if (!errors.empty()) {
    (void)std::fprintf(stderr, "error: unable to drain node \"%s\" due to error:", f.node.c_str());
    for (const auto& e : errors) (void)std::fprintf(stderr, " %s;", e.c_str());
    (void)std::fprintf(stderr,
                       " continuing command...\nThere are pending nodes to be drained:\n %s\n",
                       f.node.c_str());
    return 1;
  }
  if (!daemons.empty()) {
    std::printf("Warning: ignoring DaemonSet-managed Pods: %s\n", list_text(daemons).c_str());
  }
  for (const auto& p : evict) {
    std::printf("evicting pod %s/%s\n", p.metadata().namespace_().c_str(),
                p.metadata().name().c_str());
    v1::DeleteRequest del;
    del.mutable_key()->set_kind("Pod");
    del.mutable_key()->set_namespace_(p.metadata().namespace_());
    del.mutable_key()->set_name(p.metadata().name());
    if (f.grace >= 0) del.set_grace_period_seconds(f.grace);
    auto deleted = s->client->Delete(del);
    if (!deleted.ok() && deleted.error().err() != ENOENT) return Fail(deleted.error());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.timeout_s);
  std::set<std::string> waiting;
  for (const auto& p : evict) waiting.insert(p.metadata().namespace_() + "/" + p.metadata().name());
  while (!waiting.empty()) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      const size_t slash = it->find('/');
      auto got = s->client->Get("Pod", it->substr(0, slash), it->substr(slash + 1));
      if (!got.ok() && got.error().err() == ENOENT) {
        std::printf("pod/%s evicted\n", it->substr(slash + 1).c_str());
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
    if (waiting.empty()) break;
    if (f.timeout_s > 0 && std::chrono::steady_clock::now() > deadline) {
      return Fail(Error::Msg("drain did not complete within " + std::to_string(f.timeout_s) + "s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::printf("node/%s drained\n", f.node.c_str());
  return 0;
}

}  // namespace

void AddNodeCommands(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  for (bool value : {true, false}) {
    auto* cmd = app.add_subcommand(value ? "cordon" : "uncordon",
                                   value ? "mark nodes unschedulable" : "mark nodes schedulable");
    auto nodes = std::make_shared<std::vector<std::string>>();
    cmd->add_option("nodes", *nodes, "node names")->required();
    cmd->callback([&g, nodes, value, exit_code] { *exit_code = Cordon(g, *nodes, value); });
  }
  auto* drain = app.add_subcommand("drain", "cordon a node and evict its pods");
  auto f = std::make_shared<DrainFlags>();
  drain->add_option("node", f->node, "node name")->required();
  drain->add_flag("--ignore-daemonsets", f->ignore_daemonsets, "leave DaemonSet pods");
  drain->add_flag("--delete-emptydir-data", f->delete_emptydir, "evict pods with emptyDir volumes");
  drain->add_flag("--force", f->force, "evict pods no controller will replace");
  drain->add_option("--grace-period", f->grace, "seconds each pod gets to stop (-1: its own)");
  drain->add_option("--timeout", f->timeout_s, "seconds to wait (0: forever)");
  drain->callback([&g, f, exit_code] { *exit_code = Drain(g, *f); });
}

}  // namespace berth::cli
