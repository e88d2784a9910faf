// scale, rollout (status, history, undo, pause, resume, restart), set image,
// label, annotate: read-modify-write of one object, retried on conflicts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <thread>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "commands.h"
#include "resource_args.h"

#include "berth/api/kinds.h"

namespace berth::cli {
namespace {

constexpr const char* kRevision = "deployment.kubernetes.io/revision";
constexpr const char* kChangeCause = "kubernetes.io/change-cause";
constexpr const char* kRestartedAt = "kubectl.kubernetes.io/restartedAt";
constexpr const char* kTemplateHash = "pod-template-hash";

// `fn` edits the object; returning false means nothing to write (with its
// own message printed). Retries a conflicting write with a fresh read.
Result<bool> Modify(Session& s, const ResourceRef& r,
                    const std::function<Result<bool>(v1::Object&)>& fn) {
  for (int attempt = 0;; ++attempt) {
    BERTH_ASSIGN_OR_RETURN(
        v1::Object o,
        s.client->Get(std::string(r.kind->kind), r.kind->namespaced ? s.namespace_ : "", r.name));
    BERTH_ASSIGN_OR_RETURN(bool changed, fn(o));
    if (!changed) return false;
    auto updated = s.client->Update(o);
    if (updated.ok()) return true;
    if (updated.error().err() != ESTALE || attempt == 5) return updated.error();
  }
}

Result<ResourceRef> One(const std::vector<std::string>& args, const char* verb) {
  BERTH_ASSIGN_OR_RETURN(auto refs, ParseResourceArgs(args));
  if (refs.size() != 1 || refs[0].name.empty()) {
    return Error::Msg(std::string("one resource is required for ") + verb +
                      " (TYPE NAME or TYPE/NAME)");
  }
  return refs[0];
}

v1::PodTemplateSpec* TemplateOf(v1::Object& o) {
  switch (o.object_case()) {
    case v1::Object::kDeployment:
      return o.mutable_deployment()->mutable_spec()->mutable_template_();
    case v1::Object::kDaemonSet:
      return o.mutable_daemon_set()->mutable_spec()->mutable_template_();
    case v1::Object::kReplicaSet:
      return o.mutable_replica_set()->mutable_spec()->mutable_template_();
    case v1::Object::kJob:
      return o.mutable_job()->mutable_spec()->mutable_template_();
    default:
      return nullptr;
  }
}

int Scale(const GlobalFlags& g, const std::vector<std::string>& args, int replicas) {
  if (replicas < 0)
    return Fail(Error::Msg(
        "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"));
  auto r = One(args, "scale");
  if (!r.ok()) return Fail(r.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto done = Modify(*s, *r, [&](v1::Object& o) -> Result<bool> {
    if (o.has_deployment()) {
      o.mutable_deployment()->mutable_spec()->set_replicas(replicas);
    } else if (o.has_replica_set()) {
      o.mutable_replica_set()->mutable_spec()->set_replicas(replicas);
    } else {
      return Error::Msg(std::string(r->kind->plural) + " cannot be scaled");
    }
    return true;
  });
  if (!done.ok()) return Fail(done.error());
  v1::Object shown;
  api::SetKind(shown, *r->kind);
  api::MutableMeta(shown)->set_name(r->name);
  std::printf("%s scaled\n", api::ResourceName(shown).c_str());
  return 0;
}

std::string NameOf(const ResourceRef& r) {
  v1::Object o;
  api::SetKind(o, *r.kind);
  api::MutableMeta(o)->set_name(r.name);
  return api::ResourceName(o);
}

// The Deployment's ReplicaSets (owned by its uid), by revision.
Result<std::map<int64_t, v1::ReplicaSet>> Revisions(Session& s, const v1::Deployment& d) {
  v1::ListRequest req;
  req.set_kind("ReplicaSet");
  req.set_namespace_(d.metadata().namespace_());
  BERTH_ASSIGN_OR_RETURN(v1::ListResponse list, s.client->List(req));
  std::map<int64_t, v1::ReplicaSet> out;
  for (const auto& o : list.items()) {
    const v1::ReplicaSet& rs = o.replica_set();
    bool owned = false;
    for (const auto& ref : rs.metadata().owner_references())
      owned |= ref.uid() == d.metadata().uid();
    if (!owned) continue;
    auto it = rs.metadata().annotations().find(kRevision);
    if (it == rs.metadata().annotations().end()) continue;
    out[std::atoll(it->second.c_str())] = rs;
  }
  return out;
}

// kubectl's rollout status wording; done when the rollout is complete.
Result<std::string> DeploymentProgress(const v1::Deployment& d, bool* done) {
  *done = false;
  const auto& st = d.status();
  const std::string name = d.metadata().name();
  if (d.metadata().generation() <= st.observed_generation()) {
    for (const auto& c : st.conditions()) {
      if (c.type() == "Progressing" && c.reason() == "ProgressDeadlineExceeded") {
        return Error::Msg("deployment \"" + name + "\" exceeded its progress deadline");
      }
    }
    const int32_t want = d.spec().has_replicas() ? d.spec().replicas() : 1;
    char buf[256];
    if (st.updated_replicas() < want) {
      (void)std::snprintf(
          buf, sizeof(buf),
          "Waiting for deployment \"%s\" rollout to finish: %d out of %d new replicas "
          "have been updated...",
          name.c_str(), st.updated_replicas(), want);
      return std::string(buf);
    }
    if (st.replicas() > st.updated_replicas()) {
      (void)std::snprintf(
          buf, sizeof(buf),
          "Waiting for deployment \"%s\" rollout to finish: %d old replicas are pending "
          "termination...",
          name.c_str(), st.replicas() - st.updated_replicas());
      return std::string(buf);
    }
    if (st.available_replicas() < st.updated_replicas()) {
      (void)std::snprintf(
          buf, sizeof(buf),
          "Waiting for deployment \"%s\" rollout to finish: %d of %d updated replicas "
          "are available...",
          name.c_str(), st.available_replicas(), st.updated_replicas());
      return std::string(buf);
    }
    *done = true;
    return "deployment \"" + name + "\" successfully rolled out";
  }
  return std::string("Waiting for deployment spec update to be observed...");
}

Result<std::string> DaemonSetProgress(const v1::DaemonSet& d, bool* done) {
  *done = false;
  const auto& st = d.status();
  const std::string name = d.metadata().name();
  if (d.metadata().generation() > st.observed_generation()) {
    return std::string("Waiting for daemon set spec update to be observed...");
  }
  char buf[256];
  if (st.updated_number_scheduled() < st.desired_number_scheduled()) {
    (void)std::snprintf(
        buf, sizeof(buf),
        "Waiting for daemon set \"%s\" rollout to finish: %d out of %d new pods have "
        "been updated...",
        name.c_str(), st.updated_number_scheduled(), st.desired_number_scheduled());
    return std::string(buf);
  }
  if (st.number_available() < st.desired_number_scheduled()) {
    (void)std::snprintf(
        buf, sizeof(buf),
        "Waiting for daemon set \"%s\" rollout to finish: %d of %d updated pods are "
        "available...",
        name.c_str(), st.number_available(), st.desired_number_scheduled());
    return std::string(buf);
  }
  *done = true;
  return "daemon set \"" + name + "\" successfully rolled out";
}

int RolloutStatus(const GlobalFlags& g, const std::vector<std::string>& args, bool watch,
                  int timeout_s) {
  auto r = One(args, "rollout status");
  if (!r.ok()) return Fail(r.error());
  if (r->kind->kind != "Deployment" && r->kind->kind != "DaemonSet") {
    return Fail(
        Error::Msg("no status viewer has been implemented for " + std::string(r->kind->kind)));
  }
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string last;
  while (true) {
    auto o = s->client->Get(std::string(r->kind->kind), s->namespace_, r->name);
    if (!o.ok()) return Fail(o.error());
    bool done = false;
    auto msg = o->has_deployment() ? DeploymentProgress(o->deployment(), &done)
                                   : DaemonSetProgress(o->daemon_set(), &done);
    if (!msg.ok()) return Fail(msg.error());
    if (*msg != last) {
      std::printf("%s\n", msg->c_str());
      (void)std::fflush(stdout);
      last = *msg;
    }
    if (done || !watch) return 0;
    if (timeout_s > 0 && std::chrono::steady_clock::now() > deadline) {
      return Fail(Error::Msg("timed out waiting for the condition"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int RolloutHistory(const GlobalFlags& g, const std::vector<std::string>& args, int64_t revision) {
  auto r = One(args, "rollout history");
  if (!r.ok()) return Fail(r.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto o = s->client->Get(std::string(r->kind->kind), s->namespace_, r->name);
  if (!o.ok()) return Fail(o.error());
  if (!o->has_deployment())
    return Fail(
        Error::Msg("no history viewer has been implemented for " + std::string(r->kind->kind)));
  auto revs = Revisions(*s, o->deployment());
  if (!revs.ok()) return Fail(revs.error());
  if (revision > 0) {
    auto it = revs->find(revision);
    if (it == revs->end()) return Fail(Error::Msg("unable to find the specified revision"));
    v1::Object t;
    *t.mutable_deployment()->mutable_spec()->mutable_template_() = it->second.spec().template_();
    std::printf("%s with revision #%lld\nPod Template:\n", NameOf(*r).c_str(),
                static_cast<long long>(revision));
    std::printf("%s", api::JsonToYaml(api::ToJson(t)["spec"]["template"]).c_str());
    return 0;
  }
  std::printf("%s \nREVISION  CHANGE-CAUSE\n", NameOf(*r).c_str());
  for (const auto& [rev, rs] : *revs) {
    auto cause = rs.metadata().annotations().find(kChangeCause);
    std::printf("%-9lld %s\n", static_cast<long long>(rev),
                cause == rs.metadata().annotations().end() ? "<none>" : cause->second.c_str());
  }
  std::printf("\n");
  return 0;
}

int RolloutUndo(const GlobalFlags& g, const std::vector<std::string>& args, int64_t to_revision) {
  auto r = One(args, "rollout undo");
  if (!r.ok()) return Fail(r.error());
  if (r->kind->kind != "Deployment")
    return Fail(Error::Msg("no rollbacker has been implemented for " + std::string(r->kind->kind)));
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  std::string skipped;
  auto done = Modify(*s, *r, [&](v1::Object& o) -> Result<bool> {
    v1::Deployment* d = o.mutable_deployment();
    if (d->spec().paused()) {
      return Error::Msg(
          "you cannot rollback a paused deployment; resume it first with 'berth rollout resume' "
          "and try again");
    }
    BERTH_ASSIGN_OR_RETURN(auto revs, Revisions(*s, *d));
    const v1::ReplicaSet* target = nullptr;
    if (to_revision > 0) {
      auto it = revs.find(to_revision);
      if (it == revs.end())
        return Error::Msg("unable to find specified revision " + std::to_string(to_revision) +
                          " in history");
      target = &it->second;
    } else {
      if (revs.size() < 2)
        return Error::Msg("no rollout history found for deployment \"" + r->name + "\"");
      target = &std::prev(revs.end(), 2)->second;  // the one before the current
    }
    v1::PodTemplateSpec tmpl = target->spec().template_();
    tmpl.mutable_metadata()->mutable_labels()->erase(kTemplateHash);
    if (google::protobuf::util::MessageDifferencer::Equals(tmpl, d->spec().template_())) {
      auto rev = target->metadata().annotations().find(kRevision);
      skipped = rev == target->metadata().annotations().end() ? "" : rev->second;
      return false;
    }
    *d->mutable_spec()->mutable_template_() = tmpl;
    return true;
  });
  if (!done.ok()) return Fail(done.error());
  if (!*done) {
    std::printf("%s skipped rollback (current template already matches revision %s)\n",
                NameOf(*r).c_str(), skipped.c_str());
    return 0;
  }
  std::printf("%s rolled back\n", NameOf(*r).c_str());
  return 0;
}

int SetPaused(const GlobalFlags& g, const std::vector<std::string>& args, bool paused) {
  auto r = One(args, paused ? "rollout pause" : "rollout resume");
  if (!r.ok()) return Fail(r.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto done = Modify(*s, *r, [&](v1::Object& o) -> Result<bool> {
    if (!o.has_deployment())
      return Error::Msg(std::string(r->kind->plural) + " cannot be " +
                        (paused ? "paused" : "resumed"));
    if (o.deployment().spec().paused() == paused) {
      return Error::Msg(std::string("deployments.apps \"") + r->name + "\" is " +
                        (paused ? "already paused" : "not paused"));
    }
    o.mutable_deployment()->mutable_spec()->set_paused(paused);
    return true;
  });
  if (!done.ok()) return Fail(done.error());
  std::printf("%s %s\n", NameOf(*r).c_str(), paused ? "paused" : "resumed");
  return 0;
}

int Restart(const GlobalFlags& g, const std::vector<std::string>& args) {
  auto r = One(args, "rollout restart");
  if (!r.ok()) return Fail(r.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  const std::string now = google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          google::protobuf::util::TimeUtil::TimestampToSeconds(
              google::protobuf::util::TimeUtil::GetCurrentTime())));
  auto done = Modify(*s, *r, [&](v1::Object& o) -> Result<bool> {
    if (!o.has_deployment() && !o.has_daemon_set())
      return Error::Msg(std::string(r->kind->plural) + " cannot be restarted");
    (*TemplateOf(o)->mutable_metadata()->mutable_annotations())[kRestartedAt] = now;
    return true;
  });
  if (!done.ok()) return Fail(done.error());
  std::printf("%s restarted\n", NameOf(*r).c_str());
  return 0;
}

int SetImage(const GlobalFlags& g, const std::vector<std::string>& args) {
  std::vector<std::string> refs_args;
  std::map<std::string, std::string> images;  // container (or *) -> image
  for (const auto& a : args) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos) {
      refs_args.push_back(a);
    } else {
      images[a.substr(0, eq)] = a.substr(eq + 1);
    }
  }
  if (images.empty()) return Fail(Error::Msg("at least one image update is required"));
  auto r = One(refs_args, "set image");
  if (!r.ok()) return Fail(r.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto done = Modify(*s, *r, [&](v1::Object& o) -> Result<bool> {
    v1::PodTemplateSpec* t = TemplateOf(o);
    if (t == nullptr) return Error::Msg(std::string(r->kind->plural) + " have no pod template");
    for (const auto& [name, image] : images) {
      bool found = false;
      for (auto* list : {t->mutable_spec()->mutable_init_containers(),
                         t->mutable_spec()->mutable_containers()}) {
        for (auto& c : *list) {
          if (name == "*" || c.name() == name) {
            c.set_image(image);
            found = true;
          }
        }
      }
      if (!found) return Error::Msg("unable to find container named \"" + name + "\"");
    }
    return true;
  });
  if (!done.ok()) return Fail(done.error());
  std::printf("%s image updated\n", NameOf(*r).c_str());
  return 0;
}

// label / annotate: key=value sets, key- removes.
int EditMap(const GlobalFlags& g, const std::vector<std::string>& args, bool overwrite,
            bool labels) {
  std::vector<std::string> refs_args;
  std::map<std::string, std::string> set;
  std::vector<std::string> remove;
  for (const auto& a : args) {
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      set[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (!a.empty() && a.back() == '-' && refs_args.size() >= 1) {
      remove.push_back(a.substr(0, a.size() - 1));
    } else {
      refs_args.push_back(a);
    }
  }
  if (set.empty() && remove.empty()) {
    return Fail(Error::Msg(std::string("at least one ") + (labels ? "label" : "annotation") +
                           " update is required"));
  }
  auto refs = ParseResourceArgs(refs_args);
  if (!refs.ok()) return Fail(refs.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  int rc = 0;
  for (const auto& r : *refs) {
    if (r.name.empty())
      return Fail(Error::Msg("resource(s) were provided, but no name was specified"));
    auto done = Modify(*s, r, [&](v1::Object& o) -> Result<bool> {
      v1::ObjectMeta* m = api::MutableMeta(o);
      auto* map = labels ? m->mutable_labels() : m->mutable_annotations();
      for (const auto& [k, v] : set) {
        auto it = map->find(k);
        if (it != map->end() && it->second != v && !overwrite) {
          return Error::Msg("'" + k + "' already has a value (" + it->second +
                            "), and --overwrite is false");
        }
        (*map)[k] = v;
      }
      for (const auto& k : remove) map->erase(k);
      return true;
    });
    if (!done.ok()) {
      rc = Fail(done.error());
      continue;
    }
    std::printf("%s %s\n", NameOf(r).c_str(), labels ? "labeled" : "annotated");
  }
  return rc;
}

}  // namespace

void AddWorkloadCommands(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  {
    auto* cmd =
        app.add_subcommand("scale", "set the number of replicas of a Deployment or ReplicaSet");
    auto args = std::make_shared<std::vector<std::string>>();
    auto replicas = std::make_shared<int>(-1);
    cmd->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    cmd->add_option("--replicas", *replicas, "the new number of replicas")->required();
    cmd->callback([&g, args, replicas, exit_code] { *exit_code = Scale(g, *args, *replicas); });
  }
  {
    auto* rollout =
        app.add_subcommand("rollout", "manage the rollout of a Deployment or DaemonSet");
    rollout->require_subcommand(1);
    auto args = std::make_shared<std::vector<std::string>>();
    auto* status = rollout->add_subcommand("status", "watch a rollout until it completes");
    auto watch = std::make_shared<bool>(true);
    auto timeout = std::make_shared<int>(0);
    status->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    status->add_option("-w,--watch", *watch, "watch until done (default true)");
    status->add_option("--timeout", *timeout, "seconds to wait (0: forever)");
    status->callback([&g, args, watch, timeout, exit_code] {
      *exit_code = RolloutStatus(g, *args, *watch, *timeout);
    });
    auto* history = rollout->add_subcommand("history", "list a Deployment's revisions");
    auto revision = std::make_shared<int64_t>(0);
    history->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    history->add_option("--revision", *revision, "show this revision's pod template");
    history->callback(
        [&g, args, revision, exit_code] { *exit_code = RolloutHistory(g, *args, *revision); });
    auto* undo = rollout->add_subcommand("undo", "roll back to the previous (or a given) revision");
    auto to = std::make_shared<int64_t>(0);
    undo->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    undo->add_option("--to-revision", *to, "the revision to roll back to (0: previous)");
    undo->callback([&g, args, to, exit_code] { *exit_code = RolloutUndo(g, *args, *to); });
    auto* pause = rollout->add_subcommand("pause", "pause a Deployment's rollout");
    pause->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    pause->callback([&g, args, exit_code] { *exit_code = SetPaused(g, *args, true); });
    auto* resume = rollout->add_subcommand("resume", "resume a paused Deployment");
    resume->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    resume->callback([&g, args, exit_code] { *exit_code = SetPaused(g, *args, false); });
    auto* restart =
        rollout->add_subcommand("restart", "roll every pod of a Deployment or DaemonSet");
    restart->add_option("args", *args, "TYPE NAME or TYPE/NAME")->required();
    restart->callback([&g, args, exit_code] { *exit_code = Restart(g, *args); });
  }
  {
    auto* set = app.add_subcommand("set", "set fields of objects");
    set->require_subcommand(1);
    auto* image =
        set->add_subcommand("image", "set containers' images: TYPE NAME CONTAINER=IMAGE...");
    auto args = std::make_shared<std::vector<std::string>>();
    image->add_option("args", *args, "TYPE NAME CONTAINER=IMAGE ... (* for every container)")
        ->required();
    image->callback([&g, args, exit_code] { *exit_code = SetImage(g, *args); });
  }
  for (bool labels : {true, false}) {
    auto* cmd = app.add_subcommand(
        labels ? "label" : "annotate",
        labels ? "update the labels of objects" : "update the annotations of objects");
    auto args = std::make_shared<std::vector<std::string>>();
    auto overwrite = std::make_shared<bool>(false);
    cmd->add_option("args", *args, "TYPE NAME KEY=VALUE ... KEY- ...")->required();
    cmd->add_flag("--overwrite", *overwrite, "replace existing values");
    cmd->callback([&g, args, overwrite, labels, exit_code] {
      *exit_code = EditMap(g, *args, *overwrite, labels);
    });
  }
}

}  // namespace berth::cli
