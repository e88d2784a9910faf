// logs: a container's output, as kubectl logs prints it, from the agent of
// the pod's node (agent_link.h), which reads its CRI log files and applies
// --tail, --since, --previous and --timestamps there. With -l, the pods the
// selector picks, one after the other (--tail defaults to 10, as kubectl's
// does), or, with -f, all of them at once up to --max-log-requests;
// --prefix puts "[pod/NAME/CONTAINER] " before every line.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <mutex>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "agent_link.h"
#include "commands.h"
#include "printers.h"

#include "berth/api/grpc_status.h"

namespace berth::cli {
namespace {

// --tail not given: all lines for a pod, 10 per pod with -l.
constexpr int kTailUnset = std::numeric_limits<int>::min();

struct LogFlags {
  std::string pod, container, selector, since, since_time;
  bool follow = false, previous = false, timestamps = false, prefix = false;
  int tail = kTailUnset;
  int max_log_requests = 5;
};

struct Source {
  std::string node, namespace_, pod, container;
};

// One output for every stream: whole lines, each with its prefix.
class Output {
 public:
  explicit Output(bool prefix) : prefix_(prefix) {}
  // Writes `data` of `source`; a partial last line waits in `pending`.
  void Write(const Source& source, const std::string& data, std::string* pending) {
    std::lock_guard lock(mu_);
    if (!prefix_) {
      (void)std::fwrite(data.data(), 1, data.size(), stdout);
      (void)std::fflush(stdout);
      return;
    }
    *pending += data;
    size_t start = 0;
    for (size_t nl; (nl = pending->find('\n', start)) != std::string::npos; start = nl + 1) {
      (void)std::printf("[pod/%s/%s] %.*s\n", source.pod.c_str(), source.container.c_str(),
                        static_cast<int>(nl - start), pending->data() + start);
    }
    pending->erase(0, start);
    (void)std::fflush(stdout);
  }

 private:
  std::mutex mu_;
  const bool prefix_;
};

Status Stream(api::ControlClient& client, const Source& source, const v1::LogsRequest& base,
              Output& out) {
  BERTH_ASSIGN_OR_RETURN(auto stub,
                         ConnectAgent(client, source.node, source.pod, "reading logs of pods"));
  v1::LogsRequest req = base;
  req.set_namespace_(source.namespace_);
  req.set_pod(source.pod);
  req.set_container(source.container);
  grpc::ClientContext ctx;
  auto reader = stub->Logs(&ctx, req);
  v1::LogChunk chunk;
  std::string pending;
  while (reader->Read(&chunk)) out.Write(source, chunk.data(), &pending);
  if (!pending.empty()) out.Write(source, "\n", &pending);
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return api::FromGrpcStatus(status);
  return {};
}

// The container to read: -c, the only one, or (as kubectl 1.28) the first
// with a note on stderr.
Result<Source> SourceOf(const v1::Pod& pod, const std::string& container, bool quiet) {
  Source s{pod.spec().node_name(), pod.metadata().namespace_(), pod.metadata().name(), container};
  if (s.node.empty()) {
    return Error::Msg("pod " + s.pod + " is not scheduled to a node yet");
  }
  std::vector<std::string> names;
  for (const auto* list : {&pod.spec().containers(), &pod.spec().init_containers()}) {
    for (const auto& c : *list) names.push_back(c.name());
  }
  if (!container.empty()) {
    if (std::find(names.begin(), names.end(), container) == names.end()) {
      return Error::Msg("container " + container + " is not valid for pod " + s.pod);
    }
    return s;
  }
  s.container = pod.spec().containers(0).name();
  if (pod.spec().containers_size() > 1 && !quiet) {
    (void)std::fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", s.container.c_str(),
                       Join(names, ", ").c_str());
  }
  return s;
}

Result<v1::LogsRequest> RequestOf(const LogFlags& f) {
  v1::LogsRequest req;
  req.set_follow(f.follow);
  req.set_previous(f.previous);
  req.set_timestamps(f.timestamps);
  int tail = f.tail;
  if (tail == kTailUnset) tail = f.selector.empty() ? -1 : 10;
  if (tail < -1) return Error::Msg("--tail must be greater than or equal to -1");
  if (tail >= 0) req.set_tail_lines(tail);
  if (!f.since.empty() && !f.since_time.empty()) {
    return Error::Msg("at most one of `sinceTime` or `sinceSeconds` may be specified");
  }
  if (!f.since.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto since, ParseDuration(f.since));
    if (since.count() <= 0) return Error::Msg("--since must be greater than 0");
    req.set_since_seconds((since.count() + 999) / 1000);
  }
  if (!f.since_time.empty() &&
      !google::protobuf::util::TimeUtil::FromString(f.since_time, req.mutable_since_time())) {
    return Error::Msg("--since-time: \"" + f.since_time + "\" is not an RFC 3339 time");
  }
  return req;
}

