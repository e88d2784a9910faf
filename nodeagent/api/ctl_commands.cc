// The `ctl` commands: options, the kubectl-like printers (table, describe,
// JSON, YAML) and the local terminal handling of exec.
#include "ctl_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "agent_client.h"

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {
namespace {

using Json = nlohmann::ordered_json;

struct CtlOptions {
  std::string socket = AgentClient::kDefaultSocket;
  std::string ns;
  std::string output;
  std::string name;  // pod: NAME or NS/NAME; logs, exec, attach: the pod
  std::string container;
  bool follow = false, previous = false, timestamps = false;
  int64_t tail = -1;
  std::string since;
  bool interactive = false, tty = false;
  std::vector<std::string> command;
};

// ---- printing ----

void Print(FILE* f, const std::string& s) { (void)std::fwrite(s.data(), 1, s.size(), f); }

int64_t NowSeconds() { return static_cast<int64_t>(::time(nullptr)); }

// "2026-11-23T06:00:00Z"
std::string FormatTime(const google::protobuf::Timestamp& ts) {
  const time_t secs = static_cast<time_t>(ts.seconds());
  struct tm tm {};
  (void)gmtime_r(&secs, &tm);
  char buf[32];
  (void)std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Ago(const google::protobuf::Timestamp& ts) {
  return HumanAge(NowSeconds() - ts.seconds()) + " ago";
}

// 1.5Gi, 512Mi, as Kubernetes prints memory.
std::string BinaryBytes(int64_t bytes) {
  static const char* const kUnits[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  (void)std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f%s" : "%.1f%s", v, kUnits[u]);
  return buf;
}

// Proto maps print in no particular order; labels and annotations read
// best sorted, as kubectl prints them.
void SortMapFields(Json& j) {
  if (j.is_array()) {
    for (Json& item : j) SortMapFields(item);
    return;
  }
  if (!j.is_object()) return;
  for (auto& [key, value] : j.items()) {
    if ((key == "labels" || key == "annotations") && value.is_object()) {
      std::map<std::string, Json> sorted;
      for (auto& [k, v] : value.items()) sorted.emplace(k, v);
      value = Json::object();
      for (const auto& [k, v] : sorted) value[k] = v;
    } else {
      SortMapFields(value);
    }
  }
}

// The proto3 JSON mapping (lowerCamelCase, RFC 3339 times), as a tree.
Result<Json> ToJson(const google::protobuf::Message& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions opts;
  auto status = google::protobuf::util::MessageToJsonString(m, &text, opts);
  if (!status.ok())
    return Error::Msg("print " + m.GetTypeName() + " as JSON: " + status.ToString());
  Json j = Json::parse(text);
  SortMapFields(j);
  return j;
}

// Whether YAML (1.1 or 1.2) would read `s`, which starts like a number,
// as something else than a string: a number, a date or a sexagesimal.
bool LooksNumeric(const std::string& s) {
  char* end = nullptr;
  (void)std::strtod(s.c_str(), &end);
  if (end != nullptr && *end == '\0') return true;
  const bool date = s.size() >= 10 && std::isdigit(static_cast<unsigned char>(s[0])) != 0 &&
                    s[4] == '-' && s[7] == '-';
  return date || s.find_first_of(":_") != std::string::npos || s == "-" || s.rfind("- ", 0) == 0 ||
         s == ".inf" || s == ".nan" || s == "-.inf" || s == ".Inf" || s == ".NaN";
}

// A string YAML would read back as the same string without quotes.
bool PlainYamlScalar(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string("?:,[]{}#&*!|>'\"%@`~").find(s.front()) != std::string::npos) return false;
  if (std::string("-.+0123456789").find(s.front()) != std::string::npos && LooksNumeric(s)) {
    return false;
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}) {
    if (lower == word) return false;
  }
  return true;
}

std::string YamlScalar(const Json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    return PlainYamlScalar(s) ? s : j.dump();  // a JSON string is a YAML double-quoted one
  }
  return j.dump();
}

bool NonEmptyContainer(const Json& j) { return j.is_structured() && !j.empty(); }

// Block YAML in kubectl's layout: list items at their key's indent.
void EmitYaml(const Json& j, const std::string& indent, std::string& out) {
  if (j.is_object()) {
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first || out.empty() || out.back() == '\n') out += indent;
      first = false;
      out += key + ":";
      if (value.is_object() && !value.empty()) {
        out += "\n";
        EmitYaml(value, indent + "  ", out);
      } else if (value.is_array() && !value.empty()) {
        out += "\n";
        EmitYaml(value, indent, out);
      } else {
        out += " " +
               (value.is_structured() ? std::string(value.is_object() ? "{}" : "[]")
                                      : YamlScalar(value)) +
               "\n";
      }
    }
  } else if (j.is_array()) {
    for (const Json& item : j) {
      out += indent + "- ";
      if (NonEmptyContainer(item)) {
        // The item's first key follows "- "; the rest line up under it.
        EmitYaml(item, indent + "  ", out);
      } else {
        out += (item.is_structured() ? std::string(item.is_object() ? "{}" : "[]")
                                     : YamlScalar(item)) +
               "\n";
      }
    }
  } else {
    out += indent + YamlScalar(j) + "\n";
  }
}

