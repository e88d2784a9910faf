#include "describe.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/common/quantity.h"

namespace berth::cli {
namespace {

using google::protobuf::Timestamp;
using StringMap = google::protobuf::Map<std::string, std::string>;

std::string Str(int64_t v) { return std::to_string(v); }

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string OrNone(std::string s) { return s.empty() ? "<none>" : s; }

const char* Bool(bool v) { return v ? "true" : "false"; }

// kubectl's printBool: "True"/"False".
const char* TitleBool(bool v) { return v ? "True" : "False"; }

std::vector<std::string> SortedKeys(const StringMap& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Go's time.RFC1123Z ("Mon, 02 Jan 2006 15:04:05 -0700"), here in UTC; an
// unset time is Go's zero time.
std::string Rfc1123z(const Timestamp& t, bool set) {
  if (!set) return "Mon, 01 Jan 0001 00:00:00 +0000";
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const time_t secs = static_cast<time_t>(t.seconds());
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[48];
  (void)std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                      tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
  return buf;
}

// IntOrString (a google.protobuf.Value) as Go's IntOrString.String().
std::string IntOrString(const google::protobuf::Value& v) {
  if (v.has_string_value()) return v.string_value();
  if (v.has_number_value()) return Str(static_cast<int64_t>(v.number_value()));
  return "0";
}

// --- quantities ------------------------------------------------------------
// resource.Quantity.String() for the integer amounts Berth stores.

std::string CpuQuantity(int64_t milli) {
  return milli % 1000 == 0 ? Str(milli / 1000) : Str(milli) + "m";
}

std::string ByteQuantity(int64_t bytes, bool binary) {
  if (bytes == 0) return "0";
  static constexpr const char* kBinary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  static constexpr const char* kDecimal[] = {"", "k", "M", "G", "T", "P", "E"};
  // BinarySI below 1024 prints as DecimalSI (Quantity.CanonicalizeBytes).
  if (bytes > -1024 && bytes < 1024) binary = false;
  const int64_t base = binary ? 1024 : 1000;
  int unit = 0;
  while (unit < 6 && bytes % base == 0) {
    bytes /= base;
    ++unit;
  }
  return Str(bytes) + (binary ? kBinary[unit] : kDecimal[unit]);
}

// --- the prefix writer -------------------------------------------------------

// describe's PrefixWriter over one tabwriter (tabbedString: minwidth 0,
// padding 2). Write's indent goes before the text once, whatever lines the
// text holds, as PrefixWriter.Write does with its format.
class Writer {
 public:
  void Write(int level, std::string_view text) {
    text_.append(2 * level, ' ');
    text_ += text;
  }
  std::string Done() const {
    // printers.WriteEscaped: terminal escapes made visible.
    std::string escaped;
    for (char c : text_) {
      if (c == '\x1b') {
        escaped += "^[";
      } else if (c == '\r') {
        escaped += "\\r";
      } else {
        escaped += c;
      }
    }
    return AlignColumns(escaped, 0, 2);
  }

 private:
  std::string text_;
};

// A "Name:\tvalue" line.
void Field(Writer& w, int level, std::string_view name, std::string_view value) {
  w.Write(level, std::string(name) + ":\t" + std::string(value) + "\n");
}

void LabelsMultiline(Writer& w, std::string_view title, const StringMap& labels,
                     std::string_view initial_indent = "") {
  w.Write(0, std::string(initial_indent) + std::string(title) + ":\t");
  const std::vector<std::string> keys = SortedKeys(labels);
  if (keys.empty()) w.Write(0, "<none>\n");
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i != 0) w.Write(0, std::string(initial_indent) + "\t");
    w.Write(0, keys[i] + "=" + labels.at(keys[i]) + "\n");
  }
}

void AnnotationsMultiline(Writer& w, std::string_view title, const StringMap& annotations) {
  constexpr size_t kMaxLen = 140;
  w.Write(0, std::string(title) + ":\t");
  std::vector<std::string> keys;
  for (const std::string& key : SortedKeys(annotations)) {
    if (key != "kubectl.kubernetes.io/last-applied-configuration") keys.push_back(key);
  }
  if (keys.empty()) w.Write(0, "<none>\n");
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i != 0) w.Write(0, "\t");
    std::string value = annotations.at(keys[i]);
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (value.size() + keys[i].size() + 2 > kMaxLen || value.find('\n') != std::string::npos) {
      w.Write(0, keys[i] + ":\n");
      size_t start = 0;
      while (true) {
        const size_t nl = value.find('\n', start);
        std::string line = value.substr(start, nl == std::string::npos ? nl : nl - start);
        if (line.size() > kMaxLen - 2) line = line.substr(0, kMaxLen - 2) + "...";
        w.Write(0, "\t  " + line + "\n");
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    } else {
      w.Write(0, keys[i] + ": " + value + "\n");
    }
  }
}

void MetadataBlock(Writer& w, const v1::ObjectMeta& m, bool with_namespace = true) {
  Field(w, 0, "Name", m.name());
  if (with_namespace) Field(w, 0, "Namespace", m.namespace_());
}

std::string ControlledBy(const v1::ObjectMeta& m) {
  for (const v1::OwnerReference& ref : m.owner_references()) {
    if (ref.has_controller() && ref.controller()) return ref.kind() + "/" + ref.name();
  }
  return "";
}

bool Controls(const v1::ObjectMeta& owner, const v1::ObjectMeta& owned, std::string_view kind) {
  for (const v1::OwnerReference& ref : owned.owner_references()) {
    if (!ref.has_controller() || !ref.controller()) continue;
    if (!owner.uid().empty() && !ref.uid().empty()) return ref.uid() == owner.uid();
    return ref.kind() == kind && ref.name() == owner.name();
  }
  return false;
}

// --- events --------------------------------------------------------------------

bool About(const v1::Event& e, const v1::Object& object) {
  const v1::ObjectReference& ref = e.involved_object();
  const v1::ObjectMeta& m = api::MetaOf(object);
  const api::KindInfo* kind = api::KindOf(object);
  if (ref.name() != m.name()) return false;
  if (!ref.kind().empty() && kind != nullptr && ref.kind() != kind->kind) return false;
  if (!ref.namespace_().empty() && ref.namespace_() != m.namespace_()) return false;
  return ref.uid().empty() || m.uid().empty() || ref.uid() == m.uid();
}

