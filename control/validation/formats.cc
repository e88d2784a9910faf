// Field paths, Go-like value rendering, the error list, string formats and
// quantities: the vocabulary every kind's validation is written in. The
// format rules and messages follow k8s.io/apimachinery/pkg/util/validation.
#include <charconv>
#include <cmath>
#include <sstream>

#include <arpa/inet.h>

#include "validation_internal.h"

#include "berth/common/quantity.h"

namespace berth::control::internal {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9]([-a-z0-9]*[a-z0-9])? without a length limit.
bool IsLabelShaped(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

// Dot-separated label-shaped parts, without a length limit.
bool IsSubdomainShaped(std::string_view s) {
  size_t start = 0;
  for (;;) {
    const size_t dot = s.find('.', start);
    const std::string_view part =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!IsLabelShaped(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string RenderNumber(double d) {
  if (std::nearbyint(d) == d && std::fabs(d) < 9.2e18) {
    return std::to_string(static_cast<int64_t>(d));
  }
  std::ostringstream out;
  out << d;
  return out.str();
}

}  // namespace

// --- Paths ----------------------------------------------------------------------

std::string Child(std::string_view base, std::string_view name) {
  if (base.empty()) return std::string(name);
  std::string out(base);
  out += '.';
  out += name;
  return out;
}

std::string Index(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string Key(std::string_view base, std::string_view key) {
  std::string out(base);
  out += '[';
  out += key;
  out += ']';
  return out;
}

// --- Rendering --------------------------------------------------------------------

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          constexpr char kHex[] = "0123456789abcdef";
          const auto u = static_cast<unsigned char>(c);
          out += "\\x";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string RenderLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return "map[string]string(nil)";
  std::string out = "map[string]string{";
  bool first = true;
  for (const std::string& k : SortedKeys(labels)) {
    if (!first) out += ", ";
    first = false;
    out += Quote(k) + ":" + Quote(labels.at(k));
  }
  return out + "}";
}

std::string RenderSelector(const v1::LabelSelector& selector) {
  std::string out = "v1.LabelSelector{MatchLabels:" + RenderLabels(selector.match_labels()) +
                    ", MatchExpressions:";
  if (selector.match_expressions().empty()) {
    out += "[]v1.LabelSelectorRequirement(nil)";
  } else {
    out += "[]v1.LabelSelectorRequirement{";
    for (int i = 0; i < selector.match_expressions_size(); ++i) {
      const v1::LabelSelectorRequirement& r = selector.match_expressions(i);
      if (i > 0) out += ", ";
      out += "v1.LabelSelectorRequirement{Key:" + Quote(r.key()) +
             ", Operator:" + Quote(r.operator_()) + ", Values:";
      if (r.values().empty()) {
        out += "[]string(nil)";
      } else {
        out += "[]string{";
        for (int j = 0; j < r.values_size(); ++j) {
          if (j > 0) out += ", ";
          out += Quote(r.values(j));
        }
        out += "}";
      }
      out += "}";
    }
    out += "}";
  }
  return out + "}";
}

std::string RenderIntOrString(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      return RenderNumber(value.number_value());
    case google::protobuf::Value::kStringValue:
      return Quote(value.string_value());
    case google::protobuf::Value::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case google::protobuf::Value::kStructValue:
      return "{...}";
    case google::protobuf::Value::kListValue:
      return "[...]";
    default:
      return "null";
  }
}

std::string InclusiveRange(int64_t lo, int64_t hi) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", inclusive";
}

// --- ErrorList ----------------------------------------------------------------------

void ErrorList::Add(std::string path, std::string detail) {
  errors_.push_back(FieldError{std::move(path), std::move(detail)});
}

void ErrorList::Append(ErrorList&& other) {
  for (FieldError& e : other.errors_) errors_.push_back(std::move(e));
  other.errors_.clear();
}

void ErrorList::Required(std::string path, std::string_view detail) {
  std::string d = "Required value";
  if (!detail.empty()) d.append(": ").append(detail);
  Add(std::move(path), std::move(d));
}

void ErrorList::Invalid(std::string path, std::string_view rendered, std::string_view detail) {
  std::string d = "Invalid value: ";
  d.append(rendered);
  if (!detail.empty()) d.append(": ").append(detail);
  Add(std::move(path), std::move(d));
}

void ErrorList::InvalidOmitted(std::string path, std::string_view detail) {
  Add(std::move(path), "Invalid value: " + std::string(detail));
}

void ErrorList::Unsupported(std::string path, std::string_view value,
                            const std::vector<std::string_view>& supported) {
  std::string d = "Unsupported value: " + Quote(value);
  if (!supported.empty()) {
    d += ": supported values: ";
    for (size_t i = 0; i < supported.size(); ++i) {
      if (i > 0) d += ", ";
      d += Quote(supported[i]);
    }
  }
  Add(std::move(path), std::move(d));
}

void ErrorList::Duplicate(std::string path, std::string_view rendered) {
  Add(std::move(path), "Duplicate value: " + std::string(rendered));
}

void ErrorList::NotFound(std::string path, std::string_view rendered) {
  Add(std::move(path), "Not found: " + std::string(rendered));
}

void ErrorList::Forbidden(std::string path, std::string_view detail) {
  Add(std::move(path), "Forbidden: " + std::string(detail));
}

void ErrorList::TooLong(std::string path, int64_t max_bytes) {
  Add(std::move(path), "Too long: must have at most " + std::to_string(max_bytes) + " bytes");
}

void ErrorList::TooMany(std::string path, int64_t actual, int64_t max) {
  Add(std::move(path), "Too many: " + std::to_string(actual) + ": must have at most " +
                           std::to_string(max) + " items");
}

// --- Formats ---------------------------------------------------------------------------

bool IsDns1123Label(std::string_view s) { return s.size() <= 63 && IsLabelShaped(s); }

bool IsDns1123Subdomain(std::string_view s) {
  return !s.empty() && s.size() <= 253 && IsSubdomainShaped(s);
}

bool IsDns1035Label(std::string_view s) {
  return IsDns1123Label(s) && s.front() >= 'a' && s.front() <= 'z';
}

void ValidateDns1123Label(const std::string& path, std::string_view value, ErrorList& errs) {
  if (value.empty()) {
    errs.Required(path);
    return;
  }
  if (value.size() > 63) errs.InvalidString(path, value, "must be no more than 63 characters");
  if (!IsLabelShaped(value)) errs.InvalidString(path, value, "must be a DNS-1123 label");
}

void ValidateDns1123Subdomain(const std::string& path, std::string_view value, ErrorList& errs) {
  if (value.empty()) {
    errs.Required(path);
    return;
  }
  if (value.size() > 253) errs.InvalidString(path, value, "must be no more than 253 characters");
  if (!IsSubdomainShaped(value)) {
    errs.InvalidString(path, value, "must be a DNS-1123 subdomain");
  }
}

std::vector<std::string> PortNameErrors(std::string_view name) {
  std::vector<std::string> out;
  if (name.size() > 15) out.emplace_back("must be no more than 15 characters");
  const bool charset = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return IsLowerAlnum(c) || c == '-';
  });
  if (!charset) {
    out.emplace_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (std::none_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    out.emplace_back("must contain at least one letter (a-z)");
  }
  if (name.find("--") != std::string_view::npos) {
    out.emplace_back("must not contain consecutive hyphens");
  }
  if (!name.empty() && (name.front() == '-' || name.back() == '-')) {
    out.emplace_back("must not begin or end with a hyphen");
  }
  return out;
}

