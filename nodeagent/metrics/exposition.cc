#include "exposition.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace berth::metrics {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {  // counters and bytes: plain integers
    (void)std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  // Otherwise the shortest text that reads back as the same double.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

void Exposition::Family(const std::string& name, MetricType type, const std::string& help) {
  name_ = name;
  out_ += "# HELP " + name + " " + help + "\n";
  const char* t = type == MetricType::kCounter ? " counter\n"
                  : type == MetricType::kGauge ? " gauge\n"
                                               : " histogram\n";
  out_ += "# TYPE " + name + t;
}

void Exposition::Sample(const Labels& labels, double value) { Sample("", labels, value); }

void Exposition::Sample(const char* suffix, const Labels& labels, double value) {
  SampleRendered(suffix, RenderLabels(labels), "", value);
}

void Exposition::SampleRendered(const char* suffix, std::string_view labels, std::string_view extra,
                                double value) {
  out_ += name_;
  out_ += suffix;
  if (!labels.empty() || !extra.empty()) {
    out_ += '{';
    out_ += labels;
    if (!labels.empty() && !extra.empty()) out_ += ',';
    out_ += extra;
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

std::string RenderLabels(const Labels& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += EscapeLabelValue(labels[i].second);
    out += '"';
  }
  return out;
}

}  // namespace berth::metrics