// -o json or -o yaml; false when `output` is neither.
Result<bool> PrintStructured(FILE* out, const std::string& output,
                             const google::protobuf::Message& m) {
  if (output != "json" && output != "yaml") return false;
  BERTH_ASSIGN_OR_RETURN(Json j, ToJson(m));
  if (output == "json") {
    Print(out, j.dump(2) + "\n");
  } else {
    std::string yaml;
    EmitYaml(j, "", yaml);
    Print(out, yaml);
  }
  return true;
}

// Columns padded to their widest cell plus three spaces, as kubectl does.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// kubectl's STATUS column: the reason of the container that blocks the pod
// (an init container first), else the phase.
std::string PodStatusColumn(const v1::PodStatus& s) {
  std::string reason = s.phase();
  const int inits = s.init_container_statuses_size();
  for (int i = 0; i < inits; ++i) {
    const v1::ContainerState& st = s.init_container_statuses(i).state();
    if (st.has_terminated() && st.terminated().exit_code() == 0) continue;
    if (st.has_terminated()) {
      const auto& t = st.terminated();
      if (!t.reason().empty()) return "Init:" + t.reason();
      return t.signal() != 0 ? "Init:Signal:" + std::to_string(t.signal())
                             : "Init:ExitCode:" + std::to_string(t.exit_code());
    }
    if (st.has_waiting() && !st.waiting().reason().empty() &&
        st.waiting().reason() != "PodInitializing") {
      return "Init:" + st.waiting().reason();
    }
    return "Init:" + std::to_string(i) + "/" + std::to_string(inits);
  }
  bool running = false;
  for (auto it = s.container_statuses().rbegin(); it != s.container_statuses().rend(); ++it) {
    const v1::ContainerState& st = it->state();
    if (st.has_waiting() && !st.waiting().reason().empty()) {
      reason = st.waiting().reason();
    } else if (st.has_terminated()) {
      const auto& t = st.terminated();
      if (!t.reason().empty()) {
        reason = t.reason();
      } else {
        reason = t.signal() != 0 ? "Signal:" + std::to_string(t.signal())
                                 : "ExitCode:" + std::to_string(t.exit_code());
      }
    } else if (st.has_running() && it->ready()) {
      running = true;
    }
  }
  if (reason == "Completed" && running) {
    bool ready = false;
    for (const auto& c : s.conditions()) ready |= c.type() == "Ready" && c.status() == "True";
    reason = ready ? "Running" : "NotReady";
  }
  return reason;
}

// "3", or "3 (5m ago)" after a termination.
std::string RestartsColumn(const v1::PodStatus& s) {
  int restarts = 0;
  int64_t last = 0;
  for (const auto& c : s.container_statuses()) {
    restarts += c.restart_count();
    if (c.last_state().has_terminated()) {
      last = std::max(last, c.last_state().terminated().finished_at().seconds());
    }
  }
  std::string out = std::to_string(restarts);
  if (restarts > 0 && last > 0) out += " (" + HumanAge(NowSeconds() - last) + " ago)";
  return out;
}

