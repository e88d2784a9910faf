// describe's building blocks, shared by its files: kubectl's PrefixWriter
// over a tabwriter, the text of quantities, times and metadata, events,
// and the pod, template and workload describers (describe_pods.cc) that
// the dispatcher in describe.cc calls. Internal to cli/.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "describe.h"

namespace berth::cli::describe_internal {

using google::protobuf::Timestamp;
using StringMap = google::protobuf::Map<std::string, std::string>;

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

std::string Str(int64_t v);
const char* Bool(bool v);
const char* TitleBool(bool v);
std::vector<std::string> SortedKeys(const StringMap& map);
std::string Rfc1123z(const Timestamp& t, bool set);
std::string IntOrString(const google::protobuf::Value& v);
std::string CpuQuantity(int64_t milli);
std::string ByteQuantity(int64_t bytes, bool binary);
void Field(Writer& w, int level, std::string_view name, std::string_view value);
void LabelsMultiline(Writer& w, std::string_view title, const StringMap& labels,
                     std::string_view initial_indent = "");
void AnnotationsMultiline(Writer& w, std::string_view title, const StringMap& annotations);
void MetadataBlock(Writer& w, const v1::ObjectMeta& m, bool with_namespace = true);
std::string ControlledBy(const v1::ObjectMeta& m);
bool Controls(const v1::ObjectMeta& owner, const v1::ObjectMeta& owned, std::string_view kind);
bool About(const v1::Event& e, const v1::Object& object);
void Events(Writer& w, const DescribeContext& ctx, const v1::Object& object, Clock::time_point now);
std::string ProbeText(const v1::Probe& p);
void ContainerState(Writer& w, std::string_view name, const v1::ContainerState& state);
void ResourceList(Writer& w, std::string_view title, const StringMap& list);
void Containers(Writer& w, std::string_view label,
                const google::protobuf::RepeatedPtrField<v1::Container>& containers,
                const google::protobuf::RepeatedPtrField<v1::ContainerStatus>* statuses,
                std::string_view space);
void Volumes(Writer& w, const google::protobuf::RepeatedPtrField<v1::Volume>& volumes,
             std::string_view space);
void PodTemplate(Writer& w, const v1::PodTemplateSpec& t);
std::string QosClass(const v1::Pod& pod);
void Tolerations(Writer& w, const google::protobuf::RepeatedPtrField<v1::Toleration>& list);
void DescribePod(Writer& w, const v1::Pod& pod, Clock::time_point now);
void WorkloadConditions(Writer& w,
                        const google::protobuf::RepeatedPtrField<v1::WorkloadCondition>& list);
std::string ReplicaSetsByLabels(const std::vector<const v1::ReplicaSet*>& sets);
bool SameTemplate(const v1::PodTemplateSpec& a, const v1::PodTemplateSpec& b);
void DescribeDeployment(Writer& w, const v1::Deployment& d, const DescribeContext& ctx);
std::string PodsStatus(const v1::ObjectMeta& owner, std::string_view kind,
                       const DescribeContext& ctx);
void DescribeReplicaSet(Writer& w, const v1::ReplicaSet& rs, const DescribeContext& ctx);
void DescribeDaemonSet(Writer& w, const v1::DaemonSet& ds, const DescribeContext& ctx);
void DescribeJob(Writer& w, const v1::Job& job);

}  // namespace berth::cli::describe_internal
