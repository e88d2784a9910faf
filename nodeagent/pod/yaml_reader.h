// Internal: typed reads of yaml-cpp nodes for the manifest parsers, with
// errors naming the file and the field path ("web.yaml: spec.x: ...").
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "berth/common/error.h"

namespace berth::nodeagent::detail {

// "path.key" ("key" at the top).
inline std::string Join(const std::string& path, const std::string& key) {
  if (path.empty()) return key;
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

// Errors carry "<file>: <path>: <what>".
class YamlReader {
 public:
  explicit YamlReader(std::string what) : what_(std::move(what)) {}

  Error Fail(const std::string& path, const std::string& msg) const {
    return Error::Invalid(what_ + ": " + path + ": " + msg);
  }

  // Every key of `node` must be in `allowed`.
  Status Keys(const YAML::Node& node, const std::string& path,
              std::initializer_list<const char*> allowed) const {
    if (!node.IsMap()) return Fail(path, "expected a mapping");
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) return Fail(Join(path, key), "unknown field");
    }
    return {};
  }

  Result<std::string> String(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) return Fail(path, "expected a string");
    return n.as<std::string>();
  }

  Result<int64_t> Int(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) return Fail(path, "expected an integer");
    try {
      return n.as<int64_t>();
    } catch (const YAML::Exception&) {
      return Fail(path, "expected an integer, got \"" + n.as<std::string>() + "\"");
    }
  }

  Result<bool> Bool(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) return Fail(path, "expected true or false");
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      return Fail(path, "expected true or false");
    }
  }

  Result<std::vector<std::string>> Strings(const YAML::Node& n, const std::string& path) const {
    if (!n.IsSequence()) return Fail(path, "expected a list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < n.size(); ++i) {
      BERTH_ASSIGN_OR_RETURN(std::string s, String(n[i], path + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::map<std::string, std::string>> StringMap(const YAML::Node& n,
                                                       const std::string& path) const {
    if (!n.IsMap()) return Fail(path, "expected a mapping of strings");
    std::map<std::string, std::string> out;
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      BERTH_ASSIGN_OR_RETURN(out[key], String(kv.second, Join(path, key)));
    }
    return out;
  }

 private:
  std::string what_;
};

}  // namespace berth::nodeagent::detail