std::vector<std::string> PodRow(const v1::Pod& p, bool wide) {
  const v1::PodStatus& s = p.status();
  int ready = 0;
  for (const auto& c : s.container_statuses()) ready += c.ready() ? 1 : 0;
  std::vector<std::string> row = {
      p.metadata().namespace_(),
      p.metadata().name(),
      std::to_string(ready) + "/" + std::to_string(s.container_statuses_size()),
      PodStatusColumn(s),
      RestartsColumn(s),
      s.pod_ip().empty() ? "<none>" : s.pod_ip(),
      s.has_start_time() ? HumanAge(NowSeconds() - s.start_time().seconds()) : "<unknown>"};
  if (wide) {
    row.push_back(s.qos_class().empty() ? "<none>" : s.qos_class());
    row.push_back(p.metadata().uid());
    row.push_back(p.source().empty() ? "<none>" : p.source());
  }
  return row;
}

std::string StateLine(const v1::ContainerState& st) {
  if (st.has_running()) {
    return "Running" + (st.running().has_started_at()
                            ? "\n      Started:    " + FormatTime(st.running().started_at())
                            : std::string());
  }
  if (st.has_terminated()) {
    const auto& t = st.terminated();
    std::string out = "Terminated\n      Reason:     " + t.reason() +
                      "\n      Exit Code:  " + std::to_string(t.exit_code());
    if (t.signal() != 0) out += "\n      Signal:     " + std::to_string(t.signal());
    if (!t.message().empty()) out += "\n      Message:    " + t.message();
    if (t.has_started_at()) out += "\n      Started:    " + FormatTime(t.started_at());
    if (t.has_finished_at()) out += "\n      Finished:   " + FormatTime(t.finished_at());
    return out;
  }
  std::string out = "Waiting";
  if (!st.waiting().reason().empty()) out += "\n      Reason:     " + st.waiting().reason();
  if (!st.waiting().message().empty()) out += "\n      Message:    " + st.waiting().message();
  return out;
}

void DescribeContainers(const char* title,
                        const google::protobuf::RepeatedPtrField<v1::ContainerStatus>& cs,
                        std::string& out) {
  if (cs.empty()) return;
  out += std::string(title) + ":\n";
  for (const v1::ContainerStatus& c : cs) {
    out += "  " + c.name() + ":\n";
    out += "    Image:          " + c.image() + "\n";
    out += "    State:          " + StateLine(c.state()) + "\n";
    if (c.has_last_state()) out += "    Last State:     " + StateLine(c.last_state()) + "\n";
    out += std::string("    Ready:          ") + (c.ready() ? "True" : "False") + "\n";
    out += std::string("    Started:        ") + (c.started() ? "True" : "False") + "\n";
    out += "    Restart Count:  " + std::to_string(c.restart_count()) + "\n";
    if (c.pid() != 0) out += "    PID:            " + std::to_string(c.pid()) + "\n";
    if (!c.cgroup().empty()) out += "    Cgroup:         " + c.cgroup() + "\n";
    if (!c.log_path().empty()) out += "    Log:            " + c.log_path() + "\n";
  }
}

std::string DescribePod(const v1::Pod& p) {
  const v1::PodStatus& s = p.status();
  std::string out;
  auto field = [&out](const char* name, const std::string& value) {
    out += std::string(name) + std::string(14 - std::string(name).size(), ' ') +
           (value.empty() ? "<none>" : value) + "\n";
  };
  field("Name:", p.metadata().name());
  field("Namespace:", p.metadata().namespace_());
  field("UID:", p.metadata().uid());
  field("Source:", p.source());
  std::string labels;
  for (const auto& [k, v] : std::map<std::string, std::string>(p.metadata().labels().begin(),
                                                               p.metadata().labels().end())) {
    if (!labels.empty()) labels += "\n              ";
    labels.append(k).append("=").append(v);
  }
  field("Labels:", labels);
  field("Status:", s.phase());
  if (!s.message().empty()) field("Message:", s.message());
  field("IP:", s.pod_ip());
  std::string ips;
  for (const auto& ip : s.pod_ips()) ips += (ips.empty() ? "" : ", ") + ip.ip();
  field("IPs:", ips);
  field("QoS Class:", s.qos_class());
  field("Start Time:",
        s.has_start_time() ? FormatTime(s.start_time()) + " (" + Ago(s.start_time()) + ")" : "");
  out += "Conditions:\n";
  for (const auto& c : s.conditions()) {
    out += "  " + c.type() + std::string(c.type().size() < 13 ? 13 - c.type().size() : 1, ' ') +
           c.status();
    if (!c.reason().empty()) out += "  " + c.reason();
    if (!c.message().empty()) out += ": " + c.message();
    out += "\n";
  }
  DescribeContainers("Init Containers", s.init_container_statuses(), out);
  DescribeContainers("Containers", s.container_statuses(), out);
  return out;
}

