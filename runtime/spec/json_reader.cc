#include "json_reader.h"

namespace berth::runtime::spec_internal {

JsonReader::~JsonReader() {
  if (unsupported_ == nullptr) return;
  for (const auto& [key, value] : j_.items()) {
    if (read_.count(key) == 0) unsupported_->push_back(Path(key.c_str()));
  }
}

bool JsonReader::Has(const char* key) const {
  read_.insert(key);
  auto it = j_.find(key);
  return it != j_.end() && !it->is_null();
}

std::string JsonReader::Path(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

const nlohmann::json& JsonReader::Raw(const char* key) {
  read_.insert(key);
  return j_.at(key);
}

Error JsonReader::TypeError(const std::string& path, const char* want, const nlohmann::json& got) {
  return Error::Invalid(path + ": expected " + want + ", got " + got.type_name());
}

Status JsonReader::String(const char* key, std::string* out, bool required) {
  if (!Has(key)) {
    read_.insert(key);
    if (required) return Error::Invalid(Path(key) + ": required");
    return Ok();
  }
  const auto& v = Raw(key);
  if (!v.is_string()) return TypeError(Path(key), "a string", v);
  *out = v.get<std::string>();
  return Ok();
}

Status JsonReader::Bool(const char* key, bool* out) {
  if (!Has(key)) {
    read_.insert(key);
    return Ok();
  }
  const auto& v = Raw(key);
  if (!v.is_boolean()) return TypeError(Path(key), "a boolean", v);
  *out = v.get<bool>();
  return Ok();
}

Status JsonReader::OptBool(const char* key, std::optional<bool>* out) {
  if (!Has(key)) return Ok();
  bool b = false;
  BERTH_TRY(Bool(key, &b));
  *out = b;
  return Ok();
}

Status JsonReader::Uint(const char* key, uint64_t max, uint64_t* out, bool required) {
  if (!Has(key)) {
    read_.insert(key);
    if (required) return Error::Invalid(Path(key) + ": required");
    return Ok();
  }
  const auto& v = Raw(key);
  // nlohmann stores non-negative integers as unsigned, negative ones as signed.
  if (!v.is_number_unsigned()) return TypeError(Path(key), "an unsigned integer", v);
  uint64_t n = v.get<uint64_t>();
  if (n > max) {
    return Error::Invalid(Path(key) + ": " + std::to_string(n) + " is out of range (max " +
                          std::to_string(max) + ")");
  }
  *out = n;
  return Ok();
}

Status JsonReader::Int(const char* key, int64_t* out, bool required) {
  if (!Has(key)) {
    read_.insert(key);
    if (required) return Error::Invalid(Path(key) + ": required");
    return Ok();
  }
  const auto& v = Raw(key);
  if (!v.is_number_integer()) return TypeError(Path(key), "an integer", v);
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Error::Invalid(Path(key) + ": out of range for a signed 64-bit integer");
  }
  *out = v.get<int64_t>();
  return Ok();
}

Status JsonReader::StringList(const char* key, std::vector<std::string>* out) {
  if (!Has(key)) {
    read_.insert(key);
    return Ok();
  }
  const auto& v = Raw(key);
  if (!v.is_array()) return TypeError(Path(key), "an array of strings", v);
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      return TypeError(Path(key) + "[" + std::to_string(i) + "]", "a string", v[i]);
    }
    out->push_back(v[i].get<std::string>());
  }
  return Ok();
}

Status JsonReader::StringMap(const char* key, std::map<std::string, std::string>* out) {
  if (!Has(key)) {
    read_.insert(key);
    return Ok();
  }
  const auto& v = Raw(key);
  if (!v.is_object()) return TypeError(Path(key), "an object of strings", v);
  for (const auto& [k, val] : v.items()) {
    if (!val.is_string()) return TypeError(Path(key) + "." + k, "a string", val);
    (*out)[k] = val.get<std::string>();
  }
  return Ok();
}

}  // namespace berth::runtime::spec_internal
