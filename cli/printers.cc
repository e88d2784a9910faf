#include "printers.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>
#include <utility>

#include "berth/api/kinds.h"

namespace berth::cli {
namespace {

using google::protobuf::Timestamp;
using Row = std::vector<std::string>;
using StringMap = google::protobuf::Map<std::string, std::string>;

std::string Str(int64_t v) { return std::to_string(v); }

Clock::time_point TimeOf(const Timestamp& t) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(t.seconds()) + std::chrono::nanoseconds(t.nanos())));
}

bool Earlier(const Timestamp& a, const Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

// One UTF-8 code point per lead byte: text/tabwriter measures cells in runes.
int RuneCount(std::string_view s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// text/tabwriter.Writer.format and writeLines, over the whole text at once.
// (Go flushes at every line without a tab; such a line ends every column
// block anyway, so the output is the same.)
class TabWriter {
 public:
  TabWriter(int min_width, int padding) : min_width_(min_width), padding_(padding) {}

  std::string Format(std::string_view text) {
    size_t start = 0;
    while (true) {
      const size_t nl = text.find('\n', start);
      const std::string_view line =
          text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
      std::vector<Cell> cells;
      size_t cell_start = 0;
      while (true) {
        const size_t tab = line.find('\t', cell_start);
        const std::string_view cell = line.substr(
            cell_start, tab == std::string_view::npos ? std::string_view::npos : tab - cell_start);
        cells.push_back(Cell{cell, RuneCount(cell)});
        if (tab == std::string_view::npos) break;
        cell_start = tab + 1;
      }
      lines_.push_back(std::move(cells));
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    FormatBlock(0, lines_.size());
    return std::move(out_);
  }

 private:
  struct Cell {
    std::string_view text;
    int width;
  };

  void FormatBlock(size_t line0, size_t line1) {
    const size_t column = widths_.size();
    for (size_t at = line0; at < line1; ++at) {
      if (column + 1 >= lines_[at].size()) continue;
      // A line with a cell in this column starts a block: print the lines
      // before it, then lay out the columns right of this one.
      WriteLines(line0, at);
      line0 = at;
      int width = min_width_;
      for (; at < line1 && column + 1 < lines_[at].size(); ++at) {
        width = std::max(width, lines_[at][column].width + padding_);
      }
      widths_.push_back(width);
      FormatBlock(line0, at);
      widths_.pop_back();
      line0 = at;
    }
    WriteLines(line0, line1);
  }

  void WriteLines(size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      const std::vector<Cell>& line = lines_[i];
      for (size_t j = 0; j < line.size(); ++j) {
        out_ += line[j].text;
        if (j < widths_.size()) out_.append(widths_[j] - line[j].width, ' ');
      }
      if (i + 1 < lines_.size()) out_ += '\n';
    }
  }

  const int min_width_;
  const int padding_;
  std::vector<std::vector<Cell>> lines_;
  std::vector<int> widths_;
  std::string out_;
};

// A cell as cli-runtime's printTable writes it: cut at the first line
// break (marked "..."), terminal escapes made visible.
std::string CellText(std::string_view s) {
  const size_t brk = s.find_first_of("\f\n\r");
  std::string out;
  for (char c : s.substr(0, brk)) {
    if (c == '\x1b') {
      out += "^[";
    } else {
      out += c;
    }
  }
  if (brk != std::string_view::npos) out += "...";
  return out;
}

// --- selectors ---------------------------------------------------------------

struct Requirement {
  std::string key;
  std::string text;
};

std::string ValuesList(const google::protobuf::RepeatedPtrField<std::string>& values) {
  std::vector<std::string> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return "(" + Join(sorted, ",") + ")";
}

// --- per-kind rows ----------------------------------------------------------

struct Column {
  std::string_view name;
  bool wide;  // priority 1: -o wide only
};

struct Printer {
  std::vector<Column> columns;
  int name_column;  // where kind_prefix applies; -1: none
  Row (*row)(const v1::Object&, Clock::time_point);
};

std::string Age(const v1::ObjectMeta& m, Clock::time_point now) {
  return HumanAge(m.creation_timestamp(), m.has_creation_timestamp(), now);
}

void ContainerCells(const v1::PodSpec& spec, Row* row) {
  std::vector<std::string> names, images;
  for (const v1::Container& c : spec.containers()) {
    names.push_back(c.name());
    images.push_back(c.image());
  }
  row->push_back(Join(names, ","));
  row->push_back(Join(images, ","));
}

bool ConditionTrue(const google::protobuf::RepeatedPtrField<v1::PodCondition>& conditions,
                   std::string_view type) {
  for (const v1::PodCondition& c : conditions) {
    if (c.type() == type) return c.status() == "True";
  }
  return false;
}

struct PodSummary {
  std::string reason;
  int ready = 0;
  int total = 0;
  int restarts = 0;
  std::optional<Timestamp> last_restart;
};

void NoteRestart(const v1::ContainerStatus& c, std::optional<Timestamp>* last) {
  if (!c.last_state().has_terminated()) return;
  const v1::ContainerStateTerminated& t = c.last_state().terminated();
  // A zero finishedAt is never after the zero start value (Time.Before).
  if (!t.has_finished_at()) return;
  if (!last->has_value() || Earlier(**last, t.finished_at())) *last = t.finished_at();
}

// printPod's aggregation (kubectl 1.28). Berth's containers have no
// restartPolicy, so no init container is a restartable sidecar.
PodSummary Summarize(const v1::Pod& pod) {
  const v1::PodStatus& status = pod.status();
  PodSummary s;
  s.total = pod.spec().containers_size();
  s.reason = status.reason().empty() ? status.phase() : status.reason();
  for (const v1::PodCondition& c : status.conditions()) {
    if (c.type() == "PodScheduled" && c.reason() == "SchedulingGated") s.reason = "SchedulingGated";
  }
  bool initializing = false;
  for (int i = 0; i < status.init_container_statuses_size(); ++i) {
    const v1::ContainerStatus& c = status.init_container_statuses(i);
    s.restarts += c.restart_count();
    NoteRestart(c, &s.last_restart);
    const v1::ContainerState& st = c.state();
    if (st.has_terminated() && st.terminated().exit_code() == 0) continue;
    if (st.has_terminated()) {
      const v1::ContainerStateTerminated& t = st.terminated();
      if (!t.reason().empty()) {
        s.reason = "Init:" + t.reason();
      } else if (t.signal() != 0) {
        s.reason = "Init:Signal:" + Str(t.signal());
      } else {
        s.reason = "Init:ExitCode:" + Str(t.exit_code());
      }
    } else if (st.has_waiting() && !st.waiting().reason().empty() &&
               st.waiting().reason() != "PodInitializing") {
      s.reason = "Init:" + st.waiting().reason();
    } else {
      s.reason = "Init:" + Str(i) + "/" + Str(pod.spec().init_containers_size());
    }
    initializing = true;
    break;
  }
  if (!initializing || ConditionTrue(status.conditions(), "Initialized")) {
    // Past initialization only the app containers' restarts count.
    s.restarts = 0;
    s.last_restart.reset();
    bool has_running = false;
    for (int i = status.container_statuses_size() - 1; i >= 0; --i) {
      const v1::ContainerStatus& c = status.container_statuses(i);
      s.restarts += c.restart_count();
      NoteRestart(c, &s.last_restart);
      const v1::ContainerState& st = c.state();
      if (st.has_waiting() && !st.waiting().reason().empty()) {
        s.reason = st.waiting().reason();
      } else if (st.has_terminated() && !st.terminated().reason().empty()) {
        s.reason = st.terminated().reason();
      } else if (st.has_terminated()) {
        s.reason = st.terminated().signal() != 0 ? "Signal:" + Str(st.terminated().signal())
                                                 : "ExitCode:" + Str(st.terminated().exit_code());
      } else if (c.ready() && st.has_running()) {
        has_running = true;
        ++s.ready;
      }
    }
    if (s.reason == "Completed" && has_running) {
      s.reason = ConditionTrue(status.conditions(), "Ready") ? "Running" : "NotReady";
    }
  }
  const bool deleting = pod.metadata().has_deletion_timestamp();
  const bool terminal = status.phase() == "Succeeded" || status.phase() == "Failed";
  if (deleting && status.reason() == "NodeLost") {
    s.reason = "Unknown";
  } else if (deleting && !terminal) {
    s.reason = "Terminating";
  }
  return s;
}

Row PodRow(const v1::Object& o, Clock::time_point now) {
  const v1::Pod& pod = o.pod();
  const PodSummary s = Summarize(pod);
  std::string restarts = Str(s.restarts);
  if (s.restarts != 0 && s.last_restart.has_value()) {
    restarts += " (" + HumanAge(*s.last_restart, true, now) + " ago)";
  }
  std::string ip;
  if (pod.status().pod_ips_size() > 0) {
    ip = pod.status().pod_ips(0).ip();
  } else {
    ip = pod.status().pod_ip();
  }
  return {pod.metadata().name(),
          Str(s.ready) + "/" + Str(s.total),
          s.reason,
          restarts,
          Age(pod.metadata(), now),
          OrNone(ip),
          OrNone(pod.spec().node_name()),
          OrNone(pod.status().nominated_node_name()),
          "<none>"};  // Berth pods have no readinessGates
}

Row DeploymentRow(const v1::Object& o, Clock::time_point now) {
  const v1::Deployment& d = o.deployment();
  // Berth defaults replicas to 1 on write, as Kubernetes does.
  const int32_t desired = d.spec().has_replicas() ? d.spec().replicas() : 1;
  Row row = {d.metadata().name(), Str(d.status().ready_replicas()) + "/" + Str(desired),
             Str(d.status().updated_replicas()), Str(d.status().available_replicas()),
             Age(d.metadata(), now)};
  ContainerCells(d.spec().template_().spec(), &row);
  row.push_back(SelectorString(d.spec().selector()));
  return row;
}

Row ReplicaSetRow(const v1::Object& o, Clock::time_point now) {
  const v1::ReplicaSet& rs = o.replica_set();
  const int32_t desired = rs.spec().has_replicas() ? rs.spec().replicas() : 1;
  Row row = {rs.metadata().name(), Str(desired), Str(rs.status().replicas()),
             Str(rs.status().ready_replicas()), Age(rs.metadata(), now)};
  ContainerCells(rs.spec().template_().spec(), &row);
  row.push_back(FormatLabelSelector(rs.spec().selector()));
  return row;
}

Row DaemonSetRow(const v1::Object& o, Clock::time_point now) {
  const v1::DaemonSet& ds = o.daemon_set();
  const v1::DaemonSetStatus& st = ds.status();
  Row row = {ds.metadata().name(),
             Str(st.desired_number_scheduled()),
             Str(st.current_number_scheduled()),
             Str(st.number_ready()),
             Str(st.updated_number_scheduled()),
             Str(st.number_available()),
             FormatLabels(ds.spec().template_().spec().node_selector()),
             Age(ds.metadata(), now)};
  ContainerCells(ds.spec().template_().spec(), &row);
  row.push_back(FormatLabelSelector(ds.spec().selector()));
  return row;
}

Row JobRow(const v1::Object& o, Clock::time_point now) {
  const v1::Job& job = o.job();
  const v1::JobStatus& st = job.status();
  std::string completions;
  if (job.spec().has_completions()) {
    completions = Str(st.succeeded()) + "/" + Str(job.spec().completions());
  } else if (job.spec().has_parallelism() && job.spec().parallelism() > 1) {
    completions = Str(st.succeeded()) + "/1 of " + Str(job.spec().parallelism());
  } else {
    completions = Str(st.succeeded()) + "/1";
  }
  std::string duration;
  if (st.has_start_time() && !st.has_completion_time()) {
    duration = HumanAge(st.start_time(), true, now);
  } else if (st.has_start_time()) {
    duration = HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(
        TimeOf(st.completion_time()) - TimeOf(st.start_time())));
  }
  Row row = {job.metadata().name(), completions, duration, Age(job.metadata(), now)};
  ContainerCells(job.spec().template_().spec(), &row);
  row.push_back(FormatLabelSelector(job.spec().selector()));
  return row;
}

std::string ServiceType(const v1::ServiceSpec& spec) {
  return spec.type().empty() ? "ClusterIP" : spec.type();
}

std::string Protocol(const std::string& p) { return p.empty() ? "TCP" : p; }

Row ServiceRow(const v1::Object& o, Clock::time_point now) {
  const v1::Service& svc = o.service();
  const v1::ServiceSpec& spec = svc.spec();
  std::string cluster_ip = "<none>";
  if (spec.cluster_ips_size() > 0) {
    cluster_ip = spec.cluster_ips(0);
  } else if (!spec.cluster_ip().empty()) {
    cluster_ip = spec.cluster_ip();
  }
  const std::string type = ServiceType(spec);
  std::string external = "<unknown>";
  if (type == "ClusterIP" || type == "NodePort") {
    external = "<none>";  // Berth services have no externalIPs
  } else if (type == "LoadBalancer") {
    external = "<pending>";
  } else if (type == "ExternalName") {
    external = spec.external_name();
  }
  std::vector<std::string> ports;
  for (const v1::ServicePort& p : spec.ports()) {
    std::string piece = Str(p.port());
    if (p.node_port() > 0) piece += ":" + Str(p.node_port());
    ports.push_back(piece + "/" + Protocol(p.protocol()));
  }
  return {svc.metadata().name(),
          type,
          cluster_ip,
          external,
          OrNone(Join(ports, ",")),
          Age(svc.metadata(), now),
          FormatLabels(spec.selector())};
}

Row EndpointsRow(const v1::Object& o, Clock::time_point now) {
  const v1::Endpoints& ep = o.endpoints();
  return {ep.metadata().name(), FormatEndpoints(ep), Age(ep.metadata(), now)};
}

std::string NodeRoles(const v1::Node& node) {
  std::set<std::string> roles;
  constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
  for (const auto& [key, value] : node.metadata().labels()) {
    if (key.size() > kRolePrefix.size() && key.compare(0, kRolePrefix.size(), kRolePrefix) == 0) {
      roles.insert(key.substr(kRolePrefix.size()));
    } else if (key == "kubernetes.io/role" && !value.empty()) {
      roles.insert(value);
    }
  }
  return Join(std::vector<std::string>(roles.begin(), roles.end()), ",");
}

std::string NodeAddress(const v1::Node& node, std::string_view type) {
  for (const v1::NodeAddress& a : node.status().addresses()) {
    if (a.type() == type) return a.address();
  }
  return "<none>";
}

Row NodeRow(const v1::Object& o, Clock::time_point now) {
  const v1::Node& node = o.node();
  std::string status;
  for (const v1::NodeCondition& c : node.status().conditions()) {
    if (c.type() == "Ready") status = c.status() == "True" ? "Ready" : "NotReady";
  }
  if (status.empty()) status = "Unknown";
  if (node.spec().unschedulable()) status += ",SchedulingDisabled";
  return {node.metadata().name(), status, OrNone(NodeRoles(node)), Age(node.metadata(), now),
          std::string(kNodeVersion), NodeAddress(node, "InternalIP"),
          NodeAddress(node, "ExternalIP"),
          // Berth's Node has no nodeInfo: OS image, kernel and runtime unknown.
          "<unknown>", "<unknown>", "<unknown>"};
}

Row NamespaceRow(const v1::Object& o, Clock::time_point now) {
  const v1::Namespace& ns = o.namespace_();
  return {ns.metadata().name(), ns.status().phase(), Age(ns.metadata(), now)};
}

Row ConfigMapRow(const v1::Object& o, Clock::time_point now) {
  const v1::ConfigMap& cm = o.config_map();
  return {cm.metadata().name(), Str(cm.data_size() + cm.binary_data_size()),
          Age(cm.metadata(), now)};
}

// A Secret's keys: stringData is merged into data on write; an object not
// yet written counts both.
size_t SecretKeys(const v1::Secret& secret) {
  size_t n = secret.data_size();
  for (const auto& [key, value] : secret.string_data()) n += secret.data().count(key) == 0;
  return n;
}

Row SecretRow(const v1::Object& o, Clock::time_point now) {
  const v1::Secret& secret = o.secret();
  return {secret.metadata().name(), secret.type().empty() ? "Opaque" : secret.type(),
          Str(static_cast<int64_t>(SecretKeys(secret))), Age(secret.metadata(), now)};
}

Row ResourceQuotaRow(const v1::Object& o, Clock::time_point now) {
  const v1::ResourceQuota& q = o.resource_quota();
  std::vector<std::string> names;
  for (const auto& [name, hard] : q.status().hard()) names.push_back(name);
  std::sort(names.begin(), names.end());
  std::vector<std::string> requests, limits;
  for (const std::string& name : names) {
    const auto used = q.status().used().find(name);
    const std::string piece = name + ": " + (used == q.status().used().end() ? "0" : used->second) +
                              "/" + q.status().hard().at(name);
    if (name.rfind("limits.", 0) == 0) {
      limits.push_back(piece);
    } else {
      requests.push_back(piece);
    }
  }
  return {q.metadata().name(), Age(q.metadata(), now), Join(requests, ", "), Join(limits, ", ")};
}

// metav1.Time as the server's Table carries it: RFC 3339 in UTC, seconds.
std::string Rfc3339(const Timestamp& t) {
  const time_t secs = static_cast<time_t>(t.seconds());
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  (void)std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

Row LimitRangeRow(const v1::Object& o, Clock::time_point) {
  const v1::LimitRange& lr = o.limit_range();
  return {lr.metadata().name(), lr.metadata().has_creation_timestamp()
                                    ? Rfc3339(lr.metadata().creation_timestamp())
                                    : std::string()};
}

Row PriorityClassRow(const v1::Object& o, Clock::time_point now) {
  const v1::PriorityClass& pc = o.priority_class();
  return {pc.metadata().name(), Str(pc.value()), pc.global_default() ? "true" : "false",
          Age(pc.metadata(), now)};
}

Row EventRow(const v1::Object& o, Clock::time_point now) {
  const v1::Event& e = o.event();
  // Berth events have no eventTime/series: first and last timestamps only.
  const std::string first = HumanAge(e.first_timestamp(), e.has_first_timestamp(), now);
  const std::string last = e.has_last_timestamp() ? HumanAge(e.last_timestamp(), true, now) : first;
  const v1::ObjectReference& ref = e.involved_object();
  std::string target;
  for (char c : ref.kind())
    target += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!ref.name().empty()) target += "/" + ref.name();
  const std::string& component =
      e.source().component().empty() ? e.reporting_component() : e.source().component();
  const std::string source =
      e.source().host().empty() ? component : component + ", " + e.source().host();
  std::string message = e.message();
  const size_t begin = message.find_first_not_of(" \t\n\r\f\v");
  const size_t end = message.find_last_not_of(" \t\n\r\f\v");
  message = begin == std::string::npos ? "" : message.substr(begin, end - begin + 1);
  return {last,
          e.type(),
          e.reason(),
          target,
          ref.field_path(),
          source,
          message,
          first,
          Str(e.count() == 0 ? 1 : e.count()),
          e.metadata().name()};
}

Row LeaseRow(const v1::Object& o, Clock::time_point now) {
  const v1::Lease& lease = o.lease();
  return {lease.metadata().name(), lease.spec().holder_identity(), Age(lease.metadata(), now)};
}

Row MetaRow(const v1::Object& o, Clock::time_point now) {
  const v1::ObjectMeta& m = api::MetaOf(o);
  return {m.name(), Age(m, now)};
}

const Printer& PrinterFor(v1::Object::ObjectCase kind) {
  using OC = v1::Object::ObjectCase;
  static const Printer kPod{{{"NAME", false},
                             {"READY", false},
                             {"STATUS", false},
                             {"RESTARTS", false},
                             {"AGE", false},
                             {"IP", true},
                             {"NODE", true},
                             {"NOMINATED NODE", true},
                             {"READINESS GATES", true}},
                            0,
                            PodRow};
  static const Printer kDeployment{{{"NAME", false},
                                    {"READY", false},
                                    {"UP-TO-DATE", false},
                                    {"AVAILABLE", false},
                                    {"AGE", false},
                                    {"CONTAINERS", true},
                                    {"IMAGES", true},
                                    {"SELECTOR", true}},
                                   0,
                                   DeploymentRow};
  static const Printer kReplicaSet{{{"NAME", false},
                                    {"DESIRED", false},
                                    {"CURRENT", false},
                                    {"READY", false},
                                    {"AGE", false},
                                    {"CONTAINERS", true},
                                    {"IMAGES", true},
                                    {"SELECTOR", true}},
                                   0,
                                   ReplicaSetRow};
  static const Printer kDaemonSet{{{"NAME", false},
                                   {"DESIRED", false},
                                   {"CURRENT", false},
                                   {"READY", false},
                                   {"UP-TO-DATE", false},
                                   {"AVAILABLE", false},
                                   {"NODE SELECTOR", false},
                                   {"AGE", false},
                                   {"CONTAINERS", true},
                                   {"IMAGES", true},
                                   {"SELECTOR", true}},
                                  0,
                                  DaemonSetRow};
  static const Printer kJob{{{"NAME", false},
                             {"COMPLETIONS", false},
                             {"DURATION", false},
                             {"AGE", false},
                             {"CONTAINERS", true},
                             {"IMAGES", true},
                             {"SELECTOR", true}},
                            0,
                            JobRow};
  static const Printer kService{{{"NAME", false},
                                 {"TYPE", false},
                                 {"CLUSTER-IP", false},
                                 {"EXTERNAL-IP", false},
                                 {"PORT(S)", false},
                                 {"AGE", false},
                                 {"SELECTOR", true}},
                                0,
                                ServiceRow};
  static const Printer kEndpoints{
      {{"NAME", false}, {"ENDPOINTS", false}, {"AGE", false}}, 0, EndpointsRow};
  static const Printer kNode{{{"NAME", false},
                              {"STATUS", false},
                              {"ROLES", false},
                              {"AGE", false},
                              {"VERSION", false},
                              {"INTERNAL-IP", true},
                              {"EXTERNAL-IP", true},
                              {"OS-IMAGE", true},
                              {"KERNEL-VERSION", true},
                              {"CONTAINER-RUNTIME", true}},
                             0,
                             NodeRow};
  static const Printer kNamespace{
      {{"NAME", false}, {"STATUS", false}, {"AGE", false}}, 0, NamespaceRow};
  static const Printer kConfigMap{
      {{"NAME", false}, {"DATA", false}, {"AGE", false}}, 0, ConfigMapRow};
  static const Printer kSecret{
      {{"NAME", false}, {"TYPE", false}, {"DATA", false}, {"AGE", false}}, 0, SecretRow};
  static const Printer kResourceQuota{
      {{"NAME", false}, {"AGE", false}, {"REQUEST", false}, {"LIMIT", false}}, 0, ResourceQuotaRow};
  static const Printer kLimitRange{{{"NAME", false}, {"CREATED AT", false}}, 0, LimitRangeRow};
  static const Printer kPriorityClass{
      {{"NAME", false}, {"VALUE", false}, {"GLOBAL-DEFAULT", false}, {"AGE", false}},
      0,
      PriorityClassRow};
  static const Printer kEvent{{{"LAST SEEN", false},
                               {"TYPE", false},
                               {"REASON", false},
                               {"OBJECT", false},
                               {"SUBOBJECT", true},
                               {"SOURCE", true},
                               {"MESSAGE", false},
                               {"FIRST SEEN", true},
                               {"COUNT", true},
                               {"NAME", true}},
                              9,
                              EventRow};
  static const Printer kLease{{{"NAME", false}, {"HOLDER", false}, {"AGE", false}}, 0, LeaseRow};
  static const Printer kMeta{{{"NAME", false}, {"AGE", false}}, 0, MetaRow};
  switch (kind) {
    case OC::kPod:
      return kPod;
    case OC::kDeployment:
      return kDeployment;
    case OC::kReplicaSet:
      return kReplicaSet;
    case OC::kDaemonSet:
      return kDaemonSet;
    case OC::kJob:
      return kJob;
    case OC::kService:
      return kService;
    case OC::kEndpoints:
      return kEndpoints;
    case OC::kNode:
      return kNode;
    case OC::kNamespace:
      return kNamespace;
    case OC::kConfigMap:
      return kConfigMap;
    case OC::kSecret:
      return kSecret;
    case OC::kResourceQuota:
      return kResourceQuota;
    case OC::kLimitRange:
      return kLimitRange;
    case OC::kPriorityClass:
      return kPriorityClass;
    case OC::kEvent:
      return kEvent;
    case OC::kLease:
      return kLease;
    default:
      return kMeta;
  }
}

// One kind's table, as cli-runtime's decorateTable and printTable lay it out.
std::string KindTable(const std::vector<const v1::Object*>& objects, const PrintOptions& o) {
  const v1::Object& first = *objects.front();
  const Printer& printer = PrinterFor(first.object_case());
  const api::KindInfo* kind = api::KindOf(first);
  // kubectl get prints no NAMESPACE for cluster-scoped kinds, even with -A.
  const bool with_namespace = o.with_namespace && kind != nullptr && kind->namespaced;
  std::string text;
  auto add_line = [&text](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) text += '\t';
      text += cells[i];
    }
    text += '\n';
  };
  if (!o.no_headers) {
    std::vector<std::string> header;
    if (with_namespace) header.emplace_back("NAMESPACE");
    for (const Column& c : printer.columns) {
      if (o.wide || !c.wide) header.emplace_back(c.name);
    }
    if (o.show_labels) header.emplace_back("LABELS");
    add_line(header);
  }
  for (const v1::Object* object : objects) {
    const v1::ObjectMeta& meta = api::MetaOf(*object);
    Row row = printer.row(*object, o.now);
    if (o.kind_prefix && printer.name_column >= 0 && kind != nullptr) {
      row[printer.name_column] = api::ResourceName(*object);
    }
    std::vector<std::string> cells;
    if (with_namespace) cells.push_back(CellText(meta.namespace_()));
    for (size_t i = 0; i < printer.columns.size(); ++i) {
      if (o.wide || !printer.columns[i].wide) cells.push_back(CellText(row[i]));
    }
    if (o.show_labels) cells.push_back(CellText(FormatLabels(meta.labels())));
    add_line(cells);
  }
  return AlignColumns(text, 6, 3);
}

}  // namespace

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string OrNone(std::string s) { return s.empty() ? "<none>" : s; }

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const auto bad = [&] { return Error::Invalid("invalid duration \"" + std::string(text) + "\""); };
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return bad();
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && ((text[j] >= '0' && text[j] <= '9') || text[j] == '.')) ++j;
    if (j == i) return bad();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + j, value);
    if (ec != std::errc() || end != text.data() + j) return bad();
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k])) != 0) ++k;
    const std::string_view unit = text.substr(j, k - j);
    double scale = 0;
    if (unit == "h") scale = 3600e3;
    if (unit == "m") scale = 60e3;
    if (unit == "s") scale = 1e3;
    if (unit == "ms") scale = 1;
    if (scale == 0) return bad();
    total_ms += value * scale;
    i = k;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