std::string DescribeNode(const v1::Node& n) {
  const v1::NodeStatus& s = n.status();
  auto resources = [](const v1::NodeResources& r) {
    char buf[128];
    (void)std::snprintf(buf, sizeof(buf), "cpu %lldm, memory %s, pods %lld",
                        static_cast<long long>(r.cpu_milli()),
                        BinaryBytes(r.memory_bytes()).c_str(), static_cast<long long>(r.pods()));
    return std::string(buf);
  };
  auto join = [](const google::protobuf::RepeatedPtrField<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : " ") + s;
    return out.empty() ? std::string("<none>") : out;
  };
  std::string out = "Name:          " + n.metadata().name() + "\n";
  out += "Capacity:      " + resources(s.capacity()) + "\n";
  out += "Allocatable:   " + resources(s.allocatable()) + "\n";
  out += "Running pods:  " + std::to_string(s.running_pods()) + "\n";
  out += "Cgroup root:   " + (s.cgroup_root().empty() ? "<none>" : s.cgroup_root()) + "\n";
  out += "Controllers:   enforced: " + join(s.controllers_enforced()) +
         "; missing: " + join(s.controllers_missing()) + "\n";
  out += "Conditions:\n";
  std::vector<std::vector<std::string>> rows = {{"  TYPE", "STATUS", "REASON", "MESSAGE"}};
  for (const auto& c : s.conditions()) {
    rows.push_back({"  " + c.type(), c.status(), c.reason(), c.message()});
  }
  return out + FormatTable(rows);
}

// ---- commands ----

// "NS/NAME" or NAME in -n's namespace ("default" without -n).
std::pair<std::string, std::string> PodRef(const CtlOptions& o) {
  const size_t slash = o.name.find('/');
  if (slash != std::string::npos) return {o.name.substr(0, slash), o.name.substr(slash + 1)};
  return {o.ns.empty() ? "default" : o.ns, o.name};
}

