// The output layer of `berth`, Berth's kubectl-compatible CLI: the tables
// `kubectl get` prints (kubectl 1.28: the server-side column definitions of
// k8s.io/kubernetes pkg/printers/internalversion/printers.go, laid out by
// cli-runtime's tabwriter), `-o name`, and the text helpers `describe`
// shares with them (ages, label and selector strings, tab alignment).
//
// Functions over values only; thread-safe. Nothing here fails: a field an
// object lacks prints the way kubectl prints it absent (`<none>`,
// `<unknown>`, an empty cell).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/map.h>
#include <google/protobuf/timestamp.pb.h>

#include "control.pb.h"

#include "berth/common/error.h"

namespace berth::cli {

using Clock = std::chrono::system_clock;

// What the VERSION column shows: Berth's Node carries no
// status.nodeInfo.kubeletVersion, every node runs this agent version.
inline constexpr std::string_view kNodeVersion = "berth-v0.1.0";

struct PrintOptions {
  bool wide = false;            // -o wide: the kind's priority-1 columns too
  bool show_labels = false;     // --show-labels: LABELS last
  bool with_namespace = false;  // -A: NAMESPACE first (namespaced kinds only, as kubectl)
  bool no_headers = false;      // --no-headers
  // NAME as "pod/web-1", "deployment.apps/web": kubectl's form when one
  // `get` lists several kinds.
  bool kind_prefix = false;
  Clock::time_point now = Clock::now();  // what AGE counts from
};

// The table `kubectl get` prints for `objects`, one line per object after
// the header, columns left-aligned and 3 spaces apart, each line ending in
// "\n". Objects of one kind are expected; a run of another kind starts a
// table of its own after an empty line. No objects: "" (kubectl's "No
// resources found" is the caller's).
std::string PrintTable(const std::vector<v1::Object>& objects, const PrintOptions& o);

// `-o name`: "deployment.apps/web\n", "pod/web-1\n", one line per object.
std::string PrintNames(const std::vector<v1::Object>& objects);

// The STATUS column of a pod (printPod): "Running", "Init:0/2",
// "Init:CrashLoopBackOff", "CrashLoopBackOff", "Completed", "Terminating",
// "Unknown" for a deleted pod on a lost node, ...
std::string PodStatusText(const v1::Pod& pod);

// k8s.io/apimachinery/pkg/util/duration.HumanDuration: "45s", "119s",
// "2m", "5m30s", "45m", "5h30m", "30h", "3d4h", "200d", "2y", "3y100d";
// "0s" for -1s, "<invalid>" below that.
std::string HumanDuration(std::chrono::seconds d);

// Go's time.ParseDuration as kubectl's duration flags take it ("30s",
// "5m", "1h30m", "1.5h", "250ms"); a bare number is refused as Go does,
// except "0". EINVAL naming the text.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// How long ago `t` was, as HumanDuration; "<unknown>" when `t` is unset
// (pass has_xxx() as `set`).
std::string HumanAge(const google::protobuf::Timestamp& t, bool set, Clock::time_point now);

// labels.FormatLabels: "app=web,tier=front" sorted by key; "<none>" when empty.
std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels);

// A label selector as its string ("app=web,tier in (a,b),!canary", keys
// sorted); "" when it selects everything.
std::string SelectorString(const v1::LabelSelector& selector);
// metav1.FormatLabelSelector: SelectorString, "<none>" when empty.
std::string FormatLabelSelector(const v1::LabelSelector& selector);

// An Endpoints' addresses as host:port, at most three then " + N more...";
// `port_name` keeps only the ports of that name (a Service port's
// endpoints). "<none>" when it has no subsets.
std::string FormatEndpoints(const v1::Endpoints& endpoints,
                            std::optional<std::string_view> port_name = std::nullopt);

// The parts with `sep` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// `s`, or "<none>" when it is empty.
std::string OrNone(std::string s);

// Go's text/tabwriter over `text` (flags 0, padding character ' '): cells
// end at '\t', a column block is the run of adjacent lines that have a cell
// in that column, each cell is padded to its block's widest cell plus
// `padding` (at least `min_width`); the text after a line's last tab is not
// padded. kubectl get uses (6, 3); kubectl describe (0, 2).
std::string AlignColumns(std::string_view text, int min_width, int padding);

}  // namespace berth::cli