std::string HumanDuration(std::chrono::seconds d) {
  const int64_t s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 2 * 60) return Str(s) + "s";
  const int64_t minutes = s / 60;
  if (minutes < 10) {
    const int64_t rest = s % 60;
    return rest == 0 ? Str(minutes) + "m" : Str(minutes) + "m" + Str(rest) + "s";
  }
  if (minutes < 3 * 60) return Str(minutes) + "m";
  const int64_t hours = s / 3600;
  if (hours < 8) {
    const int64_t rest = minutes % 60;
    return rest == 0 ? Str(hours) + "h" : Str(hours) + "h" + Str(rest) + "m";
  }
  if (hours < 48) return Str(hours) + "h";
  if (hours < 24 * 8) {
    const int64_t rest = hours % 24;
    return rest == 0 ? Str(hours / 24) + "d" : Str(hours / 24) + "d" + Str(rest) + "h";
  }
  if (hours < 24 * 365 * 2) return Str(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const int64_t days = (hours / 24) % 365;
    return days == 0 ? Str(hours / 24 / 365) + "y" : Str(hours / 24 / 365) + "y" + Str(days) + "d";
  }
  return Str(hours / 24 / 365) + "y";
}

std::string HumanAge(const Timestamp& t, bool set, Clock::time_point now) {
  if (!set) return "<unknown>";
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - TimeOf(t)));
}