Result<int> Pods(AgentClient& client, const CtlOptions& o, const CtlIo& io) {
  BERTH_ASSIGN_OR_RETURN(v1::ListPodsResponse pods, client.ListPods(o.ns));
  BERTH_ASSIGN_OR_RETURN(bool done, PrintStructured(io.out, o.output, pods));
  if (done) return 0;
  if (pods.items().empty()) {
    Print(io.err, o.ns.empty() ? "No pods found.\n" : "No pods found in " + o.ns + " namespace.\n");
    return 0;
  }
  const bool wide = o.output == "wide";
  std::vector<std::vector<std::string>> rows = {
      {"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "IP", "AGE"}};
  if (wide) rows[0].insert(rows[0].end(), {"QOS", "UID", "SOURCE"});
  for (const v1::Pod& p : pods.items()) rows.push_back(PodRow(p, wide));
  Print(io.out, FormatTable(rows));
  return 0;
}

Result<int> Pod(AgentClient& client, const CtlOptions& o, const CtlIo& io) {
  auto [ns, name] = PodRef(o);
  BERTH_ASSIGN_OR_RETURN(v1::Pod pod, client.GetPod(ns, name));
  BERTH_ASSIGN_OR_RETURN(bool done, PrintStructured(io.out, o.output, pod));
  if (!done) Print(io.out, DescribePod(pod));
  return 0;
}

Result<int> Node(AgentClient& client, const CtlOptions& o, const CtlIo& io) {
  BERTH_ASSIGN_OR_RETURN(v1::Node node, client.GetNode());
  BERTH_ASSIGN_OR_RETURN(bool done, PrintStructured(io.out, o.output, node));
  if (!done) Print(io.out, DescribeNode(node));
  return 0;
}

AgentClient::LogSink WriteTo(FILE* out) {
  return [out](std::string_view data) -> Status {
    if (std::fwrite(data.data(), 1, data.size(), out) != data.size() || std::fflush(out) != 0) {
      return Error::FromErrno("write the log");
    }
    return Ok();
  };
}

Result<int> Logs(AgentClient& client, const CtlOptions& o, const CtlIo& io) {
  auto [ns, name] = PodRef(o);
  v1::LogsRequest req;
  req.set_namespace_(ns);
  req.set_pod(name);
  req.set_container(o.container);
  req.set_follow(o.follow);
  req.set_previous(o.previous);
  req.set_timestamps(o.timestamps);
  if (o.tail >= 0) req.set_tail_lines(o.tail);
  if (!o.since.empty()) {
    BERTH_ASSIGN_OR_RETURN(int64_t secs, ParseSinceSeconds(o.since));
    req.set_since_seconds(secs);
  }
  BERTH_TRY(client.Logs(req, WriteTo(io.out)));
  return 0;
}

Result<int> Attach(AgentClient& client, const CtlOptions& o, const CtlIo& io) {
  auto [ns, name] = PodRef(o);
  v1::AttachRequest req;
  req.set_namespace_(ns);
  req.set_pod(name);
  req.set_container(o.container);
  BERTH_TRY(client.Attach(req, WriteTo(io.out)));
  return 0;
}

Result<int> Exec(AgentClient& client, const CtlOptions& o, const CtlIo& io) {
  auto [ns, name] = PodRef(o);
  if (o.command.empty()) return Error::Invalid("exec: no command given (after --)");
  bool tty = o.tty;
  const bool local_tty = ::isatty(io.in_fd) == 1;
  if (tty && o.interactive && !local_tty) {
    Print(io.err, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
    tty = false;
  }
  v1::ExecStart start;
  start.set_namespace_(ns);
  start.set_pod(name);
  start.set_container(o.container);
  for (const std::string& arg : o.command) start.add_command(arg);
  start.set_tty(tty);
  start.set_stdin(o.interactive);

  ExecIo eio;
  eio.stdin_fd = o.interactive ? io.in_fd : -1;
  eio.stdout_fd = ::fileno(io.out);
  eio.stderr_fd = ::fileno(io.err);
  std::unique_ptr<api::LocalTerminal> terminal;
  if (tty && local_tty) {
    BERTH_ASSIGN_OR_RETURN(terminal, api::LocalTerminal::Open(io.in_fd, o.interactive));
    eio.terminal_fd = io.in_fd;
    eio.resize_fd = terminal->resize_fd();
  }
  (void)std::fflush(io.out);
  (void)std::fflush(io.err);
  return client.Exec(start, eio);
}

using Command = Result<int> (*)(AgentClient&, const CtlOptions&, const CtlIo&);

void Run(Command cmd, const CtlOptions& o, const CtlIo& io, int* exit_code) {
  auto client = AgentClient::Connect(o.socket);
  Result<int> r = client.ok() ? cmd(*client, o, io) : Result<int>(std::move(client).error());
  if (r.ok()) {
    *exit_code = *r;
    return;
  }
  (void)std::fflush(io.out);
  (void)std::fprintf(io.err, "berth-agent ctl: %s\n", r.error().ToString().c_str());
  *exit_code = 1;
}

void AddPodArgs(CLI::App* c, CtlOptions& o) {
  c->add_option("-n,--namespace", o.ns, "namespace (default: default)");
  c->add_option("pod", o.name, "pod: NAME or NAMESPACE/NAME")->required();
  c->add_option("-c,--container", o.container, "container (default: the pod's only one)");
}

}  // namespace

Result<int64_t> ParseSinceSeconds(const std::string& text) {
  const auto bad = [&text](const std::string& why) {
    return Error::Invalid("duration \"" + text + "\": " + why + " (e.g. 10s, 5m, 1h30m)");
  };
  // Longest first where one unit starts another: "ms" before "m" and "s".
  static const std::pair<const char*, double> kUnits[] = {
      {"ns", 1e-9}, {"us", 1e-6}, {"\xC2\xB5s", 1e-6}, {"ms", 1e-3},
      {"s", 1},     {"m", 60},    {"h", 3600}};
  double total = 0;
  size_t i = 0;
  if (text.empty()) return bad("empty");
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) return bad("expected a number at \"" + text.substr(start) + "\"");
    double value = 0;
    try {
      value = std::stod(text.substr(start, i - start));
    } catch (const std::exception&) {
      return bad("bad number \"" + text.substr(start, i - start) + "\"");
    }
    bool matched = false;
    for (const auto& [unit, scale] : kUnits) {
      const size_t len = std::char_traits<char>::length(unit);
      if (text.compare(i, len, unit) != 0) continue;
      total += value * scale;
      i += len;
      matched = true;
      break;
    }
    if (!matched) return bad("missing or unknown unit");
  }
  const auto secs = static_cast<int64_t>(std::ceil(total));
  if (secs <= 0) return bad("must be positive");
  return secs;
}