// DescribeEvents: sorted by lastTimestamp. Berth events have no eventTime
// or series, so Age is the first timestamp's, "(xN over ...)" when repeated.
void Events(Writer& w, const DescribeContext& ctx, const v1::Object& object,
            Clock::time_point now) {
  if (!ctx.show_events) return;
  std::vector<const v1::Event*> events;
  for (const v1::Event& e : ctx.events) {
    if (About(e, object)) events.push_back(&e);
  }
  if (events.empty()) {
    w.Write(0, "Events:\t<none>\n");
    return;
  }
  std::stable_sort(events.begin(), events.end(), [](const v1::Event* a, const v1::Event* b) {
    const Timestamp& x = a->last_timestamp();
    const Timestamp& y = b->last_timestamp();
    return x.seconds() < y.seconds() || (x.seconds() == y.seconds() && x.nanos() < y.nanos());
  });
  w.Write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
  w.Write(1, "----\t------\t----\t----\t-------\n");
  for (const v1::Event* e : events) {
    const std::string first = HumanAge(e->first_timestamp(), e->has_first_timestamp(), now);
    std::string interval = first;
    if (e->count() > 1) {
      interval = HumanAge(e->last_timestamp(), e->has_last_timestamp(), now) + " (x" +
                 Str(e->count()) + " over " + first + ")";
    }
    const std::string& from =
        e->source().component().empty() ? e->reporting_component() : e->source().component();
    std::string message = e->message();
    const size_t begin = message.find_first_not_of(" \t\n\r\f\v");
    const size_t end = message.find_last_not_of(" \t\n\r\f\v");
    message = begin == std::string::npos ? "" : message.substr(begin, end - begin + 1);
    w.Write(1,
            e->type() + "\t" + e->reason() + "\t" + interval + "\t" + from + "\t" + message + "\n");
  }
}

// --- pods and templates ---------------------------------------------------------

std::string ProbeText(const v1::Probe& p) {
  const std::string attrs =
      "delay=" + Str(p.initial_delay_seconds()) + "s timeout=" + Str(p.timeout_seconds()) +
      "s period=" + Str(p.period_seconds()) + "s #success=" + Str(p.success_threshold()) +
      " #failure=" + Str(p.failure_threshold());
  if (p.has_exec()) {
    std::vector<std::string> cmd(p.exec().command().begin(), p.exec().command().end());
    return "exec [" + Join(cmd, " ") + "] " + attrs;
  }
  if (p.has_http_get()) {
    const v1::HTTPGetAction& h = p.http_get();
    std::string scheme = h.scheme();
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string port = IntOrString(h.port());
    std::string host = h.host().find(':') != std::string::npos ? "[" + h.host() + "]" : h.host();
    host += ":" + port;
    // url.URL.String(): "scheme://host/path"; "//host/path" without scheme.
    std::string url = scheme.empty() ? "//" + host : scheme + "://" + host;
    if (!h.path().empty() && h.path().front() != '/') url += '/';
    return "http-get " + url + h.path() + " " + attrs;
  }
  if (p.has_tcp_socket()) {
    return "tcp-socket " + p.tcp_socket().host() + ":" + IntOrString(p.tcp_socket().port()) + " " +
           attrs;
  }
  return "unknown " + attrs;
}

void ContainerState(Writer& w, std::string_view name, const v1::ContainerState& state) {
  const std::string title(name);
  if (state.has_running()) {
    w.Write(2, title + ":\tRunning\n");
    Field(w, 3, "Started",
          Rfc1123z(state.running().started_at(), state.running().has_started_at()));
  } else if (state.has_terminated()) {
    const v1::ContainerStateTerminated& t = state.terminated();
    w.Write(2, title + ":\tTerminated\n");
    if (!t.reason().empty()) Field(w, 3, "Reason", t.reason());
    if (!t.message().empty()) Field(w, 3, "Message", t.message());
    Field(w, 3, "Exit Code", Str(t.exit_code()));
    if (t.signal() > 0) Field(w, 3, "Signal", Str(t.signal()));
    Field(w, 3, "Started", Rfc1123z(t.started_at(), t.has_started_at()));
    Field(w, 3, "Finished", Rfc1123z(t.finished_at(), t.has_finished_at()));
  } else {
    w.Write(2, title + ":\tWaiting\n");
    if (state.has_waiting() && !state.waiting().reason().empty()) {
      Field(w, 3, "Reason", state.waiting().reason());
    }
  }
}

void ResourceList(Writer& w, std::string_view title, const StringMap& list) {
  if (list.empty()) return;
  w.Write(2, std::string(title) + ":\n");
  for (const std::string& name : SortedKeys(list)) w.Write(3, name + ":\t" + list.at(name) + "\n");
}

