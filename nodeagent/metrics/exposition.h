// Prometheus text exposition format 0.0.4: families with HELP and TYPE,
// samples with escaped label values, numbers as Prometheus prints them.
// Not thread-safe (one writer per scrape).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

class Exposition {
 public:
  // Starts a family; its samples follow until the next Family().
  void Family(const std::string& name, MetricType type, const std::string& help);
  void Sample(const Labels& labels, double value);
  // A histogram's series: name_bucket, name_sum, name_count.
  void Sample(const char* suffix, const Labels& labels, double value);
  // The fast path for collectors: labels already rendered as
  // `k="v",k2="v2"` (see RenderLabels), plus optional extra rendered pairs.
  void SampleRendered(const char* suffix, std::string_view labels, std::string_view extra,
                      double value);
  void Reserve(size_t bytes) { out_.reserve(bytes); }
  const std::string& text() const { return out_; }

 private:
  std::string name_;
  std::string out_;
};

// `k="v",k2="v2"` with escaped values.
std::string RenderLabels(const Labels& labels);
// Label values escape backslash, double quote and newline.
std::string EscapeLabelValue(const std::string& v);
// "1", "0.5", "1.5e+09", "+Inf", "NaN".
std::string FormatValue(double v);

}  // namespace berth::metrics