std::string HumanAge(int64_t s) {
  constexpr int64_t kMin = 60, kHour = 3600, kDay = 86400, kYear = 365 * kDay;
  auto two = [](int64_t a, const char* ua, int64_t b, const char* ub) {
    std::string out = std::to_string(a) + ua;
    if (b != 0) out += std::to_string(b) + ub;
    return out;
  };
  if (s < 0) s = 0;
  if (s < 2 * kMin) return std::to_string(s) + "s";
  if (s < 10 * kMin) return two(s / kMin, "m", s % kMin, "s");
  if (s < 3 * kHour) return std::to_string(s / kMin) + "m";
  if (s < 8 * kHour) return two(s / kHour, "h", s % kHour / kMin, "m");
  if (s < 2 * kDay) return std::to_string(s / kHour) + "h";
  if (s < 8 * kDay) return two(s / kDay, "d", s % kDay / kHour, "h");
  if (s < 2 * kYear) return std::to_string(s / kDay) + "d";
  if (s < 8 * kYear) return two(s / kYear, "y", s % kYear / kDay, "d");
  return std::to_string(s / kYear) + "y";
}

void AddCtlCommands(CLI::App& app, int* exit_code, CtlIo io) {
  auto o = std::make_shared<CtlOptions>();
  CLI::App* ctl = app.add_subcommand("ctl", "talk to the running agent (pods, logs, exec, node)");
  ctl->require_subcommand(1);
  ctl->fallthrough();  // --socket may follow the command too
  ctl->add_option("--socket", o->socket, "the agent's API socket")->capture_default_str();
  auto on = [o, io, exit_code](CLI::App* c, Command cmd) {
    c->callback([o, io, exit_code, cmd] { Run(cmd, *o, io, exit_code); });
  };

  CLI::App* pods = ctl->add_subcommand("pods", "list the node's pods");
  pods->add_option("-n,--namespace", o->ns, "only this namespace (default: all)");
  pods->add_option("-o,--output", o->output, "wide, json or yaml")
      ->check(CLI::IsMember({"wide", "json", "yaml"}));
  on(pods, Pods);

  CLI::App* pod = ctl->add_subcommand("pod", "show one pod's status");
  pod->add_option("-n,--namespace", o->ns, "namespace (default: default)");
  pod->add_option("pod", o->name, "NAME or NAMESPACE/NAME")->required();
  pod->add_option("-o,--output", o->output, "json or yaml")->check(CLI::IsMember({"json", "yaml"}));
  on(pod, Pod);

  CLI::App* logs = ctl->add_subcommand("logs", "print a container's log");
  AddPodArgs(logs, *o);
  logs->add_flag("-f,--follow", o->follow, "stream new lines until the container ends");
  logs->add_option("--tail", o->tail, "the last N lines (-1: all)")->capture_default_str();
  logs->add_option("--since", o->since, "only lines newer than this (10s, 5m, 1h)");
  logs->add_flag("-p,--previous", o->previous, "the log of the previous instance");
  logs->add_flag("--timestamps", o->timestamps, "prefix each line with its time");
  on(logs, Logs);

  CLI::App* exec = ctl->add_subcommand("exec", "run a command in a container");
  AddPodArgs(exec, *o);
  exec->add_flag("-i,--stdin", o->interactive, "pass stdin to the command");
  exec->add_flag("-t,--tty", o->tty, "run the command on a terminal");
  exec->add_option("command", o->command, "the command and its arguments (after --)")->required();
  on(exec, Exec);

  CLI::App* attach = ctl->add_subcommand(
      "attach", "stream a container's output from now (output only: stdin is /dev/null)");
  AddPodArgs(attach, *o);
  on(attach, Attach);

  CLI::App* node = ctl->add_subcommand("node", "show the node's status");
  node->add_option("-o,--output", o->output, "json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}));
  on(node, Node);
}

}  // namespace berth::nodeagent
