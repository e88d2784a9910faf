// Internal: typed access to nlohmann::json values with errors that name the
// JSON path ("manifest.layers[1].digest: expected a string"). Used only inside
// the image library; no nlohmann exception escapes its callers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/error.h"

namespace berth::runtime::image::detail {

using Json = nlohmann::json;

inline Error JsonError(const std::string& path, const std::string& what) {
  return Error::Invalid(path + ": " + what);
}

// Parses a document; syntax errors carry the byte offset.
Result<Json> ParseJson(std::string_view text, const std::string& what);

// Optional members: absent or null yields the default; a wrong type is an error.
Result<std::string> GetString(const Json& obj, const char* key, const std::string& path,
                              bool required);
Result<int64_t> GetInt(const Json& obj, const char* key, const std::string& path, bool required);
Result<std::vector<std::string>> GetStringArray(const Json& obj, const char* key,
                                                const std::string& path);
Result<std::map<std::string, std::string>> GetStringMap(const Json& obj, const char* key,
                                                        const std::string& path);
// The keys of an object member ("ExposedPorts": {"80/tcp": {}}), sorted.
Result<std::vector<std::string>> GetObjectKeys(const Json& obj, const char* key,
                                               const std::string& path);

}  // namespace berth::runtime::image::detail
