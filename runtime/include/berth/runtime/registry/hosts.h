// Where to fetch a registry's content from: mirrors tried in order before the
// registry itself (as containerd's hosts.toml and registries.conf allow), and
// which hosts may be reached over plain HTTP. Configuration is JSON, by
// default /etc/berth/registries.json:
//   {"registries": {
//      "docker.io": {"mirrors": [{"host": "10.0.0.5:5000", "insecure": true},
//                                {"host": "mirror.example.com/dockerhub"}]},
//      "localhost:5000": {"insecure": true}}}
// A mirror serves the same repository names as the registry it mirrors (an
// optional path prefix is put before /v2/... as containerd does), so
// docker.io/library/nginx:1.14.2 comes from the mirror unchanged in the
// manifest. "insecure" means plain HTTP; every other endpoint is HTTPS
// verified against the system CA store. Values only; thread-safe.
// Errors: EINVAL naming the JSON path, errno of reading the file.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::runtime::registry {

inline constexpr std::string_view kDefaultHostsFile = "/etc/berth/registries.json";

// One place to send /v2/ requests to.
struct Endpoint {
  std::string host;    // "registry-1.docker.io", "127.0.0.1:5000"
  std::string prefix;  // path before /v2, "" or "/dockerhub"
  bool insecure = false;
  bool mirror = false;

  // "https://host/prefix" (or http:// when insecure), no trailing slash.
  std::string BaseUrl() const;
};

struct RegistryConfig {
  std::vector<Endpoint> mirrors;
  bool insecure = false;
};

class RegistryHosts {
 public:
  // Reads the file; a missing file is an empty configuration.
  static Result<RegistryHosts> Load(const std::filesystem::path& path);
  static Result<RegistryHosts> Parse(std::string_view json, std::string_view what);

  // Marks a registry (as it appears in references, e.g. "127.0.0.1:5000") as
  // reachable over plain HTTP (the --insecure-registry flag).
  void AddInsecure(const std::string& registry);
  void AddMirror(const std::string& registry, Endpoint mirror);

  // The endpoints for a registry, mirrors first, the registry itself last
  // (docker.io maps to registry-1.docker.io).
  std::vector<Endpoint> EndpointsFor(std::string_view registry) const;

 private:
  std::map<std::string, RegistryConfig, std::less<>> registries_;
};

}  // namespace berth::runtime::registry