std::string FormatLabels(const StringMap& labels) {
  std::vector<std::string> pairs;
  for (const auto& [key, value] : labels) pairs.push_back(key + "=" + value);
  std::sort(pairs.begin(), pairs.end());
  return OrNone(Join(pairs, ","));
}

std::string SelectorString(const v1::LabelSelector& selector) {
  std::vector<Requirement> reqs;
  for (const auto& [key, value] : selector.match_labels()) reqs.push_back({key, key + "=" + value});
  for (const v1::LabelSelectorRequirement& r : selector.match_expressions()) {
    std::string text;
    if (r.operator_() == "In") {
      text = r.key() + " in " + ValuesList(r.values());
    } else if (r.operator_() == "NotIn") {
      text = r.key() + " notin " + ValuesList(r.values());
    } else if (r.operator_() == "Exists") {
      text = r.key();
    } else if (r.operator_() == "DoesNotExist") {
      text = "!" + r.key();
    } else {
      text = r.key() + " " + r.operator_() + " " + ValuesList(r.values());
    }
    reqs.push_back({r.key(), std::move(text)});
  }
  // labels.Selector.Add keeps requirements sorted by key.
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  std::vector<std::string> parts;
  for (Requirement& r : reqs) parts.push_back(std::move(r.text));
  return Join(parts, ",");
}