int Logs(const GlobalFlags& g, const LogFlags& f) {
  std::string name = f.pod;
  if (name.rfind("pod/", 0) == 0 || name.rfind("pods/", 0) == 0)
    name = name.substr(name.find('/') + 1);
  if (name.empty() == f.selector.empty()) {
    return Fail(Error::Msg(name.empty() ? "expected 'logs [-f] [-p] (POD | -l SELECTOR) [-c "
                                          "CONTAINER]'.\nPOD or a selector is a required argument "
                                          "for the logs command"
                                        : "only a selector (-l) or a POD name is allowed"));
  }
  auto req = RequestOf(f);
  if (!req.ok()) return Fail(req.error());
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());

  std::vector<Source> sources;
  if (!name.empty()) {
    auto o = s->client->Get("Pod", s->namespace_, name);
    if (!o.ok()) return Fail(o.error());
    auto source = SourceOf(o->pod(), f.container, false);
    if (!source.ok()) return Fail(source.error());
    sources.push_back(*source);
  } else {
    v1::ListRequest list;
    list.set_kind("Pod");
    list.set_namespace_(s->namespace_);
    list.set_label_selector(f.selector);
    auto pods = s->client->List(list);
    if (!pods.ok()) return Fail(pods.error());
    for (const auto& o : pods->items()) {
      auto source = SourceOf(o.pod(), f.container, true);
      if (source.ok()) sources.push_back(*source);
    }
    if (f.follow && static_cast<int>(sources.size()) > f.max_log_requests) {
      return Fail(Error::Msg("you are attempting to follow " + std::to_string(sources.size()) +
                             " log streams, but maximum allowed concurrency is " +
                             std::to_string(f.max_log_requests) +
                             ", use --max-log-requests to increase the limit"));
    }
  }

  Output out(f.prefix);
  if (!f.follow || sources.size() == 1) {
    for (const auto& source : sources) {
      if (auto st = Stream(*s->client, source, *req, out); !st.ok()) return Fail(st.error());
    }
    return 0;
  }
  // Following several: one stream each, lines interleaved as they come.
  std::vector<std::thread> threads;
  std::mutex mu;
  Status first;
  for (const auto& source : sources) {
    threads.emplace_back([&, source] {
      Status st = Stream(*s->client, source, *req, out);
      std::lock_guard lock(mu);
      if (!st.ok() && first.ok()) first = std::move(st);
    });
  }
  for (auto& t : threads) t.join();
  return first.ok() ? 0 : Fail(first.error());
}

}  // namespace

void AddLogsCommand(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  auto* cmd = app.add_subcommand("logs", "print a container's logs");
  auto f = std::make_shared<LogFlags>();
  cmd->add_option("pod", f->pod, "pod name (or pod/NAME)");
  cmd->add_option("-c,--container", f->container, "container (default: the first)");
  cmd->add_option("-l,--selector", f->selector, "the pods this label selector picks");
  cmd->add_flag("-f,--follow", f->follow, "keep printing new lines");
  cmd->add_flag("-p,--previous", f->previous, "the previous instance's log");
  cmd->add_flag("--timestamps", f->timestamps, "prefix each line with its time");
  cmd->add_flag("--prefix", f->prefix, "prefix each line with [pod/NAME/CONTAINER]");
  cmd->add_option("--tail", f->tail, "the last N lines (-1: all; 10 with -l)");
  cmd->add_option("--since", f->since, "only lines newer than this (5s, 2m, 3h)");
  cmd->add_option("--since-time", f->since_time, "only lines at or after this RFC 3339 time");
  cmd->add_option("--max-log-requests", f->max_log_requests,
                  "most streams followed at once with -l (5)");
  cmd->callback([&g, f, exit_code] { *exit_code = Logs(g, *f); });
}

}  // namespace berth::cli
