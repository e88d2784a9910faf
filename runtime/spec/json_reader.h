// JsonReader: typed access to a nlohmann::json object that remembers its JSON
// path, so every error names where it happened ("process.user.uid: expected
// an unsigned integer, got string"), and records the keys it never read so
// the caller can report them as unsupported. Private to runtime/spec.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/error.h"

namespace berth::runtime::spec_internal {

class JsonReader {
 public:
  JsonReader(const nlohmann::json& j, std::string path, std::vector<std::string>* unsupported)
      : j_(j), path_(std::move(path)), unsupported_(unsupported) {}
  // Reports every key of this object that no accessor asked for.
  ~JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  bool Has(const char* key) const;
  std::string Path(const char* key) const;
  const nlohmann::json& Raw(const char* key);

  Status String(const char* key, std::string* out, bool required = false);
  Status Bool(const char* key, bool* out);
  Status OptBool(const char* key, std::optional<bool>* out);
  Status Uint(const char* key, uint64_t max, uint64_t* out, bool required = false);
  Status Int(const char* key, int64_t* out, bool required = false);
  Status StringList(const char* key, std::vector<std::string>* out);
  Status StringMap(const char* key, std::map<std::string, std::string>* out);

  template <typename T>
  Status OptUint(const char* key, uint64_t max, std::optional<T>* out) {
    if (!Has(key)) return Ok();
    uint64_t v = 0;
    BERTH_TRY(Uint(key, max, &v));
    *out = static_cast<T>(v);
    return Ok();
  }
  template <typename T>
  Status OptInt(const char* key, std::optional<T>* out) {
    if (!Has(key)) return Ok();
    int64_t v = 0;
    BERTH_TRY(Int(key, &v));
    *out = static_cast<T>(v);
    return Ok();
  }

  // Calls fn(JsonReader&) on the object at key; absent: not called.
  template <typename Fn>
  Status Object(const char* key, Fn&& fn) {
    if (!Has(key)) return Ok();
    const nlohmann::json& v = Raw(key);
    if (!v.is_object()) return TypeError(Path(key), "an object", v);
    JsonReader sub(v, Path(key), unsupported_);
    return fn(sub);
  }
  // Calls fn(JsonReader&) on each object of the array at key.
  template <typename Fn>
  Status Array(const char* key, Fn&& fn) {
    if (!Has(key)) return Ok();
    const nlohmann::json& v = Raw(key);
    if (!v.is_array()) return TypeError(Path(key), "an array", v);
    for (size_t i = 0; i < v.size(); ++i) {
      std::string p = Path(key) + "[" + std::to_string(i) + "]";
      if (!v[i].is_object()) return TypeError(p, "an object", v[i]);
      JsonReader sub(v[i], p, unsupported_);
      BERTH_TRY(fn(sub));
    }
    return Ok();
  }

  static Error TypeError(const std::string& path, const char* want, const nlohmann::json& got);
  const std::string& path() const { return path_; }

 private:
  const nlohmann::json& j_;
  std::string path_;
  std::vector<std::string>* unsupported_;
  mutable std::set<std::string> read_;  // keys looked at, null ones included
};

}  // namespace berth::runtime::spec_internal