std::string FormatLabelSelector(const v1::LabelSelector& selector) {
  return OrNone(SelectorString(selector));
}

std::string FormatEndpoints(const v1::Endpoints& endpoints,
                            std::optional<std::string_view> port_name) {
  if (endpoints.subsets_size() == 0) return "<none>";
  constexpr int kMax = 3;
  std::vector<std::string> list;
  bool more = false;
  int count = 0;
  auto host_port = [](const std::string& ip, int32_t port) {
    // net.JoinHostPort brackets IPv6 addresses.
    return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + Str(port);
  };
  for (const v1::EndpointSubset& ss : endpoints.subsets()) {
    if (ss.ports_size() == 0) {
      // A headless service may have no ports.
      count += ss.addresses_size();
      for (const v1::EndpointAddress& a : ss.addresses()) {
        if (static_cast<int>(list.size()) == kMax) {
          more = true;
          break;
        }
        list.push_back(a.ip());
      }
      continue;
    }
    for (const v1::EndpointPort& p : ss.ports()) {
      if (port_name.has_value() && p.name() != *port_name) continue;
      count += ss.addresses_size();
      for (const v1::EndpointAddress& a : ss.addresses()) {
        if (static_cast<int>(list.size()) == kMax) {
          more = true;
          break;
        }
        list.push_back(host_port(a.ip(), p.port()));
      }
    }
  }
  std::string out = Join(list, ",");
  if (more) out += " + " + Str(count - kMax) + " more...";
  return out;
}

std::string AlignColumns(std::string_view text, int min_width, int padding) {
  return TabWriter(min_width, padding).Format(text);
}

std::string PodStatusText(const v1::Pod& pod) { return Summarize(pod).reason; }

std::string PrintTable(const std::vector<v1::Object>& objects, const PrintOptions& o) {
  std::string out;
  std::vector<const v1::Object*> run;
  auto flush = [&] {
    if (run.empty()) return;
    if (!out.empty()) out += '\n';
    out += KindTable(run, o);
    run.clear();
  };
  for (const v1::Object& object : objects) {
    if (object.object_case() == v1::Object::OBJECT_NOT_SET) continue;
    if (!run.empty() && run.front()->object_case() != object.object_case()) flush();
    run.push_back(&object);
  }
  flush();
  return out;
}

std::string PrintNames(const std::vector<v1::Object>& objects) {
  std::string out;
  for (const v1::Object& object : objects) {
    if (object.object_case() == v1::Object::OBJECT_NOT_SET) continue;
    out += api::ResourceName(object) + "\n";
  }
  return out;
}

}  // namespace berth::cli
