#include "resource_args.h"

namespace berth::cli {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

}  // namespace

Result<const api::KindInfo*> ParseKind(const std::string& type) {
  // "deployments.apps", "deployment.v1.apps": the group part is optional.
  const std::string base = type.substr(0, type.find('.'));
  const api::KindInfo* k = api::FindKind(base);
  if (k == nullptr) {
    return Error::Msg("the server doesn't have a resource type \"" + type + "\"");
  }
  return k;
}

Result<std::vector<ResourceRef>> ParseResourceArgs(const std::vector<std::string>& args) {
  std::vector<ResourceRef> out;
  if (args.empty()) {
    return Error::Msg(
        "you must specify the type of resource to get. Use \"berth api-resources\" for a "
        "complete list of supported resources");
  }
  if (args[0].find('/') != std::string::npos) {
    for (const std::string& a : args) {
      const size_t slash = a.find('/');
      if (slash == std::string::npos || slash + 1 == a.size()) {
        return Error::Msg(
            "there is no need to specify a resource type as a separate "
            "argument when passing arguments in resource/name form (e.g. "
            "'berth get resource/<resource_name>' instead of 'berth get "
            "resource resource/<resource_name>'");
      }
      BERTH_ASSIGN_OR_RETURN(const api::KindInfo* k, ParseKind(a.substr(0, slash)));
      out.push_back({k, a.substr(slash + 1)});
    }
    return out;
  }
  std::vector<const api::KindInfo*> kinds;
  for (const std::string& t : Split(args[0], ',')) {
    if (t == "all") {
      for (const char* k :
           {"pods", "services", "daemonsets", "deployments", "replicasets", "jobs"}) {
        kinds.push_back(api::FindKind(k));
      }
      continue;
    }
    BERTH_ASSIGN_OR_RETURN(const api::KindInfo* k, ParseKind(t));
    kinds.push_back(k);
  }
  if (args.size() == 1) {
    for (const auto* k : kinds) out.push_back({k, ""});
    return out;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].find('/') != std::string::npos) {
      return Error::Msg("arguments in resource/name form must have a single resource and name");
    }
    for (const auto* k : kinds) out.push_back({k, args[i]});
  }
  return out;
}

}  // namespace berth::cli
