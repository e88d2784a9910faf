// YAML <-> JSON for manifests. yaml-cpp parses and emits; the scalar rules
// are YAML 1.2's core schema, which is what Kubernetes users expect from
// kubectl: `replicas: 3` is a number, `"3"` a string, `~` and `null` null.
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "berth/api/codec.h"

namespace berth::api {
namespace {

using json = nlohmann::json;

bool IsDecimal(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsFloat(std::string_view s) {
  if (s == ".inf" || s == "-.inf" || s == ".nan") return true;
  bool digit = false;
  bool dot_or_exp = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if ((c == '-' || c == '+') && (i == 0 || s[i - 1] == 'e' || s[i - 1] == 'E')) {
    } else if (c == '.' || c == 'e' || c == 'E') {
      dot_or_exp = true;
    } else {
      return false;
    }
  }
  return digit && dot_or_exp;
}

// A plain scalar resolved by the core schema; nullopt: a string.
std::optional<json> ResolvePlain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return json(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  if (IsDecimal(s)) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return json(static_cast<int64_t>(v));
    return json(std::strtod(s.c_str(), nullptr));
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str() + 2, &end, s[1] == 'x' ? 16 : 8);
    if (errno == 0 && *end == '\0') return json(static_cast<int64_t>(v));
  }
  if (IsFloat(s)) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (*end == '\0') return json(v);
  }
  return std::nullopt;
}

Result<json> ToJson(const YAML::Node& node, const std::string& what, const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      // "!" is yaml-cpp's tag for quoted (non-plain) scalars.
      if (node.Tag() == "!") return json(s);
      auto resolved = ResolvePlain(s);
      return resolved ? *resolved : json(s);
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      size_t i = 0;
      for (const auto& item : node) {
        auto v = ToJson(item, what, path + "[" + std::to_string(i++) + "]");
        if (!v.ok()) return v.error();
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return Error::Invalid(what + ": " + path + ": a mapping key must be a string");
        }
        const std::string key = kv.first.Scalar();
        const std::string sub = path.empty() ? key : path + "." + key;
        if (out.contains(key)) {
          return Error::Invalid(what + ": " + sub + ": key \"" + key + "\" appears twice");
        }
        auto v = ToJson(kv.second, what, sub);
        if (!v.ok()) return v.error();
        out[key] = std::move(*v);
      }
      return out;
    }
  }
  return json(nullptr);
}

void Emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      return;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) Emit(out, item);
      out << YAML::EndSeq;
      return;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      // A string that would read back as another type is quoted.
      if (ResolvePlain(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      return;
    }
    case json::value_t::null:
      out << YAML::Null;
      return;
    default:
      out << v.dump();
      return;
  }
}

}  // namespace

Result<std::vector<json>> YamlDocumentsToJson(std::string_view text, std::string_view what) {
  const std::string source(what);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error::Invalid(source + ": line " + std::to_string(e.mark.line + 1) + ", column " +
                          std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::vector<json> out;
  out.reserve(docs.size());
  int number = 0;
  for (const auto& doc : docs) {
    ++number;
    const std::string name =
        docs.size() > 1 ? source + ": document " + std::to_string(number) : source;
    auto value = ToJson(doc, name, "");
    if (!value.ok()) return value.error();
    out.push_back(std::move(*value));
  }
  return out;
}

std::string JsonToYaml(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  Emit(out, value);
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace berth::api
