#include "client_config.h"

#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "berth/common/file.h"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;

template <typename T>
const T* FindByName(const std::vector<T>& list, const std::string& name) {
  for (const auto& e : list) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

class Reader {
 public:
  explicit Reader(std::string what) : what_(std::move(what)) {}

  Error Fail(const std::string& path, const std::string& msg) const {
    return Error::Invalid(what_ + ": " + path + ": " + msg);
  }
  Status Keys(const YAML::Node& n, const std::string& path,
              std::initializer_list<std::string_view> allowed) const {
    if (!n.IsMap()) return Fail(path, "expected a mapping");
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>();
      bool ok = false;
      for (auto a : allowed) ok = ok || key == a;
      if (!ok) return Fail(path.empty() ? key : path + "." + key, "unknown field");
    }
    return {};
  }
  Result<std::string> String(const YAML::Node& n, const std::string& path) const {
    if (!n) return std::string();
    if (!n.IsScalar()) return Fail(path, "expected a string");
    return n.as<std::string>();
  }

 private:
  std::string what_;
};

Result<ClientConfig> Parse(const YAML::Node& root, const Reader& r) {
  ClientConfig c;
  if (!root || root.IsNull()) return c;
  BERTH_TRY(r.Keys(
      root, "",
      {"apiVersion", "kind", "current-context", "clusters", "users", "contexts", "preferences"}));
  BERTH_ASSIGN_OR_RETURN(c.current_context, r.String(root["current-context"], "current-context"));
  auto list = [&](const char* key, auto fn) -> Status {
    const YAML::Node n = root[key];
    if (!n || n.IsNull()) return {};
    if (!n.IsSequence()) return r.Fail(key, "expected a list");
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string path = std::string(key) + "[" + std::to_string(i) + "]";
      BERTH_TRY(fn(n[i], path));
    }
    return {};
  };
  BERTH_TRY(list("clusters", [&](const YAML::Node& n, const std::string& p) -> Status {
    BERTH_TRY(r.Keys(n, p, {"name", "cluster"}));
    ClusterEntry e;
    BERTH_ASSIGN_OR_RETURN(e.name, r.String(n["name"], p + ".name"));
    const YAML::Node cl = n["cluster"];
    if (cl) {
      BERTH_TRY(r.Keys(cl, p + ".cluster", {"server", "certificate-authority"}));
      BERTH_ASSIGN_OR_RETURN(e.server, r.String(cl["server"], p + ".cluster.server"));
      BERTH_ASSIGN_OR_RETURN(
          e.certificate_authority,
          r.String(cl["certificate-authority"], p + ".cluster.certificate-authority"));
    }
    if (e.name.empty()) return r.Fail(p + ".name", "Required value");
    if (e.server.empty()) return r.Fail(p + ".cluster.server", "Required value");
    c.clusters.push_back(std::move(e));
    return {};
  }));
  BERTH_TRY(list("users", [&](const YAML::Node& n, const std::string& p) -> Status {
    BERTH_TRY(r.Keys(n, p, {"name", "user"}));
    UserEntry e;
    BERTH_ASSIGN_OR_RETURN(e.name, r.String(n["name"], p + ".name"));
    const YAML::Node u = n["user"];
    if (u) {
      BERTH_TRY(r.Keys(u, p + ".user", {"client-certificate", "client-key", "token"}));
      BERTH_ASSIGN_OR_RETURN(e.client_certificate,
                             r.String(u["client-certificate"], p + ".user.client-certificate"));
      BERTH_ASSIGN_OR_RETURN(e.client_key, r.String(u["client-key"], p + ".user.client-key"));
      BERTH_ASSIGN_OR_RETURN(e.token, r.String(u["token"], p + ".user.token"));
    }
    if (e.name.empty()) return r.Fail(p + ".name", "Required value");
    c.users.push_back(std::move(e));
    return {};
  }));
  BERTH_TRY(list("contexts", [&](const YAML::Node& n, const std::string& p) -> Status {
    BERTH_TRY(r.Keys(n, p, {"name", "context"}));
    ContextEntry e;
    BERTH_ASSIGN_OR_RETURN(e.name, r.String(n["name"], p + ".name"));
    const YAML::Node cx = n["context"];
    if (cx) {
      BERTH_TRY(r.Keys(cx, p + ".context", {"cluster", "user", "namespace"}));
      BERTH_ASSIGN_OR_RETURN(e.cluster, r.String(cx["cluster"], p + ".context.cluster"));
      BERTH_ASSIGN_OR_RETURN(e.user, r.String(cx["user"], p + ".context.user"));
      BERTH_ASSIGN_OR_RETURN(std::string ns, r.String(cx["namespace"], p + ".context.namespace"));
      if (!ns.empty()) e.namespace_ = ns;
    }
    if (e.name.empty()) return r.Fail(p + ".name", "Required value");
    c.contexts.push_back(std::move(e));
    return {};
  }));
  return c;
}

}  // namespace