bool IsIp(std::string_view s) {
  const std::string str(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, str.c_str(), buf) == 1 || inet_pton(AF_INET6, str.c_str(), buf) == 1;
}

bool IsCidr(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string ip(s.substr(0, slash));
  const std::string_view prefix = s.substr(slash + 1);
  unsigned char buf[16];
  int max = 0;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    max = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    max = 128;
  } else {
    return false;
  }
  int bits = -1;
  const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  return !prefix.empty() && ec == std::errc() && end == prefix.data() + prefix.size() &&
         bits >= 0 && bits <= max;
}

std::vector<std::string> ConfigKeyErrors(std::string_view key) {
  std::vector<std::string> out;
  if (key.size() > 253) out.emplace_back("must be no more than 253 characters");
  const bool charset = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
  });
  if (!charset) {
    out.emplace_back("a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
  }
  // A key is a file name in a volume: no "." or ".." (see IsConfigMapKey).
  if (key == ".") {
    out.emplace_back("must not be '.'");
  } else if (key == "..") {
    out.emplace_back("must not be '..'");
  } else if (key.substr(0, 2) == "..") {
    out.emplace_back("must not start with '..'");
  }
  return out;
}

bool IsEnvVarName(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= ' ' && c <= '~' && c != '='; });
}

bool IsAbsolutePath(std::string_view s) { return !s.empty() && s.front() == '/'; }

