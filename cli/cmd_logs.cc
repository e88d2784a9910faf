// logs: a container's output from its CRI log file ("<time> <stream> <P|F>
// <text>"). The file is the one the pod's status names, read where berth
// runs: the nodes of `berth up` share this machine. Logs of a node on
// another machine need the agent's API (not served to the CLI yet): the
// error says so.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <thread>

#include "commands.h"

namespace berth::cli {
namespace {

struct LogFlags {
  std::string pod, container;
  bool follow = false, previous = false, timestamps = false;
  int tail = -1;
};

// The text of one CRI line, partial lines joined by the caller.
bool ParseCri(const std::string& line, std::string* time, std::string* text, bool* full) {
  const size_t a = line.find(' ');
  const size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
  const size_t c = b == std::string::npos ? b : line.find(' ', b + 1);
  if (c == std::string::npos) return false;
  *time = line.substr(0, a);
  *full = line.compare(b + 1, c - b - 1, "F") == 0;
  *text = line.substr(c + 1);
  return true;
}

int Logs(const GlobalFlags& g, const LogFlags& f) {
  auto s = Connect(g);
  if (!s.ok()) return Fail(s.error());
  auto o = s->client->Get("Pod", s->namespace_, f.pod);
  if (!o.ok()) return Fail(o.error());
  const v1::Pod& pod = o->pod();
  const v1::ContainerStatus* cs = nullptr;
  std::string names;
  for (const auto* list :
       {&pod.status().container_statuses(), &pod.status().init_container_statuses()}) {
    for (const auto& c : *list) {
      names += (names.empty() ? "" : " ") + c.name();
      if (c.name() == f.container ||
          (f.container.empty() && list == &pod.status().container_statuses() &&
           pod.status().container_statuses_size() == 1)) {
        cs = &c;
      }
    }
  }
  if (cs == nullptr) {
    if (f.container.empty()) {
      return Fail(Error::Msg("a container name must be specified for pod " + f.pod +
                             ", choose one of: [" + names + "]"));
    }
    return Fail(Error::Msg("container " + f.container + " is not valid for pod " + f.pod));
  }
  std::string path = cs->log_path();
  if (f.previous) {
    // The agent keeps the last instance's log next to the current one.
    // <dir>/<instance>.log: the one before the current instance.
    const size_t slash = path.rfind('/');
    const std::string dir = path.substr(0, slash);
    const int n = slash == std::string::npos ? 0 : std::atoi(path.c_str() + slash + 1);
    if (n == 0) {
      return Fail(Error::Msg("previous terminated container \"" + cs->name() + "\" in pod \"" +
                             f.pod + "\" not found"));
    }
    path = dir + "/" + std::to_string(n - 1) + ".log";
  }
  if (path.empty() || ::access(path.c_str(), R_OK) != 0) {
    return Fail(Error::Msg("the log of " + f.pod + "/" + cs->name() + " is on node " +
                           pod.spec().node_name() + " (" + (path.empty() ? "no file yet" : path) +
                           "); reading another machine's logs needs the agent's API, which "
                           "berth does not use yet"));
  }
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line, pending;
  auto emit = [&](const std::string& l, bool to_queue) {
    std::string time, text;
    bool full = true;
    if (!ParseCri(l, &time, &text, &full)) return;
    pending += text;
    if (!full) return;
    std::string out = (f.timestamps ? time + " " : "") + pending;
    pending.clear();
    if (to_queue) {
      lines.push_back(std::move(out));
      if (f.tail >= 0 && lines.size() > static_cast<size_t>(f.tail)) lines.pop_front();
    } else {
      std::printf("%s\n", out.c_str());
      (void)std::fflush(stdout);
    }
  };
  while (std::getline(in, line)) emit(line, true);
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  (void)std::fflush(stdout);
  if (!f.follow) return 0;
  in.clear();
  while (true) {
    if (std::getline(in, line)) {
      emit(line, false);
      continue;
    }
    in.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

void AddLogsCommand(CLI::App& app, const GlobalFlags& g, int* exit_code) {
  auto* cmd = app.add_subcommand("logs", "print a container's logs");
  auto f = std::make_shared<LogFlags>();
  cmd->add_option("pod", f->pod, "pod name")->required();
  cmd->add_option("-c,--container", f->container, "container (default: the only one)");
  cmd->add_flag("-f,--follow", f->follow, "keep printing new lines");
  cmd->add_flag("-p,--previous", f->previous, "the previous instance's log");
  cmd->add_flag("--timestamps", f->timestamps, "prefix each line with its time");
  cmd->add_option("--tail", f->tail, "the last N lines (-1: all)");
  cmd->callback([&g, f, exit_code] { *exit_code = Logs(g, *f); });
}

}  // namespace berth::cli