const ContextEntry* ClientConfig::FindContext(const std::string& name) const {
  return FindByName(contexts, name);
}
const ClusterEntry* ClientConfig::FindCluster(const std::string& name) const {
  return FindByName(clusters, name);
}
const UserEntry* ClientConfig::FindUser(const std::string& name) const {
  return FindByName(users, name);
}

fs::path DefaultConfigPath() {
  if (const char* env = std::getenv("BERTH_CONFIG"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/root") / ".berth" / "config";
}

Result<ClientConfig> ParseClientConfig(std::string_view yaml, std::string_view what) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error::Invalid(std::string(what) + ": " + e.what());
  }
  return Parse(root, Reader(std::string(what)));
}

Result<ClientConfig> LoadClientConfig(const fs::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.error().err() == ENOENT) {
      return Error::Sys(ENOENT, "no client configuration at " + path.string() +
                                    " (berth up writes one; or pass --config)");
    }
    return text.error();
  }
  return ParseClientConfig(*text, path.string());
}

std::string FormatClientConfig(const ClientConfig& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1";
  out << YAML::Key << "kind" << YAML::Value << "Config";
  out << YAML::Key << "current-context" << YAML::Value << c.current_context;
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : c.clusters) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << e.name;
    out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "server" << YAML::Value << e.server;
    if (!e.certificate_authority.empty()) {
      out << YAML::Key << "certificate-authority" << YAML::Value << e.certificate_authority;
    }
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : c.users) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << e.name;
    out << YAML::Key << "user" << YAML::Value << YAML::BeginMap;
    if (!e.client_certificate.empty()) {
      out << YAML::Key << "client-certificate" << YAML::Value << e.client_certificate;
    }
    if (!e.client_key.empty()) out << YAML::Key << "client-key" << YAML::Value << e.client_key;
    if (!e.token.empty()) out << YAML::Key << "token" << YAML::Value << e.token;
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : c.contexts) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << e.name;
    out << YAML::Key << "context" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "cluster" << YAML::Value << e.cluster;
    out << YAML::Key << "user" << YAML::Value << e.user;
    out << YAML::Key << "namespace" << YAML::Value << e.namespace_;
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Status SaveClientConfig(const ClientConfig& config, const fs::path& path) {
  BERTH_TRY(MakeDirs(path.parent_path(), 0700));
  return WriteFileAtomic(path, FormatClientConfig(config), 0600);
}

Result<Connection> ResolveConnection(const ClientConfig& config, const std::string& context) {
  Connection c;
  c.context = context.empty() ? config.current_context : context;
  if (c.context.empty()) {
    return Error::Invalid(
        "no context chosen: the configuration has no current-context (use --context)");
  }
  const ContextEntry* cx = config.FindContext(c.context);
  if (cx == nullptr) return Error::Msg("context \"" + c.context + "\" does not exist");
  const ClusterEntry* cluster = config.FindCluster(cx->cluster);
  if (cluster == nullptr) {
    return Error::Sys(
        ENOENT, "context \"" + c.context + "\": cluster \"" + cx->cluster + "\" does not exist");
  }
  c.server = cluster->server;
  c.namespace_ = cx->namespace_;
  if (!cluster->certificate_authority.empty()) {
    BERTH_ASSIGN_OR_RETURN(c.credentials.ca_pem, ReadFile(cluster->certificate_authority));
  }
  if (!cx->user.empty()) {
    const UserEntry* user = config.FindUser(cx->user);
    if (user == nullptr) {
      return Error::Msg("context \"" + c.context + "\": user \"" + cx->user + "\" does not exist");
    }
    if (!user->client_certificate.empty()) {
      BERTH_ASSIGN_OR_RETURN(c.credentials.cert_pem, ReadFile(user->client_certificate));
      BERTH_ASSIGN_OR_RETURN(c.credentials.key_pem, ReadFile(user->client_key));
    }
    c.credentials.token = user->token;
  }
  return c;
}

}  // namespace berth::cli
