// apply, create, delete, get, describe, events.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "commands.h"
#include "describe.h"
#include "printers.h"
#include "resource_args.h"

#include "berth/api/kinds.h"

namespace berth::cli {
namespace {

using Clock = std::chrono::system_clock;

struct FileFlags {
  std::vector<std::string> files;
  bool recursive = false;
};

void AddFileFlags(CLI::App* cmd, FileFlags* f, const char* what) {
  cmd->add_option("-f,--filename", f->files,
                  std::string("files, directories or - (stdin) ") + what);
  cmd->add_flag("-R,--recursive", f->recursive, "process directories recursively");
}

// "deployment.apps/web"
std::string Name(const v1::Object& o) { return api::ResourceName(o); }

// The namespace an object goes to: its own, else the session's.
std::string NamespaceFor(const api::Manifest& m, const Session& s) {
  const std::string& own = api::MetaOf(m.object).namespace_();
  return own.empty() ? s.namespace_ : own;
}

int Apply(const GlobalFlags& g, const FileFlags& f, bool dry_run) {
  auto manifests = ReadManifests(f.files, f.recursive);
  if (!manifests.ok()) return Fail(manifests.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  int rc = 0;
  for (const auto& m : *manifests) {
    const api::KindInfo* k = api::KindOf(m.object);
    if (s->namespace_given && k->namespaced && !api::MetaOf(m.object).namespace_().empty() &&
        api::MetaOf(m.object).namespace_() != s->namespace_) {
      rc = Fail(Error::Msg(
          "the namespace from the provided object \"" + api::MetaOf(m.object).namespace_() +
          "\" does not match the namespace \"" + s->namespace_ + "\". You must pass '--namespace=" +
          api::MetaOf(m.object).namespace_() + "' to perform this operation."));
      continue;
    }
    auto applied = s->client->Apply(m.json.dump(), NamespaceFor(m, *s), dry_run);
    if (!applied.ok()) {
      rc = Fail(applied.error());
      continue;
    }
    std::printf("%s %s%s\n", Name(applied->object()).c_str(), applied->result().c_str(),
                dry_run ? " (server dry run)" : "");
  }
  return rc;
}

int Create(const GlobalFlags& g, const FileFlags& f, bool dry_run) {
  auto manifests = ReadManifests(f.files, f.recursive);
  if (!manifests.ok()) return Fail(manifests.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  int rc = 0;
  for (auto m : *manifests) {
    if (api::KindOf(m.object)->namespaced && api::MetaOf(m.object).namespace_().empty()) {
      api::MutableMeta(m.object)->set_namespace_(s->namespace_);
    }
    auto created = s->client->Create(m.object, dry_run);
    if (!created.ok()) {
      rc = Fail(created.error());
      continue;
    }
    std::printf("%s created%s\n", Name(*created).c_str(), dry_run ? " (server dry run)" : "");
  }
  return rc;
}

int CreateNamespace(const GlobalFlags& g, const std::string& name) {
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  v1::Object o;
  o.mutable_namespace_()->mutable_metadata()->set_name(name);
  auto created = s->client->Create(o);
  if (!created.ok()) return Fail(created.error());
  std::printf("namespace/%s created\n", name.c_str());
  return 0;
}

struct ListFlags {
  std::string selector, field_selector;
  bool all_namespaces = false;
};

Result<std::vector<v1::Object>> ListKind(Session& s, const api::KindInfo& k, const ListFlags& l) {
  v1::ListRequest req;
  req.set_kind(std::string(k.kind));
  if (k.namespaced) {
    if (l.all_namespaces) {
      req.set_all_namespaces(true);
    } else {
      req.set_namespace_(s.namespace_);
    }
  }
  req.set_label_selector(l.selector);
  req.set_field_selector(l.field_selector);
  std::vector<v1::Object> out;
  do {
    BERTH_ASSIGN_OR_RETURN(v1::ListResponse page, s.client->List(req));
    for (auto& o : *page.mutable_items()) out.push_back(std::move(o));
    req.set_continue_(page.continue_());
  } while (!req.continue_().empty());
  return out;
}

// Objects named by `refs` (all of a kind when the name is empty), grouped
// by kind in the order asked.
Result<std::vector<std::vector<v1::Object>>> Fetch(Session& s, const std::vector<ResourceRef>& refs,
                                                   const ListFlags& l, int* rc) {
  std::vector<std::vector<v1::Object>> groups;
  const api::KindInfo* last = nullptr;
  for (const auto& r : refs) {
    if (r.kind != last) groups.emplace_back();
    last = r.kind;
    if (r.name.empty()) {
      BERTH_ASSIGN_OR_RETURN(auto objects, ListKind(s, *r.kind, l));
      for (auto& o : objects) groups.back().push_back(std::move(o));
      continue;
    }
    auto o =
        s.client->Get(std::string(r.kind->kind), r.kind->namespaced ? s.namespace_ : "", r.name);
    if (!o.ok()) {
      *rc = Fail(o.error());
      continue;
    }
    groups.back().push_back(std::move(*o));
  }
  return groups;
}

nlohmann::json AsList(const std::vector<v1::Object>& objects) {
  nlohmann::json list = {{"apiVersion", "v1"},
                         {"kind", "List"},
                         {"items", nlohmann::json::array()},
                         {"metadata", {{"resourceVersion", ""}}}};
  for (const auto& o : objects) list["items"].push_back(api::ToJson(o));
  return list;
}

struct GetFlags {
  std::vector<std::string> args;
  ListFlags list;
  std::string output;
  bool show_labels = false, watch = false, no_headers = false;
};

PrintOptions Options(const GetFlags& f) {
  PrintOptions o;
  o.wide = f.output == "wide";
  o.show_labels = f.show_labels;
  o.with_namespace = f.list.all_namespaces;
  o.no_headers = f.no_headers;
  o.now = Clock::now();
  return o;
}

int Watch(Session& s, const ResourceRef& ref, const GetFlags& f) {
  v1::WatchRequest req;
  req.set_kind(std::string(ref.kind->kind));
  if (ref.kind->namespaced && !f.list.all_namespaces) req.set_namespace_(s.namespace_);
  req.set_all_namespaces(f.list.all_namespaces);
  req.set_label_selector(f.list.selector);
  if (!ref.name.empty()) req.set_field_selector("metadata.name=" + ref.name);
  auto watch = s.client->Watch(req);
  if (!watch.ok()) return Fail(watch.error());
  bool first = true;
  while (true) {
    auto ev = (*watch)->Next();
    if (!ev.ok()) return Fail(ev.error());
    if (!ev->has_value()) return 0;
    if ((*ev)->type() == "BOOKMARK") continue;
    PrintOptions o = Options(f);
    o.no_headers = o.no_headers || !first;
    first = false;
    if (f.output == "name") {
      std::printf("%s", PrintNames({(*ev)->object()}).c_str());
    } else if (f.output == "json") {
      std::printf("%s\n", api::ToJson((*ev)->object()).dump(4).c_str());
    } else if (f.output == "yaml") {
      std::printf("---\n%s", api::EncodeYaml((*ev)->object()).c_str());
    } else {
      std::printf("%s", PrintTable({(*ev)->object()}, o).c_str());
    }
    (void)std::fflush(stdout);
  }
}

// -o json|yaml|name of everything `get` fetched.
int PrintAll(const std::vector<v1::Object>& all, const std::string& output, bool single, int rc) {
  if (output == "name") {
    std::printf("%s", PrintNames(all).c_str());
    return rc;
  }
  if (all.empty() && rc != 0) return rc;
  const nlohmann::json j = single && all.size() == 1 ? api::ToJson(all.front()) : AsList(all);
  if (output == "json") {
    std::printf("%s\n", j.dump(4).c_str());
  } else {
    std::printf("%s", api::JsonToYaml(j).c_str());
  }
  return rc;
}

int Get(const GlobalFlags& g, const GetFlags& f) {
  if (!f.output.empty() && f.output != "wide" && f.output != "yaml" && f.output != "json" &&
      f.output != "name") {
    return Fail(Error::Msg("unable to match a printer suitable for the output format \"" +
                           f.output + "\", allowed formats are: json,name,wide,yaml"));
  }
  auto refs = ParseResourceArgs(f.args);
  if (!refs.ok()) return Fail(refs.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  if (f.watch) {
    if (refs->size() != 1)
      return Fail(
          Error::Msg("watch is only supported on individual resources and resource collections"));
    return Watch(*s, refs->front(), f);
  }
  int rc = 0;
  auto groups = Fetch(*s, *refs, f.list, &rc);
  if (!groups.ok()) return Fail(groups.error());
  const bool single = refs->size() == 1 && !refs->front().name.empty();
  if (f.output == "json" || f.output == "yaml" || f.output == "name") {
    // One list of every kind asked: the objects move, none is copied.
    std::vector<v1::Object> all;
    for (auto& gr : *groups) std::move(gr.begin(), gr.end(), std::back_inserter(all));
    return PrintAll(all, f.output, single, rc);
  }
  size_t count = 0;
  for (const auto& gr : *groups) count += gr.size();
  if (count == 0) {
    if (rc == 0) {
      if (f.list.all_namespaces || !refs->front().kind->namespaced) {
        (void)std::fprintf(stderr, "No resources found\n");
      } else {
        (void)std::fprintf(stderr, "No resources found in %s namespace.\n", s->namespace_.c_str());
      }
    }
    return rc;
  }
  PrintOptions o = Options(f);
  o.kind_prefix = groups->size() > 1;
  bool first = true;
  for (const auto& gr : *groups) {
    if (gr.empty()) continue;
    if (!first) std::printf("\n");
    first = false;
    std::printf("%s", PrintTable(gr, o).c_str());
  }
  return rc;
}

std::vector<v1::Event> EventsFor(Session& s, const v1::Object& o) {
  std::vector<v1::Event> out;
  const v1::ObjectMeta& m = api::MetaOf(o);
  v1::ListRequest req;
  req.set_kind("Event");
  req.set_namespace_(m.namespace_().empty() ? "default" : m.namespace_());
  auto list = s.client->List(req);
  if (!list.ok()) return out;
  for (const auto& e : list->items()) {
    const v1::ObjectReference& ref = e.event().involved_object();
    if (ref.uid() == m.uid() ||
        (ref.uid().empty() && ref.name() == m.name() && ref.kind() == api::KindOf(o)->kind)) {
      out.push_back(e.event());
    }
  }
  std::sort(out.begin(), out.end(), [](const v1::Event& a, const v1::Event& b) {
    return a.last_timestamp().seconds() < b.last_timestamp().seconds();
  });
  return out;
}

int DescribeCmd(const GlobalFlags& g, const std::vector<std::string>& args, const ListFlags& l) {
  auto refs = ParseResourceArgs(args);
  if (!refs.ok()) return Fail(refs.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  int rc = 0;
  auto groups = Fetch(*s, *refs, l, &rc);
  if (!groups.ok()) return Fail(groups.error());
  bool first = true;
  for (const auto& gr : *groups) {
    for (const auto& o : gr) {
      if (!first) std::printf("\n\n");
      first = false;
      std::printf("%s", Describe(o, EventsFor(*s, o), Clock::now()).c_str());
    }
  }
  return rc;
}

struct DeleteFlags {
  std::vector<std::string> args;
  FileFlags files;
  ListFlags list;
  int64_t grace = -1;
  bool all = false, now = false, ignore_not_found = false, wait = true;
  std::string cascade = "background";
};

int DeleteOne(Session& s, const api::KindInfo& k, const std::string& ns, const std::string& name,
              const DeleteFlags& f) {
  v1::DeleteRequest req;
  req.mutable_key()->set_kind(std::string(k.kind));
  req.mutable_key()->set_namespace_(k.namespaced ? ns : "");
  req.mutable_key()->set_name(name);
  if (f.now) req.set_grace_period_seconds(1);
  if (f.grace >= 0) req.set_grace_period_seconds(f.grace);
  if (f.cascade == "foreground") req.set_propagation_policy("Foreground");
  if (f.cascade == "orphan") req.set_propagation_policy("Orphan");
  auto deleted = s.client->Delete(req);
  if (!deleted.ok()) {
    if (f.ignore_not_found && deleted.error().err() == ENOENT) return 0;
    return Fail(deleted.error());
  }
  std::string kind_name(k.plural);
  if (k.api_version.find('/') != std::string_view::npos) {
    kind_name =
        std::string(k.kind) + "." + std::string(k.api_version.substr(0, k.api_version.find('/')));
    std::transform(kind_name.begin(), kind_name.begin() + static_cast<long>(k.kind.size()),
                   kind_name.begin(), ::tolower);
  } else {
    kind_name = std::string(k.kind);
    std::transform(kind_name.begin(), kind_name.end(), kind_name.begin(), ::tolower);
  }
  std::printf("%s \"%s\" deleted\n", kind_name.c_str(), name.c_str());
  return 0;
}

int Delete(const GlobalFlags& g, const DeleteFlags& f) {
  if (f.cascade != "background" && f.cascade != "foreground" && f.cascade != "orphan") {
    return Fail(Error::Msg("invalid cascade value (" + f.cascade +
                           "). Must be \"background\", \"foreground\", or \"orphan\""));
  }
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  int rc = 0;
  if (!f.files.files.empty()) {
    auto manifests = ReadManifests(f.files.files, f.files.recursive);
    if (!manifests.ok()) return Fail(manifests.error());
    for (const auto& m : *manifests) {
      rc |= DeleteOne(*s, *api::KindOf(m.object), NamespaceFor(m, *s), api::MetaOf(m.object).name(),
                      f);
    }
    return rc;
  }
  auto refs = ParseResourceArgs(f.args);
  if (!refs.ok()) return Fail(refs.error());
  for (const auto& r : *refs) {
    if (!r.name.empty()) {
      rc |= DeleteOne(*s, *r.kind, s->namespace_, r.name, f);
      continue;
    }
    if (!f.all && f.list.selector.empty() && f.list.field_selector.empty()) {
      return Fail(Error::Msg("resource(s) were provided, but no name was specified"));
    }
    auto objects = ListKind(*s, *r.kind, f.list);
    if (!objects.ok()) return Fail(objects.error());
    if (objects->empty()) {
      (void)std::fprintf(stderr, "No resources found\n");
      continue;
    }
    for (const auto& o : *objects) {
      rc |= DeleteOne(*s, *r.kind, api::MetaOf(o).namespace_(), api::MetaOf(o).name(), f);
    }
  }
  return rc;
}

int Events(const GlobalFlags& g, const ListFlags& l, const std::string& for_object) {
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto list = ListKind(*s, *api::FindKind("Event"), l);
  if (!list.ok()) return Fail(list.error());
  std::vector<v1::Object> events;
  for (auto& o : *list) {
    if (!for_object.empty()) {
      const auto& ref = o.event().involved_object();
      std::string kind(ref.kind());
      std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
      if (for_object != kind + "/" + ref.name() && for_object != ref.name()) continue;
    }
    events.push_back(std::move(o));
  }
  if (events.empty()) {
    (void)std::fprintf(stderr, "No events found in %s namespace.\n", s->namespace_.c_str());
    return 0;
  }
  std::sort(events.begin(), events.end(), [](const v1::Object& a, const v1::Object& b) {
    return a.event().last_timestamp().seconds() < b.event().last_timestamp().seconds();
  });
  PrintOptions o;
  o.with_namespace = l.all_namespaces;
  o.now = Clock::now();
  std::printf("%s", PrintTable(events, o).c_str());
  return 0;
}

void AddListFlags(CLI::App* cmd, ListFlags* l) {
  cmd->add_option("-l,--selector", l->selector, "label selector (app=web, tier in (a,b))");
  cmd->add_option("--field-selector", l->field_selector, "field selector (spec.nodeName=n1)");
  cmd->add_flag("-A,--all-namespaces", l->all_namespaces, "every namespace");
}

}  // namespace

void AddObjectCommands(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  {
    auto* cmd = app.add_subcommand("apply", "apply a configuration to objects by file or stdin");
    auto f = std::make_shared<FileFlags>();
    auto dry = std::make_shared<std::string>();
    AddFileFlags(cmd, f.get(), "to apply");
    cmd->add_option("--dry-run", *dry, "server: validate without persisting");
    cmd->callback([&g, f, dry, exit_code] {
      if (f->files.empty()) {
        *exit_code = Fail(Error::Msg("must specify one of -f and -k"));
        return;
      }
      *exit_code = Apply(g, *f, *dry == "server");
    });
  }
  {
    auto* cmd = app.add_subcommand("create", "create objects from files or stdin");
    auto f = std::make_shared<FileFlags>();
    auto dry = std::make_shared<std::string>();
    AddFileFlags(cmd, f.get(), "to create");
    cmd->add_option("--dry-run", *dry, "server: validate without persisting");
    auto* ns = cmd->add_subcommand("namespace", "create a namespace")->alias("ns");
    auto name = std::make_shared<std::string>();
    ns->add_option("name", *name, "namespace name")->required();
    ns->callback([&g, name, exit_code] { *exit_code = CreateNamespace(g, *name); });
    cmd->callback([&g, f, dry, cmd, exit_code] {
      if (!cmd->get_subcommands().empty()) return;
      if (f->files.empty()) {
        *exit_code = Fail(Error::Msg("must specify one of -f and -k"));
        return;
      }
      *exit_code = Create(g, *f, *dry == "server");
    });
  }
  {
    auto* cmd = app.add_subcommand("get", "display one or many objects");
    auto f = std::make_shared<GetFlags>();
    cmd->add_option("args", f->args, "TYPE[,TYPE...] [NAME...] or TYPE/NAME...");
    AddListFlags(cmd, &f->list);
    cmd->add_option("-o,--output", f->output, "wide, yaml, json or name");
    cmd->add_flag("--show-labels", f->show_labels, "a LABELS column");
    cmd->add_flag("-w,--watch", f->watch, "after listing, watch for changes");
    cmd->add_flag("--no-headers", f->no_headers, "no header line");
    cmd->callback([&g, f, exit_code] { *exit_code = Get(g, *f); });
  }
  {
    auto* cmd = app.add_subcommand("describe", "show details of objects with their events");
    auto args = std::make_shared<std::vector<std::string>>();
    auto l = std::make_shared<ListFlags>();
    cmd->add_option("args", *args, "TYPE [NAME...] or TYPE/NAME");
    AddListFlags(cmd, l.get());
    cmd->callback([&g, args, l, exit_code] { *exit_code = DescribeCmd(g, *args, *l); });
  }
  {
    auto* cmd = app.add_subcommand("delete", "delete objects by file, names or selector");
    auto f = std::make_shared<DeleteFlags>();
    cmd->add_option("args", f->args, "TYPE [NAME...] or TYPE/NAME");
    AddFileFlags(cmd, &f->files, "to delete");
    AddListFlags(cmd, &f->list);
    cmd->add_option("--grace-period", f->grace, "seconds to let pods stop (0: at once)");
    cmd->add_flag("--now", f->now, "grace period of 1 second");
    cmd->add_flag("--all", f->all, "every object of the type in the namespace");
    cmd->add_flag("--ignore-not-found", f->ignore_not_found, "no error for a missing object");
    cmd->add_option("--cascade", f->cascade, "background, foreground or orphan");
    cmd->callback([&g, f, exit_code] { *exit_code = Delete(g, *f); });
  }
  {
    auto* cmd = app.add_subcommand("events", "list events");
    auto l = std::make_shared<ListFlags>();
    auto for_object = std::make_shared<std::string>();
    AddListFlags(cmd, l.get());
    cmd->add_option("--for", *for_object, "only events of this object (pod/web-1)");
    cmd->callback([&g, l, for_object, exit_code] { *exit_code = Events(g, *l, *for_object); });
  }
}

}  // namespace berth::cli
