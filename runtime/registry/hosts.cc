#include "berth/runtime/registry/hosts.h"

#include <cerrno>

#include "json_fields.h"

#include "berth/common/file.h"

namespace berth::runtime::registry {
namespace {

using image::detail::GetString;
using image::detail::Json;
using image::detail::JsonError;

// "path.key" for error messages.
std::string Member(const std::string& path, const std::string& key) {
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

// "mirror.example.com:5000/dockerhub" -> host and "/dockerhub".
Result<Endpoint> ParseMirror(const Json& m, const std::string& path) {
  if (!m.is_object()) return JsonError(path, "expected an object");
  BERTH_ASSIGN_OR_RETURN(std::string location, GetString(m, "host", path, true));
  if (location.find("://") != std::string::npos) {
    return JsonError(path + ".host", "give host[:port][/prefix] without a scheme (\"" + location +
                                         "\"); set \"insecure\": true for plain HTTP");
  }
  Endpoint ep;
  ep.mirror = true;
  size_t slash = location.find('/');
  ep.host = location.substr(0, slash);
  if (slash != std::string::npos) ep.prefix = location.substr(slash);
  while (!ep.prefix.empty() && ep.prefix.back() == '/') ep.prefix.pop_back();
  if (ep.host.empty()) return JsonError(path + ".host", "empty host");
  auto insecure = m.find("insecure");
  if (insecure != m.end()) {
    if (!insecure->is_boolean()) return JsonError(path + ".insecure", "expected true or false");
    ep.insecure = insecure->get<bool>();
  }
  return ep;
}

}  // namespace

std::string Endpoint::BaseUrl() const {
  return std::string(insecure ? "http://" : "https://") + host + prefix;
}

Result<RegistryHosts> RegistryHosts::Load(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.error().err() == ENOENT) return RegistryHosts();
    return std::move(text).error();
  }
  return Parse(*text, path.string());
}

Result<RegistryHosts> RegistryHosts::Parse(std::string_view json, std::string_view what) {
  const std::string doc(what);
  BERTH_ASSIGN_OR_RETURN(Json j, image::detail::ParseJson(json, doc));
  RegistryHosts hosts;
  for (const auto& [key, value] : j.items()) {
    if (key != "registries") return JsonError(Member(doc, key), "unknown field");
  }
  auto regs = j.find("registries");
  if (regs == j.end()) return hosts;
  if (!regs->is_object()) return JsonError(doc + ".registries", "expected an object");
  for (const auto& [name, cfg] : regs->items()) {
    std::string path = doc;
    path.append(".registries[\"").append(name).append("\"]");
    if (!cfg.is_object()) return JsonError(path, "expected an object");
    RegistryConfig rc;
    for (const auto& [key, value] : cfg.items()) {
      if (key == "insecure") {
        if (!value.is_boolean()) return JsonError(path + ".insecure", "expected true or false");
        rc.insecure = value.get<bool>();
      } else if (key == "mirrors") {
        if (!value.is_array()) return JsonError(path + ".mirrors", "expected an array");
        for (size_t i = 0; i < value.size(); ++i) {
          BERTH_ASSIGN_OR_RETURN(
              Endpoint ep, ParseMirror(value[i], path + ".mirrors[" + std::to_string(i) + "]"));
          rc.mirrors.push_back(std::move(ep));
        }
      } else {
        return JsonError(Member(path, key), "unknown field");
      }
    }
    hosts.registries_[name] = std::move(rc);
  }
  return hosts;
}

void RegistryHosts::AddInsecure(const std::string& registry) {
  registries_[registry].insecure = true;
}

void RegistryHosts::AddMirror(const std::string& registry, Endpoint mirror) {
  mirror.mirror = true;
  registries_[registry].mirrors.push_back(std::move(mirror));
}

std::vector<Endpoint> RegistryHosts::EndpointsFor(std::string_view registry) const {
  std::vector<Endpoint> out;
  Endpoint self;
  self.host = registry == "docker.io" ? "registry-1.docker.io" : std::string(registry);
  auto it = registries_.find(registry);
  if (it != registries_.end()) {
    out = it->second.mirrors;
    self.insecure = it->second.insecure;
  }
  out.push_back(std::move(self));
  return out;
}

}  // namespace berth::runtime::registry
