// describe's text primitives: quantities, times, metadata blocks, events.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "describe_internal.h"

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/common/quantity.h"

namespace berth::cli::describe_internal {

std::string Str(int64_t v) { return std::to_string(v); }

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

// A "Name:\tvalue" line.
void Field(Writer& w, int level, std::string_view name, std::string_view value) {
  w.Write(level, std::string(name) + ":\t" + std::string(value) + "\n");
}

void LabelsMultiline(Writer& w, std::string_view title, const StringMap& labels,
                     std::string_view initial_indent) {
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

void MetadataBlock(Writer& w, const v1::ObjectMeta& m, bool with_namespace) {
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

}  // namespace berth::cli::describe_internal