std::optional<int64_t> IntegerOf(const google::protobuf::Value& value) {
  if (value.kind_case() != google::protobuf::Value::kNumberValue) return std::nullopt;
  const double d = value.number_value();
  if (std::nearbyint(d) != d || std::fabs(d) > 9.0e15) return std::nullopt;
  return static_cast<int64_t>(d);
}

void ValidatePortNumOrName(const google::protobuf::Value& port, const std::string& path,
                           ErrorList& errs) {
  switch (port.kind_case()) {
    case google::protobuf::Value::kNumberValue: {
      const std::optional<int64_t> n = IntegerOf(port);
      if (!n) {
        errs.Invalid(path, RenderIntOrString(port), "must be an integer or a port name");
      } else if (*n < 1 || *n > 65535) {
        errs.InvalidInt(path, *n, InclusiveRange(1, 65535));
      }
      return;
    }
    case google::protobuf::Value::kStringValue:
      if (port.string_value().empty()) {
        errs.Required(path);
        return;
      }
      for (const std::string& msg : PortNameErrors(port.string_value())) {
        errs.InvalidString(path, port.string_value(), msg);
      }
      return;
    case google::protobuf::Value::KIND_NOT_SET:
    case google::protobuf::Value::kNullValue:
      errs.Required(path);
      return;
    default:
      errs.Invalid(path, RenderIntOrString(port), "must be an integer or a port name");
  }
}

// --- Quantities ---------------------------------------------------------------------------

QuantityKind QuantityKindOf(std::string_view resource) {
  for (const std::string_view prefix : {"requests.", "limits."}) {
    if (resource.substr(0, prefix.size()) == prefix) resource.remove_prefix(prefix.size());
  }
  if (resource == "cpu") return QuantityKind::kCpu;
  if (resource == "memory" || resource == "storage" || resource == "ephemeral-storage") {
    return QuantityKind::kBytes;
  }
  return QuantityKind::kCount;
}

std::optional<int64_t> ValidateQuantity(const std::string& path, std::string_view text,
                                        QuantityKind kind, ErrorList& errs) {
  // The syntax check is Kubernetes' own (resource.ParseQuantity); the value
  // comes from berth's parser, which has the same suffixes.
  static constexpr std::string_view kSyntax =
      "quantities must match the regular expression "
      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) ++i;
  const size_t number_start = i;
  while (i < text.size() && (IsDigit(text[i]) || text[i] == '.')) ++i;
  bool syntax = i > number_start;
  while (i < text.size() &&
         std::string_view("eEinumkKMGTP").find(text[i]) != std::string_view::npos) {
    ++i;
  }
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  syntax = syntax && i == text.size();
  if (!syntax) {
    errs.InvalidString(path, text, kSyntax);
    return std::nullopt;
  }
  const std::string_view magnitude = text.substr(number_start);
  Result<int64_t> parsed =
      kind == QuantityKind::kBytes ? ParseBytes(magnitude) : ParseMilliCpu(magnitude);
  if (!parsed.ok()) {
    errs.InvalidString(path, text, parsed.error().message());
    return std::nullopt;
  }
  if (negative && *parsed != 0) {
    errs.InvalidString(path, text, kNonNegative);
    return std::nullopt;
  }
  if (kind == QuantityKind::kCount) {
    if (*parsed % 1000 != 0) {
      errs.InvalidString(path, text, "must be an integer");
      return std::nullopt;
    }
    return *parsed / 1000;
  }
  return *parsed;
}

}  // namespace berth::control::internal