// describeContainers; `statuses` null for a pod template.
void Containers(Writer& w, std::string_view label,
                const google::protobuf::RepeatedPtrField<v1::Container>& containers,
                const google::protobuf::RepeatedPtrField<v1::ContainerStatus>* statuses,
                std::string_view space) {
  w.Write(0, std::string(space) + std::string(label) + ":" + (containers.empty() ? " <none>" : "") +
                 "\n");
  for (const v1::Container& c : containers) {
    const v1::ContainerStatus* status = nullptr;
    if (statuses != nullptr) {
      for (const v1::ContainerStatus& s : *statuses) {
        if (s.name() == c.name()) status = &s;
      }
    }
    w.Write(1, (space.empty() ? "" : " ") + c.name() + ":\n");
    // Berth reports no container or image ID.
    if (status != nullptr) w.Write(2, "Container ID:\t\n");
    Field(w, 2, "Image", c.image());
    if (status != nullptr) w.Write(2, "Image ID:\t\n");
    std::vector<std::string> ports, host_ports;
    for (const v1::ContainerPort& p : c.ports()) {
      const std::string proto = p.protocol().empty() ? "TCP" : p.protocol();
      ports.push_back(Str(p.container_port()) + "/" + proto);
      host_ports.push_back(Str(p.host_port()) + "/" + proto);
    }
    w.Write(2, (ports.size() > 1 ? "Ports:\t" : "Port:\t") + OrNone(Join(ports, ", ")) + "\n");
    w.Write(2, (host_ports.size() > 1 ? "Host Ports:\t" : "Host Port:\t") +
                   OrNone(Join(host_ports, ", ")) + "\n");
    if (c.security_context().has_seccomp_profile()) {
      Field(w, 2, "SeccompProfile", c.security_context().seccomp_profile().type());
    }
    for (const auto& [title, args] : {std::pair{"Command", &c.command()}, {"Args", &c.args()}}) {
      if (args->empty()) continue;
      w.Write(2, std::string(title) + ":\n");
      for (const std::string& arg : *args) {
        size_t start = 0;
        while (true) {
          const size_t nl = arg.find('\n', start);
          w.Write(3, arg.substr(start, nl == std::string::npos ? nl : nl - start) + "\n");
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
      }
    }
    if (status != nullptr) {
      ContainerState(w, "State", status->state());
      if (status->last_state().has_terminated()) {
        ContainerState(w, "Last State", status->last_state());
      }
      Field(w, 2, "Ready", TitleBool(status->ready()));
      Field(w, 2, "Restart Count", Str(status->restart_count()));
    }
    ResourceList(w, "Limits", c.resources().limits());
    ResourceList(w, "Requests", c.resources().requests());
    if (c.has_liveness_probe()) Field(w, 2, "Liveness", ProbeText(c.liveness_probe()));
    if (c.has_readiness_probe()) {
      Field(w, 2, "Readiness", ProbeText(c.readiness_probe()));
    }
    if (c.has_startup_probe()) Field(w, 2, "Startup", ProbeText(c.startup_probe()));
    if (!c.env_from().empty()) {
      w.Write(2, "Environment Variables from:\n");
      for (const v1::EnvFromSource& e : c.env_from()) {
        const bool cm = e.has_config_map_ref();
        const v1::LocalReference& ref = cm ? e.config_map_ref() : e.secret_ref();
        std::string from = cm ? "ConfigMap" : (e.has_secret_ref() ? "Secret" : "");
        if (!e.prefix().empty()) from += " with prefix '" + e.prefix() + "'";
        w.Write(3, ref.name() + "\t" + from +
                       "\tOptional: " + Bool(ref.has_optional() && ref.optional()) + "\n");
      }
    }
    w.Write(2, std::string("Environment:") + (c.env().empty() ? "\t<none>" : "") + "\n");
    for (const v1::EnvVar& e : c.env()) {
      if (!e.has_value_from()) {
        size_t start = 0;
        for (bool first = true;; first = false) {
          const size_t nl = e.value().find('\n', start);
          const std::string line =
              e.value().substr(start, nl == std::string::npos ? nl : nl - start);
          w.Write(3, (first ? e.name() + ":\t" : "\t") + line + "\n");
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
      } else if (e.value_from().has_secret_key_ref()) {
        const v1::KeySelector& k = e.value_from().secret_key_ref();
        w.Write(3, e.name() + ":\t<set to the key '" + k.key() + "' in secret '" + k.name() +
                       "'>\tOptional: " + Bool(k.has_optional() && k.optional()) + "\n");
      } else if (e.value_from().has_config_map_key_ref()) {
        const v1::KeySelector& k = e.value_from().config_map_key_ref();
        w.Write(3, e.name() + ":\t<set to the key '" + k.key() + "' of config map '" + k.name() +
                       "'>\tOptional: " + Bool(k.has_optional() && k.optional()) + "\n");
      }
    }
    w.Write(2, std::string("Mounts:") + (c.volume_mounts().empty() ? "\t<none>" : "") + "\n");
    std::vector<const v1::VolumeMount*> mounts;
    for (const v1::VolumeMount& m : c.volume_mounts()) mounts.push_back(&m);
    std::stable_sort(mounts.begin(), mounts.end(), [](const auto* a, const auto* b) {
      return a->mount_path() < b->mount_path();
    });
    for (const v1::VolumeMount* m : mounts) {
      w.Write(3, m->mount_path() + " from " + m->name() + " (" + (m->read_only() ? "ro" : "rw") +
                     ")\n");
    }
  }
}

void Volumes(Writer& w, const google::protobuf::RepeatedPtrField<v1::Volume>& volumes,
             std::string_view space) {
  if (volumes.empty()) {
    w.Write(0, std::string(space) + "Volumes:\t<none>\n");
    return;
  }
  w.Write(0, std::string(space) + "Volumes:\n");
  for (const v1::Volume& v : volumes) {
    w.Write(1, (space.empty() ? "" : " ") + v.name() + ":\n");
    if (v.has_host_path()) {
      w.Write(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t" +
                     v.host_path().path() + "\n    HostPathType:\t" + v.host_path().type() + "\n");
    } else if (v.has_empty_dir()) {
      const std::string& limit = v.empty_dir().size_limit();
      w.Write(2,
              "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
              "    Medium:\t" +
                  v.empty_dir().medium() + "\n    SizeLimit:\t" +
                  (limit.empty() || limit == "0" ? "<unset>" : limit) + "\n");
    } else if (v.has_secret()) {
      w.Write(2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t" +
                     v.secret().secret_name() + "\n    Optional:\t" +
                     Bool(v.secret().has_optional() && v.secret().optional()) + "\n");
    } else if (v.has_config_map()) {
      w.Write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t" +
                     v.config_map().name() + "\n    Optional:\t" +
                     Bool(v.config_map().has_optional() && v.config_map().optional()) + "\n");
    } else {
      w.Write(1, "<unknown>\n");
    }
  }
}

void PodTemplate(Writer& w, const v1::PodTemplateSpec& t) {
  w.Write(0, "Pod Template:\n");
  LabelsMultiline(w, "  Labels", t.metadata().labels());
  if (!t.metadata().annotations().empty()) {
    AnnotationsMultiline(w, "  Annotations", t.metadata().annotations());
  }
  if (!t.spec().init_containers().empty()) {
    Containers(w, "Init Containers", t.spec().init_containers(), nullptr, "  ");
  }
  Containers(w, "Containers", t.spec().containers(), nullptr, "  ");
  Volumes(w, t.spec().volumes(), "  ");
  if (!t.spec().priority_class_name().empty()) {
    Field(w, 1, "Priority Class Name", t.spec().priority_class_name());
  }
}

// qos.GetPodQOS for a pod whose status does not say.
std::string QosClass(const v1::Pod& pod) {
  bool any = false, guaranteed = true;
  for (const v1::Container& c : pod.spec().containers()) {
    const StringMap& req = c.resources().requests();
    const StringMap& lim = c.resources().limits();
    for (const char* r : {"cpu", "memory"}) {
      const auto l = lim.find(r);
      const auto q = req.find(r);
      any = any || l != lim.end() || q != req.end();
      if (l == lim.end()) {
        guaranteed = false;
      } else if (q != req.end()) {
        auto a = std::string_view(r) == "cpu" ? ParseMilliCpu(q->second) : ParseBytes(q->second);
        auto b = std::string_view(r) == "cpu" ? ParseMilliCpu(l->second) : ParseBytes(l->second);
        if (!a.ok() || !b.ok() || *a != *b) guaranteed = false;
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

void Tolerations(Writer& w, const google::protobuf::RepeatedPtrField<v1::Toleration>& list) {
  w.Write(0, "Tolerations:\t");
  if (list.empty()) w.Write(0, "<none>\n");
  std::vector<const v1::Toleration*> sorted;
  for (const v1::Toleration& t : list) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->key() < b->key(); });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const v1::Toleration& t = *sorted[i];
    std::string line = i == 0 ? "" : "\t";
    line += t.key();
    if (!t.value().empty()) line += "=" + t.value();
    if (!t.effect().empty()) line += ":" + t.effect();
    if (t.operator_() == "Exists" && t.value().empty()) {
      line += (!t.key().empty() || !t.effect().empty()) ? " op=Exists" : "op=Exists";
    }
    if (t.has_toleration_seconds()) line += " for " + Str(t.toleration_seconds()) + "s";
    w.Write(0, line + "\n");
  }
}

void DescribePod(Writer& w, const v1::Pod& pod, Clock::time_point now) {
  const v1::ObjectMeta& m = pod.metadata();
  const v1::PodSpec& spec = pod.spec();
  const v1::PodStatus& status = pod.status();
  MetadataBlock(w, m);
  if (spec.has_priority()) Field(w, 0, "Priority", Str(spec.priority()));
  if (!spec.priority_class_name().empty()) {
    Field(w, 0, "Priority Class Name", spec.priority_class_name());
  }
  Field(w, 0, "Node",
        (spec.node_name().empty() ? "<none>" : spec.node_name() + "/" + status.host_ip()));
  if (status.has_start_time()) {
    Field(w, 0, "Start Time", Rfc1123z(status.start_time(), true));
  }
  LabelsMultiline(w, "Labels", m.labels());
  AnnotationsMultiline(w, "Annotations", m.annotations());
  if (m.has_deletion_timestamp()) {
    w.Write(0,
            "Status:\tTerminating (lasts " + HumanAge(m.deletion_timestamp(), true, now) + ")\n");
    if (m.has_deletion_grace_period_seconds()) {
      w.Write(0, "Termination Grace Period:\t" + Str(m.deletion_grace_period_seconds()) + "s\n");
    }
  } else {
    Field(w, 0, "Status", status.phase());
  }
  if (!status.reason().empty()) Field(w, 0, "Reason", status.reason());
  if (!status.message().empty()) Field(w, 0, "Message", status.message());
  Field(w, 0, "IP", status.pod_ip());
  if (status.pod_ips().empty()) {
    w.Write(0, "IPs:\t<none>\n");
  } else {
    w.Write(0, "IPs:\n");
    for (const v1::PodIP& ip : status.pod_ips()) Field(w, 1, "IP", ip.ip());
  }
  if (const std::string by = ControlledBy(m); !by.empty()) {
    Field(w, 0, "Controlled By", by);
  }
  if (!status.nominated_node_name().empty()) {
    Field(w, 0, "NominatedNodeName", status.nominated_node_name());
  }
  if (!spec.init_containers().empty()) {
    Containers(w, "Init Containers", spec.init_containers(), &status.init_container_statuses(), "");
  }
  Containers(w, "Containers", spec.containers(), &status.container_statuses(), "");
  if (!status.conditions().empty()) {
    w.Write(0, "Conditions:\n  Type\tStatus\n");
    for (const v1::PodCondition& c : status.conditions()) {
      w.Write(1, c.type() + " \t" + c.status() + " \n");
    }
  }
  Volumes(w, spec.volumes(), "");
  w.Write(
      0, "QoS Class:\t" + (status.qos_class().empty() ? QosClass(pod) : status.qos_class()) + "\n");
  LabelsMultiline(w, "Node-Selectors", spec.node_selector());
  Tolerations(w, spec.tolerations());
}

// --- workloads -------------------------------------------------------------------------

void WorkloadConditions(Writer& w,
                        const google::protobuf::RepeatedPtrField<v1::WorkloadCondition>& list) {
  if (list.empty()) return;
  w.Write(0, "Conditions:\n  Type\tStatus\tReason\n");
  w.Write(1, "----\t------\t------\n");
  for (const v1::WorkloadCondition& c : list) {
    w.Write(1, c.type() + " \t" + c.status() + "\t" + c.reason() + "\n");
  }
}

std::string ReplicaSetsByLabels(const std::vector<const v1::ReplicaSet*>& sets) {
  std::vector<std::string> parts;
  for (const v1::ReplicaSet* rs : sets) {
    parts.push_back(rs->metadata().name() + " (" + Str(rs->status().replicas()) + "/" +
                    Str(rs->spec().has_replicas() ? rs->spec().replicas() : 1) +
                    " replicas created)");
  }
  return OrNone(Join(parts, ", "));
}

bool SameTemplate(const v1::PodTemplateSpec& a, const v1::PodTemplateSpec& b) {
  v1::PodTemplateSpec x = a, y = b;
  x.mutable_metadata()->mutable_labels()->erase("pod-template-hash");
  y.mutable_metadata()->mutable_labels()->erase("pod-template-hash");
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

void DescribeDeployment(Writer& w, const v1::Deployment& d, const DescribeContext& ctx) {
  const v1::DeploymentSpec& spec = d.spec();
  MetadataBlock(w, d.metadata());
  w.Write(0,
          "CreationTimestamp:\t" +
              Rfc1123z(d.metadata().creation_timestamp(), d.metadata().has_creation_timestamp()) +
              "\n");
  LabelsMultiline(w, "Labels", d.metadata().labels());
  AnnotationsMultiline(w, "Annotations", d.metadata().annotations());
  Field(w, 0, "Selector", SelectorString(spec.selector()));
  const v1::DeploymentStatus& st = d.status();
  w.Write(0, "Replicas:\t" + Str(spec.has_replicas() ? spec.replicas() : 1) + " desired | " +
                 Str(st.updated_replicas()) + " updated | " + Str(st.replicas()) + " total | " +
                 Str(st.available_replicas()) + " available | " + Str(st.unavailable_replicas()) +
                 " unavailable\n");
  Field(w, 0, "StrategyType", spec.strategy().type());
  Field(w, 0, "MinReadySeconds", Str(spec.min_ready_seconds()));
  if (spec.strategy().has_rolling_update()) {
    const v1::RollingUpdateDeployment& ru = spec.strategy().rolling_update();
    w.Write(0, "RollingUpdateStrategy:\t" + IntOrString(ru.max_unavailable()) +
                   " max unavailable, " + IntOrString(ru.max_surge()) + " max surge\n");
  }
  PodTemplate(w, spec.template_());
  WorkloadConditions(w, st.conditions());
  // deploymentutil.GetAllReplicaSets: the controlled sets; the oldest one
  // with the Deployment's template is the new one, every other one is old.
  std::vector<const v1::ReplicaSet*> owned, old_sets, new_sets;
  for (const v1::ReplicaSet& rs : ctx.replica_sets) {
    if (Controls(d.metadata(), rs.metadata(), "Deployment")) owned.push_back(&rs);
  }
  const v1::ReplicaSet* current = nullptr;
  for (const v1::ReplicaSet* rs : owned) {
    if (!SameTemplate(rs->spec().template_(), spec.template_())) continue;
    const Timestamp& t = rs->metadata().creation_timestamp();
    if (current == nullptr || t.seconds() < current->metadata().creation_timestamp().seconds()) {
      current = rs;
    }
  }
  for (const v1::ReplicaSet* rs : owned) (rs == current ? new_sets : old_sets).push_back(rs);
  if (!owned.empty()) {
    Field(w, 0, "OldReplicaSets", ReplicaSetsByLabels(old_sets));
    Field(w, 0, "NewReplicaSet", ReplicaSetsByLabels(new_sets));
  }
}

std::string PodsStatus(const v1::ObjectMeta& owner, std::string_view kind,
                       const DescribeContext& ctx) {
  int running = 0, waiting = 0, succeeded = 0, failed = 0;
  if (ctx.pods.has_value()) {
    for (const v1::Pod& pod : *ctx.pods) {
      if (!Controls(owner, pod.metadata(), kind)) continue;
      const std::string& phase = pod.status().phase();
      running += phase == "Running";
      waiting += phase == "Pending";
      succeeded += phase == "Succeeded";
      failed += phase == "Failed";
    }
  }
  return Str(running) + " Running / " + Str(waiting) + " Waiting / " + Str(succeeded) +
         " Succeeded / " + Str(failed) + " Failed";
}

void DescribeReplicaSet(Writer& w, const v1::ReplicaSet& rs, const DescribeContext& ctx) {
  MetadataBlock(w, rs.metadata());
  Field(w, 0, "Selector", FormatLabelSelector(rs.spec().selector()));
  LabelsMultiline(w, "Labels", rs.metadata().labels());
  AnnotationsMultiline(w, "Annotations", rs.metadata().annotations());
  if (const std::string by = ControlledBy(rs.metadata()); !by.empty()) {
    Field(w, 0, "Controlled By", by);
  }
  w.Write(0, "Replicas:\t" + Str(rs.status().replicas()) + " current / " +
                 Str(rs.spec().has_replicas() ? rs.spec().replicas() : 1) + " desired\n");
  Field(w, 0, "Pods Status", PodsStatus(rs.metadata(), "ReplicaSet", ctx));
  PodTemplate(w, rs.spec().template_());
  WorkloadConditions(w, rs.status().conditions());
}

void DescribeDaemonSet(Writer& w, const v1::DaemonSet& ds, const DescribeContext& ctx) {
  const v1::DaemonSetStatus& st = ds.status();
  MetadataBlock(w, ds.metadata(), /*with_namespace=*/false);  // as kubectl 1.28
  Field(w, 0, "Selector", SelectorString(ds.spec().selector()));
  w.Write(0,
          "Node-Selector:\t" + FormatLabels(ds.spec().template_().spec().node_selector()) + "\n");
  LabelsMultiline(w, "Labels", ds.metadata().labels());
  AnnotationsMultiline(w, "Annotations", ds.metadata().annotations());
  w.Write(0, "Desired Number of Nodes Scheduled: " + Str(st.desired_number_scheduled()) + "\n");
  w.Write(0, "Current Number of Nodes Scheduled: " + Str(st.current_number_scheduled()) + "\n");
  w.Write(0, "Number of Nodes Scheduled with Up-to-date Pods: " +
                 Str(st.updated_number_scheduled()) + "\n");
  w.Write(0, "Number of Nodes Scheduled with Available Pods: " + Str(st.number_available()) + "\n");
  w.Write(0, "Number of Nodes Misscheduled: " + Str(st.number_misscheduled()) + "\n");
  Field(w, 0, "Pods Status", PodsStatus(ds.metadata(), "DaemonSet", ctx));
  PodTemplate(w, ds.spec().template_());
}

void DescribeJob(Writer& w, const v1::Job& job) {
  const v1::JobSpec& spec = job.spec();
  const v1::JobStatus& st = job.status();
  MetadataBlock(w, job.metadata());
  Field(w, 0, "Selector", SelectorString(spec.selector()));
  LabelsMultiline(w, "Labels", job.metadata().labels());
  AnnotationsMultiline(w, "Annotations", job.metadata().annotations());
  if (const std::string by = ControlledBy(job.metadata()); !by.empty()) {
    Field(w, 0, "Controlled By", by);
  }
  if (spec.has_parallelism()) Field(w, 0, "Parallelism", Str(spec.parallelism()));
  w.Write(0,
          "Completions:\t" + (spec.has_completions() ? Str(spec.completions()) : "<unset>") + "\n");
  if (st.has_start_time()) Field(w, 0, "Start Time", Rfc1123z(st.start_time(), true));
  if (st.has_completion_time()) {
    Field(w, 0, "Completed At", Rfc1123z(st.completion_time(), true));
  }
  if (st.has_start_time() && st.has_completion_time()) {
    const int64_t secs = st.completion_time().seconds() - st.start_time().seconds();
    Field(w, 0, "Duration", HumanDuration(std::chrono::seconds(secs)));
  }
  if (spec.has_active_deadline_seconds()) {
    w.Write(0, "Active Deadline Seconds:\t" + Str(spec.active_deadline_seconds()) + "s\n");
  }
  w.Write(0, "Pods Statuses:\t" + Str(st.active()) + " Active / " + Str(st.succeeded()) +
                 " Succeeded / " + Str(st.failed()) + " Failed\n");
  PodTemplate(w, spec.template_());
}

// --- core kinds ---------------------------------------------------------------------

void DescribeService(Writer& w, const v1::Service& svc, const DescribeContext& ctx) {
  const v1::ServiceSpec& spec = svc.spec();
  MetadataBlock(w, svc.metadata());
  LabelsMultiline(w, "Labels", svc.metadata().labels());
  AnnotationsMultiline(w, "Annotations", svc.metadata().annotations());
  Field(w, 0, "Selector", FormatLabels(spec.selector()));
  Field(w, 0, "Type", spec.type());
  // Berth services carry no ipFamilies / ipFamilyPolicy.
  w.Write(0, "IP Families:\t<none>\n");
  Field(w, 0, "IP", spec.cluster_ip());
  std::vector<std::string> ips(spec.cluster_ips().begin(), spec.cluster_ips().end());
  Field(w, 0, "IPs", OrNone(Join(ips, ",")));
  if (!spec.external_name().empty()) {
    Field(w, 0, "External Name", spec.external_name());
  }
  const v1::Endpoints endpoints = ctx.endpoints.value_or(v1::Endpoints());
  for (const v1::ServicePort& p : spec.ports()) {
    const std::string name = p.name().empty() ? "<unset>" : p.name();
    const std::string proto = p.protocol().empty() ? "TCP" : p.protocol();
    w.Write(0, "Port:\t" + name + "\t" + Str(p.port()) + "/" + proto + "\n");
    Field(w, 0, "TargetPort", IntOrString(p.target_port()) + "/" + proto);
    if (p.node_port() != 0) {
      w.Write(0, "NodePort:\t" + name + "\t" + Str(p.node_port()) + "/" + proto + "\n");
    }
    Field(w, 0, "Endpoints", FormatEndpoints(endpoints, p.name()));
  }
  Field(w, 0, "Session Affinity", spec.session_affinity());
}

void DescribeEndpoints(Writer& w, const v1::Endpoints& ep) {
  MetadataBlock(w, ep.metadata());
  LabelsMultiline(w, "Labels", ep.metadata().labels());
  AnnotationsMultiline(w, "Annotations", ep.metadata().annotations());
  w.Write(0, "Subsets:\n");
  for (const v1::EndpointSubset& s : ep.subsets()) {
    std::vector<std::string> ready, not_ready;
    for (const v1::EndpointAddress& a : s.addresses()) ready.push_back(a.ip());
    for (const v1::EndpointAddress& a : s.not_ready_addresses()) not_ready.push_back(a.ip());
    Field(w, 1, "Addresses", OrNone(Join(ready, ",")));
    Field(w, 1, "NotReadyAddresses", OrNone(Join(not_ready, ",")));
    if (!s.ports().empty()) {
      w.Write(1, "Ports:\n");
      w.Write(2, "Name\tPort\tProtocol\n");
      w.Write(2, "----\t----\t--------\n");
      for (const v1::EndpointPort& p : s.ports()) {
        w.Write(2, (p.name().empty() ? "<unset>" : p.name()) + "\t" + Str(p.port()) + "\t" +
                       p.protocol() + "\n");
      }
    }
    w.Write(0, "\n");
  }
}

// A Node's resources as the ResourceList kubectl sorts and prints.
std::map<std::string, std::string> NodeResources(const v1::NodeResources& r) {
  std::map<std::string, std::string> out;
  if (r.cpu_milli() != 0) out["cpu"] = CpuQuantity(r.cpu_milli());
  if (r.memory_bytes() != 0) out["memory"] = ByteQuantity(r.memory_bytes(), true);
  if (r.pods() != 0) out["pods"] = Str(r.pods());
  return out;
}

struct PodResources {
  int64_t cpu_milli = 0;
  int64_t memory = 0;
  bool memory_binary = true;  // how a memory quantity was written: "64Mi" vs "64M"
};

// resourcehelper.PodRequestsAndLimits: the containers' sum, or an init
// container's amount when larger.
void PodTotals(const v1::Pod& pod, bool limits, PodResources* out) {
  auto amounts = [&](const v1::Container& c, int64_t* cpu, int64_t* mem) {
    const StringMap& list = limits ? c.resources().limits() : c.resources().requests();
    if (auto it = list.find("cpu"); it != list.end()) {
      if (auto v = ParseMilliCpu(it->second); v.ok()) *cpu = *v;
    }
    if (auto it = list.find("memory"); it != list.end()) {
      if (auto v = ParseBytes(it->second); v.ok()) *mem = *v;
      out->memory_binary = !it->second.empty() && it->second.back() == 'i';
    }
  };
  int64_t cpu = 0, mem = 0;
  for (const v1::Container& c : pod.spec().containers()) {
    int64_t x = 0, y = 0;
    amounts(c, &x, &y);
    cpu += x;
    mem += y;
  }
  for (const v1::Container& c : pod.spec().init_containers()) {
    int64_t x = 0, y = 0;
    amounts(c, &x, &y);
    cpu = std::max(cpu, x);
    mem = std::max(mem, y);
  }
  out->cpu_milli += cpu;
  out->memory += mem;
}

std::string Percent(int64_t part, int64_t whole) {
  return "(" + Str(whole == 0 ? 0 : static_cast<int64_t>(static_cast<double>(part) / whole * 100)) +
         "%)";
}

void NodePods(Writer& w, const v1::Node& node, const std::vector<v1::Pod>& all,
              Clock::time_point now) {
  std::vector<const v1::Pod*> pods;
  for (const v1::Pod& p : all) {
    const std::string& phase = p.status().phase();
    if (p.spec().node_name() == node.metadata().name() && phase != "Succeeded" &&
        phase != "Failed") {
      pods.push_back(&p);
    }
  }
  const v1::NodeResources& alloc =
      node.status().has_allocatable() ? node.status().allocatable() : node.status().capacity();
  w.Write(0, "Non-terminated Pods:\t(" + Str(static_cast<int64_t>(pods.size())) + " in total)\n");
  w.Write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
  w.Write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n");
  PodResources req_total, lim_total;
  for (const v1::Pod* pod : pods) {
    PodResources req, lim;
    PodTotals(*pod, false, &req);
    PodTotals(*pod, true, &lim);
    PodTotals(*pod, false, &req_total);
    PodTotals(*pod, true, &lim_total);
    w.Write(1, pod->metadata().namespace_() + "\t" + pod->metadata().name() + "\t\t" +
                   CpuQuantity(req.cpu_milli) + " " + Percent(req.cpu_milli, alloc.cpu_milli()) +
                   "\t" + CpuQuantity(lim.cpu_milli) + " " +
                   Percent(lim.cpu_milli, alloc.cpu_milli()) + "\t" +
                   ByteQuantity(req.memory, req.memory_binary) + " " +
                   Percent(req.memory, alloc.memory_bytes()) + "\t" +
                   ByteQuantity(lim.memory, lim.memory_binary) + " " +
                   Percent(lim.memory, alloc.memory_bytes()) + "\t" +
                   HumanAge(pod->metadata().creation_timestamp(),
                            pod->metadata().has_creation_timestamp(), now) +
                   "\n");
  }
  w.Write(0,
          "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n");
  w.Write(1, "Resource\tRequests\tLimits\n");
  w.Write(1, "--------\t--------\t------\n");
  w.Write(1, "cpu\t" + CpuQuantity(req_total.cpu_milli) + " " +
                 Percent(req_total.cpu_milli, alloc.cpu_milli()) + "\t" +
                 CpuQuantity(lim_total.cpu_milli) + " " +
                 Percent(lim_total.cpu_milli, alloc.cpu_milli()) + "\n");
  w.Write(1, "memory\t" + ByteQuantity(req_total.memory, req_total.memory_binary) + " " +
                 Percent(req_total.memory, alloc.memory_bytes()) + "\t" +
                 ByteQuantity(lim_total.memory, lim_total.memory_binary) + " " +
                 Percent(lim_total.memory, alloc.memory_bytes()) + "\n");
  w.Write(1, "ephemeral-storage\t0 (0%)\t0 (0%)\n");
}

void DescribeNode(Writer& w, const v1::Node& node, const DescribeContext& ctx,
                  Clock::time_point now) {
  const v1::ObjectMeta& m = node.metadata();
  Field(w, 0, "Name", m.name());
  std::vector<std::string> roles;
  for (const auto& [key, value] : m.labels()) {
    constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
    if (key.size() > kPrefix.size() && key.compare(0, kPrefix.size(), kPrefix) == 0) {
      roles.push_back(key.substr(kPrefix.size()));
    } else if (key == "kubernetes.io/role" && !value.empty()) {
      roles.push_back(value);
    }
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  Field(w, 0, "Roles", OrNone(Join(roles, ",")));
  LabelsMultiline(w, "Labels", m.labels());
  AnnotationsMultiline(w, "Annotations", m.annotations());
  Field(w, 0, "CreationTimestamp", Rfc1123z(m.creation_timestamp(), m.has_creation_timestamp()));
  w.Write(0, "Taints:\t");
  std::vector<const v1::Taint*> taints;
  for (const v1::Taint& t : node.spec().taints()) taints.push_back(&t);
  std::stable_sort(taints.begin(), taints.end(), [](const auto* a, const auto* b) {
    return a->effect() + "," + a->key() < b->effect() + "," + b->key();
  });
  if (taints.empty()) w.Write(0, "<none>\n");
  for (size_t i = 0; i < taints.size(); ++i) {
    // Taint.ToString: key=value:effect, key:effect without a value.
    const v1::Taint& t = *taints[i];
    w.Write(0, std::string(i == 0 ? "" : "\t") + t.key() +
                   (t.value().empty() ? "" : "=" + t.value()) + ":" + t.effect() + "\n");
  }
  Field(w, 0, "Unschedulable", Bool(node.spec().unschedulable()));
  if (ctx.node_lease.has_value()) {
    const v1::LeaseSpec& l = ctx.node_lease->spec();
    w.Write(0, "Lease:\n");
    Field(w, 1, "HolderIdentity", (l.holder_identity().empty() ? "<unset>" : l.holder_identity()));
    Field(w, 1, "AcquireTime",
          (l.has_acquire_time() ? Rfc1123z(l.acquire_time(), true) : "<unset>"));
    Field(w, 1, "RenewTime", (l.has_renew_time() ? Rfc1123z(l.renew_time(), true) : "<unset>"));
  }
  if (!node.status().conditions().empty()) {
    w.Write(
        0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
    w.Write(1, "----\t------\t-----------------\t------------------\t------\t-------\n");
    for (const v1::NodeCondition& c : node.status().conditions()) {
      w.Write(1, c.type() + " \t" + c.status() + " \t" +
                     Rfc1123z(c.last_heartbeat_time(), c.has_last_heartbeat_time()) + " \t" +
                     Rfc1123z(c.last_transition_time(), c.has_last_transition_time()) + " \t" +
                     c.reason() + " \t" + c.message() + "\n");
    }
  }
  w.Write(0, "Addresses:\n");
  for (const v1::NodeAddress& a : node.status().addresses()) {
    w.Write(1, a.type() + ":\t" + a.address() + "\n");
  }
  for (const auto& [title, list] :
       {std::pair{"Capacity", NodeResources(node.status().capacity())},
        std::pair{"Allocatable", NodeResources(node.status().allocatable())}}) {
    if (list.empty()) continue;
    w.Write(0, std::string(title) + ":\n");
    for (const auto& [name, value] : list) w.Write(0, "  " + name + ":\t" + value + "\n");
  }
  // Berth's Node has no nodeInfo; only the agent version is known.
  w.Write(0, "System Info:\n");
  for (const char* field : {"Machine ID", "System UUID", "Boot ID", "Kernel Version", "OS Image",
                            "Operating System", "Architecture", "Container Runtime Version"}) {
    w.Write(0, std::string("  ") + field + ":\t\n");
  }
  Field(w, 0, "  Kubelet Version", std::string(kNodeVersion));
  w.Write(0, "  Kube-Proxy Version:\t\n");
  if (!node.spec().pod_cidr().empty()) Field(w, 0, "PodCIDR", node.spec().pod_cidr());
  if (!node.spec().pod_cidrs().empty()) {
    std::vector<std::string> cidrs(node.spec().pod_cidrs().begin(), node.spec().pod_cidrs().end());
    Field(w, 0, "PodCIDRs", Join(cidrs, ","));
  }
  if (ctx.pods.has_value()) NodePods(w, node, *ctx.pods, now);
}

void ResourceQuotas(Writer& w, std::vector<v1::ResourceQuota> quotas) {
  if (quotas.empty()) {
    w.Write(0, "No resource quota.\n");
    return;
  }
  std::stable_sort(quotas.begin(), quotas.end(), [](const auto& a, const auto& b) {
    return a.metadata().name() < b.metadata().name();
  });
  w.Write(0, "Resource Quotas\n");
  for (const v1::ResourceQuota& q : quotas) {
    Field(w, 1, "Name", q.metadata().name());
    w.Write(1, "Resource\tUsed\tHard\n");
    w.Write(1, "--------\t---\t---\n");
    for (const std::string& name : SortedKeys(q.status().hard())) {
      const auto used = q.status().used().find(name);
      w.Write(1, name + "\t" + (used == q.status().used().end() ? "0" : used->second) + "\t" +
                     q.status().hard().at(name) + "\n");
    }
  }
}

void LimitRangeItems(Writer& w, const v1::LimitRange& lr, std::string_view prefix) {
  for (const v1::LimitRangeItem& item : lr.spec().limits()) {
    std::set<std::string> names;
    for (const StringMap* m :
         {&item.max(), &item.min(), &item.default_(), &item.default_request()}) {
      for (const auto& [k, v] : *m) names.insert(k);
    }
    auto value = [](const StringMap& m, const std::string& k) {
      const auto it = m.find(k);
      return it == m.end() ? std::string("-") : it->second;
    };
    for (const std::string& k : names) {
      // Berth's LimitRangeItem has no maxLimitRequestRatio.
      w.Write(0, std::string(prefix) + item.type() + "\t" + k + "\t" + value(item.min(), k) + "\t" +
                     value(item.max(), k) + "\t" + value(item.default_request(), k) + "\t" +
                     value(item.default_(), k) + "\t-\n");
    }
  }
}

void DescribeNamespace(Writer& w, const v1::Namespace& ns, const DescribeContext& ctx) {
  Field(w, 0, "Name", ns.metadata().name());
  LabelsMultiline(w, "Labels", ns.metadata().labels());
  AnnotationsMultiline(w, "Annotations", ns.metadata().annotations());
  Field(w, 0, "Status", ns.status().phase());
  if (ctx.resource_quotas.has_value()) {
    w.Write(0, "\n");
    ResourceQuotas(w, *ctx.resource_quotas);
  }
  if (ctx.limit_ranges.has_value()) {
    w.Write(0, "\n");
    if (ctx.limit_ranges->empty()) {
      w.Write(0, "No LimitRange resource.\n");
    } else {
      w.Write(0,
              "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault "
              "Limit\tMax Limit/Request Ratio\n");
      w.Write(0,
              " ----\t--------\t---\t---\t---------------\t-------------\t---------------------"
              "--\n");
      for (const v1::LimitRange& lr : *ctx.limit_ranges) LimitRangeItems(w, lr, " ");
    }
  }
}

void DescribeConfigMap(Writer& w, const v1::ConfigMap& cm) {
  MetadataBlock(w, cm.metadata());
  LabelsMultiline(w, "Labels", cm.metadata().labels());
  AnnotationsMultiline(w, "Annotations", cm.metadata().annotations());
  w.Write(0, "\nData\n====\n");
  for (const std::string& key : SortedKeys(cm.data())) {
    w.Write(0, key + ":\n----\n");
    w.Write(0, cm.data().at(key) + "\n");
  }
  w.Write(0, "\nBinaryData\n====\n");
  std::vector<std::string> binary;
  for (const auto& [key, value] : cm.binary_data()) binary.push_back(key);
  std::sort(binary.begin(), binary.end());
  for (const std::string& key : binary) {
    w.Write(0,
            key + ": " + Str(static_cast<int64_t>(cm.binary_data().at(key).size())) + " bytes\n");
  }
  w.Write(0, "\n");
}

void DescribeSecret(Writer& w, const v1::Secret& secret) {
  MetadataBlock(w, secret.metadata());
  LabelsMultiline(w, "Labels", secret.metadata().labels());
  AnnotationsMultiline(w, "Annotations", secret.metadata().annotations());
  w.Write(0, "\nType:\t" + (secret.type().empty() ? "Opaque" : secret.type()) + "\n");
  w.Write(0, "\nData\n====\n");
  // Sizes only, never values; stringData counts as the data it becomes.
  std::map<std::string, size_t> sizes;
  for (const auto& [key, value] : secret.data()) sizes[key] = value.size();
  for (const auto& [key, value] : secret.string_data()) sizes.emplace(key, value.size());
  for (const auto& [key, size] : sizes) {
    w.Write(0, key + ":\t" + Str(static_cast<int64_t>(size)) + " bytes\n");
  }
}

void DescribeQuota(Writer& w, const v1::ResourceQuota& q) {
  MetadataBlock(w, q.metadata());
  w.Write(0, "Resource\tUsed\tHard\n");
  w.Write(0, "--------\t----\t----\n");
  for (const std::string& name : SortedKeys(q.status().hard())) {
    const auto used = q.status().used().find(name);
    w.Write(0, name + "\t" + (used == q.status().used().end() ? "0" : used->second) + "\t" +
                   q.status().hard().at(name) + "\n");
  }
}

void DescribeLimitRange(Writer& w, const v1::LimitRange& lr) {
  MetadataBlock(w, lr.metadata());
  w.Write(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n");
  w.Write(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n");
  LimitRangeItems(w, lr, "");
}

void DescribePriorityClass(Writer& w, const v1::PriorityClass& pc) {
  Field(w, 0, "Name", pc.metadata().name());
  Field(w, 0, "Value", Str(pc.value()));
  Field(w, 0, "GlobalDefault", Bool(pc.global_default()));
  Field(w, 0, "PreemptionPolicy", pc.preemption_policy());
  Field(w, 0, "Description", pc.description());
  Field(w, 0, "Annotations", FormatLabels(pc.metadata().annotations()));
}

// --- the generic describer --------------------------------------------------------------

// github.com/fatih/camelcase.Split: runs of one character class (lower,
// upper, digit, other), an upper run's last letter moved to a lower run
// that follows ("APIVersion" -> "API", "Version").
std::vector<std::string> CamelCaseSplit(const std::string& s) {
  auto cls = [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return std::islower(u) ? 1 : std::isupper(u) ? 2 : std::isdigit(u) ? 3 : 4;
  };
  std::vector<std::string> runs;
  int last = 0;
  for (char c : s) {
    if (cls(c) == last) {
      runs.back() += c;
    } else {
      runs.emplace_back(1, c);
    }
    last = cls(c);
  }
  for (size_t i = 0; i + 1 < runs.size(); ++i) {
    if (cls(runs[i][0]) == 2 && cls(runs[i + 1][0]) == 1) {
      runs[i + 1].insert(runs[i + 1].begin(), runs[i].back());
      runs[i].pop_back();
    }
  }
  std::vector<std::string> out;
  for (std::string& r : runs) {
    if (!r.empty()) out.push_back(std::move(r));
  }
  return out;
}

// smartLabelFor: "holderIdentity" -> "Holder Identity", "apiVersion" ->
// "API Version"; a name with other than letters and '-' stays as it is.
std::string SmartLabel(const std::string& field) {
  for (char c : field) {
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-') return field;
  }
  std::vector<std::string> parts;
  for (std::string part : CamelCaseSplit(field)) {
    if (part == "_") continue;
    std::string upper = part;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "API" || upper == "URL" || upper == "UID" || upper == "OSB" || upper == "GUID") {
      part = upper;
    } else if (std::islower(static_cast<unsigned char>(part[0]))) {
      part[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));
    }
    parts.push_back(part);
  }
  return Join(parts, " ");
}

std::string ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "<nil>";
  return v.dump();
}

void Unstructured(Writer& w, int level, const nlohmann::json& content, const std::string& prefix) {
  static const std::set<std::string> kSkip = {".metadata.managedFields", ".metadata.name",
                                              ".metadata.namespace", ".metadata.labels",
                                              ".metadata.annotations"};
  for (const auto& [field, value] : content.items()) {  // nlohmann objects are key-sorted
    const std::string path = prefix + "." + field;
    if (kSkip.count(path) != 0) continue;
    if (value.is_object()) {
      w.Write(level, SmartLabel(field) + ":\n");
      Unstructured(w, level + 1, value, path);
    } else if (value.is_array()) {
      w.Write(level, SmartLabel(field) + ":\n");
      for (const nlohmann::json& child : value) {
        if (child.is_object()) {
          Unstructured(w, level + 1, child, path);
        } else {
          w.Write(level + 1, ScalarText(child) + "\n");
        }
      }
    } else {
      w.Write(level, SmartLabel(field) + ":\t" + ScalarText(value) + "\n");
    }
  }
}

void DescribeGeneric(Writer& w, const v1::Object& object) {
  const v1::ObjectMeta& m = api::MetaOf(object);
  MetadataBlock(w, m);
  LabelsMultiline(w, "Labels", m.labels());
  AnnotationsMultiline(w, "Annotations", m.annotations());
  Unstructured(w, 0, api::ToJson(object), "");
}

}  // namespace

std::string Describe(const v1::Object& object, const DescribeContext& ctx, Clock::time_point now) {
  using OC = v1::Object::ObjectCase;
  Writer w;
  bool events = true;
  switch (object.object_case()) {
    case OC::kPod:
      DescribePod(w, object.pod(), now);
      break;
    case OC::kDeployment:
      DescribeDeployment(w, object.deployment(), ctx);
      break;
    case OC::kReplicaSet:
      DescribeReplicaSet(w, object.replica_set(), ctx);
      break;
    case OC::kDaemonSet:
      DescribeDaemonSet(w, object.daemon_set(), ctx);
      break;
    case OC::kJob:
      DescribeJob(w, object.job());
      break;
    case OC::kService:
      DescribeService(w, object.service(), ctx);
      break;
    case OC::kEndpoints:
      DescribeEndpoints(w, object.endpoints());
      break;
    case OC::kNode:
      DescribeNode(w, object.node(), ctx, now);
      break;
    case OC::kConfigMap:
      DescribeConfigMap(w, object.config_map());
      break;
    case OC::kPriorityClass:
      DescribePriorityClass(w, object.priority_class());
      break;
    // kubectl shows no events for these.
    case OC::kNamespace:
      DescribeNamespace(w, object.namespace_(), ctx);
      events = false;
      break;
    case OC::kSecret:
      DescribeSecret(w, object.secret());
      events = false;
      break;
    case OC::kResourceQuota:
      DescribeQuota(w, object.resource_quota());
      events = false;
      break;
    case OC::kLimitRange:
      DescribeLimitRange(w, object.limit_range());
      events = false;
      break;
    case OC::OBJECT_NOT_SET:
      return "";
    default:
      DescribeGeneric(w, object);
      break;
  }
  if (events) Events(w, ctx, object, now);
  return w.Done();
}

std::string Describe(const v1::Object& object, const std::vector<v1::Event>& events,
                     Clock::time_point now) {
  DescribeContext ctx;
  ctx.events = events;
  return Describe(object, ctx, now);
}

}  // namespace berth::cli
