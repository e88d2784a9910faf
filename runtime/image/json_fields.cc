#include "json_fields.h"

namespace berth::runtime::image::detail {
namespace {

const Json* Member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<Json> ParseJson(std::string_view text, const std::string& what) {
  try {
    Json j = Json::parse(text.begin(), text.end());
    if (!j.is_object()) return JsonError(what, "expected a JSON object");
    return j;
  } catch (const Json::exception& e) {
    return Error::Invalid(what + ": invalid JSON: " + e.what());
  }
}

Result<std::string> GetString(const Json& obj, const char* key, const std::string& path,
                              bool required) {
  const Json* v = Member(obj, key);
  if (!v) {
    if (required) return JsonError(path + "." + key, "missing");
    return std::string();
  }
  if (!v->is_string()) return JsonError(path + "." + key, "expected a string");
  return v->get<std::string>();
}

Result<int64_t> GetInt(const Json& obj, const char* key, const std::string& path, bool required) {
  const Json* v = Member(obj, key);
  if (!v) {
    if (required) return JsonError(path + "." + key, "missing");
    return int64_t{0};
  }
  if (!v->is_number_integer()) return JsonError(path + "." + key, "expected an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT64_MAX}) {
    return JsonError(path + "." + key, "integer out of range");
  }
  return v->get<int64_t>();
}

Result<std::vector<std::string>> GetStringArray(const Json& obj, const char* key,
                                                const std::string& path) {
  std::vector<std::string> out;
  const Json* v = Member(obj, key);
  if (!v) return out;
  if (!v->is_array()) return JsonError(path + "." + key, "expected an array of strings");
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (!e.is_string()) {
      return JsonError(path + "." + key + "[" + std::to_string(i) + "]", "expected a string");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, std::string>> GetStringMap(const Json& obj, const char* key,
                                                        const std::string& path) {
  std::map<std::string, std::string> out;
  const Json* v = Member(obj, key);
  if (!v) return out;
  if (!v->is_object()) return JsonError(path + "." + key, "expected an object of strings");
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) return JsonError(path + "." + key + "." + k, "expected a string");
    out.emplace(k, e.get<std::string>());
  }
  return out;
}

Result<std::vector<std::string>> GetObjectKeys(const Json& obj, const char* key,
                                               const std::string& path) {
  std::vector<std::string> out;
  const Json* v = Member(obj, key);
  if (!v) return out;
  if (!v->is_object()) return JsonError(path + "." + key, "expected an object");
  for (const auto& [k, e] : v->items()) out.push_back(k);
  return out;  // nlohmann's default object is a std::map: already sorted
}

}  // namespace berth::runtime::image::detail
